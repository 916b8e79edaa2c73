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
#ifndef anunet_workflow_Segmentation_h
#define anunet_workflow_Segmentation_h

#include "itkANUNetLargestComponentsImageFilter.h"
#include "itkANUNetModel.h"
#include "itkANUNetSegmentationImageFilter.h"

#include <functional>
#include <stdexcept>
#include <string>

namespace anunet::workflow
{

/** What `anunet segment` and Python's anunet.segment() let a user choose. */
struct SegmentationSettings
{
  /** -1: the level recorded in the model by `anunet prune` (the full network when none is). */
  int          level = -1;
  bool         probability = false;
  double       threshold = 0.5;
  int          threads = 0;
  unsigned int batch = 4;
  std::string  device = "cpu";
  std::string  precision = "float32"; ///< or "bfloat16" (ANUNetSegmentationImageFilter::SetPrecision)
  bool         mirror = false;
  /** Keep the largest connected component(s) of each class, as many as the class merges source labels. */
  bool largestComponents = false;
};

/** The segmentation pipeline of both front ends: the network, then (for labels, when asked) the largest
 * components. progress receives 0..1 while the network runs. */
template <typename TOutputImage, typename TInputImage>
typename TOutputImage::Pointer
runSegmentation(const TInputImage *                image,
                const itk::ANUNetModel *           model,
                const SegmentationSettings &       settings,
                const std::function<void(float)> & progress = {})
{
  if (settings.largestComponents && settings.probability)
  {
    throw std::invalid_argument("the largest components are taken of labels; they do not apply to probabilities");
  }
  auto filter = itk::ANUNetSegmentationImageFilter<TInputImage, TOutputImage>::New();
  filter->SetInput(image);
  filter->SetModelInput(model);
  filter->SetLevel(settings.level);
  filter->SetOutputProbabilities(settings.probability);
  filter->SetThreshold(settings.threshold);
  filter->SetNumberOfThreads(settings.threads);
  filter->SetBatchSize(settings.batch);
  filter->SetDevice(settings.device);
  filter->SetPrecision(settings.precision);
  filter->SetTestTimeMirroring(settings.mirror);
  if (progress)
  {
    filter->AddObserver(itk::ProgressEvent(),
                        [&progress, &filter](const itk::EventObject &) { progress(filter->GetProgress()); });
  }
  typename TOutputImage::Pointer result;
  if (settings.largestComponents)
  {
    auto components = itk::ANUNetLargestComponentsImageFilter<TOutputImage>::New();
    components->SetInput(filter->GetOutput());
    components->SetComponentsFromLabelMapping(model->GetModel().preprocessing().labels);
    components->Update();
    result = components->GetOutput();
  }
  else
  {
    filter->Update();
    result = filter->GetOutput();
  }
  result->DisconnectPipeline();
  return result;
}

} // namespace anunet::workflow

#endif
