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
#ifndef anunet_cli_TrainingRun_h
#define anunet_cli_TrainingRun_h

#include "TrainingConfig.h"

#include "itkANUNetModel.h"

#include <functional>
#include <string>
#include <vector>

namespace anunet::cli
{

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

/** Reads the config's cases, trains with a progress bar on stderr, and writes best.pt, last.pt, log.jsonl
 * and curves.svg into config.options.outputDirectory. Shared by `anunet train` and `anunet demo`. */
TrainingRun
runTraining(const TrainingConfig & config, const std::function<bool()> & stopRequested = {});

} // namespace anunet::cli

#endif
