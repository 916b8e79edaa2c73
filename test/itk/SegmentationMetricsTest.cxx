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
// Tests of itk::ANUNetSegmentationMetricsImageFilter and `anunet evaluate`: hand-computed values on small synthetic
// masks, the empty-mask conventions, geometry checks, and an independent NumPy/SciPy computation
// (metrics_reference.py) on a real CHAOS label volume against a perturbed copy of it.
#include "itkANUNetSegmentationMetricsImageFilter.h"

#include "itkCastImageFilter.h"
#include "itkImageDuplicator.h"
#include "itkImageFileReader.h"
#include "itkImageFileWriter.h"
#include "itkImageIOFactory.h"
#include "itkImageRegionConstIteratorWithIndex.h"
#include "itkImageRegionIterator.h"
#include "itkRegionOfInterestImageFilter.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <sys/wait.h>

namespace
{

template <unsigned int VDimension>
using LabelImage = itk::Image<unsigned char, VDimension>;

template <unsigned int VDimension>
using MetricsFilter = itk::ANUNetSegmentationMetricsImageFilter<LabelImage<VDimension>>;

constexpr double kInfinity = std::numeric_limits<double>::infinity();

template <unsigned int VDimension>
typename LabelImage<VDimension>::Pointer
MakeImage(const std::array<itk::SizeValueType, VDimension> & size, const std::array<double, VDimension> & spacing)
{
  auto                                         image = LabelImage<VDimension>::New();
  typename LabelImage<VDimension>::SizeType    imageSize;
  typename LabelImage<VDimension>::SpacingType imageSpacing;
  for (unsigned int d = 0; d < VDimension; ++d)
  {
    imageSize[d] = size[d];
    imageSpacing[d] = spacing[d];
  }
  image->SetRegions(imageSize);
  image->SetSpacing(imageSpacing);
  image->Allocate(true);
  return image;
}

/** Sets the box first..last (inclusive) to value. */
template <unsigned int VDimension>
void
FillBox(LabelImage<VDimension> *                            image,
        const std::array<itk::IndexValueType, VDimension> & first,
        const std::array<itk::IndexValueType, VDimension> & last,
        unsigned char                                       value)
{
  typename LabelImage<VDimension>::RegionType box;
  for (unsigned int d = 0; d < VDimension; ++d)
  {
    box.SetIndex(d, first[d]);
    box.SetSize(d, static_cast<itk::SizeValueType>(last[d] - first[d] + 1));
  }
  for (itk::ImageRegionIterator<LabelImage<VDimension>> it(image, box); !it.IsAtEnd(); ++it)
  {
    it.Set(value);
  }
}

template <unsigned int VDimension>
typename MetricsFilter<VDimension>::Pointer
Evaluate(const LabelImage<VDimension> * prediction, const LabelImage<VDimension> * truth)
{
  auto filter = MetricsFilter<VDimension>::New();
  filter->SetPredictionImage(prediction);
  filter->SetGroundTruthImage(truth);
  filter->Update();
  return filter;
}

struct CommandResult
{
  int         status;
  std::string output;
};

/** Runs a shell command, capturing stdout (and stderr when asked). */
CommandResult
RunCommand(const std::string & command, bool withStderr)
{
  FILE * pipe = popen((command + (withStderr ? " 2>&1" : " 2>/dev/null")).c_str(), "r");
  if (pipe == nullptr)
  {
    return { -1, "popen failed: " + command };
  }
  std::string output;
  char        buffer[4096];
  while (const size_t n = fread(buffer, 1, sizeof(buffer), pipe))
  {
    output.append(buffer, n);
  }
  const int status = pclose(pipe);
  return { WIFEXITED(status) ? WEXITSTATUS(status) : -1, output };
}

std::string
Quote(const std::string & s)
{
  return "'" + s + "'";
}

std::string
TempPath(const std::string & name)
{
  return std::string(ANUNET_TEST_TEMP) + "/SegmentationMetrics_" + name;
}

template <typename TImage>
void
Write(const TImage * image, const std::string & path)
{
  auto writer = itk::ImageFileWriter<TImage>::New();
  writer->SetInput(image);
  writer->SetFileName(path);
  writer->Update();
}

/** A JSON number, or +infinity for null (JSON has no infinity). */
double
Number(const nlohmann::json & value)
{
  return value.is_null() ? kInfinity : value.get<double>();
}

void
ExpectDistanceNear(double actual, const nlohmann::json & expected, double tolerance, const std::string & what)
{
  const double e = Number(expected);
  if (std::isinf(e))
  {
    EXPECT_TRUE(std::isinf(actual)) << what << ": " << actual;
  }
  else
  {
    EXPECT_NEAR(actual, e, tolerance) << what;
  }
}

/** Compares the filter's measures with a JSON object of metrics_reference.py or of `anunet evaluate --json`. */
void
ExpectMatchesReference(const itk::ANUNetSegmentationMetrics & m,
                       const nlohmann::json &                 reference,
                       double                                 distanceTolerance,
                       const std::string &                    where)
{
  EXPECT_EQ(m.TruePositives, reference.at("tp").get<itk::SizeValueType>()) << where;
  EXPECT_EQ(m.FalsePositives, reference.at("fp").get<itk::SizeValueType>()) << where;
  EXPECT_EQ(m.FalseNegatives, reference.at("fn").get<itk::SizeValueType>()) << where;
  EXPECT_EQ(m.TrueNegatives, reference.at("tn").get<itk::SizeValueType>()) << where;
  EXPECT_NEAR(m.Dice, reference.at("dice").get<double>(), 1e-9) << where;
  EXPECT_NEAR(m.IoU, reference.at("iou").get<double>(), 1e-9) << where;
  EXPECT_NEAR(m.Precision, reference.at("precision").get<double>(), 1e-9) << where;
  EXPECT_NEAR(m.Recall, reference.at("recall").get<double>(), 1e-9) << where;
  EXPECT_NEAR(m.Specificity, reference.at("specificity").get<double>(), 1e-9) << where;
  ExpectDistanceNear(m.RelativeVolumeDifference, reference.at("relative_volume_difference"), 1e-9, where + " RVD");
  EXPECT_NEAR(m.VolumeDifference, reference.at("volume_difference_mm3").get<double>(), 1e-6) << where;
  ExpectDistanceNear(m.HausdorffDistance, reference.at("hausdorff_mm"), distanceTolerance, where + " HD");
  ExpectDistanceNear(m.HausdorffDistance95, reference.at("hd95_mm"), distanceTolerance, where + " HD95");
  ExpectDistanceNear(m.AverageSymmetricSurfaceDistance, reference.at("assd_mm"), distanceTolerance, where + " ASSD");
}

using Volume = LabelImage<3>;

Volume::Pointer
ReadVolume(const std::string & path)
{
  auto reader = itk::ImageFileReader<Volume>::New();
  reader->SetFileName(path);
  reader->Update();
  return reader->GetOutput();
}

/** A plausible imperfect segmentation of a CHAOS label volume (0 bg, 1 liver, 2/3 kidneys, 4 spleen): liver eroded
 * by one voxel (face neighbours), right kidney shifted one voxel along i, left kidney kept, spleen missing on every
 * third slice, and a spurious label 5 that the ground truth lacks. */
Volume::Pointer
PerturbLabels(const Volume * truth)
{
  auto duplicator = itk::ImageDuplicator<Volume>::New();
  duplicator->SetInputImage(truth);
  duplicator->Update();
  Volume::Pointer prediction = duplicator->GetOutput();
  const auto      region = truth->GetLargestPossibleRegion();
  for (itk::ImageRegionConstIteratorWithIndex<Volume> it(truth, region); !it.IsAtEnd(); ++it)
  {
    const Volume::IndexType index = it.GetIndex();
    const unsigned char     label = it.Get();
    if (label == 1)
    {
      for (unsigned int d = 0; d < 3; ++d)
      {
        for (const int step : { -1, 1 })
        {
          Volume::IndexType neighbour = index;
          neighbour[d] += step;
          if (!region.IsInside(neighbour) || truth->GetPixel(neighbour) != 1)
          {
            prediction->SetPixel(index, 0);
          }
        }
      }
    }
    else if (label == 2)
    {
      prediction->SetPixel(index, 0); // re-added one voxel further along i below
    }
    else if (label == 4 && index[2] % 3 == 0)
    {
      prediction->SetPixel(index, 0);
    }
  }
  for (itk::ImageRegionConstIteratorWithIndex<Volume> it(truth, region); !it.IsAtEnd(); ++it)
  {
    Volume::IndexType shifted = it.GetIndex();
    shifted[0] += 1;
    if (it.Get() == 2 && region.IsInside(shifted))
    {
      prediction->SetPixel(shifted, 2);
    }
  }
  Volume::RegionType spurious;
  spurious.SetIndex({ { 2, 2, 5 } });
  spurious.SetSize({ { 4, 3, 2 } });
  for (itk::ImageRegionIterator<Volume> it(prediction, spurious); !it.IsAtEnd(); ++it)
  {
    it.Set(5);
  }
  return prediction;
}

/** CHAOS case 01 labels from the build tree's data links, else from ../shared/data: on this machine the object
 * store holds its symlinks flattened into small text files, so the ExternalData links do not lead to images. */
std::string
Case01Labels()
{
  const std::string relative = "/chaos-mr-t2/case01_labels.nii.gz";
  for (const std::string & root : { std::string(ANUNET_DATA_ROOT), std::string(ANUNET_SOURCE_DIR) + "/../shared/data" })
  {
    if (std::filesystem::exists(root + relative) &&
        itk::ImageIOFactory::CreateImageIO((root + relative).c_str(), itk::ImageIOFactory::FileModeEnum::ReadMode))
    {
      return root + relative;
    }
  }
  return {};
}

} // namespace

