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
#ifndef itkANUNetSegmentationImageFilter_h
#define itkANUNetSegmentationImageFilter_h

#include "itkANUNetModel.h"
#include "itkANUNetPreprocessor.h"
#include "itkImageToImageFilter.h"

#include <optional>
#include <string>

namespace itk
{

/** \class ANUNetSegmentationImageFilter
 * \brief Segments a 2-D image or a 3-D volume with a trained ANU-Net (or baseline) network: a label image or
 * a probability image on the input's grid.
 *
 * The model comes either from the "ModelInput" (an ANUNetModel, e.g. the output of ANUNetTrainingFilter) or
 * from SetModelFileName() (a checkpoint or TorchScript file, loaded once per file name); setting both is an
 * error. The model records its preprocessing (intensity normalisation, network size, slice axis), which
 * ANUNetPreprocessor applies; set the model's intensity method to None when the pipeline already normalised
 * the image (e.g. with IntensityWindowingImageFilter), so that it is not applied twice.
 *
 * Output: labels by default — for a one-channel (sigmoid) network, 1 where the foreground probability
 * exceeds Threshold (default 0.5), else 0; for a C-channel (softmax) network, the class index 0..C-1 of the
 * largest probability (Threshold unused; ties go to the lower class). With OutputProbabilitiesOn() the output
 * (which must have a floating-point pixel) is the probability of class ProbabilityClass (default 1, the
 * foreground; 0 is the background, 1 - p for a sigmoid network).
 *
 * Level selects the pruned network of a nested architecture: 1..4 computes only the nodes X(i,j) with
 * i + j <= Level and reads the head on X(0,Level); 0 runs the full network. The default, RecordedLevel, takes
 * the level recorded in the model by `anunet prune` (the full network when none is). A level 1..4 is an error
 * for networks without pruning levels.
 *
 * TestTimeMirroring averages the probabilities of each slice and of its in-plane mirror images.
 *
 * Geometry and streaming: the output has the input's size, spacing, origin and direction. A requested output
 * region is widened to whole slices (whole in-plane extent), and the input region requested is the same
 * slab — so itk::StreamingImageFilter or a streaming writer segments a volume slab by slab with flat memory.
 * The exception: Percentile and ZScore normalisation use statistics of the whole volume, so the whole input
 * is then requested (the network and the output still run slab by slab). The result does not depend on how
 * the volume is split.
 *
 * Execution: slices are run through the network BatchSize at a time on Device ("cpu" or "cuda[:k]") with
 * NumberOfThreads LibTorch intra-op threads (0 = all hardware threads). The filter never changes its model:
 * the thread count goes with each call, and for a Device other than the model's the filter runs a clone on
 * that device (made once and kept while the model is unchanged). The work is not also split over ITK threads. Progress
 * is reported and AbortGenerateData is checked after each batch (an abort throws ProcessAborted).
 *
 * \ingroup ANUNet
 */
template <typename TInputImage, typename TOutputImage>
class ITK_TEMPLATE_EXPORT ANUNetSegmentationImageFilter : public ImageToImageFilter<TInputImage, TOutputImage>
{
public:
  ITK_DISALLOW_COPY_AND_MOVE(ANUNetSegmentationImageFilter);

  static constexpr unsigned int InputImageDimension = TInputImage::ImageDimension;
  static constexpr unsigned int OutputImageDimension = TOutputImage::ImageDimension;
  static_assert(InputImageDimension == OutputImageDimension, "input and output must have the same dimension");

  using InputImageType = TInputImage;
  using OutputImageType = TOutputImage;
  using InputPixelType = typename InputImageType::PixelType;
  using OutputPixelType = typename OutputImageType::PixelType;
  using OutputRegionType = typename OutputImageType::RegionType;

  using Self = ANUNetSegmentationImageFilter;
  using Superclass = ImageToImageFilter<TInputImage, TOutputImage>;
  using Pointer = SmartPointer<Self>;
  using ConstPointer = SmartPointer<const Self>;

  using PreprocessorType = ANUNetPreprocessor<InputImageType>;

  itkNewMacro(Self);
  itkTypeMacro(ANUNetSegmentationImageFilter, ImageToImageFilter);

  /** The model as a pipeline input (optional when ModelFileName is set). */
  itkSetInputMacro(ModelInput, ANUNetModel);
  itkGetInputMacro(ModelInput, ANUNetModel);

  /** A checkpoint or TorchScript file to load instead of a ModelInput. */
  itkSetStringMacro(ModelFileName);
  itkGetStringMacro(ModelFileName);

  /** Level meaning "the level the model records" (anunet::Model::levelChoice()). */
  static constexpr int RecordedLevel = -1;

  /** Pruning level: RecordedLevel (default), 0 = full network, 1..4 for nested networks. */
  itkSetMacro(Level, int);
  itkGetConstMacro(Level, int);

  /** Foreground probability above which a sigmoid network's pixel is labelled 1. */
  itkSetMacro(Threshold, double);
  itkGetConstMacro(Threshold, double);

