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
#ifndef itkANUNetSegmentationMetricsImageFilter_h
#define itkANUNetSegmentationMetricsImageFilter_h

#include "itkImage.h"
#include "itkImageToImageFilter.h"

#include <map>
#include <ostream>
#include <vector>

namespace itk
{

/** \class ANUNetSegmentationMetrics
 * \brief Agreement of one label between a prediction A and a ground truth G.
 *
 * Counts are voxels; volumes are in the images' physical units cubed (mm^3 for medical images), distances in
 * physical units (mm). See ANUNetSegmentationMetricsImageFilter for the definitions and the conventions for empty
 * masks.
 *
 * \ingroup ANUNet
 */
struct ANUNetSegmentationMetrics
{
  SizeValueType TruePositives{ 0 };  ///< |A and G|
  SizeValueType FalsePositives{ 0 }; ///< |A and not G|
  SizeValueType FalseNegatives{ 0 }; ///< |G and not A|
  SizeValueType TrueNegatives{ 0 };  ///< voxels in neither

  double Dice{ 0.0 };        ///< 2|A and G| / (|A| + |G|)
  double IoU{ 0.0 };         ///< |A and G| / |A or G| (Jaccard)
  double Precision{ 0.0 };   ///< TP / (TP + FP)
  double Recall{ 0.0 };      ///< TP / (TP + FN) (sensitivity)
  double Specificity{ 0.0 }; ///< TN / (TN + FP)

  double PredictionVolume{ 0.0 };         ///< |A| times the voxel volume
  double GroundTruthVolume{ 0.0 };        ///< |G| times the voxel volume
  double VolumeDifference{ 0.0 };         ///< (|A| - |G|) times the voxel volume, signed
  double RelativeVolumeDifference{ 0.0 }; ///< (|A| - |G|) / |G|, signed

  double HausdorffDistance{ 0.0 };               ///< largest surface distance, both directions
  double HausdorffDistance95{ 0.0 };             ///< 95th percentile of the pooled surface distances
  double AverageSymmetricSurfaceDistance{ 0.0 }; ///< mean of the two directed mean surface distances
};

/** Prints every field on one line, for logs and PrintSelf. */
inline std::ostream &
operator<<(std::ostream & os, const ANUNetSegmentationMetrics & m)
{
  os << "TP " << m.TruePositives << " FP " << m.FalsePositives << " FN " << m.FalseNegatives << " TN "
     << m.TrueNegatives << " Dice " << m.Dice << " IoU " << m.IoU << " Precision " << m.Precision << " Recall "
     << m.Recall << " Specificity " << m.Specificity << " VolumeDifference " << m.VolumeDifference
     << " RelativeVolumeDifference " << m.RelativeVolumeDifference << " HD " << m.HausdorffDistance << " HD95 "
     << m.HausdorffDistance95 << " ASSD " << m.AverageSymmetricSurfaceDistance;
  return os;
}

/** Get<Measure>(label): one field of GetMetrics(label). */
#define itkSegmentationMetricsGetMacro(measure)                                                                        \
  double Get##measure(LabelPixelType label) const                                                                      \
  {                                                                                                                    \
    return this->GetMetrics(label).measure;                                                                            \
  }

/** \class ANUNetSegmentationMetricsImageFilter
 * \brief Dice, IoU, precision, recall, specificity, volume difference and surface distances (Hausdorff, HD95,
 * ASSD) of a label image against a ground truth, per label and, for 3-D images, per slice.
 *
 * Inputs: the prediction A (SetPredictionImage, the primary input) and the ground truth G (SetGroundTruthImage),
 * both label images on the same grid. The output is the prediction, passed through unchanged so that the filter
 * can sit inside a pipeline; the results are read after Update() with GetMetrics(label) and GetSliceMetrics(label).
 *
 * Labels: by default every value other than the background (0, see SetBackgroundValue) present in either image is
 * evaluated, each as the binary masks A = (prediction == label), G = (ground truth == label). SetLabel(l)
 * evaluates only l, even when l occurs in neither image.
 *
 * Definitions (Li et al. 2020, ANU-Net, and the usual confusion-matrix measures): Dice = 2|A and G|/(|A|+|G|),
 * IoU = |A and G|/|A or G|, precision = TP/(TP+FP), recall = TP/(TP+FN), specificity = TN/(TN+FP), where TN counts
 * the voxels of the evaluated region in neither mask. Relative volume difference = (|A|-|G|)/|G|; the absolute
 * volume difference is (|A|-|G|) times the voxel volume (product of the spacings), signed.
 *
 * Surface distances follow medpy (medpy.metric.binary.hd / hd95 / assd), which MONAI's
 * compute_hausdorff_distance also uses for its surfaces: the surface of a mask is the set of its voxels with at
 * least one face neighbour outside the mask, voxels on the image border counting as having a background
 * neighbour outside the image. The directed distances d(A->G) are, for every surface voxel of A, the Euclidean
 * distance in physical units (spacing taken into account) to the nearest surface voxel of G, and d(G->A) the
 * other way round. Then
 *   - HausdorffDistance = max of d(A->G) and d(G->A);
 *   - HausdorffDistance95 = 95th percentile of d(A->G) and d(G->A) pooled into one list, with linear
 *     interpolation between order statistics (numpy.percentile's default). This is medpy's definition; MONAI
 *     takes the larger of the two directed 95th percentiles instead, which is at least as large up to
 *     interpolation;
 *   - AverageSymmetricSurfaceDistance = (mean d(A->G) + mean d(G->A)) / 2.
 * Distances are exact Euclidean distances (SignedMaurerDistanceMapImageFilter), computed on the bounding box of
 * A or G only, which gives the same values as on the whole image. The direction cosines do not change distances.
 *
 * Conventions for empty masks (stated because libraries differ):
 *   - a ratio whose denominator is 0 is 1 when both sets it compares are empty and 0 otherwise. So when A and G
 *     are both empty, Dice = IoU = precision = recall = 1; when exactly one is empty, Dice = IoU = 0 and
 *     precision = recall = 0 (a missed or a spurious structure is never "precise"). Specificity is the recall of
 *     the background and follows the same rule (0/0 only happens when G covers the whole region);
 *   - relative volume difference: 0 when both are empty, +infinity when only G is empty;
 *   - surface distances: 0 when both are empty, +infinity when exactly one is empty (there is nothing to measure
 *     the distance to; infinity sorts as the worst value and cannot be mistaken for a good one).
 *
 * Per slice (SetPerSlice(true), images of 3 or more dimensions): every measure is also computed for each slice
 * along the last axis, as if the slice were a (N-1)-D image (in-plane surfaces and distances). Element i of
 * GetSliceMetrics(label) belongs to slice index LargestPossibleRegion.GetIndex()[N-1] + i.
 *
 * Geometry: the two images must have the same size, spacing, origin and direction, within the coordinate and
 * direction tolerances of ImageToImageFilter (SetCoordinateTolerance, SetDirectionTolerance); otherwise
 * Update() throws an ExceptionObject that names the quantity that differs and both values.
 *
 * Streaming: surface distances need the whole masks, so the filter requests the largest possible region of both
 * inputs (as HausdorffDistanceImageFilter does). The voxel counts are computed over that region with ITK's
 * multithreader; the distance maps are multithreaded by SignedMaurerDistanceMapImageFilter.
 *
 * \ingroup ANUNet
 */
template <typename TLabelImage>
class ITK_TEMPLATE_EXPORT ANUNetSegmentationMetricsImageFilter : public ImageToImageFilter<TLabelImage, TLabelImage>
{
public:
  ITK_DISALLOW_COPY_AND_MOVE(ANUNetSegmentationMetricsImageFilter);

