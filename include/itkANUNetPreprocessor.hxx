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
#ifndef itkANUNetPreprocessor_hxx
#define itkANUNetPreprocessor_hxx

#include "itkANUNetPreprocessor.h"

#include "anunet/Statistics.h"

#include "itkImageRegionConstIterator.h"
#include "itkImageRegionConstIteratorWithIndex.h"
#include "itkImageRegionIteratorWithIndex.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>
#include <string>

namespace itk
{

template <typename TImage>
void
ANUNetPreprocessor<TImage>::SetPreprocessing(const anunet::Preprocessing & preprocessing)
{
  if (preprocessing.width < 1 || preprocessing.height < 1)
  {
    itkExceptionMacro("Network size " << preprocessing.width << " x " << preprocessing.height
                                      << " is invalid: width and height must be positive");
  }
  if (preprocessing.sliceAxis < 0 || preprocessing.sliceAxis > 2)
  {
    itkExceptionMacro("Slice axis " << preprocessing.sliceAxis << " is invalid: it must be 0, 1 or 2");
  }
  const anunet::IntensityNormalization & intensity = preprocessing.intensity;
  if (intensity.method == anunet::IntensityNormalization::Method::Window &&
      !(intensity.windowMaximum > intensity.windowMinimum))
  {
    itkExceptionMacro("Intensity window [" << intensity.windowMinimum << ", " << intensity.windowMaximum
                                           << "] is empty: the maximum must exceed the minimum");
  }
  if (intensity.method == anunet::IntensityNormalization::Method::Percentile &&
      !(intensity.percentileLow >= 0.0 && intensity.percentileLow < intensity.percentileHigh &&
        intensity.percentileHigh <= 100.0))
  {
    itkExceptionMacro("Percentiles [" << intensity.percentileLow << ", " << intensity.percentileHigh
                                      << "] are invalid: they must satisfy 0 <= low < high <= 100");
  }
  m_Preprocessing = preprocessing;
  this->Modified();
}

template <typename TImage>
bool
ANUNetPreprocessor<TImage>::NeedsWholeVolume(const anunet::Preprocessing & preprocessing)
{
  using Method = anunet::IntensityNormalization::Method;
  return preprocessing.intensity.method == Method::Percentile || preprocessing.intensity.method == Method::ZScore;
}

/** One pass over pixels: the non-finite ones (an error), and what the normalisations need. */
template <typename TImage>
struct ANUNetPreprocessor<TImage>::Scan
{
  double        sum = 0.0;
  SizeValueType pixels = 0;
  SizeValueType nonFinite = 0;
  IndexType     firstNonFinite{};
  double        firstNonFiniteValue = 0.0;

  /** Adds region's pixels in ITK's order (x fastest), so that slabs scanned in turn sum as the whole does. */
  template <typename TCollect>
  void
  Add(const ImageType * image, const RegionType & region, TCollect && collect)
  {
    pixels += region.GetNumberOfPixels();
    for (ImageRegionConstIterator<ImageType> it(image, region); !it.IsAtEnd(); ++it)
    {
      const auto value = static_cast<double>(it.Get());
      if (!std::isfinite(value))
      {
        if (nonFinite++ == 0)
        {
          firstNonFinite = it.GetIndex();
          firstNonFiniteValue = value;
        }
        continue;
      }
      sum += value;
      collect(value);
    }
  }

