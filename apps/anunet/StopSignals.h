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
#ifndef anunet_cli_StopSignals_h
#define anunet_cli_StopSignals_h

namespace anunet::cli
{

/** While alive, SIGINT and SIGTERM do not kill the process but ask it to stop cleanly: received() turns
 * non-zero, and the long-running command stops at its next safe point (training: after the current step,
 * with a checkpoint). The handlers reset themselves, so a second signal ends the process at once. Slurm sends
 * SIGTERM at a job's time limit and on preemption, and Ctrl-C sends SIGINT. */
class StopSignals
{
public:
  StopSignals();
  ~StopSignals();
  StopSignals(const StopSignals &) = delete;
  StopSignals &
  operator=(const StopSignals &) = delete;

  /** The signal received, 0 while none was. */
  int
  received() const;
};

} // namespace anunet::cli

#endif
