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
#ifndef anunet_cli_Progress_h
#define anunet_cli_Progress_h

#include <chrono>
#include <string>

namespace anunet::cli
{

/** A one-line progress bar on stderr; plain lines instead when stderr is not a terminal (logs, CI). */
class ProgressBar
{
public:
  /** A silent bar draws nothing (the other ranks of a distributed run). */
  explicit ProgressBar(std::string label, bool shown = true);

  /** fraction in [0, 1]; secondsRemaining < 0 lets the bar estimate it from the elapsed time. */
  void
  update(double fraction, const std::string & text = {}, double secondsRemaining = -1.0);

  /** A line printed above the bar (e.g. an epoch summary). */
  void
  message(const std::string & text);

  void
  finish();

private:
  std::string                           m_Label;
  std::chrono::steady_clock::time_point m_Start;
  std::chrono::steady_clock::time_point m_LastPlainLine;
  bool                                  m_Terminal;
  bool                                  m_Shown;
  bool                                  m_Drawn = false;
  double                                m_Fraction = 0.0;
};

std::string
formatNumber(double value, int decimals);

std::string
formatDuration(double seconds);

} // namespace anunet::cli

#endif