  /** The description of the error for non-finite pixels; empty when there are none. */
  std::string
  NonFiniteProblem() const
  {
    if (nonFinite == 0)
    {
      return {};
    }
    std::ostringstream message;
    message << "The image holds " << (std::isnan(firstNonFiniteValue) ? "NaN" : "an infinite value") << " at index "
            << firstNonFinite << " (" << nonFinite << " of " << pixels
            << " pixels are NaN or infinite); the networks need finite intensities";
    return message.str();
  }
};

template <typename TImage>
void
ANUNetPreprocessor<TImage>::AddSquaredDeviations(const ImageType *  image,
                                                 const RegionType & region,
                                                 double             mean,
                                                 double &           squares)
{
  // A second pass: the textbook one-pass formula loses precision on CT values around 1000.
  for (ImageRegionConstIterator<ImageType> it(image, region); !it.IsAtEnd(); ++it)
  {
    const double d = static_cast<double>(it.Get()) - mean;
    squares += d * d;
  }
}

template <typename TImage>
auto
ANUNetPreprocessor<TImage>::MapFor(const anunet::IntensityNormalization & intensity,
                                   double                                 lower,
                                   double                                 upper,
                                   double                                 mean,
                                   double                                 deviation) -> IntensityMap
{
  using Method = anunet::IntensityNormalization::Method;
  IntensityMap map;
  switch (intensity.method)
  {
    case Method::None:
      break;
    case Method::Window:
      map.clamp = true;
      map.lower = intensity.windowMinimum;
      map.upper = intensity.windowMaximum;
      map.offset = intensity.windowMinimum;
      map.scale = 1.0 / (intensity.windowMaximum - intensity.windowMinimum);
      break;
    case Method::Percentile:
      map.clamp = true;
      map.lower = lower;
      map.upper = upper;
      map.offset = lower;
      // A constant volume maps to 0 rather than dividing by zero.
      map.scale = upper > lower ? 1.0 / (upper - lower) : 0.0;
      break;
    case Method::ZScore:
      map.offset = mean;
      map.scale = deviation > 0.0 ? 1.0 / deviation : 1.0;
      break;
  }
  return map;
}

template <typename TImage>
void
ANUNetPreprocessor<TImage>::SetVolumeIntensityMap(const IntensityMap & map)
{
  m_VolumeIntensityMap = map;
  this->Modified();
}

template <typename TImage>
void
ANUNetPreprocessor<TImage>::ClearVolumeIntensityMap()
{
  if (m_VolumeIntensityMap)
  {
    m_VolumeIntensityMap.reset();
    this->Modified();
  }
}

template <typename TImage>
void
ANUNetPreprocessor<TImage>::Initialize()
{
  using Method = anunet::IntensityNormalization::Method;
  if (m_Input.IsNull())
  {
    itkExceptionMacro("No input image: call SetInput() first");
  }
  const RegionType region = m_Input->GetBufferedRegion();
  if (region.GetNumberOfPixels() == 0)
  {
    itkExceptionMacro("The input image holds no pixels (empty buffered region); update it first");
  }
  const anunet::IntensityNormalization & intensity = m_Preprocessing.intensity;
  if (NeedsWholeVolume(m_Preprocessing) && !m_VolumeIntensityMap && region != m_Input->GetLargestPossibleRegion())
  {
    itkExceptionMacro("Intensity normalisation '" << anunet::toString(intensity.method)
                                                  << "' uses the whole volume, but only the region " << region
                                                  << " of it is in memory (ComputeVolumeIntensityMap() computes its "
                                                     "statistics slab by slab)");
  }

  // One pass: reject non-finite values and gather what the normalisation needs.
  const bool         wantValues = intensity.method == Method::Percentile && !m_VolumeIntensityMap;
  std::vector<float> values;
  if (wantValues)
  {
    values.reserve(region.GetNumberOfPixels());
  }
  Scan scan;
  scan.Add(m_Input, region, [&](double value) {
    if (wantValues)
    {
      values.push_back(static_cast<float>(value));
    }
  });
  if (const std::string problem = scan.NonFiniteProblem(); !problem.empty())
  {
    itkExceptionMacro(<< problem);
  }

  if (m_VolumeIntensityMap)
  {
    m_IntensityMap = *m_VolumeIntensityMap;
  }
  else
  {
    double lower = 0.0;
    double upper = 0.0;
    double mean = 0.0;
    double deviation = 0.0;
    if (intensity.method == Method::Percentile)
    {
      lower = anunet::quantile(values, intensity.percentileLow / 100.0);
      upper = anunet::quantile(values, intensity.percentileHigh / 100.0);
    }
    else if (intensity.method == Method::ZScore)
    {
      const auto count = static_cast<double>(scan.pixels);
      mean = scan.sum / count;
      double squares = 0.0;
      AddSquaredDeviations(m_Input, region, mean, squares);
      deviation = std::sqrt(squares / count);
    }
    m_IntensityMap = MapFor(intensity, lower, upper, mean, deviation);
  }
  m_InitializedTime = this->GetMTime();
  m_InitializedInputTime = m_Input->GetMTime();
}

template <typename TImage>
auto
ANUNetPreprocessor<TImage>::ComputeVolumeIntensityMap(ImageType *                   image,
                                                      const anunet::Preprocessing & preprocessing,
                                                      SizeValueType slicesPerSlab) -> std::optional<IntensityMap>
{
  using Method = anunet::IntensityNormalization::Method;
  auto preprocessor = Self::New();
  preprocessor->SetPreprocessing(preprocessing); // checks it
  const anunet::IntensityNormalization & intensity = preprocessing.intensity;
  if (!NeedsWholeVolume(preprocessing))
  {
    return MapFor(intensity, 0.0, 0.0, 0.0, 0.0);
  }
  if (image == nullptr)
  {
    itkGenericExceptionMacro("ComputeVolumeIntensityMap: no image");
  }
  image->UpdateOutputInformation();
  const RegionType     whole = image->GetLargestPossibleRegion();
  const IndexValueType first = preprocessor->GetFirstSlice(whole);
  const SizeValueType  slices = preprocessor->GetNumberOfSlices(whole);
  const SizeValueType  step = std::max<SizeValueType>(1, slicesPerSlab);
  // Each slab is brought into memory in turn; an image without a source (already in memory) keeps its buffer.
  auto forEachSlab = [&](auto && visit) {
    for (SizeValueType done = 0; done < slices; done += step)
    {
      const RegionType slab =
        preprocessor->GetSlabRegion(whole, first + static_cast<IndexValueType>(done), std::min(step, slices - done));
      image->SetRequestedRegion(slab);
      image->Update();
      visit(slab);
    }
  };

  Scan                scan;
  anunet::ValueCounts counts;
  const bool          percentile = intensity.method == Method::Percentile;
  forEachSlab([&](const RegionType & slab) {
    scan.Add(image, slab, [&](double value) {
      if (percentile)
      {
        counts.add(static_cast<float>(value));
      }
    });
  });
  if (const std::string problem = scan.NonFiniteProblem(); !problem.empty())
  {
    itkGenericExceptionMacro(<< problem);
  }
  if (percentile)
  {
    if (counts.full())
    {
      return std::nullopt; // too many distinct values to count: the caller holds the volume instead
    }
    return MapFor(intensity,
                  counts.quantile(intensity.percentileLow / 100.0),
                  counts.quantile(intensity.percentileHigh / 100.0),
                  0.0,
                  0.0);
  }
  const auto   count = static_cast<double>(scan.pixels);
  const double mean = scan.sum / count;
  double       squares = 0.0;
  forEachSlab([&](const RegionType & slab) { AddSquaredDeviations(image, slab, mean, squares); });
  return MapFor(intensity, 0.0, 0.0, mean, std::sqrt(squares / count));
}

template <typename TImage>
void
ANUNetPreprocessor<TImage>::RequireInitialized() const
{
  if (m_Input.IsNull() || m_InitializedTime != this->GetMTime() || m_InitializedInputTime != m_Input->GetMTime())
  {
    itkExceptionMacro("Initialize() must be called after the input or the preprocessing changed");
  }
}

template <typename TImage>
unsigned int
ANUNetPreprocessor<TImage>::GetSliceAxis() const
{
  if constexpr (ImageDimension == 2)
  {
    return 2;
  }
  else
  {
    return static_cast<unsigned int>(m_Preprocessing.sliceAxis);
  }
}

template <typename TImage>
unsigned int
ANUNetPreprocessor<TImage>::GetWidthAxis() const
{
  return (ImageDimension == 3 && GetSliceAxis() == 0) ? 1 : 0;
}

template <typename TImage>
unsigned int
ANUNetPreprocessor<TImage>::GetHeightAxis() const
{
  return (ImageDimension == 3 && GetSliceAxis() != 2) ? 2 : 1;
}

template <typename TImage>
auto
ANUNetPreprocessor<TImage>::GetFirstSlice(const RegionType & region) const -> IndexValueType
{
  if constexpr (ImageDimension == 2)
  {
    return 0;
  }
  else
  {
    return region.GetIndex(GetSliceAxis());
  }
}

template <typename TImage>
auto
ANUNetPreprocessor<TImage>::GetNumberOfSlices(const RegionType & region) const -> SizeValueType
{
  if constexpr (ImageDimension == 2)
  {
    return 1;
  }
  else
  {
    return region.GetSize(GetSliceAxis());
  }
}

template <typename TImage>
auto
ANUNetPreprocessor<TImage>::GetSlabRegion(const RegionType & region, IndexValueType first, SizeValueType count) const
  -> RegionType
{
  const IndexValueType regionFirst = GetFirstSlice(region);
  const auto           regionEnd = regionFirst + static_cast<IndexValueType>(GetNumberOfSlices(region));
  if (count == 0 || first < regionFirst || first + static_cast<IndexValueType>(count) > regionEnd)
  {
    itkExceptionMacro("Slices [" << first << ", " << first + static_cast<IndexValueType>(count)
                                 << ") are not within the slices [" << regionFirst << ", " << regionEnd
                                 << ") of region " << region);
  }
  RegionType slab = region;
  if constexpr (ImageDimension == 3)
  {
    slab.SetIndex(GetSliceAxis(), first);
    slab.SetSize(GetSliceAxis(), count);
  }
  return slab;
}

template <typename TImage>
auto
ANUNetPreprocessor<TImage>::GetWholeInPlaneRegion(const RegionType & region, const RegionType & whole) const
  -> RegionType
{
  RegionType widened = whole;
  if constexpr (ImageDimension == 3)
  {
    widened.SetIndex(GetSliceAxis(), region.GetIndex(GetSliceAxis()));
    widened.SetSize(GetSliceAxis(), region.GetSize(GetSliceAxis()));
  }
  return widened;
}

template <typename TImage>
auto
ANUNetPreprocessor<TImage>::GetInputWidth() const -> SizeValueType
{
  if (m_Input.IsNull())
  {
    itkExceptionMacro("No input image: call SetInput() first");
  }
  return m_Input->GetBufferedRegion().GetSize(GetWidthAxis());
}

template <typename TImage>
auto
ANUNetPreprocessor<TImage>::GetInputHeight() const -> SizeValueType
{
  if (m_Input.IsNull())
  {
    itkExceptionMacro("No input image: call SetInput() first");
  }
  return m_Input->GetBufferedRegion().GetSize(GetHeightAxis());
}

template <typename TImage>
template <typename TAnyImage, typename TValue, typename TConvert>
void
ANUNetPreprocessor<TImage>::GatherSlices(const TAnyImage * image,
                                         IndexValueType    first,
                                         SizeValueType     count,
                                         TValue *          dense,
                                         TConvert          convert) const
{
  static_assert(TAnyImage::ImageDimension == ImageDimension, "images of different dimensions");
  const RegionType     buffered = image->GetBufferedRegion();
  const RegionType     slab = GetSlabRegion(buffered, first, count);
  const unsigned int   widthAxis = GetWidthAxis();
  const unsigned int   heightAxis = GetHeightAxis();
  const SizeValueType  width = buffered.GetSize(widthAxis);
  const SizeValueType  height = buffered.GetSize(heightAxis);
  const IndexValueType x0 = buffered.GetIndex(widthAxis);
  const IndexValueType y0 = buffered.GetIndex(heightAxis);
  for (ImageRegionConstIteratorWithIndex<TAnyImage> it(image, slab); !it.IsAtEnd(); ++it)
  {
    const typename TAnyImage::IndexType & index = it.GetIndex();
    IndexValueType                        slice = 0;
    if constexpr (ImageDimension == 3)
    {
      slice = index[GetSliceAxis()] - first;
    }
    const SizeValueType position = (static_cast<SizeValueType>(slice) * height + (index[heightAxis] - y0)) * width +
                                   static_cast<SizeValueType>(index[widthAxis] - x0);
    dense[position] = convert(it.Get());
  }
}

template <typename TImage>
void
ANUNetPreprocessor<TImage>::ExtractSlices(IndexValueType first, SizeValueType count, float * network) const
{
  this->RequireInitialized();
  const SizeValueType inputWidth = GetInputWidth();
  const SizeValueType inputHeight = GetInputHeight();
  const auto          networkWidth = static_cast<SizeValueType>(m_Preprocessing.width);
  const auto          networkHeight = static_cast<SizeValueType>(m_Preprocessing.height);
  std::vector<float>  dense(count * inputHeight * inputWidth);
  const IntensityMap  map = m_IntensityMap;
  GatherSlices(m_Input.GetPointer(), first, count, dense.data(), [&map](const PixelType & value) {
    return map(static_cast<double>(value));
  });
  for (SizeValueType s = 0; s < count; ++s)
  {
    ResampleLinear(dense.data() + s * inputHeight * inputWidth,
                   inputWidth,
                   inputHeight,
                   network + s * networkHeight * networkWidth,
                   networkWidth,
                   networkHeight);
  }
}

template <typename TImage>
std::vector<float>
ANUNetPreprocessor<TImage>::ExtractSlices(IndexValueType first, SizeValueType count) const
{
  std::vector<float> network(count * static_cast<SizeValueType>(m_Preprocessing.width) *
                             static_cast<SizeValueType>(m_Preprocessing.height));
  this->ExtractSlices(first, count, network.data());
  return network;
}

template <typename TImage>
void
ANUNetPreprocessor<TImage>::MapToInputGrid(const float * network,
                                           SizeValueType count,
                                           unsigned int  channels,
                                           float *       input) const
{
  const SizeValueType inputWidth = GetInputWidth();
  const SizeValueType inputHeight = GetInputHeight();
  const auto          networkWidth = static_cast<SizeValueType>(m_Preprocessing.width);
  const auto          networkHeight = static_cast<SizeValueType>(m_Preprocessing.height);
  for (SizeValueType map = 0; map < count * channels; ++map)
  {
    ResampleLinear(network + map * networkHeight * networkWidth,
                   networkWidth,
                   networkHeight,
                   input + map * inputHeight * inputWidth,
                   inputWidth,
                   inputHeight);
  }
}

template <typename TImage>
template <typename TOutputImage>
void
ANUNetPreprocessor<TImage>::InsertSlices(const typename TOutputImage::PixelType * values,
                                         IndexValueType                           first,
                                         SizeValueType                            count,
                                         TOutputImage *                           output) const
{
  static_assert(TOutputImage::ImageDimension == ImageDimension, "images of different dimensions");
  const RegionType     buffered = output->GetBufferedRegion();
  const unsigned int   widthAxis = GetWidthAxis();
  const unsigned int   heightAxis = GetHeightAxis();
  const SizeValueType  width = buffered.GetSize(widthAxis);
  const SizeValueType  height = buffered.GetSize(heightAxis);
  const IndexValueType x0 = buffered.GetIndex(widthAxis);
  const IndexValueType y0 = buffered.GetIndex(heightAxis);
  if (width != GetInputWidth() || height != GetInputHeight())
  {
    itkExceptionMacro("The output region " << buffered << " does not span the input's in-plane size " << GetInputWidth()
                                           << " x " << GetInputHeight());
  }
  const RegionType slab = GetSlabRegion(buffered, first, count);
  for (ImageRegionIteratorWithIndex<TOutputImage> it(output, slab); !it.IsAtEnd(); ++it)
  {
    const typename TOutputImage::IndexType & index = it.GetIndex();
    IndexValueType                           slice = 0;
    if constexpr (ImageDimension == 3)
    {
      slice = index[GetSliceAxis()] - first;
    }
    it.Set(values[(static_cast<SizeValueType>(slice) * height + (index[heightAxis] - y0)) * width +
                  static_cast<SizeValueType>(index[widthAxis] - x0)]);
  }
}

template <typename TImage>
template <typename TLabelImage>
anunet::SliceVolume
ANUNetPreprocessor<TImage>::MakeSliceVolume(const TLabelImage * labels, const std::string & name) const
{
  static_assert(TLabelImage::ImageDimension == ImageDimension, "image and labels of different dimensions");
  this->RequireInitialized();
  if (labels == nullptr)
  {
    itkExceptionMacro("Case " << name << ": no label image");
  }
  const RegionType region = m_Input->GetBufferedRegion();
  if (labels->GetBufferedRegion() != region)
  {
    itkExceptionMacro("Case " << name << ": the label image's region " << labels->GetBufferedRegion()
                              << " differs from the image's region " << region);
  }
  // Same tolerances as ImageToImageFilter::VerifyInputInformation.
  const double coordinateTolerance = 1e-6 * m_Input->GetSpacing()[0];
  for (unsigned int d = 0; d < ImageDimension; ++d)
  {
    bool same = std::abs(labels->GetOrigin()[d] - m_Input->GetOrigin()[d]) <= coordinateTolerance &&
                std::abs(labels->GetSpacing()[d] - m_Input->GetSpacing()[d]) <= coordinateTolerance;
    for (unsigned int e = 0; e < ImageDimension; ++e)
    {
      same = same && std::abs(labels->GetDirection()[d][e] - m_Input->GetDirection()[d][e]) <= 1e-6;
    }
    if (!same)
    {
      itkExceptionMacro("Case " << name << ": the label image is not on the image's grid (origin "
                                << labels->GetOrigin() << " vs " << m_Input->GetOrigin() << ", spacing "
                                << labels->GetSpacing() << " vs " << m_Input->GetSpacing()
                                << ", or direction differs)");
    }
  }
  const anunet::LabelMapping & mapping = m_Preprocessing.labels;
  if (mapping.classes.size() > std::numeric_limits<uint8_t>::max())
  {
    itkExceptionMacro("Case " << name << ": " << mapping.classes.size() << " classes do not fit in 8-bit labels");
  }

  anunet::SliceVolume volume;
  volume.name = name;
  volume.slices = static_cast<int64_t>(GetNumberOfSlices(region));
  volume.channels = 1;
  volume.height = m_Preprocessing.height;
  volume.width = m_Preprocessing.width;
  const auto          networkArea = static_cast<SizeValueType>(volume.height * volume.width);
  const SizeValueType inputWidth = GetInputWidth();
  const SizeValueType inputHeight = GetInputHeight();
  volume.image.resize(static_cast<SizeValueType>(volume.slices) * networkArea);
  volume.labels.resize(static_cast<SizeValueType>(volume.slices) * networkArea);

  // A few slices at a time, so that memory stays near the size of the result.
  constexpr SizeValueType chunk = 16;
  std::vector<uint8_t>    dense;
  const IndexValueType    first = GetFirstSlice(region);
  anunet::UnnamedLabels   unnamed(mapping);
  const auto              label = [&mapping, &unnamed](const typename TLabelImage::PixelType & value) {
    const int source = static_cast<int>(std::lround(static_cast<double>(value)));
    unnamed.count(source);
    return static_cast<uint8_t>(mapping.classOf(source));
  };
  for (SizeValueType done = 0; done < static_cast<SizeValueType>(volume.slices); done += chunk)
  {
    const SizeValueType count = std::min(chunk, static_cast<SizeValueType>(volume.slices) - done);
    const auto          start = first + static_cast<IndexValueType>(done);
    this->ExtractSlices(start, count, volume.image.data() + done * networkArea);
    dense.resize(count * inputHeight * inputWidth);
    GatherSlices(labels, start, count, dense.data(), label);
    for (SizeValueType s = 0; s < count; ++s)
    {
      ResampleNearest(dense.data() + s * inputHeight * inputWidth,
                      inputWidth,
                      inputHeight,
                      volume.labels.data() + (done + s) * networkArea,
                      static_cast<SizeValueType>(volume.width),
                      static_cast<SizeValueType>(volume.height));
    }
  }
  if (!unnamed.empty())
  {
    itkExceptionMacro("Case " << name << ": " << unnamed.message());
  }
  return volume;
}

template <typename TImage>
template <typename TLabelImage>
anunet::SliceVolume
ANUNetPreprocessor<TImage>::MakeSliceVolume(const ImageType *             image,
                                            const TLabelImage *           labels,
                                            const anunet::Preprocessing & preprocessing,
                                            const std::string &           name)
{
  auto preprocessor = Self::New();
  try
  {
    preprocessor->SetPreprocessing(preprocessing);
    preprocessor->SetInput(image);
    preprocessor->Initialize();
  }
  catch (const ExceptionObject & e)
  {
    itkGenericExceptionMacro("Case " << name << ": " << e.GetDescription());
  }
  return preprocessor->MakeSliceVolume(labels, name);
}

template <typename TImage>
double
ANUNetPreprocessor<TImage>::SourceCoordinate(SizeValueType i, SizeValueType sourceSize, SizeValueType targetSize)
{
  const double x =
    (static_cast<double>(i) + 0.5) * static_cast<double>(sourceSize) / static_cast<double>(targetSize) - 0.5;
  return std::min(std::max(x, 0.0), static_cast<double>(sourceSize - 1));
}

template <typename TImage>
void
ANUNetPreprocessor<TImage>::ResampleLinear(const float * source,
                                           SizeValueType sourceWidth,
                                           SizeValueType sourceHeight,
                                           float *       target,
                                           SizeValueType targetWidth,
                                           SizeValueType targetHeight)
{
  // Separable weights, computed once per axis.
  struct Tap
  {
    SizeValueType lower;
    SizeValueType upper;
    float         weight; // of upper
  };
  const auto taps = [](SizeValueType sourceSize, SizeValueType targetSize) {
    std::vector<Tap> result(targetSize);
    for (SizeValueType i = 0; i < targetSize; ++i)
    {
      const double x = SourceCoordinate(i, sourceSize, targetSize);
      const auto   lower = static_cast<SizeValueType>(std::floor(x));
      result[i] = { lower, std::min(lower + 1, sourceSize - 1), static_cast<float>(x - static_cast<double>(lower)) };
    }
    return result;
  };
  const std::vector<Tap> columns = taps(sourceWidth, targetWidth);
  const std::vector<Tap> rows = taps(sourceHeight, targetHeight);
  for (SizeValueType v = 0; v < targetHeight; ++v)
  {
    const float * row0 = source + rows[v].lower * sourceWidth;
    const float * row1 = source + rows[v].upper * sourceWidth;
    const float   wy = rows[v].weight;
    float *       out = target + v * targetWidth;
    for (SizeValueType u = 0; u < targetWidth; ++u)
    {
      const Tap & c = columns[u];
      const float top = (1.0f - c.weight) * row0[c.lower] + c.weight * row0[c.upper];
      const float bottom = (1.0f - c.weight) * row1[c.lower] + c.weight * row1[c.upper];
      out[u] = (1.0f - wy) * top + wy * bottom;
    }
  }
}

template <typename TImage>
void
ANUNetPreprocessor<TImage>::ResampleNearest(const uint8_t * source,
                                            SizeValueType   sourceWidth,
                                            SizeValueType   sourceHeight,
                                            uint8_t *       target,
                                            SizeValueType   targetWidth,
                                            SizeValueType   targetHeight)
{
  const auto nearest = [](SizeValueType i, SizeValueType sourceSize, SizeValueType targetSize) {
    const auto index = static_cast<SizeValueType>(std::floor(SourceCoordinate(i, sourceSize, targetSize) + 0.5));
    return std::min(index, sourceSize - 1);
  };
  std::vector<SizeValueType> columns(targetWidth);
  for (SizeValueType u = 0; u < targetWidth; ++u)
  {
    columns[u] = nearest(u, sourceWidth, targetWidth);
  }
  for (SizeValueType v = 0; v < targetHeight; ++v)
  {
    const uint8_t * row = source + nearest(v, sourceHeight, targetHeight) * sourceWidth;
    for (SizeValueType u = 0; u < targetWidth; ++u)
    {
      target[v * targetWidth + u] = row[columns[u]];
    }
  }
}

template <typename TImage>
void
ANUNetPreprocessor<TImage>::PrintSelf(std::ostream & os, Indent indent) const
{
  Superclass::PrintSelf(os, indent);
  os << indent << "Intensity: " << anunet::toString(m_Preprocessing.intensity.method) << '\n';
  os << indent << "NetworkSize: " << m_Preprocessing.width << " x " << m_Preprocessing.height << '\n';
  os << indent << "SliceAxis: " << GetSliceAxis() << '\n';
  os << indent << "IntensityMap: clamp " << (m_IntensityMap.clamp ? "on" : "off") << " [" << m_IntensityMap.lower
     << ", " << m_IntensityMap.upper << "], offset " << m_IntensityMap.offset << ", scale " << m_IntensityMap.scale
     << '\n';
  os << indent << "Input: " << m_Input.GetPointer() << '\n';
}

} // namespace itk

#endif
