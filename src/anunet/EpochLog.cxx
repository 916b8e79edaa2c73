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
#include "EpochLog.h"

#include <fstream>
#include <stdexcept>

namespace anunet
{

EpochLog::EpochLog(std::string path)
  : m_Path(std::move(path))
{}

void
EpochLog::restart(const std::vector<EpochRecord> & history) const
{
  std::string text;
  for (const auto & r : history)
  {
    text += toJson(r) + '\n';
  }
  write(text, /*truncate=*/true);
}

void
EpochLog::append(const EpochRecord & record) const
{
  write(toJson(record) + '\n', /*truncate=*/false);
}

void
EpochLog::write(const std::string & text, bool truncate) const
{
  if (m_Path.empty())
  {
    return;
  }
  std::ofstream log(m_Path, std::ios::binary | (truncate ? std::ios::trunc : std::ios::app));
  if (!log)
  {
    throw std::runtime_error(m_Path + ": cannot open for writing");
  }
  log.write(text.data(), static_cast<std::streamsize>(text.size()));
  log.flush();
  if (!log)
  {
    throw std::runtime_error(m_Path + ": cannot write (is the disk full?)");
  }
}

} // namespace anunet