TEST(ANUNetSegmentationMetrics, ObjectModel)
{
  auto filter = MetricsFilter<3>::New();
  EXPECT_STREQ(filter->GetNameOfClass(), "ANUNetSegmentationMetricsImageFilter");
  EXPECT_TRUE(filter->GetEvaluateAllLabels());
  filter->SetLabel(2);
  EXPECT_FALSE(filter->GetEvaluateAllLabels());
  EXPECT_EQ(filter->GetLabel(), 2);
  filter->PerSliceOn();
  EXPECT_TRUE(filter->GetPerSlice());
  std::ostringstream printed;
  filter->Print(printed);
  EXPECT_NE(printed.str().find("PerSlice: 1"), std::string::npos) << printed.str();
  // Without inputs, Update() must fail loudly rather than report anything.
  EXPECT_THROW(filter->Update(), itk::ExceptionObject);
}

// Two 4x4 squares overlapping in a 2x2 corner; every value below is worked out by hand.
TEST(ANUNetSegmentationMetrics, OverlappingSquaresHandComputed)
{
  auto prediction = MakeImage<2>({ 10, 10 }, { 1.0, 1.0 });
  auto truth = MakeImage<2>({ 10, 10 }, { 1.0, 1.0 });
  FillBox<2>(prediction, { 1, 1 }, { 4, 4 }, 1);
  FillBox<2>(truth, { 3, 3 }, { 6, 6 }, 1);
  auto filter = Evaluate<2>(prediction, truth);

  ASSERT_EQ(filter->GetLabels().size(), 1u);
  const auto & m = filter->GetMetrics(1);
  EXPECT_EQ(m.TruePositives, 4u);
  EXPECT_EQ(m.FalsePositives, 12u);
  EXPECT_EQ(m.FalseNegatives, 12u);
  EXPECT_EQ(m.TrueNegatives, 72u);
  EXPECT_DOUBLE_EQ(m.Dice, 8.0 / 32.0);
  EXPECT_DOUBLE_EQ(m.IoU, 4.0 / 28.0);
  EXPECT_DOUBLE_EQ(m.Precision, 4.0 / 16.0);
  EXPECT_DOUBLE_EQ(m.Recall, 4.0 / 16.0);
  EXPECT_DOUBLE_EQ(m.Specificity, 72.0 / 84.0);
  EXPECT_DOUBLE_EQ(m.RelativeVolumeDifference, 0.0);
  EXPECT_DOUBLE_EQ(m.PredictionVolume, 16.0);

  // The 12 border voxels of the prediction lie at 0,0,1,1,1,2,2,2,2,sqrt5,sqrt5,sqrt8 from the truth's border,
  // and by point symmetry the truth's border has the same distances to the prediction's.
  const double s5 = std::sqrt(5.0);
  const double s8 = std::sqrt(8.0);
  EXPECT_NEAR(m.HausdorffDistance, s8, 1e-12);
  // Pooled list of 24 sorted values: index 21 is sqrt5, index 22 is sqrt8; 0.95 * 23 = 21.85.
  EXPECT_NEAR(m.HausdorffDistance95, s5 + 0.85 * (s8 - s5), 1e-12);
  EXPECT_NEAR(m.AverageSymmetricSurfaceDistance, (11.0 + 2.0 * s5 + s8) / 12.0, 1e-12);
}

