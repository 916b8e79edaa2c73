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
#include "LevelEvaluation.h"

#include "Progress.h"

#include "itkANUNetSegmentationImageFilter.h"
#include "itkImageRegionIterator.h"

#include <chrono>
#include <cmath>
#include <sstream>

namespace anunet::cli
{

LevelResult
segmentAtLevel(itk::ANUNetModel *                         model,
               const itk::ANUNetImageReader::VolumeType * image,
               const MaskType *                           truth,
               int                                        level,
               int                                        threads)
{
  auto filter = itk::ANUNetSegmentationImageFilter<itk::ANUNetImageReader::VolumeType, MaskType>::New();
  filter->SetInput(image);
  filter->SetModelInput(model);
  filter->SetLevel(level);
  filter->SetNumberOfThreads(threads);
  filter->SetBatchSize(8);
  const auto start = std::chrono::steady_clock::now();
  filter->Update();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  LevelResult result;
  result.level = level;
  result.parameters = model->GetModel().parameterCount(level);
  result.millisecondsPerSlice = 1000.0 * seconds / static_cast<double>(image->GetLargestPossibleRegion().GetSize()[2]);
  result.segmentation = filter->GetOutput();
  result.segmentation->DisconnectPipeline();

  const size_t classes = model->GetModel().preprocessing().labels.classes.size();
  for (size_t c = 1; c <= classes; ++c)
  {
    auto metrics = itk::ANUNetSegmentationMetricsImageFilter<MaskType>::New();
    metrics->SetPredictionImage(result.segmentation);
    metrics->SetGroundTruthImage(truth);
    metrics->SetLabel(static_cast<unsigned char>(c));
    // Surface distances only for the class reported in full: they cost more than the overlaps.
    metrics->SetComputeSurfaceDistances(c == 1);
    metrics->Update();
    if (c == 1)
    {
      result.metrics = metrics->GetMetrics(1);
    }
    result.meanDice += metrics->GetMetrics(static_cast<unsigned char>(c)).Dice / static_cast<double>(classes);
  }
  return result;
}

std::string
levelTable(const std::vector<LevelResult> & results)
{
  std::ostringstream t;
  t << "| level | parameters | ms / slice | Dice | IoU | precision | recall | HD95 (mm) |\n"
    << "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n";
  for (const auto & r : results)
  {
    t << "| L" << r.level << " | " << r.parameters << " | " << formatNumber(r.millisecondsPerSlice, 1) << " | "
      << formatNumber(r.metrics.Dice, 4) << " | " << formatNumber(r.metrics.IoU, 4) << " | "
      << formatNumber(r.metrics.Precision, 4) << " | " << formatNumber(r.metrics.Recall, 4) << " | "
      << formatNumber(r.metrics.HausdorffDistance95, 2) << " |\n";
  }
  return t.str();
}

} // namespace anunet::cli
