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
#ifndef itkANUNetSegmentationMetricsImageFilter_hxx
#define itkANUNetSegmentationMetricsImageFilter_hxx

#include "itkANUNetSegmentationMetricsImageFilter.h"

#include "anunet/Statistics.h"

#include "itkConstNeighborhoodIterator.h"
#include "itkConstantBoundaryCondition.h"
#include "itkImageRegionConstIterator.h"
#include "itkImageRegionConstIteratorWithIndex.h"
#include "itkImageRegionIterator.h"
#include "itkImageScanlineConstIterator.h"
#include "itkSignedMaurerDistanceMapImageFilter.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <mutex>
#include <numeric>
#include <set>
#include <sstream>

namespace itk
{

template <typename TLabelImage>
ANUNetSegmentationMetricsImageFilter<TLabelImage>::ANUNetSegmentationMetricsImageFilter()
{
  this->SetPrimaryInputName("PredictionImage");
  this->AddRequiredInputName("GroundTruthImage", 1);
}

template <typename TLabelImage>
void
ANUNetSegmentationMetricsImageFilter<TLabelImage>::SetLabel(LabelPixelType label)
{
  if (m_EvaluateAllLabels || Math::NotExactlyEquals(m_Label, label))
  {
    m_Label = label;
    m_EvaluateAllLabels = false;
    this->Modified();
  }
}

template <typename TLabelImage>
auto
ANUNetSegmentationMetricsImageFilter<TLabelImage>::GetEvaluatedLabel(unsigned int i) const -> LabelPixelType
{
  if (i >= m_Labels.size())
  {
    itkExceptionMacro("label index " << i << " out of range: the last Update() evaluated " << m_Labels.size()
                                     << " labels");
  }
  return m_Labels[i];
}

template <typename TLabelImage>
auto
ANUNetSegmentationMetricsImageFilter<TLabelImage>::GetMetrics(LabelPixelType label) const -> const MetricsType &
{
  const auto found = m_Metrics.find(label);
  if (found == m_Metrics.end())
  {
    std::ostringstream evaluated;
    for (const auto l : m_Labels)
    {
      evaluated << ' ' << static_cast<typename NumericTraits<LabelPixelType>::PrintType>(l);
    }
    itkExceptionMacro("label " << static_cast<typename NumericTraits<LabelPixelType>::PrintType>(label)
                               << " was not evaluated (evaluated labels:" << evaluated.str()
                               << "); call Update() first or SetLabel()");
  }
  return found->second;
}

template <typename TLabelImage>
auto
ANUNetSegmentationMetricsImageFilter<TLabelImage>::GetSliceMetrics(LabelPixelType label) const
  -> const SliceMetricsType &
{
  const auto found = m_SliceMetrics.find(label);
  if (found == m_SliceMetrics.end())
  {
    itkExceptionMacro("no per-slice metrics for label "
                      << static_cast<typename NumericTraits<LabelPixelType>::PrintType>(label)
                      << (m_PerSlice ? ": the label was not evaluated" : ": PerSlice is off"));
  }
  return found->second;
}

template <typename TLabelImage>
void
ANUNetSegmentationMetricsImageFilter<TLabelImage>::VerifyInputInformation() ITKv5_CONST
{
  const TLabelImage * prediction = this->GetPredictionImage();
  const TLabelImage * truth = this->GetGroundTruthImage();
  if (prediction == nullptr || truth == nullptr)
  {
    return; // VerifyPreconditions reports missing inputs.
  }

  std::ostringstream differences;
  const RegionType & predictionRegion = prediction->GetLargestPossibleRegion();
  const RegionType & truthRegion = truth->GetLargestPossibleRegion();
  if (predictionRegion.GetSize() != truthRegion.GetSize())
  {
    differences << " size: prediction " << predictionRegion.GetSize() << ", ground truth " << truthRegion.GetSize()
                << ";";
  }
  if (predictionRegion.GetIndex() != truthRegion.GetIndex())
  {
    differences << " start index: prediction " << predictionRegion.GetIndex() << ", ground truth "
                << truthRegion.GetIndex() << ';';
  }

  // Same tolerances as ImageToImageFilter: relative to the first spacing for coordinates, absolute for direction.
  const double coordinateTolerance = std::abs(this->GetCoordinateTolerance() * prediction->GetSpacing()[0]);
  bool         spacingDiffers = false;
  bool         originDiffers = false;
  bool         directionDiffers = false;
  for (unsigned int i = 0; i < ImageDimension; ++i)
  {
    spacingDiffers |= std::abs(prediction->GetSpacing()[i] - truth->GetSpacing()[i]) > coordinateTolerance;
    originDiffers |= std::abs(prediction->GetOrigin()[i] - truth->GetOrigin()[i]) > coordinateTolerance;
    for (unsigned int j = 0; j < ImageDimension; ++j)
    {
      directionDiffers |=
        std::abs(prediction->GetDirection()[i][j] - truth->GetDirection()[i][j]) > this->GetDirectionTolerance();
    }
  }
  if (spacingDiffers)
  {
    differences << " spacing: prediction " << prediction->GetSpacing() << ", ground truth " << truth->GetSpacing()
                << " (tolerance " << coordinateTolerance << ");";
  }
  if (originDiffers)
  {
    differences << " origin: prediction " << prediction->GetOrigin() << ", ground truth " << truth->GetOrigin()
                << " (tolerance " << coordinateTolerance << ");";
  }
  if (directionDiffers)
  {
    // Matrix's operator<< spans lines; flatten it row by row so the message stays on one line.
    auto flat = [](const typename TLabelImage::DirectionType & d) {
      std::ostringstream os;
      os << '[';
      for (unsigned int i = 0; i < ImageDimension; ++i)
      {
        for (unsigned int j = 0; j < ImageDimension; ++j)
        {
          os << (i + j > 0 ? ", " : "") << d[i][j];
        }
      }
      os << ']';
      return os.str();
    };
    differences << " direction: prediction " << flat(prediction->GetDirection()) << ", ground truth "
                << flat(truth->GetDirection()) << " (tolerance " << this->GetDirectionTolerance() << ");";
  }
  if (!differences.str().empty())
  {
    std::string text = differences.str();
    text.pop_back(); // the last ';'
    itkExceptionMacro("prediction and ground truth are not on the same grid:" << text);
  }
}

template <typename TLabelImage>
void
ANUNetSegmentationMetricsImageFilter<TLabelImage>::GenerateInputRequestedRegion()
{
  Superclass::GenerateInputRequestedRegion();
  for (auto * input : { this->GetPredictionImage(), this->GetGroundTruthImage() })
  {
    if (input != nullptr)
    {
      const_cast<TLabelImage *>(input)->SetRequestedRegionToLargestPossibleRegion();
    }
  }
}

template <typename TLabelImage>
void
ANUNetSegmentationMetricsImageFilter<TLabelImage>::EnlargeOutputRequestedRegion(DataObject * data)
{
  Superclass::EnlargeOutputRequestedRegion(data);
  data->SetRequestedRegionToLargestPossibleRegion();
}

template <typename TLabelImage>
void
ANUNetSegmentationMetricsImageFilter<TLabelImage>::AllocateOutputs()
{
  // Pass the prediction through, so that the filter can sit inside a pipeline without copying the image.
  this->GraftOutput(const_cast<TLabelImage *>(this->GetPredictionImage()));
}

template <typename TLabelImage>
auto
ANUNetSegmentationMetricsImageFilter<TLabelImage>::CountLabelPairs(const RegionType & region)
  -> std::vector<JointCountsType>
{
  const TLabelImage *  prediction = this->GetPredictionImage();
  const TLabelImage *  truth = this->GetGroundTruthImage();
  constexpr unsigned   sliceAxis = ImageDimension - 1;
  const IndexValueType firstSlice = region.GetIndex(sliceAxis);

  std::vector<JointCountsType> counts(region.GetSize(sliceAxis));
  std::mutex                   countsMutex;

  this->GetMultiThreader()->SetNumberOfWorkUnits(this->GetNumberOfWorkUnits());
  this->GetMultiThreader()->template ParallelizeImageRegion<ImageDimension>(
    region,
    [&](const RegionType & chunk) {
      // Label images are piecewise constant along a line: count runs of one label pair, not single voxels.
      const IndexValueType                    chunkFirstSlice = chunk.GetIndex(sliceAxis);
      std::vector<JointCountsType>            local(chunk.GetSize(sliceAxis));
      ImageScanlineConstIterator<TLabelImage> p(prediction, chunk);
      ImageScanlineConstIterator<TLabelImage> t(truth, chunk);
      while (!p.IsAtEnd())
      {
        JointCountsType & sliceCounts = local[p.GetIndex()[sliceAxis] - chunkFirstSlice];
        auto              key = std::make_pair(p.Get(), t.Get());
        SizeValueType     run = 0;
        while (!p.IsAtEndOfLine())
        {
          const auto current = std::make_pair(p.Get(), t.Get());
          if (current != key)
          {
            sliceCounts[key] += run;
            key = current;
            run = 0;
          }
          ++run;
          ++p;
          ++t;
        }
        sliceCounts[key] += run;
        p.NextLine();
        t.NextLine();
      }
      const std::lock_guard<std::mutex> lock(countsMutex);
      for (size_t i = 0; i < local.size(); ++i)
      {
        for (const auto & pairCount : local[i])
        {
          counts[chunkFirstSlice - firstSlice + i][pairCount.first] += pairCount.second;
        }
      }
    },
    nullptr);
  return counts;
}

template <typename TLabelImage>
auto
ANUNetSegmentationMetricsImageFilter<TLabelImage>::MetricsFromCounts(const JointCountsType & counts,
                                                                     LabelPixelType          label,
                                                                     double                  voxelVolume) -> MetricsType
{
  SizeValueType truePositives = 0;
  SizeValueType predicted = 0;
  SizeValueType expected = 0;
  SizeValueType total = 0;
  for (const auto & pairCount : counts)
  {
    const bool inPrediction = pairCount.first.first == label;
    const bool inTruth = pairCount.first.second == label;
    total += pairCount.second;
    predicted += inPrediction ? pairCount.second : 0;
    expected += inTruth ? pairCount.second : 0;
    truePositives += (inPrediction && inTruth) ? pairCount.second : 0;
  }

  MetricsType m;
  m.TruePositives = truePositives;
  m.FalsePositives = predicted - truePositives;
  m.FalseNegatives = expected - truePositives;
  m.TrueNegatives = total - truePositives - m.FalsePositives - m.FalseNegatives;

  // 0/0 is 1 when both compared sets are empty (nothing to find, nothing found) and 0 otherwise.
  const auto ratio = [](double numerator, SizeValueType denominator, bool bothEmpty) {
    return denominator == 0 ? (bothEmpty ? 1.0 : 0.0) : numerator / static_cast<double>(denominator);
  };
  const bool bothEmpty = predicted == 0 && expected == 0;
  m.Dice = ratio(2.0 * truePositives, predicted + expected, bothEmpty);
  m.IoU = ratio(truePositives, truePositives + m.FalsePositives + m.FalseNegatives, bothEmpty);
  m.Precision = ratio(truePositives, predicted, bothEmpty);
  m.Recall = ratio(truePositives, expected, bothEmpty);
  // Specificity is the recall of the background: its two sets are the complements of A and G.
  const SizeValueType predictedBackground = m.TrueNegatives + m.FalseNegatives;
  const SizeValueType expectedBackground = m.TrueNegatives + m.FalsePositives;
  m.Specificity = ratio(m.TrueNegatives, expectedBackground, predictedBackground == 0 && expectedBackground == 0);

  m.PredictionVolume = predicted * voxelVolume;
  m.GroundTruthVolume = expected * voxelVolume;
  m.VolumeDifference = (static_cast<double>(predicted) - static_cast<double>(expected)) * voxelVolume;
  m.RelativeVolumeDifference =
    expected == 0 ? (predicted == 0 ? 0.0 : std::numeric_limits<double>::infinity())
                  : (static_cast<double>(predicted) - static_cast<double>(expected)) / static_cast<double>(expected);
  return m;
}

template <typename TLabelImage>
template <unsigned int VDimension>
void
ANUNetSegmentationMetricsImageFilter<TLabelImage>::ComputeSurfaceDistances(const RegionType & region,
                                                                           LabelPixelType     label,
                                                                           MetricsType &      metrics) const
{
  const SizeValueType predicted = metrics.TruePositives + metrics.FalsePositives;
  const SizeValueType expected = metrics.TruePositives + metrics.FalseNegatives;
  if (predicted == 0 || expected == 0)
  {
    const double value = (predicted == 0 && expected == 0) ? 0.0 : std::numeric_limits<double>::infinity();
    metrics.HausdorffDistance = value;
    metrics.HausdorffDistance95 = value;
    metrics.AverageSymmetricSurfaceDistance = value;
    return;
  }

  const TLabelImage * prediction = this->GetPredictionImage();
  const TLabelImage * truth = this->GetGroundTruthImage();

  // Distances only involve voxels of A or G, so the masks are cut to their common bounding box. Outside it there
  // is no voxel of either mask, which is what the surface test assumes at the box border: the result is exact.
  using IndexType = typename TLabelImage::IndexType;
  IndexType lower;
  IndexType upper;
  lower.Fill(NumericTraits<IndexValueType>::max());
  upper.Fill(NumericTraits<IndexValueType>::NonpositiveMin());
  {
    ImageRegionConstIteratorWithIndex<TLabelImage> p(prediction, region);
    ImageRegionConstIterator<TLabelImage>          t(truth, region);
    for (; !p.IsAtEnd(); ++p, ++t)
    {
      if (p.Get() == label || t.Get() == label)
      {
        const IndexType & index = p.GetIndex();
        for (unsigned int d = 0; d < ImageDimension; ++d)
        {
          lower[d] = std::min(lower[d], index[d]);
          upper[d] = std::max(upper[d], index[d]);
        }
      }
    }
  }
  RegionType box;
  for (unsigned int d = 0; d < ImageDimension; ++d)
  {
    box.SetIndex(d, lower[d]);
    box.SetSize(d, static_cast<SizeValueType>(upper[d] - lower[d] + 1));
  }

  using MaskType = MaskImageType<VDimension>;
  typename MaskType::RegionType  maskRegion;
  typename MaskType::SpacingType maskSpacing;
  for (unsigned int d = 0; d < VDimension; ++d)
  {
    maskRegion.SetSize(d, box.GetSize(d));
    maskSpacing[d] = prediction->GetSpacing()[d];
  }
  for (unsigned int d = VDimension; d < ImageDimension; ++d)
  {
    if (box.GetSize(d) != 1)
    {
      itkExceptionMacro("internal error: a " << VDimension << "-D mask was asked for a region of size "
                                             << region.GetSize());
    }
  }
  auto predictionMask = MaskType::New();
  auto truthMask = MaskType::New();
  for (auto & mask : { predictionMask, truthMask })
  {
    mask->SetRegions(maskRegion);
    mask->SetSpacing(maskSpacing);
    mask->Allocate();
  }
  {
    // Dropping trailing axes of size 1 keeps the linear order, so the iterators stay in step.
    ImageRegionConstIterator<TLabelImage> p(prediction, box);
    ImageRegionConstIterator<TLabelImage> t(truth, box);
    ImageRegionIterator<MaskType>         pm(predictionMask, maskRegion);
    ImageRegionIterator<MaskType>         tm(truthMask, maskRegion);
    for (; !p.IsAtEnd(); ++p, ++t, ++pm, ++tm)
    {
      pm.Set(p.Get() == label ? 1 : 0);
      tm.Set(t.Get() == label ? 1 : 0);
    }
  }

  const auto          predictionSurface = ExtractSurface<VDimension>(predictionMask);
  const auto          truthSurface = ExtractSurface<VDimension>(truthMask);
  std::vector<double> predictionToTruth = DirectedSurfaceDistances<VDimension>(predictionSurface, truthSurface);
  std::vector<double> truthToPrediction = DirectedSurfaceDistances<VDimension>(truthSurface, predictionSurface);

  const auto mean = [](const std::vector<double> & v) {
    return std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
  };
  metrics.AverageSymmetricSurfaceDistance = 0.5 * (mean(predictionToTruth) + mean(truthToPrediction));

  std::vector<double> pooled(std::move(predictionToTruth));
  pooled.insert(pooled.end(), truthToPrediction.begin(), truthToPrediction.end());
  metrics.HausdorffDistance = *std::max_element(pooled.begin(), pooled.end());
  metrics.HausdorffDistance95 = anunet::quantile(pooled, 0.95);
}

template <typename TLabelImage>
template <unsigned int VDimension>
auto
ANUNetSegmentationMetricsImageFilter<TLabelImage>::ExtractSurface(const MaskImageType<VDimension> * mask) ->
  typename MaskImageType<VDimension>::Pointer
{
  using MaskType = MaskImageType<VDimension>;
  auto surface = MaskType::New();
  surface->CopyInformation(mask);
  surface->SetRegions(mask->GetLargestPossibleRegion());
  surface->Allocate();

  // Outside the image counts as background, as in scipy's binary_erosion (border_value = 0) used by medpy.
  using NeighborhoodIteratorType = ConstNeighborhoodIterator<MaskType, ConstantBoundaryCondition<MaskType>>;
  typename NeighborhoodIteratorType::RadiusType radius;
  radius.Fill(1);
  NeighborhoodIteratorType      it(radius, mask, mask->GetLargestPossibleRegion());
  ImageRegionIterator<MaskType> out(surface, surface->GetLargestPossibleRegion());
  const SizeValueType           center = it.Size() / 2;
  for (it.GoToBegin(); !it.IsAtEnd(); ++it, ++out)
  {
    unsigned char onSurface = 0;
    if (it.GetCenterPixel() != 0)
    {
      for (unsigned int d = 0; d < VDimension && onSurface == 0; ++d)
      {
        const SizeValueType stride = it.GetStride(d);
        onSurface = (it.GetPixel(center - stride) == 0 || it.GetPixel(center + stride) == 0) ? 1 : 0;
      }
    }
    out.Set(onSurface);
  }
  return surface;
}

template <typename TLabelImage>
template <unsigned int VDimension>
std::vector<double>
ANUNetSegmentationMetricsImageFilter<TLabelImage>::DirectedSurfaceDistances(
  const MaskImageType<VDimension> * fromSurface,
  const MaskImageType<VDimension> * toSurface) const
{
  using MaskType = MaskImageType<VDimension>;
  using DistanceImageType = Image<double, VDimension>;
  auto distanceMap = SignedMaurerDistanceMapImageFilter<MaskType, DistanceImageType>::New();
  distanceMap->SetInput(toSurface);
  distanceMap->SetBackgroundValue(0);
  distanceMap->SetUseImageSpacing(true);
  distanceMap->SetSquaredDistance(false);
  distanceMap->SetInsideIsPositive(false);
  distanceMap->SetNumberOfWorkUnits(this->GetNumberOfWorkUnits());
  distanceMap->Update();

  // Voxels of the target surface are at distance 0 from it; the map is <= 0 there (negative inside thick parts
  // of the surface), and outside it is the distance to the nearest surface voxel.
  std::vector<double>                         distances;
  ImageRegionConstIterator<MaskType>          from(fromSurface, fromSurface->GetLargestPossibleRegion());
  ImageRegionConstIterator<DistanceImageType> d(distanceMap->GetOutput(), fromSurface->GetLargestPossibleRegion());
  for (; !from.IsAtEnd(); ++from, ++d)
  {
    if (from.Get() != 0)
    {
      distances.push_back(std::max(0.0, d.Get()));
    }
  }
  return distances;
}

template <typename TLabelImage>
void
ANUNetSegmentationMetricsImageFilter<TLabelImage>::GenerateData()
{
  m_Labels.clear();
  m_Metrics.clear();
  m_SliceMetrics.clear();
  if (m_PerSlice && ImageDimension < 3)
  {
    itkExceptionMacro("per-slice metrics need an image of 3 or more dimensions; this one has " << ImageDimension);
  }

  this->AllocateOutputs();
  const TLabelImage * prediction = this->GetPredictionImage();
  const RegionType    region = prediction->GetLargestPossibleRegion();
  constexpr unsigned  sliceAxis = ImageDimension - 1;

  const std::vector<JointCountsType> sliceCounts = this->CountLabelPairs(region);
  JointCountsType                    totalCounts;
  for (const auto & counts : sliceCounts)
  {
    for (const auto & pairCount : counts)
    {
      totalCounts[pairCount.first] += pairCount.second;
    }
  }
  this->UpdateProgress(0.1f);

  if (m_EvaluateAllLabels)
  {
    std::set<LabelPixelType> present;
    for (const auto & pairCount : totalCounts)
    {
      for (const auto value : { pairCount.first.first, pairCount.first.second })
      {
        if (Math::NotExactlyEquals(value, m_BackgroundValue))
        {
          present.insert(value);
        }
      }
    }
    m_Labels.assign(present.begin(), present.end());
  }
  else
  {
    m_Labels.push_back(m_Label);
  }

  double voxelVolume = 1.0;
  for (unsigned int d = 0; d < ImageDimension; ++d)
  {
    voxelVolume *= prediction->GetSpacing()[d];
  }
  const double noDistance = std::numeric_limits<double>::quiet_NaN();

  for (size_t labelNumber = 0; labelNumber < m_Labels.size(); ++labelNumber)
  {
    if (this->GetAbortGenerateData())
    {
      ProcessAborted aborted(__FILE__, __LINE__);
      aborted.SetDescription("ANUNetSegmentationMetricsImageFilter aborted");
      throw aborted;
    }
    const LabelPixelType label = m_Labels[labelNumber];
    MetricsType          metrics = MetricsFromCounts(totalCounts, label, voxelVolume);
    if (m_ComputeSurfaceDistances)
    {
      this->template ComputeSurfaceDistances<ImageDimension>(region, label, metrics);
    }
    else
    {
      metrics.HausdorffDistance = metrics.HausdorffDistance95 = metrics.AverageSymmetricSurfaceDistance = noDistance;
    }
    m_Metrics[label] = metrics;

    if constexpr (ImageDimension >= 3)
    {
      if (m_PerSlice)
      {
        const double     sliceVoxelVolume = voxelVolume / prediction->GetSpacing()[sliceAxis];
        SliceMetricsType perSlice;
        perSlice.reserve(sliceCounts.size());
        for (size_t i = 0; i < sliceCounts.size(); ++i)
        {
          MetricsType sliceMetrics = MetricsFromCounts(sliceCounts[i], label, sliceVoxelVolume);
          if (m_ComputeSurfaceDistances)
          {
            RegionType sliceRegion = region;
            sliceRegion.SetIndex(sliceAxis, region.GetIndex(sliceAxis) + static_cast<IndexValueType>(i));
            sliceRegion.SetSize(sliceAxis, 1);
            this->template ComputeSurfaceDistances<ImageDimension - 1>(sliceRegion, label, sliceMetrics);
          }
          else
          {
            sliceMetrics.HausdorffDistance = sliceMetrics.HausdorffDistance95 =
              sliceMetrics.AverageSymmetricSurfaceDistance = noDistance;
          }
          perSlice.push_back(sliceMetrics);
        }
        m_SliceMetrics[label] = std::move(perSlice);
      }
    }
    this->UpdateProgress(0.1f + 0.9f * static_cast<float>(labelNumber + 1) / static_cast<float>(m_Labels.size()));
  }
}

template <typename TLabelImage>
void
ANUNetSegmentationMetricsImageFilter<TLabelImage>::PrintSelf(std::ostream & os, Indent indent) const
{
  using PrintType = typename NumericTraits<LabelPixelType>::PrintType;
  Superclass::PrintSelf(os, indent);
  os << indent << "Label: " << static_cast<PrintType>(m_Label) << std::endl;
  os << indent << "EvaluateAllLabels: " << m_EvaluateAllLabels << std::endl;
  os << indent << "BackgroundValue: " << static_cast<PrintType>(m_BackgroundValue) << std::endl;
  os << indent << "PerSlice: " << m_PerSlice << std::endl;
  os << indent << "ComputeSurfaceDistances: " << m_ComputeSurfaceDistances << std::endl;
  for (const auto & labelMetrics : m_Metrics)
  {
    os << indent << "Metrics of label " << static_cast<PrintType>(labelMetrics.first) << ": " << labelMetrics.second
       << std::endl;
  }
}

} // namespace itk

#endif