// A square and the same square moved by d voxels along one axis: HD = d * spacing of that axis.
TEST(ANUNetSegmentationMetrics, ShiftedSquareHausdorffWithAnisotropicSpacing)
{
  for (unsigned int axis = 0; axis < 2; ++axis)
  {
    for (const itk::IndexValueType shift : { 1, 2, 3 })
    {
      auto prediction = MakeImage<2>({ 16, 16 }, { 0.7, 2.0 });
      auto truth = MakeImage<2>({ 16, 16 }, { 0.7, 2.0 });
      FillBox<2>(truth, { 2, 2 }, { 7, 7 }, 1);
      std::array<itk::IndexValueType, 2> first{ 2, 2 };
      std::array<itk::IndexValueType, 2> last{ 7, 7 };
      first[axis] += shift;
      last[axis] += shift;
      FillBox<2>(prediction, first, last, 1);
      auto         filter = Evaluate<2>(prediction, truth);
      const auto & m = filter->GetMetrics(1);
      const double expected = shift * (axis == 0 ? 0.7 : 2.0);
      EXPECT_NEAR(m.HausdorffDistance, expected, 1e-9) << "axis " << axis << " shift " << shift;
      EXPECT_LE(m.HausdorffDistance95, m.HausdorffDistance + 1e-12);
      EXPECT_GT(m.HausdorffDistance95, 0.0);
      EXPECT_EQ(m.TruePositives, static_cast<itk::SizeValueType>(6 * (6 - shift)));
    }
  }
}

