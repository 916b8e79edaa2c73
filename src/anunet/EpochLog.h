/*=========================================================================
 *
 *  Copyright NumFOCUS
 *
 *  Licensed under the Apache License, Version 2.0 (the "License");
 *  you may not use this file except in compliance with the License.
 *  You may obtain a copy of the License at
 *
 *         https://www.apache.org/licenses/LICENSE-2.0.txt
 *
 *  Unless required by applicable law or agreed to in writing, software
 *  distributed under the License is distributed on an "AS IS" BASIS,
 *  WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 *  See the License for the specific language governing permissions and
 *  limitations under the License.
 *
 *=========================================================================*/
// Internal header of the torch core: the trainer's log.jsonl.
#ifndef anunet_EpochLog_h
#define anunet_EpochLog_h

#include "anunet/Training.h"

#include <string>
#include <vector>

namespace anunet
{

/** log.jsonl: one line per completed epoch, in the one JSON form of an epoch (toJson(EpochRecord)). Each line
 * goes out in one write and is flushed, so that a killed run leaves whole lines only. */
class EpochLog
{
public:
  /** An empty path keeps no log. */
  explicit EpochLog(std::string path);

  /** Starts the file afresh with the epochs a run begins from (none, or a resumed checkpoint's history), so
   * that lines a killed run wrote after its last checkpoint do not stay twice. */
  void
  restart(const std::vector<EpochRecord> & history) const;

  void
  append(const EpochRecord & record) const;

private:
  void
  write(const std::string & text, bool truncate) const;

  std::string m_Path;
};

} // namespace anunet

#endif
