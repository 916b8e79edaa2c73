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
#include "Progress.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <sstream>

namespace anunet::cli
{

ProgressBar::ProgressBar(std::string label, bool shown)
  : m_Label(std::move(label))
  , m_Start(std::chrono::steady_clock::now())
  , m_LastPlainLine(m_Start)
  , m_Terminal(isatty(STDERR_FILENO) != 0)
  , m_Shown(shown)
{}

void
ProgressBar::update(double fraction, const std::string & text, double secondsRemaining)
{
  using namespace std::chrono;
  if (!m_Shown)
  {
    return;
  }
  m_Fraction = std::clamp(fraction, 0.0, 1.0);
  const auto   now = steady_clock::now();
  const double elapsed = duration<double>(now - m_Start).count();
  if (secondsRemaining < 0.0)
  {
    secondsRemaining = m_Fraction > 0.0 ? elapsed * (1.0 - m_Fraction) / m_Fraction : 0.0;
  }
  std::ostringstream line;
  line << m_Label << ' ';
  if (m_Terminal)
  {
    constexpr int width = 30;
    const int     filled = static_cast<int>(std::lround(m_Fraction * width));
    line << '[' << std::string(filled, '#') << std::string(width - filled, '.') << "] ";
  }
  line << static_cast<int>(m_Fraction * 100.0) << "% " << text << " | " << formatDuration(elapsed) << " elapsed, "
       << formatDuration(secondsRemaining) << " left";
  if (m_Terminal)
  {
    std::cerr << "\r\033[K" << line.str() << std::flush;
    m_Drawn = true;
  }
  else if (duration<double>(now - m_LastPlainLine).count() >= 10.0 || m_Fraction >= 1.0)
  {
    // Without a terminal a bar would be one endless line; a line every 10 s keeps logs readable.
    std::cerr << line.str() << '\n';
    m_LastPlainLine = now;
  }
}

void
ProgressBar::message(const std::string & text)
{
  if (!m_Shown)
  {
    return;
  }
  if (m_Drawn)
  {
    std::cerr << "\r\033[K";
  }
  std::cerr << m_Label << ": " << text << '\n';
  m_Drawn = false;
}

void
ProgressBar::finish()
{
  if (m_Drawn)
  {
    std::cerr << '\n';
    m_Drawn = false;
  }
}

std::string
formatNumber(double value, int decimals)
{
  char buffer[64];
  std::snprintf(buffer, sizeof(buffer), "%.*f", decimals, value);
  return buffer;
}

std::string
formatDuration(double seconds)
{
  const auto total = static_cast<long>(std::lround(std::max(0.0, seconds)));
  char       buffer[32];
  if (total >= 3600)
  {
    std::snprintf(buffer, sizeof(buffer), "%ld:%02ld:%02ld", total / 3600, (total / 60) % 60, total % 60);
  }
  else
  {
    std::snprintf(buffer, sizeof(buffer), "%ld:%02ld", total / 60, total % 60);
  }
  return buffer;
}

} // namespace anunet::cli
