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
#include "StopSignals.h"

#include <atomic>
#include <csignal>
#include <unistd.h>

namespace anunet::cli
{
namespace
{

std::atomic<int> g_Received{ 0 };
static_assert(std::atomic<int>::is_always_lock_free, "the signal handler may only touch a lock-free atomic");

struct sigaction g_Previous[2];
constexpr int    Signals[2] = { SIGINT, SIGTERM };

extern "C" void
onStopSignal(int signal)
{
  g_Received.store(signal);
  // write() is async-signal-safe; iostreams are not.
  constexpr char message[] = "\nanunet: stopping after the current step (a second signal ends it at once)\n";
  [[maybe_unused]] const auto written = ::write(STDERR_FILENO, message, sizeof(message) - 1);
}

} // namespace

StopSignals::StopSignals()
{
  g_Received.store(0);
  struct sigaction action = {};
  action.sa_handler = onStopSignal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESETHAND; // the second signal takes the default action: the process ends
  for (int i = 0; i < 2; ++i)
  {
    sigaction(Signals[i], &action, &g_Previous[i]);
  }
}

StopSignals::~StopSignals()
{
  for (int i = 0; i < 2; ++i)
  {
    sigaction(Signals[i], &g_Previous[i], nullptr);
  }
}

int
StopSignals::received() const
{
  return g_Received.load();
}

} // namespace anunet::cli