TEST(ANUNetSegmentationMetrics, ShiftedCubeAlongSlicesAndThinObject)
{
  auto prediction = MakeImage<3>({ 12, 12, 12 }, { 0.8, 0.8, 3.0 });
  auto truth = MakeImage<3>({ 12, 12, 12 }, { 0.8, 0.8, 3.0 });
  FillBox<3>(truth, { 2, 2, 2 }, { 6, 6, 6 }, 1);
  FillBox<3>(prediction, { 2, 2, 4 }, { 6, 6, 8 }, 1);
  // A one-slice plate in both images: the cut-out masks then have a size-1 axis.
  FillBox<3>(truth, { 1, 1, 10 }, { 9, 9, 10 }, 2);
  FillBox<3>(prediction, { 2, 1, 10 }, { 9, 9, 10 }, 2);
  auto filter = Evaluate<3>(prediction, truth);
  EXPECT_NEAR(filter->GetMetrics(1).HausdorffDistance, 2 * 3.0, 1e-9);
  EXPECT_NEAR(filter->GetMetrics(1).VolumeDifference, 0.0, 1e-12);
  EXPECT_NEAR(filter->GetMetrics(2).HausdorffDistance, 0.8, 1e-9);
  EXPECT_NEAR(filter->GetMetrics(2).Recall, 72.0 / 81.0, 1e-12);
  EXPECT_NEAR(filter->GetMetrics(2).VolumeDifference, -9 * 0.8 * 0.8 * 3.0, 1e-9);
}

