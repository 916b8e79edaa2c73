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
#include "itkStreamingImageFilter.h"

#include <algorithm>
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

/** The segmentation filter of image, set up as settings say. */
template <typename TOutputImage, typename TInputImage>
typename itk::ANUNetSegmentationImageFilter<TInputImage, TOutputImage>::Pointer
makeSegmentationFilter(const TInputImage * image, const itk::ANUNetModel * model, const SegmentationSettings & settings)
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
  return filter;
}

/** Runs source (the network, or a streamer pulling its output) and, for labels when asked, the largest components
 * of its output; the result is disconnected from the pipeline. */
template <typename TOutputImage>
typename TOutputImage::Pointer
runToTheEnd(itk::ImageSource<TOutputImage> * source,
            const itk::ANUNetModel *         model,
            const SegmentationSettings &     settings)
{
  typename TOutputImage::Pointer result;
  if (settings.largestComponents)
  {
    auto components = itk::ANUNetLargestComponentsImageFilter<TOutputImage>::New();
    components->SetInput(source->GetOutput());
    components->SetComponentsFromLabelMapping(model->GetModel().preprocessing().labels);
    components->Update();
    result = components->GetOutput();
  }
  else
  {
    source->Update();
    result = source->GetOutput();
  }
  result->DisconnectPipeline();
  return result;
}

/** The segmentation pipeline of both front ends: the network, then (for labels, when asked) the largest
 * components. progress receives 0..1 while the network runs. */
template <typename TOutputImage, typename TInputImage>
typename TOutputImage::Pointer
runSegmentation(const TInputImage *                image,
                const itk::ANUNetModel *           model,
                const SegmentationSettings &       settings,
                const std::function<void(float)> & progress = {})
{
  auto filter = makeSegmentationFilter<TOutputImage>(image, model, settings);
  if (progress)
  {
    filter->AddObserver(itk::ProgressEvent(),
                        [&progress, &filter](const itk::EventObject &) { progress(filter->GetProgress()); });
  }
  return runToTheEnd<TOutputImage>(filter, model, settings);
}

/** The same pipeline on a 3-D volume read slab by slab, so that it is never held whole: streamed is the output of
 * a source that has its output information (ANUNetImageReader::OpenVolumeFile()). A first pass over it computes the
 * intensity statistics of a Percentile or ZScore model (ComputeVolumeIntensityMap()); then the network segments
 * slicesPerPiece slices at a time and only the output is assembled. The input is held whole after all where the
 * model cuts its slices along another axis than the slowest, or where a Percentile volume has more distinct values
 * than anunet::ValueCounts counts. */
template <typename TOutputImage, typename TInputImage>
typename TOutputImage::Pointer
runStreamedSegmentation(TInputImage *                      streamed,
                        const itk::ANUNetModel *           model,
                        const SegmentationSettings &       settings,
                        unsigned int                       slicesPerPiece,
                        const std::function<void(float)> & progress = {})
{
  static_assert(TInputImage::ImageDimension == 3, "slabs of a volume");
  using Preprocessor = itk::ANUNetPreprocessor<TInputImage>;
  auto                          filter = makeSegmentationFilter<TOutputImage>(streamed, model, settings);
  const anunet::Preprocessing & preprocessing = model->GetModel().preprocessing();
  streamed->UpdateOutputInformation();
  const auto   slices = streamed->GetLargestPossibleRegion().GetSize(2);
  unsigned int pieces = 1;
  if (preprocessing.sliceAxis == 2 && slicesPerPiece > 0)
  {
    if (const auto map = Preprocessor::ComputeVolumeIntensityMap(streamed, preprocessing, slicesPerPiece))
    {
      filter->SetVolumeIntensityMap(*map);
      pieces = static_cast<unsigned int>((slices + slicesPerPiece - 1) / slicesPerPiece);
    }
  }
  auto streamer = itk::StreamingImageFilter<TOutputImage, TOutputImage>::New();
  streamer->SetInput(filter->GetOutput());
  streamer->SetNumberOfStreamDivisions(std::max(1U, pieces));
  unsigned int started = 0; // pieces the network has begun
  if (progress)
  {
    filter->AddObserver(itk::StartEvent(), [&started](const itk::EventObject &) { ++started; });
    filter->AddObserver(itk::ProgressEvent(), [&](const itk::EventObject &) {
      const auto total = static_cast<float>(streamer->GetNumberOfStreamDivisions());
      progress(std::min(1.0F, (static_cast<float>(started) - 1.0F + filter->GetProgress()) / total));
    });
  }
  // LibTorch's thread count set once for all the pieces, not once per piece (anunet::ScopedThreadCount).
  const anunet::ScopedThreadCount threads(settings.threads);
  return runToTheEnd<TOutputImage>(streamer, model, settings);
}

} // namespace anunet::workflow

#endif
