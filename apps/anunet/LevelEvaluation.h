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
#ifndef anunet_cli_LevelEvaluation_h
#define anunet_cli_LevelEvaluation_h

#include "InputError.h"
#include "anunet/Preprocessing.h"
#include "itkANUNetImageReader.h"
#include "itkANUNetModel.h"
#include "itkImageRegionIterator.h"
#include "itkANUNetSegmentationMetricsImageFilter.h"

#include <cmath>

#include <string>
#include <vector>

namespace anunet::cli
{

using MaskType = itk::Image<unsigned char, 3>;

/** A ground truth's source labels as the task's classes (0 = background), on its own grid. A value the task
 * does not name is an InputError naming file (the truth's path). */
template <unsigned int VDimension>
typename itk::Image<unsigned char, VDimension>::Pointer
mapLabelImage(const itk::Image<float, VDimension> * labels, const LabelMapping & mapping, const std::string & file)
{
  using OutputType = itk::Image<unsigned char, VDimension>;
  auto mask = OutputType::New();
  mask->CopyInformation(labels);
  mask->SetRegions(labels->GetLargestPossibleRegion());
  mask->Allocate();
  UnnamedLabels                                                unnamed(mapping);
  itk::ImageRegionConstIterator<itk::Image<float, VDimension>> in(labels, labels->GetLargestPossibleRegion());
  itk::ImageRegionIterator<OutputType>                         out(mask, mask->GetLargestPossibleRegion());
  for (; !in.IsAtEnd(); ++in, ++out)
  {
    const int source = static_cast<int>(std::lround(in.Get()));
    unnamed.count(source);
    out.Set(static_cast<unsigned char>(mapping.classOf(source)));
  }
  if (!unnamed.empty())
  {
    throw workflow::InputError(file + ": " + unnamed.message());
  }
  return mask;
}

inline MaskType::Pointer
mapLabels(const std::string & file, const LabelMapping & mapping)
{
  return mapLabelImage<3>(itk::ANUNetImageReader::ReadVolume(file).GetPointer(), mapping, file);
}

/** One case segmented at one pruning level and scored against its ground truth in 3-D. */
struct LevelResult
{
  int     level = 0;
  int64_t parameters = 0;
  double  millisecondsPerSlice = 0.0; ///< the whole segmentation filter (preprocessing and resampling included)
  /** Of class 1 (the foreground of a binary task); meanDice averages every foreground class. */
  itk::ANUNetSegmentationMetrics metrics;
  double                         meanDice = 0.0;
  MaskType::Pointer              segmentation;
};

/** truth holds class indices (mapLabels). threads: LibTorch threads, 0 = all. */
LevelResult
segmentAtLevel(itk::ANUNetModel *                         model,
               const itk::ANUNetImageReader::VolumeType * image,
               const MaskType *                           truth,
               int                                        level,
               int                                        threads);

/** A Markdown table of the results, one row per level (the paper's Table 6 layout). */
std::string
levelTable(const std::vector<LevelResult> & results);

} // namespace anunet::cli

#endif