  /** Output probabilities of ProbabilityClass instead of labels (float output pixel needed). */
  itkSetMacro(OutputProbabilities, bool);
  itkGetConstMacro(OutputProbabilities, bool);
  itkBooleanMacro(OutputProbabilities);

  itkSetMacro(ProbabilityClass, int);
  itkGetConstMacro(ProbabilityClass, int);

  /** LibTorch intra-op threads for the network; 0 = all hardware threads. (Not ITK's work units: this
   * filter does not split work over ITK threads.) */
  itkSetMacro(NumberOfThreads, int);
  itkGetConstMacro(NumberOfThreads, int);

  /** "cpu" (default) or "cuda[:k]". */
  itkSetStringMacro(Device);
  itkGetStringMacro(Device);

  /** The network's arithmetic: "float32" (default) or "bfloat16", about twice as fast where the CPU has
   * avx512_bf16 or amx_bf16 (the filter fails on a CPU without them; anunet::cpuHasBFloat16()). bfloat16 keeps 8
   * bits of mantissa: labels differ from float32's at a few boundary voxels (docs/reference.md). */
  itkSetStringMacro(Precision);
  itkGetStringMacro(Precision);

  /** Test-time mirroring: average the probabilities of each slice and its three in-plane flips (four times
   * the network's work; default off). */
  itkSetMacro(TestTimeMirroring, bool);
  itkGetConstMacro(TestTimeMirroring, bool);
  itkBooleanMacro(TestTimeMirroring);

  /** Slices per network run (default 4). */
  itkSetClampMacro(BatchSize, unsigned int, 1, NumericTraits<unsigned int>::max());
  itkGetConstMacro(BatchSize, unsigned int);

  /** The intensity map of the whole input volume, for Percentile and ZScore models, computed beforehand slab by
   * slab (PreprocessorType::ComputeVolumeIntensityMap() on the reader's output). With it the filter asks its
   * input for the slices it segments only, not for the whole volume, so that a streamed pipeline (a reader, this
   * filter, a StreamingImageFilter) never holds the volume. It must be the map of this input for the model's
   * preprocessing. */
  void
  SetVolumeIntensityMap(const typename PreprocessorType::IntensityMap & map)
  {
    m_VolumeIntensityMap = map;
    this->Modified();
  }
  void
  ClearVolumeIntensityMap()
  {
    if (m_VolumeIntensityMap)
    {
      m_VolumeIntensityMap.reset();
      this->Modified();
    }
  }
  const std::optional<typename PreprocessorType::IntensityMap> &
  GetVolumeIntensityMap() const
  {
    return m_VolumeIntensityMap;
  }

  /** The model the filter runs: the ModelInput's, or the one loaded from ModelFileName. Throws when there is
   * none yet. */
  const anunet::Model &
  GetModel() const;

protected:
  ANUNetSegmentationImageFilter();
  ~ANUNetSegmentationImageFilter() override = default;

  void
  GenerateOutputInformation() override;
  void
  EnlargeOutputRequestedRegion(DataObject * output) override;
  void
  GenerateInputRequestedRegion() override;
  void
  GenerateData() override;

  void
  PrintSelf(std::ostream & os, Indent indent) const override;

private:
  /** The model's preprocessing when the model is already known (it may come from a filter not yet run). */
  const anunet::Preprocessing *
  KnownPreprocessing();

  /** Loads ModelFileName when it changed; checks that exactly one model source is set. */
  void
  ResolveModelSource();

  /** The model on Device: the model itself, or a clone moved there. */
  const anunet::Model &
  ModelOnDevice();

  /** Whether the input must be buffered whole: Percentile and ZScore without a volume intensity map. */
  bool
  NeedsWholeInput(const anunet::Preprocessing & preprocessing) const
  {
    return PreprocessorType::NeedsWholeVolume(preprocessing) && !m_VolumeIntensityMap;
  }

  /** Checks the model against the filter's parameters and the input; throws with a clear message. */
  void
  CheckModel(const anunet::Model & model) const;

  std::string          m_ModelFileName;
  int                  m_Level = RecordedLevel;
  double               m_Threshold = 0.5;
  bool                 m_OutputProbabilities = false;
  int                  m_ProbabilityClass = 1;
  int                  m_NumberOfThreads = 0;
  std::string          m_Device = "cpu";
  std::string          m_Precision = "float32";
  unsigned int         m_BatchSize = 4;
  bool                 m_TestTimeMirroring = false;
  ANUNetModel::Pointer m_LoadedModel;
  std::string          m_LoadedFileName;
  struct ModelOnDeviceType
  {
    anunet::Model    source;
    anunet::Model    copy;
    std::string      device;
    ModifiedTimeType holderTime;
  };
  std::optional<ModelOnDeviceType>                       m_ModelOnDevice;
  std::optional<typename PreprocessorType::IntensityMap> m_VolumeIntensityMap;
};

} // namespace itk

#ifndef ITK_MANUAL_INSTANTIATION
#  include "itkANUNetSegmentationImageFilter.hxx"
#endif

#endif
