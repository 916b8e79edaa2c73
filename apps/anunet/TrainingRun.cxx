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
#include "TrainingRun.h"

#include "Commands.h"
#include "CurvePlot.h"
#include "Progress.h"

#include "itkANUNetImageReader.h"
#include "itkANUNetTrainingFilter.h"

#include <filesystem>
#include <iostream>

namespace anunet::cli
{

void
enableDistributedTraining(TrainingConfig & config, double timeoutSeconds, bool localBatchNorm)
{
  auto & d = config.options.distributed;
  d = DistributedOptions::fromEnvironment();
  if (timeoutSeconds > 0)
  {
    d.timeoutSeconds = timeoutSeconds;
  }
  d.synchronisedBatchNorm = !localBatchNorm;
}

void
finalizeTrainingConfig(TrainingConfig & config, const std::string & outputDirectory)
{
  auto & o = config.options;
  o.outputDirectory = outputDirectory;
  o.preprocessing.labels = LabelMapping::fromTask(config.task);
  o.network.classes = o.preprocessing.labels.networkOutputs();
}

TrainingRun
runTraining(const TrainingConfig & config, const std::function<bool()> & stopRequested)
{
  if (config.training.empty())
  {
    throw UsageError("the config lists no training cases (data.train)");
  }
  std::filesystem::create_directories(config.options.outputDirectory);

  // Labels are read as float like the images (exact for label values); the preprocessor maps them to classes.
  using VolumeType = itk::ANUNetImageReader::VolumeType;
  auto trainer = itk::ANUNetTrainingFilter<VolumeType, VolumeType>::New();
  trainer->SetOptions(config.options);

  // In a distributed run the other ranks train silently; rank 0 speaks (and writes) for all.
  const bool  speaks = config.options.distributed.rank == 0;
  ProgressBar reading("read", speaks);
  const auto  total = config.training.size() + config.validation.size();
  size_t      done = 0;
  auto        addCases = [&](const std::vector<CaseFiles> & cases, bool validation) {
    for (const auto & c : cases)
    {
      reading.update(static_cast<double>(done) / total, "case " + c.name);
      trainer->AddCase(
        itk::ANUNetImageReader::ReadVolume(c.image), itk::ANUNetImageReader::ReadVolume(c.label), c.name, validation);
      ++done;
    }
  };
  addCases(config.training, false);
  addCases(config.validation, true);
  reading.update(1.0,
                 std::to_string(config.training.size()) + " training and " + std::to_string(config.validation.size()) +
                   " validation cases");
  reading.finish();

  ProgressBar bar("train", speaks);
  trainer->SetProgressCallback([&bar, &trainer, &stopRequested](const TrainingProgress & p) {
    if (stopRequested && stopRequested())
    {
      trainer->AbortGenerateDataOn(); // the filter stops after this step and writes last.pt
    }
    bar.update(static_cast<double>(p.iteration) / static_cast<double>(std::max<int64_t>(1, p.totalIterations)),
               "epoch " + std::to_string(p.epoch) + "/" + std::to_string(p.epochs) + " loss " + formatNumber(p.loss, 4),
               p.secondsRemaining);
  });
  trainer->SetEpochCallback([&bar](const EpochRecord & r) {
    // Without validation cases there is no Dice (the record holds -1) and every epoch counts as the best.
    const std::string validation =
      r.validationDice < 0.0 ? std::string()
                             : ", validation Dice " + formatNumber(r.validationDice, 4) + (r.best ? " (best)" : "");
    bar.message("epoch " + std::to_string(r.epoch) + ": loss " + formatNumber(r.loss, 4) + validation + ", " +
                formatNumber(r.seconds, 1) + " s");
  });
  trainer->Update();
  bar.finish();

  TrainingRun run;
  run.model = trainer->GetOutput();
  run.history = trainer->GetHistory();
  if (!speaks)
  {
    return run;
  }
  writeCurvesSvg(run.history,
                 toString(config.options.network.architecture) + ", task " + config.task,
                 (std::filesystem::path(config.options.outputDirectory) / "curves.svg").string());
  return run;
}

} // namespace anunet::cli