  using Self = ANUNetSegmentationMetricsImageFilter;
  using Superclass = ImageToImageFilter<TLabelImage, TLabelImage>;
  using Pointer = SmartPointer<Self>;
  using ConstPointer = SmartPointer<const Self>;

  itkNewMacro(Self);
  itkTypeMacro(ANUNetSegmentationMetricsImageFilter, ImageToImageFilter);

  using LabelImageType = TLabelImage;
  using LabelPixelType = typename TLabelImage::PixelType;
  using RegionType = typename TLabelImage::RegionType;
  static constexpr unsigned int ImageDimension = TLabelImage::ImageDimension;

  using MetricsType = ANUNetSegmentationMetrics;
  using SliceMetricsType = std::vector<ANUNetSegmentationMetrics>;
  using LabelListType = std::vector<LabelPixelType>;

  /** The segmentation to evaluate (the primary input; passed through as the output). */
  itkSetInputMacro(PredictionImage, TLabelImage);
  itkGetInputMacro(PredictionImage, TLabelImage);

  /** The reference segmentation. */
  itkSetInputMacro(GroundTruthImage, TLabelImage);
  itkGetInputMacro(GroundTruthImage, TLabelImage);

  /** Evaluate only this label value, present or not. Clears EvaluateAllLabels. */
  virtual void
  SetLabel(LabelPixelType label);
  itkGetConstMacro(Label, LabelPixelType);

  /** Evaluate every non-background label present in either image (the default). */
  itkSetMacro(EvaluateAllLabels, bool);
  itkGetConstMacro(EvaluateAllLabels, bool);
  itkBooleanMacro(EvaluateAllLabels);

  /** The value that is never evaluated as a label when EvaluateAllLabels is on (default 0). */
  itkSetMacro(BackgroundValue, LabelPixelType);
  itkGetConstMacro(BackgroundValue, LabelPixelType);