TEST(ANUNetSegmentationMetrics, EmptyMaskConventions)
{
  auto prediction = MakeImage<2>({ 8, 8 }, { 1.0, 1.0 });
  auto truth = MakeImage<2>({ 8, 8 }, { 1.0, 1.0 });
  FillBox<2>(prediction, { 1, 1 }, { 2, 2 }, 1); // only in the prediction
  FillBox<2>(truth, { 4, 4 }, { 6, 6 }, 2);      // only in the ground truth

  auto filter = Evaluate<2>(prediction, truth);
  ASSERT_EQ(filter->GetLabels(), (std::vector<unsigned char>{ 1, 2 }));
  for (const unsigned char label : { 1, 2 })
  {
    const auto & m = filter->GetMetrics(label);
    EXPECT_EQ(m.Dice, 0.0) << int(label);
    EXPECT_EQ(m.IoU, 0.0);
    EXPECT_EQ(m.Precision, 0.0);
    EXPECT_EQ(m.Recall, 0.0);
    EXPECT_TRUE(std::isinf(m.HausdorffDistance) && m.HausdorffDistance > 0);
    EXPECT_TRUE(std::isinf(m.HausdorffDistance95));
    EXPECT_TRUE(std::isinf(m.AverageSymmetricSurfaceDistance));
  }
  EXPECT_TRUE(std::isinf(filter->GetMetrics(1).RelativeVolumeDifference));
  EXPECT_EQ(filter->GetMetrics(2).RelativeVolumeDifference, -1.0);
  EXPECT_EQ(filter->GetMetrics(1).Specificity, 60.0 / 64.0);

  // A requested label absent from both images: nothing to find and nothing found.
  filter->SetLabel(3);
  filter->Update();
  ASSERT_EQ(filter->GetLabels(), (std::vector<unsigned char>{ 3 }));
  const auto & none = filter->GetMetrics(3);
  EXPECT_EQ(none.Dice, 1.0);
  EXPECT_EQ(none.IoU, 1.0);
  EXPECT_EQ(none.Precision, 1.0);
  EXPECT_EQ(none.Recall, 1.0);
  EXPECT_EQ(none.Specificity, 1.0);
  EXPECT_EQ(none.HausdorffDistance, 0.0);
  EXPECT_EQ(none.HausdorffDistance95, 0.0);
  EXPECT_EQ(none.RelativeVolumeDifference, 0.0);
  EXPECT_EQ(none.TrueNegatives, 64u);
  EXPECT_THROW(filter->GetMetrics(1), itk::ExceptionObject);

  // Ground truth covering the whole image and a prediction that does not: specificity compares two backgrounds,
  // one of them empty.
  auto full = MakeImage<2>({ 4, 4 }, { 1.0, 1.0 });
  auto partial = MakeImage<2>({ 4, 4 }, { 1.0, 1.0 });
  FillBox<2>(full, { 0, 0 }, { 3, 3 }, 1);
  FillBox<2>(partial, { 0, 0 }, { 3, 1 }, 1);
  EXPECT_EQ(Evaluate<2>(partial, full)->GetMetrics(1).Specificity, 0.0);
  EXPECT_EQ(Evaluate<2>(full, full)->GetMetrics(1).Specificity, 1.0);
}

TEST(ANUNetSegmentationMetrics, SurfaceDistancesCanBeSkipped)
{
  auto prediction = MakeImage<2>({ 8, 8 }, { 1.0, 1.0 });
  auto truth = MakeImage<2>({ 8, 8 }, { 1.0, 1.0 });
  FillBox<2>(prediction, { 1, 1 }, { 3, 3 }, 1);
  FillBox<2>(truth, { 2, 1 }, { 4, 3 }, 1);
  auto filter = MetricsFilter<2>::New();
  filter->SetPredictionImage(prediction);
  filter->SetGroundTruthImage(truth);
  filter->ComputeSurfaceDistancesOff();
  filter->Update();
  EXPECT_TRUE(std::isnan(filter->GetMetrics(1).HausdorffDistance));
  EXPECT_DOUBLE_EQ(filter->GetMetrics(1).Dice, 12.0 / 18.0);
  // The output is the prediction itself.
  EXPECT_EQ(filter->GetOutput()->GetBufferPointer(), prediction->GetBufferPointer());
}

// Downstream asks for a corner only; upstream filters must still be asked for (and produce) the whole images.
TEST(ANUNetSegmentationMetrics, PipelineRequestsWholeImages)
{
  auto prediction = MakeImage<2>({ 16, 12 }, { 1.0, 1.0 });
  auto truth = MakeImage<2>({ 16, 12 }, { 1.0, 1.0 });
  FillBox<2>(prediction, { 8, 6 }, { 12, 9 }, 1);
  FillBox<2>(truth, { 9, 6 }, { 13, 9 }, 1);
  using CastType = itk::CastImageFilter<LabelImage<2>, LabelImage<2>>;
  auto predictionSource = CastType::New();
  auto truthSource = CastType::New();
  predictionSource->SetInput(prediction);
  truthSource->SetInput(truth);
  auto filter = MetricsFilter<2>::New();
  filter->SetPredictionImage(predictionSource->GetOutput());
  filter->SetGroundTruthImage(truthSource->GetOutput());
  auto                      corner = itk::RegionOfInterestImageFilter<LabelImage<2>, LabelImage<2>>::New();
  LabelImage<2>::RegionType cornerRegion({ { 0, 0 } }, { { 3, 3 } });
  corner->SetRegionOfInterest(cornerRegion);
  corner->SetInput(filter->GetOutput());
  corner->Update();

  const auto & m = filter->GetMetrics(1);
  EXPECT_EQ(m.TruePositives, 16u);
  EXPECT_EQ(m.FalsePositives + m.FalseNegatives + m.TruePositives + m.TrueNegatives, 16u * 12u);
  EXPECT_NEAR(m.HausdorffDistance, 1.0, 1e-12);
  EXPECT_EQ(predictionSource->GetOutput()->GetBufferedRegion(), prediction->GetLargestPossibleRegion());
}

