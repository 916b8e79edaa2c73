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
#ifndef itkANUNetPreprocessor_h
#define itkANUNetPreprocessor_h

#include "itkImage.h"
#include "itkObject.h"
#include "itkObjectFactory.h"
#include "anunet/Preprocessing.h"
#include "anunet/Training.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace itk
{

/** \class ANUNetPreprocessor
 * \brief Everything between an ITK image and the network's N x C x H x W float buffers, and back: the
 * only place where intensity normalisation, slicing and in-plane resampling are implemented.
 *
 * Both inference (ANUNetSegmentationImageFilter) and training (ANUNetTrainingFilter, through
 * MakeSliceVolume()) use it, so a network sees at inference exactly what it saw in training.
 *
 * Slicing: a 3-D image is cut along anunet::Preprocessing::sliceAxis; the two remaining axes, in
 * increasing order, are the slice's width (W, fastest in the buffers) and height (H) axes. So for the
 * usual slice axis 2 a slice is laid out as ITK stores it (x fastest, then y). A 2-D image is one slice
 * with width axis 0 and height axis 1.
 *
 * In-plane resampling: a slice of Win x Hin pixels maps to the network's width x height by one bilinear
 * map that aligns pixel areas, not pixel centres: network pixel u covers input coordinates
 * [u, u + 1) * Win / W, so its centre sits at the continuous input index
 *   x = (u + 0.5) * Win / W - 0.5,
 * clamped to [0, Win - 1] (edge pixels are replicated). The same map, with the roles of the two grids
 * exchanged, takes network probabilities back onto the input grid. This is the convention of
 * torch.nn.functional.interpolate(mode="bilinear", align_corners=False), so preprocessing done in Python
 * agrees with it. Equal sizes give the identity; a 2:1 reduction averages pixel pairs. Labels use the
 * nearest pixel to the same coordinate (round half up) and are mapped to class indices with
 * anunet::LabelMapping::classOf() before resampling; a label value the mapping does not name
 * (anunet::LabelMapping::names) is an exception naming the case, the values and their voxel counts.
 *
 * Intensities (anunet::IntensityNormalization): Window clamps to [windowMinimum, windowMaximum] and scales
 * to [0, 1]; Percentile does the same between the percentileLow and percentileHigh percentiles of the
 * volume (linear interpolation between order statistics, as numpy.percentile); ZScore subtracts the
 * volume's mean and divides by its standard deviation (population; 1 when it is 0); None passes values
 * through. Percentile and ZScore use the whole volume, so the input's buffered region must then be its
 * largest possible region (NeedsWholeVolume()), unless the volume's map was computed beforehand, slab by slab
 * (ComputeVolumeIntensityMap(), SetVolumeIntensityMap()). A NaN or infinite pixel is an error.
 *
 * Usage: SetPreprocessing(), SetInput(), Initialize() (scans the buffered region once), then
 * ExtractSlices() / MapToInputGrid() / InsertSlices() for any slab of slices of the buffered region.
 *
 * \ingroup ANUNet
 */
template <typename TImage>
class ITK_TEMPLATE_EXPORT ANUNetPreprocessor : public Object
{
public:
  ITK_DISALLOW_COPY_AND_MOVE(ANUNetPreprocessor);

  using Self = ANUNetPreprocessor;
  using Superclass = Object;
  using Pointer = SmartPointer<Self>;
  using ConstPointer = SmartPointer<const Self>;

  itkNewMacro(Self);
  itkTypeMacro(ANUNetPreprocessor, Object);

  using ImageType = TImage;
  using PixelType = typename ImageType::PixelType;
  using RegionType = typename ImageType::RegionType;
  using IndexType = typename ImageType::IndexType;
  using SizeType = typename ImageType::SizeType;
  using IndexValueType = typename IndexType::IndexValueType;
  using SizeValueType = typename SizeType::SizeValueType;

  static constexpr unsigned int ImageDimension = ImageType::ImageDimension;
  static_assert(ImageDimension == 2 || ImageDimension == 3, "ANU-Net works on 2-D slices and 3-D volumes");

  /** The affine intensity map: y = (clamp ? min(max(x, lower), upper) : x) - offset) * scale. */
  struct IntensityMap
  {
    bool   clamp = false;
    double lower = 0.0;
    double upper = 0.0;
    double offset = 0.0;
    double scale = 1.0;

    float
    operator()(double value) const
    {
      if (clamp)
      {
        value = value < lower ? lower : (value > upper ? upper : value);
      }
      return static_cast<float>((value - offset) * scale);
    }
  };

  /** Checks and stores the preprocessing; throws an ExceptionObject naming the inconsistent field. */
  void
  SetPreprocessing(const anunet::Preprocessing & preprocessing);
  const anunet::Preprocessing &
  GetPreprocessing() const
  {
    return m_Preprocessing;
  }

  itkSetConstObjectMacro(Input, ImageType);
  itkGetConstObjectMacro(Input, ImageType);

  /** True for the normalisations that need statistics of the whole volume (Percentile, ZScore). */
  static bool
  NeedsWholeVolume(const anunet::Preprocessing & preprocessing);

  /** Scans the input's buffered region: rejects NaN and infinite values (the message names the first one's
   * index and how many there are) and computes the intensity map, or takes the volume intensity map when one
   * is set. Call it after the input or the preprocessing changed and before extracting slices. */
  void
  Initialize();

  /** The intensity map of the whole volume, computed beforehand (ComputeVolumeIntensityMap()): Percentile and
   * ZScore then work on any slab of the volume, so that it never has to be held whole. */
  void
  SetVolumeIntensityMap(const IntensityMap & map);
  void
  ClearVolumeIntensityMap();
  const std::optional<IntensityMap> &
  GetVolumeIntensityMap() const
  {
    return m_VolumeIntensityMap;
  }

  /** The intensity map of the whole of image, computed slab by slab of slicesPerSlab slices: image is the output
   * of a pipeline (a reader, say), updated one slab at a time, so at most one slab is in memory. It equals the
   * map Initialize() computes on the whole volume (the same order statistics, sums in the same order). Rejects
   * NaN and infinite values as Initialize() does. Empty for a Percentile normalisation of a volume with more
   * distinct values than anunet::ValueCounts counts: the volume must then be held whole. */
  static std::optional<IntensityMap>
  ComputeVolumeIntensityMap(ImageType *                   image,
                            const anunet::Preprocessing & preprocessing,
                            SizeValueType                 slicesPerSlab);

  const IntensityMap &
  GetIntensityMap() const
  {
    return m_IntensityMap;
  }

  /** The slice axis (ImageDimension for a 2-D image, which has none) and the in-plane axes. */
  unsigned int
  GetSliceAxis() const;
  unsigned int
  GetWidthAxis() const;
  unsigned int
  GetHeightAxis() const;

  /** Index of the first slice of region along the slice axis, and the number of slices (0 and 1 in 2-D). */
  IndexValueType
  GetFirstSlice(const RegionType & region) const;
  SizeValueType
  GetNumberOfSlices(const RegionType & region) const;

  /** region restricted to the slices [first, first + count) (region itself in 2-D). */
  RegionType
  GetSlabRegion(const RegionType & region, IndexValueType first, SizeValueType count) const;

  /** region widened in-plane to the in-plane extent of whole; its slices are kept. */
  RegionType
  GetWholeInPlaneRegion(const RegionType & region, const RegionType & whole) const;

  /** In-plane size of the input's buffered region. */
  SizeValueType
  GetInputWidth() const;
  SizeValueType
  GetInputHeight() const;

  /** Network input for the slices [first, first + count) of the input's buffered region: count x 1 x height x
   * width floats (network size), normalised. */
  void
  ExtractSlices(IndexValueType first, SizeValueType count, float * network) const;
  std::vector<float>
  ExtractSlices(IndexValueType first, SizeValueType count) const;

  /** Network-size maps (count x channels x height x width) to the input's in-plane grid
   * (count x channels x GetInputHeight() x GetInputWidth()), by the bilinear map described above. */
  void
  MapToInputGrid(const float * network, SizeValueType count, unsigned int channels, float * input) const;

  /** Writes count in-plane slices (count x GetInputHeight() x GetInputWidth(), width fastest) into the
   * slices [first, first + count) of output's buffered region, which must span the input's in-plane size. */
  template <typename TOutputImage>
  void
  InsertSlices(const typename TOutputImage::PixelType * values,
               IndexValueType                           first,
               SizeValueType                            count,
               TOutputImage *                           output) const;

  /** Training data: every slice of the input's buffered region, normalised and resampled to the network
   * size, with labels (same grid as the input) mapped to class indices and resampled by nearest pixel.
   * Initialize() must have been called. */
  template <typename TLabelImage>
  anunet::SliceVolume
  MakeSliceVolume(const TLabelImage * labels, const std::string & name) const;

  /** Convenience for the training filter: one call per case; errors name the case. */
  template <typename TLabelImage>
  static anunet::SliceVolume
  MakeSliceVolume(const ImageType *             image,
                  const TLabelImage *           labels,
                  const anunet::Preprocessing & preprocessing,
                  const std::string &           name);

  /** The in-plane map itself, on dense width-fastest slices (see the class description). */
  static void
  ResampleLinear(const float * source,
                 SizeValueType sourceWidth,
                 SizeValueType sourceHeight,
                 float *       target,
                 SizeValueType targetWidth,
                 SizeValueType targetHeight);
  static void
  ResampleNearest(const uint8_t * source,
                  SizeValueType   sourceWidth,
                  SizeValueType   sourceHeight,
                  uint8_t *       target,
                  SizeValueType   targetWidth,
                  SizeValueType   targetHeight);

  /** Continuous source index of the centre of target pixel i (clamped to [0, sourceSize - 1]). */
  static double
  SourceCoordinate(SizeValueType i, SizeValueType sourceSize, SizeValueType targetSize);

protected:
  ANUNetPreprocessor() = default;
  ~ANUNetPreprocessor() override = default;

  void
  PrintSelf(std::ostream & os, Indent indent) const override;

private:
  /** Copies the slices [first, first + count) of image's buffered region into dense in-plane slices
   * (count x H x W over image's own in-plane extent), converting each pixel with convert. */
  template <typename TAnyImage, typename TValue, typename TConvert>
  void
  GatherSlices(const TAnyImage * image, IndexValueType first, SizeValueType count, TValue * dense, TConvert convert)
    const;

  void
  RequireInitialized() const;

  struct Scan;
  static void
  AddSquaredDeviations(const ImageType * image, const RegionType & region, double mean, double & squares);
  static IntensityMap
  MapFor(const anunet::IntensityNormalization & intensity, double lower, double upper, double mean, double deviation);

  anunet::Preprocessing            m_Preprocessing;
  typename ImageType::ConstPointer m_Input;
  IntensityMap                     m_IntensityMap;
  std::optional<IntensityMap>      m_VolumeIntensityMap;
  // What Initialize() saw, so that a stale intensity map is caught.
  ModifiedTimeType m_InitializedTime = 0;
  ModifiedTimeType m_InitializedInputTime = 0;
};

} // namespace itk

#ifndef ITK_MANUAL_INSTANTIATION
#  include "itkANUNetPreprocessor.hxx"
#endif

#endif
