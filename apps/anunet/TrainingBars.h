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
#ifndef anunet_cli_TrainingBars_h
#define anunet_cli_TrainingBars_h

#include "Progress.h"
#include "TrainingRun.h"

namespace anunet::cli
{

/** The tool's view of a training run: a bar while the cases are read, a bar over the steps and a line per
 * epoch above it. Silent where shown is false (the other ranks of a distributed run). */
class TrainingBars
{
public:
  explicit TrainingBars(bool shown);
  /** Ends a drawn bar's line, also when the run stopped early or failed. */
  ~TrainingBars();
  TrainingBars(const TrainingBars &) = delete;
  TrainingBars &
  operator=(const TrainingBars &) = delete;

  /** Callbacks that draw on this object's bars; it must outlive the run. */
  workflow::TrainingObserver
  observer(std::function<bool()> stopRequested = {});

private:
  ProgressBar m_Reading;
  ProgressBar m_Training;
};

} // namespace anunet::cli

#endif