TEST(ANUNetSegmentationMetrics, GeometryMismatchNamesTheDifference)
{
  auto reference = MakeImage<3>({ 6, 5, 4 }, { 1.0, 1.0, 2.0 });
  FillBox<3>(reference, { 1, 1, 1 }, { 3, 3, 2 }, 1);
  const auto expectThrowMentioning = [&](const LabelImage<3> * other, const std::string & word) {
    auto filter = MetricsFilter<3>::New();
    filter->SetPredictionImage(other);
    filter->SetGroundTruthImage(reference);
    try
    {
      filter->Update();
      ADD_FAILURE() << "no exception for a difference in " << word;
    }
    catch (const itk::ExceptionObject & e)
    {
      EXPECT_NE(std::string(e.GetDescription()).find(word), std::string::npos) << e.GetDescription();
    }
  };

  expectThrowMentioning(MakeImage<3>({ 6, 5, 5 }, { 1.0, 1.0, 2.0 }), "size");
  expectThrowMentioning(MakeImage<3>({ 6, 5, 4 }, { 1.0, 1.0, 2.5 }), "spacing");
  auto                     moved = MakeImage<3>({ 6, 5, 4 }, { 1.0, 1.0, 2.0 });
  LabelImage<3>::PointType origin;
  origin.Fill(0.0);
  origin[1] = 0.5;
  moved->SetOrigin(origin);
  expectThrowMentioning(moved, "origin");
  auto flipped = MakeImage<3>({ 6, 5, 4 }, { 1.0, 1.0, 2.0 });
  auto direction = flipped->GetDirection();
  direction[1][1] = -1.0;
  flipped->SetDirection(direction);
  expectThrowMentioning(flipped, "direction");

  // Differences within the tolerance (1e-6 of the first spacing by default) are accepted.
  auto nearlySame = MakeImage<3>({ 6, 5, 4 }, { 1.0, 1.0, 2.0 + 1e-9 });
  FillBox<3>(nearlySame, { 1, 1, 1 }, { 3, 3, 2 }, 1);
  EXPECT_DOUBLE_EQ(Evaluate<3>(nearlySame, reference)->GetMetrics(1).Dice, 1.0);
}

TEST(ANUNetSegmentationMetrics, PerSliceAlongLastAxis)
{
  auto prediction = MakeImage<3>({ 8, 8, 4 }, { 1.0, 1.5, 2.5 });
  auto truth = MakeImage<3>({ 8, 8, 4 }, { 1.0, 1.5, 2.5 });
  FillBox<3>(prediction, { 2, 2, 0 }, { 5, 5, 1 }, 1); // slices 0-1
  FillBox<3>(truth, { 2, 2, 1 }, { 5, 5, 2 }, 1);      // slices 1-2
  FillBox<3>(truth, { 2, 3, 2 }, { 5, 5, 2 }, 0);      // slice 2 keeps one row
  auto filter = MetricsFilter<3>::New();
  filter->SetPredictionImage(prediction);
  filter->SetGroundTruthImage(truth);
  filter->SetPerSlice(true);
  filter->Update();

  const auto & slices = filter->GetSliceMetrics(1);
  ASSERT_EQ(slices.size(), 4u);
  EXPECT_EQ(slices[0].Dice, 0.0); // prediction only
  EXPECT_TRUE(std::isinf(slices[0].HausdorffDistance));
  EXPECT_EQ(slices[1].Dice, 1.0); // identical squares
  EXPECT_EQ(slices[1].HausdorffDistance, 0.0);
  EXPECT_EQ(slices[2].Recall, 0.0); // truth only
  EXPECT_EQ(slices[3].Dice, 1.0);   // both empty
  EXPECT_EQ(slices[3].HausdorffDistance, 0.0);
  EXPECT_DOUBLE_EQ(slices[1].PredictionVolume, 16 * 1.0 * 1.5);

  itk::SizeValueType tp = 0, fp = 0, fn = 0, tn = 0;
  for (const auto & s : slices)
  {
    tp += s.TruePositives;
    fp += s.FalsePositives;
    fn += s.FalseNegatives;
    tn += s.TrueNegatives;
  }
  const auto & whole = filter->GetMetrics(1);
  EXPECT_EQ(tp, whole.TruePositives);
  EXPECT_EQ(fp, whole.FalsePositives);
  EXPECT_EQ(fn, whole.FalseNegatives);
  EXPECT_EQ(tn, whole.TrueNegatives);
  EXPECT_EQ(whole.TruePositives, 16u);
  // In 3-D the slice-1 squares are surrounded above and below by different shapes, so HD is not 0.
  EXPECT_GT(whole.HausdorffDistance, 0.0);

  auto flat = MetricsFilter<2>::New();
  flat->SetPredictionImage(MakeImage<2>({ 4, 4 }, { 1.0, 1.0 }));
  flat->SetGroundTruthImage(MakeImage<2>({ 4, 4 }, { 1.0, 1.0 }));
  flat->PerSliceOn();
  EXPECT_THROW(flat->Update(), itk::ExceptionObject);
}

