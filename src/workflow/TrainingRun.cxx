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

#include "CurvePlot.h"
#include "InputError.h"
#include "TaskPresets.h"

#include "itkANUNetImageReader.h"
#include "itkANUNetTrainingFilter.h"

#include <cmath>
#include <filesystem>
#include <sstream>

namespace anunet::workflow
{
namespace
{

/** Empty when the two volumes share a grid (ITK's tolerances: ImageToImageFilter::VerifyInputInformation), else
 * what differs first. */
std::string
gridDifference(const itk::ANUNetImageReader::VolumeType & image, const itk::ANUNetImageReader::VolumeType & label)
{
  std::ostringstream text;
  const double       tolerance = 1e-6 * image.GetSpacing()[0];
  if (image.GetLargestPossibleRegion().GetSize() != label.GetLargestPossibleRegion().GetSize())
  {
    text << "size " << label.GetLargestPossibleRegion().GetSize() << " against "
         << image.GetLargestPossibleRegion().GetSize();
    return text.str();
  }
  for (unsigned int d = 0; d < 3; ++d)
  {
    if (std::abs(image.GetSpacing()[d] - label.GetSpacing()[d]) > tolerance)
    {
      text << "spacing " << label.GetSpacing() << " against " << image.GetSpacing();
      return text.str();
    }
    if (std::abs(image.GetOrigin()[d] - label.GetOrigin()[d]) > tolerance)
    {
      text << "origin " << label.GetOrigin() << " against " << image.GetOrigin();
      return text.str();
    }
    for (unsigned int e = 0; e < 3; ++e)
    {
      if (std::abs(image.GetDirection()[d][e] - label.GetDirection()[d][e]) > 1e-6)
      {
        return "another direction";
      }
    }
  }
  return {};
}

} // namespace

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
  o.preprocessing.labels = labelMappingForTask(config.task);
  o.network.classes = o.preprocessing.labels.networkOutputs();
  // The command line's and Python's own checks have passed by now, so a value out of range came from the config.
  try
  {
    o.validate();
  }
  catch (const std::invalid_argument & e)
  {
    throw InputError((config.source.empty() ? std::string("the config") : config.source) + ": " + e.what());
  }
}

TrainingRun
runTraining(const TrainingConfig & config, const TrainingObserver & observer)
{
  const std::string where = config.source.empty() ? std::string("the config") : config.source;
  if (config.training.empty())
  {
    throw InputError(where + ": the config lists no training cases (data.train)");
  }
  // Before the first case is read, so that a typo in the last path does not cost the reading of the others.
  for (const auto * cases : { &config.training, &config.validation })
  {
    for (const auto & c : *cases)
    {
      for (const auto & [role, file] : { std::pair{ "image", &c.image }, std::pair{ "label", &c.label } })
      {
        std::error_code error;
        if (!std::filesystem::exists(*file, error))
        {
          throw MissingFileError(where + ": case '" + c.name + "': the " + role + " " + *file + " does not exist");
        }
      }
    }
  }
  const std::string & out = config.options.outputDirectory;
  std::error_code     error;
  if (std::filesystem::exists(out, error) && !std::filesystem::is_directory(out, error))
  {
    throw InputError(out + ": exists and is not a folder; the output is a folder (best.pt, last.pt, log.jsonl)");
  }
  std::filesystem::create_directories(out);

  // Labels are read as float like the images (exact for label values); the preprocessor maps them to classes.
  using VolumeType = itk::ANUNetImageReader::VolumeType;
  auto trainer = itk::ANUNetTrainingFilter<VolumeType, VolumeType>::New();
  trainer->SetOptions(config.options);

  const auto total = config.training.size() + config.validation.size();
  size_t     done = 0;
  auto       addCases = [&](const std::vector<CaseFiles> & cases, bool validation) {
    for (const auto & c : cases)
    {
      if (observer.reading)
      {
        observer.reading(done, total, c.name);
      }
      auto image = itk::ANUNetImageReader::ReadVolume(c.image);
      auto label = itk::ANUNetImageReader::ReadVolume(c.label);
      if (const std::string difference = gridDifference(*image, *label); !difference.empty())
      {
        throw InputError(where + ": case '" + c.name + "': the label " + c.label + " is not on the grid of the image " +
                         c.image + " (" + difference + "); resample it onto the image's grid");
      }
      // Here as well as in the preprocessor, so that the message names the file rather than the case.
      anunet::UnnamedLabels unnamed(config.options.preprocessing.labels);
      const float *         voxel = label->GetBufferPointer();
      for (const float * end = voxel + label->GetBufferedRegion().GetNumberOfPixels(); voxel != end; ++voxel)
      {
        unnamed.count(static_cast<int>(std::lround(*voxel)));
      }
      if (!unnamed.empty())
      {
        throw InputError(where + ": case '" + c.name + "': the label " + c.label + " has " + unnamed.message());
      }
      trainer->AddCase(image, label, c.name, validation);
      ++done;
    }
  };
  addCases(config.training, false);
  addCases(config.validation, true);
  if (observer.reading)
  {
    observer.reading(total, total, {});
  }

  trainer->SetProgressCallback([&observer, &trainer](const TrainingProgress & p) {
    if (observer.stopRequested && observer.stopRequested())
    {
      trainer->AbortGenerateDataOn(); // the filter stops after this step and writes last.pt
    }
    if (observer.step)
    {
      observer.step(p);
    }
  });
  if (observer.epoch)
  {
    trainer->SetEpochCallback(observer.epoch);
  }
  trainer->Update();

  TrainingRun run;
  run.model = trainer->GetOutput();
  run.history = trainer->GetHistory();
  // In a distributed run only rank 0 writes (as the trainer does its checkpoints and log).
  if (config.options.distributed.rank == 0)
  {
    writeCurvesSvg(run.history,
                   toString(config.options.network.architecture) + ", task " + config.task,
                   (std::filesystem::path(config.options.outputDirectory) / "curves.svg").string());
  }
  return run;
}

} // namespace anunet::workflow