  /** Also compute every measure per slice along the last axis (images of 3 or more dimensions; default off). */
  itkSetMacro(PerSlice, bool);
  itkGetConstMacro(PerSlice, bool);
  itkBooleanMacro(PerSlice);

  /** Compute the surface distances (default on). Off skips the distance maps, which dominate the run time; the
   * distance fields are then NaN. */
  itkSetMacro(ComputeSurfaceDistances, bool);
  itkGetConstMacro(ComputeSurfaceDistances, bool);
  itkBooleanMacro(ComputeSurfaceDistances);

  /** The labels evaluated by the last Update(), in increasing order. */
  const LabelListType &
  GetLabels() const
  {
    return m_Labels;
  }

  /** The measures of one label over the whole image; throws if the label was not evaluated. */
  const MetricsType &
  GetMetrics(LabelPixelType label) const;

  /** The measures of one label per slice along the last axis; throws if PerSlice was off or the label was not
   * evaluated. */
  const SliceMetricsType &
  GetSliceMetrics(LabelPixelType label) const;

  /** Each measure of one label alone, as LabelOverlapMeasuresImageFilter offers them, for ITK Python (SWIG wraps
   * neither the label list nor the map behind GetMetrics). */
  unsigned int
  GetNumberOfEvaluatedLabels() const
  {
    return static_cast<unsigned int>(m_Labels.size());
  }
  LabelPixelType
  GetEvaluatedLabel(unsigned int i) const;
  itkSegmentationMetricsGetMacro(Dice);
  itkSegmentationMetricsGetMacro(IoU);
  itkSegmentationMetricsGetMacro(Precision);
  itkSegmentationMetricsGetMacro(Recall);
  itkSegmentationMetricsGetMacro(Specificity);
  itkSegmentationMetricsGetMacro(VolumeDifference);
  itkSegmentationMetricsGetMacro(RelativeVolumeDifference);
  itkSegmentationMetricsGetMacro(HausdorffDistance);
  itkSegmentationMetricsGetMacro(HausdorffDistance95);
  itkSegmentationMetricsGetMacro(AverageSymmetricSurfaceDistance);

protected:
  ANUNetSegmentationMetricsImageFilter();
  ~ANUNetSegmentationMetricsImageFilter() override = default;

  void
  PrintSelf(std::ostream & os, Indent indent) const override;

  /** Checks that both inputs have the same size, spacing, origin and direction. */
  void
  VerifyInputInformation() ITKv5_CONST override;

  /** Both inputs are needed whole: surface distances are global. */
  void
  GenerateInputRequestedRegion() override;
  void
  EnlargeOutputRequestedRegion(DataObject * data) override;

  /** The output is the prediction itself. */
  void
  AllocateOutputs() override;

  void
  GenerateData() override;

private:
  /** Binary masks for the distance computations. */
  template <unsigned int VDimension>
  using MaskImageType = Image<unsigned char, VDimension>;

  /** Voxel counts of each (prediction, ground truth) label pair. */
  using JointCountsType = std::map<std::pair<LabelPixelType, LabelPixelType>, SizeValueType>;

  /** Joint counts per slice along the last axis (one element for the whole image when needed). */
  std::vector<JointCountsType>
  CountLabelPairs(const RegionType & region);

  /** The confusion counts of one label from the joint counts, and the measures that follow from them. */
  static MetricsType
  MetricsFromCounts(const JointCountsType & counts, LabelPixelType label, double voxelVolume);

  /** Fills the surface distance fields of metrics for the label inside region (a slice or the whole image), in
   * VDimension dimensions (the first VDimension axes of the region; the others must have size 1). */
  template <unsigned int VDimension>
  void
  ComputeSurfaceDistances(const RegionType & region, LabelPixelType label, MetricsType & metrics) const;

  /** The voxels of mask with a face neighbour outside the mask (or outside the image). */
  template <unsigned int VDimension>
  static typename MaskImageType<VDimension>::Pointer
  ExtractSurface(const MaskImageType<VDimension> * mask);

  /** For every voxel of fromSurface, the physical distance to the nearest voxel of toSurface. */
  template <unsigned int VDimension>
  std::vector<double>
  DirectedSurfaceDistances(const MaskImageType<VDimension> * fromSurface,
                           const MaskImageType<VDimension> * toSurface) const;

  LabelPixelType m_Label{};
  bool           m_EvaluateAllLabels{ true };
  LabelPixelType m_BackgroundValue{};
  bool           m_PerSlice{ false };
  bool           m_ComputeSurfaceDistances{ true };

  LabelListType                              m_Labels;
  std::map<LabelPixelType, MetricsType>      m_Metrics;
  std::map<LabelPixelType, SliceMetricsType> m_SliceMetrics;
};

} // namespace itk

#ifndef ITK_MANUAL_INSTANTIATION
#  include "itkANUNetSegmentationMetricsImageFilter.hxx"
#endif

#endif