// An independent computation with NumPy/SciPy (medpy's definitions) on a real label volume.
TEST(ANUNetSegmentationMetrics, MatchesNumPyReferenceOnChaosLabels)
{
  const std::string truthPath = Case01Labels();
  if (truthPath.empty())
  {
    // A skipped test would pass in a broken environment without checking anything: fail instead.
    FAIL() << "no readable chaos-mr-t2/case01_labels.nii.gz under " << ANUNET_DATA_ROOT << " or ../shared/data";
  }
  const auto        truth = ReadVolume(truthPath);
  const auto        prediction = PerturbLabels(truth);
  const std::string predictionPath = TempPath("numpy_prediction.nii");
  const std::string referencePath = TempPath("numpy_reference.json");
  Write(prediction.GetPointer(), predictionPath);

  const std::string script = std::string(ANUNET_SOURCE_DIR) + "/test/itk/metrics_reference.py";
  const auto        run =
    RunCommand(Quote(ANUNET_PYTHON) + " " + Quote(script) + " --per-slice --prediction " + Quote(predictionPath) +
                 " --truth " + Quote(truthPath) + " --output " + Quote(referencePath),
               true);
  ASSERT_EQ(run.status, 0) << run.output;
  nlohmann::json reference;
  std::ifstream(referencePath) >> reference;

  auto filter = MetricsFilter<3>::New();
  filter->SetPredictionImage(prediction);
  filter->SetGroundTruthImage(truth);
  filter->PerSliceOn();
  filter->SetNumberOfWorkUnits(2);
  filter->Update();

  ASSERT_EQ(filter->GetLabels(), (std::vector<unsigned char>{ 1, 2, 3, 4, 5 }));
  ASSERT_EQ(reference.at("labels").size(), 5u);
  // Both sides compute exact Euclidean distances on the same surfaces, so they agree far below a voxel.
  constexpr double distanceTolerance = 1e-6;
  for (const unsigned char label : filter->GetLabels())
  {
    const auto & expected = reference.at("labels").at(std::to_string(label));
    const auto & m = filter->GetMetrics(label);
    ExpectMatchesReference(m, expected, distanceTolerance, "label " + std::to_string(label));
    const auto & slices = filter->GetSliceMetrics(label);
    ASSERT_EQ(slices.size(), expected.at("slices").size());
    for (size_t k = 0; k < slices.size(); ++k)
    {
      ExpectMatchesReference(slices[k],
                             expected.at("slices").at(k),
                             distanceTolerance,
                             "label " + std::to_string(label) + " slice " + std::to_string(k));
    }
  }
  // The perturbations must show: the test would pass trivially on identical images.
  EXPECT_LT(filter->GetMetrics(1).Dice, 0.95);
  EXPECT_GT(filter->GetMetrics(2).HausdorffDistance, 0.0);
  EXPECT_EQ(filter->GetMetrics(3).Dice, 1.0);
  EXPECT_TRUE(std::isinf(filter->GetMetrics(5).HausdorffDistance));
}

