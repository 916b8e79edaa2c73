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
#ifndef anunet_workflow_TrainingRun_h
#define anunet_workflow_TrainingRun_h

#include "TrainingConfig.h"

#include "itkANUNetModel.h"

#include <functional>
#include <string>
#include <vector>

namespace anunet::workflow
{

/** What a training run reports as it goes, for a front end to show (the tool's progress bars, a Python
 * function). Every member may be empty. In a distributed run every rank reports; the front end decides who
 * shows it (rank 0, as the tool does). */
struct TrainingObserver
{
  /** Before each case is read, with the cases read so far and their total; once more when all are read, with
   * done == total and an empty name. */
  std::function<void(size_t done, size_t total, const std::string & caseName)> reading;
  /** After every optimiser step. */
  std::function<void(const TrainingProgress &)> step;
  /** After every epoch's validation and checkpoints. */
  std::function<void(const EpochRecord &)> epoch;
  /** Asked after every step: true stops the run there, with last.pt written at that step. */
  std::function<bool()> stopRequested;
};

struct TrainingRun
{
  itk::ANUNetModel::Pointer model; ///< the best epoch's model
  std::vector<EpochRecord>  history;
};

/** Makes a run data-parallel with the ranks the environment names (DistributedOptions::fromEnvironment):
 * timeoutSeconds > 0 replaces the default timeout, localBatchNorm gives each rank its own batch statistics.
 * Throws std::invalid_argument naming a malformed variable. Shared by `anunet train --distributed` and Python. */
void
enableDistributedTraining(TrainingConfig & config, double timeoutSeconds, bool localBatchNorm);

/** Completes a config for a run: the task's label mapping and class count, the output folder. */
void
finalizeTrainingConfig(TrainingConfig & config, const std::string & outputDirectory);

/** Reads the config's cases, trains, and writes best.pt, last.pt, log.jsonl and curves.svg into
 * config.options.outputDirectory (rank 0 only). Throws InputError for a config without training cases. */
TrainingRun
runTraining(const TrainingConfig & config, const TrainingObserver & observer = {});

} // namespace anunet::workflow

#endif