#ifdef ANUNET_CLI
TEST(ANUNetSegmentationMetrics, EvaluateCommandJson)
{
  auto prediction = MakeImage<3>({ 10, 10, 6 }, { 0.5, 0.5, 2.0 });
  auto truth = MakeImage<3>({ 10, 10, 6 }, { 0.5, 0.5, 2.0 });
  FillBox<3>(prediction, { 1, 1, 1 }, { 4, 4, 3 }, 1);
  FillBox<3>(truth, { 2, 1, 1 }, { 5, 4, 3 }, 1);
  FillBox<3>(truth, { 7, 7, 2 }, { 8, 8, 4 }, 2);
  const std::string predictionPath = TempPath("cli_prediction.nii.gz");
  const std::string truthPath = TempPath("cli_truth.nii.gz");
  Write(prediction.GetPointer(), predictionPath);
  Write(truth.GetPointer(), truthPath);
  auto filter = MetricsFilter<3>::New();
  filter->SetPredictionImage(prediction);
  filter->SetGroundTruthImage(truth);
  filter->PerSliceOn();
  filter->Update();

  const std::string command =
    Quote(ANUNET_CLI) + " evaluate --prediction " + Quote(predictionPath) + " --truth " + Quote(truthPath);
  {
    const auto run = RunCommand(command + " --json", false);
    ASSERT_EQ(run.status, 0) << run.output;
    const auto json = nlohmann::json::parse(run.output);
    ASSERT_EQ(json.at("labels").size(), 2u);
    for (const unsigned char label : { 1, 2 })
    {
      ExpectMatchesReference(filter->GetMetrics(label),
                             json.at("labels").at(std::to_string(label)),
                             1e-9,
                             "CLI label " + std::to_string(label));
    }
    // Shifted by one voxel along x in a 4x4x3 box: Dice = 2 * 36 / 96, HD = 0.5 mm.
    EXPECT_NEAR(json.at("labels").at("1").at("dice").get<double>(), 72.0 / 96.0, 1e-12);
    EXPECT_NEAR(json.at("labels").at("1").at("hausdorff_mm").get<double>(), 0.5, 1e-9);
    EXPECT_TRUE(json.at("labels").at("2").at("hausdorff_mm").is_null()); // infinity
  }
  {
    const auto run = RunCommand(command + " --json --label 1 --per-slice", false);
    ASSERT_EQ(run.status, 0) << run.output;
    const auto json = nlohmann::json::parse(run.output);
    // A single label also puts its measures at the top level.
    EXPECT_NEAR(json.at("dice").get<double>(), 72.0 / 96.0, 1e-12);
    const auto & slices = json.at("labels").at("1").at("slices");
    ASSERT_EQ(slices.size(), 6u);
    for (size_t k = 0; k < slices.size(); ++k)
    {
      ExpectMatchesReference(filter->GetSliceMetrics(1)[k], slices.at(k), 1e-9, "CLI slice " + std::to_string(k));
    }
  }
  {
    const auto run = RunCommand(command, false);
    ASSERT_EQ(run.status, 0);
    EXPECT_NE(run.output.find("0.75"), std::string::npos) << run.output; // the table shows Dice
  }
}

TEST(ANUNetSegmentationMetrics, EvaluateCommandErrorsNameTheFile)
{
  auto              image = MakeImage<3>({ 6, 6, 3 }, { 1.0, 1.0, 2.0 });
  auto              other = MakeImage<3>({ 6, 6, 3 }, { 1.0, 1.0, 3.0 });
  const std::string imagePath = TempPath("cli_error_a.nii.gz");
  const std::string otherPath = TempPath("cli_error_b.nii.gz");
  Write(image.GetPointer(), imagePath);
  Write(other.GetPointer(), otherPath);

  const std::string missing = TempPath("does_not_exist.nii.gz");
  auto              run =
    RunCommand(Quote(ANUNET_CLI) + " evaluate --prediction " + Quote(missing) + " --truth " + Quote(imagePath), true);
  EXPECT_EQ(run.status, 1) << run.output;
  EXPECT_NE(run.output.find(missing), std::string::npos) << run.output;

  run =
    RunCommand(Quote(ANUNET_CLI) + " evaluate --prediction " + Quote(imagePath) + " --truth " + Quote(otherPath), true);
  EXPECT_EQ(run.status, 1) << run.output;
  EXPECT_NE(run.output.find("spacing"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find(otherPath), std::string::npos) << run.output;
}
#endif
