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
// Tests of itk::ANUNetPreprocessor: intensity normalisation, slicing, the in-plane map, label mapping.
#include "ITKTestHelpers.h"
#include "itkANUNetPreprocessor.h"
#include "itkANUNetImageReader.h"
#include "itkImageFileReader.h"
#include "itkImageFileWriter.h"
#include "itkImageRegionIteratorWithIndex.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <functional>
#include <limits>
#include <numeric>
#include <random>
#include <string>

namespace
{
using anunet::test::makeImage;
using Volume = itk::Image<float, 3>;
using Slice = itk::Image<float, 2>;
using Labels = itk::Image<unsigned char, 3>;
using Preprocessor = itk::ANUNetPreprocessor<Volume>;

anunet::Preprocessing
identityPreprocessing(int width, int height, anunet::IntensityNormalization::Method method)
{
  anunet::Preprocessing preprocessing;
  preprocessing.width = width;
  preprocessing.height = height;
  preprocessing.intensity.method = method;
  return preprocessing;
}

Preprocessor::Pointer
initialized(const Volume * image, const anunet::Preprocessing & preprocessing)
{
  auto preprocessor = Preprocessor::New();
  preprocessor->SetPreprocessing(preprocessing);
  preprocessor->SetInput(image);
  preprocessor->Initialize();
  return preprocessor;
}

using anunet::test::dataPath;

/** numpy.percentile's default (linear) definition, written independently of the preprocessor. */
double
sortedPercentile(std::vector<float> values, double percent)
{
  std::sort(values.begin(), values.end());
  const double position = percent / 100.0 * static_cast<double>(values.size() - 1);
  const auto   below = static_cast<size_t>(position);
  const size_t above = std::min(below + 1, values.size() - 1);
  return values[below] + (position - static_cast<double>(below)) * (values[above] - values[below]);
}
} // namespace

TEST(ANUNetPreprocessor, WindowClampsAndScalesToUnitRange)
{
  const std::vector<double> input{ -300.0, -200.0, -100.0, 0.0, 100.0, 200.0, 500.0, 50.0 };
  const auto                image =
    makeImage<Volume>({ 4, 1, 2 }, [&](const Volume::IndexType & i) { return input[i[2] * 4 + i[0]]; });
  auto preprocessing = identityPreprocessing(4, 1, anunet::IntensityNormalization::Method::Window);
  preprocessing.intensity.windowMinimum = -200.0;
  preprocessing.intensity.windowMaximum = 200.0;
  const auto               preprocessor = initialized(image, preprocessing);
  const std::vector<float> slices = preprocessor->ExtractSlices(0, 2);
  const std::vector<float> expected{ 0.0f, 0.0f, 0.25f, 0.5f, 0.75f, 1.0f, 1.0f, 0.625f };
  ASSERT_EQ(slices.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i)
  {
    EXPECT_FLOAT_EQ(slices[i], expected[i]) << "value " << input[i];
  }
  // One slice from the middle of the buffered region.
  const std::vector<float> second = preprocessor->ExtractSlices(1, 1);
  EXPECT_FLOAT_EQ(second[0], 0.75f);
  EXPECT_THROW(preprocessor->ExtractSlices(1, 2), itk::ExceptionObject);
}

TEST(ANUNetPreprocessor, PercentileUsesTheWholeVolume)
{
  // 0..999 in shuffled order, over 10 slices.
  std::vector<int> order(1000);
  std::iota(order.begin(), order.end(), 0);
  std::shuffle(order.begin(), order.end(), std::mt19937(7));
  const auto image = makeImage<Volume>(
    { 10, 10, 10 }, [&](const Volume::IndexType & i) { return order[(i[2] * 10 + i[1]) * 10 + i[0]]; });
  auto preprocessing = identityPreprocessing(10, 10, anunet::IntensityNormalization::Method::Percentile);
  preprocessing.intensity.percentileLow = 0.5;
  preprocessing.intensity.percentileHigh = 99.5;
  const auto preprocessor = initialized(image, preprocessing);

  // numpy.percentile(range(1000), [0.5, 99.5]) = 4.995, 994.005
  const auto & map = preprocessor->GetIntensityMap();
  EXPECT_NEAR(map.lower, 4.995, 1e-9);
  EXPECT_NEAR(map.upper, 994.005, 1e-9);
  const std::vector<float> slices = preprocessor->ExtractSlices(0, 10);
  for (size_t i = 0; i < slices.size(); ++i)
  {
    const double value = std::min(std::max(static_cast<double>(order[i]), 4.995), 994.005);
    ASSERT_NEAR(slices[i], (value - 4.995) / (994.005 - 4.995), 1e-6) << "pixel " << i;
  }
  EXPECT_FLOAT_EQ(*std::min_element(slices.begin(), slices.end()), 0.0f);
  EXPECT_FLOAT_EQ(*std::max_element(slices.begin(), slices.end()), 1.0f);
}

TEST(ANUNetPreprocessor, PercentileNeedsTheWholeVolumeInMemory)
{
  const auto         image = makeImage<Volume>({ 4, 4, 4 }, [](const Volume::IndexType & i) { return i[2]; });
  Volume::RegionType part = image->GetLargestPossibleRegion();
  part.SetSize(2, 2);
  image->SetBufferedRegion(part);
  auto preprocessor = Preprocessor::New();
  preprocessor->SetPreprocessing(identityPreprocessing(4, 4, anunet::IntensityNormalization::Method::Percentile));
  preprocessor->SetInput(image);
  EXPECT_THROW(preprocessor->Initialize(), itk::ExceptionObject);
}

// The volume's map computed slab by slab through a streaming reader (never more than a slab in memory) is the
// map of the whole volume, on a real MR case (16-bit values) and for float values with no repeats at all.
TEST(ANUNetPreprocessor, VolumeMapFromSlabsEqualsTheWholeVolumes)
{
  using Method = anunet::IntensityNormalization::Method;
  // An uncompressed MetaImage copy: the format streams cleanly (ANUNetImageReader::StreamsCheaply()).
  const auto        whole = itk::ANUNetImageReader::ReadVolume(dataPath("chaos-mr-t2/case01_t2.nii.gz"));
  const std::string path = (std::filesystem::path(ANUNET_TEST_TEMP) / "PreprocessorTest-case01.mha").string();
  itk::WriteImage(whole, path, /*compress=*/false);
  ASSERT_TRUE(itk::ANUNetImageReader::StreamsCheaply(path));
  for (const auto method : { Method::Percentile, Method::ZScore, Method::Window })
  {
    auto preprocessing = identityPreprocessing(64, 64, method);
    preprocessing.intensity.windowMinimum = 0.0;
    preprocessing.intensity.windowMaximum = 800.0;
    const auto expected = initialized(whole, preprocessing)->GetIntensityMap();

    auto                            reader = itk::ANUNetImageReader::OpenVolumeFile(path);
    std::vector<Volume::RegionType> slabs;
    reader->AddObserver(itk::StartEvent(),
                        [&](const itk::EventObject &) { slabs.push_back(reader->GetOutput()->GetRequestedRegion()); });
    const auto map = Preprocessor::ComputeVolumeIntensityMap(reader->GetOutput(), preprocessing, 7);
    ASSERT_TRUE(map.has_value()) << anunet::toString(method);
    EXPECT_EQ(map->clamp, expected.clamp);
    EXPECT_DOUBLE_EQ(map->lower, expected.lower) << anunet::toString(method);
    EXPECT_DOUBLE_EQ(map->upper, expected.upper) << anunet::toString(method);
    EXPECT_DOUBLE_EQ(map->offset, expected.offset) << anunet::toString(method);
    EXPECT_DOUBLE_EQ(map->scale, expected.scale) << anunet::toString(method);
    if (method == Method::Window)
    {
      EXPECT_TRUE(slabs.empty()) << "a window needs no pass over the volume";
      continue;
    }
    // Slabs of 7 slices of the 30 (twice for ZScore: the mean, then the deviations).
    ASSERT_FALSE(slabs.empty());
    for (const auto & slab : slabs)
    {
      EXPECT_LE(slab.GetSize(2), 7U);
      EXPECT_EQ(slab.GetSize(0), whole->GetLargestPossibleRegion().GetSize(0));
    }

    // A slab of the volume is enough for the preprocessor once it has the volume's map.
    auto preprocessor = Preprocessor::New();
    preprocessor->SetPreprocessing(preprocessing);
    preprocessor->SetVolumeIntensityMap(*map);
    reader->GetOutput()->SetRequestedRegion(slabs.front());
    reader->Update();
    preprocessor->SetInput(reader->GetOutput());
    EXPECT_NO_THROW(preprocessor->Initialize());
  }

  // Distinct float values beyond what ValueCounts counts: no map, the caller holds the volume.
  const auto distinct = makeImage<Volume>({ 128, 128, 80 }, [](const Volume::IndexType & i) {
    return 0.25 + static_cast<double>(i[0] + 128 * (i[1] + 128 * i[2]));
  });
  EXPECT_FALSE(Preprocessor::ComputeVolumeIntensityMap(distinct, identityPreprocessing(64, 64, Method::Percentile), 8)
                 .has_value());
}

TEST(ANUNetPreprocessor, ZScoreGivesZeroMeanUnitDeviation)
{
  const auto image = makeImage<Volume>(
    { 8, 6, 3 }, [](const Volume::IndexType & i) { return 1000.0 + 3.0 * i[0] + 0.5 * i[1] * i[1] - 7.0 * i[2]; });
  const auto preprocessor =
    initialized(image, identityPreprocessing(8, 6, anunet::IntensityNormalization::Method::ZScore));
  std::vector<float> values = preprocessor->ExtractSlices(0, 3);
  double             mean = std::accumulate(values.begin(), values.end(), 0.0) / values.size();
  double             squares = 0.0;
  for (const float v : values)
  {
    squares += (v - mean) * (v - mean);
  }
  EXPECT_NEAR(mean, 0.0, 1e-5);
  EXPECT_NEAR(std::sqrt(squares / values.size()), 1.0, 1e-5);
}

TEST(ANUNetPreprocessor, NonePassesIntensitiesThrough)
{
  const auto image =
    makeImage<Volume>({ 5, 3, 2 }, [](const Volume::IndexType & i) { return -1024.5 + i[0] * 700 + i[2]; });
  const auto preprocessor =
    initialized(image, identityPreprocessing(5, 3, anunet::IntensityNormalization::Method::None));
  const std::vector<float> values = preprocessor->ExtractSlices(0, 2);
  for (size_t i = 0; i < values.size(); ++i)
  {
    EXPECT_EQ(values[i], image->GetBufferPointer()[i]);
  }
}

TEST(ANUNetPreprocessor, NaNAndInfinityAreErrors)
{
  for (const double bad : { std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity() })
  {
    const auto image = makeImage<Volume>(
      { 4, 4, 2 }, [&](const Volume::IndexType & i) { return (i[0] == 2 && i[1] == 1 && i[2] == 1) ? bad : 1.0; });
    auto preprocessor = Preprocessor::New();
    preprocessor->SetPreprocessing(identityPreprocessing(4, 4, anunet::IntensityNormalization::Method::None));
    preprocessor->SetInput(image);
    try
    {
      preprocessor->Initialize();
      FAIL() << "no exception for " << bad;
    }
    catch (const itk::ExceptionObject & e)
    {
      const std::string message = e.GetDescription();
      EXPECT_NE(message.find(std::isnan(bad) ? "NaN" : "infinite"), std::string::npos) << message;
      EXPECT_NE(message.find("[2, 1, 1]"), std::string::npos) << message;
    }
    // Extracting without a successful Initialize() is refused, not silently wrong.
    EXPECT_THROW(preprocessor->ExtractSlices(0, 1), itk::ExceptionObject);
  }
}

TEST(ANUNetPreprocessor, InvalidPreprocessingIsRejected)
{
  auto preprocessor = Preprocessor::New();
  auto preprocessing = identityPreprocessing(4, 4, anunet::IntensityNormalization::Method::Window);
  preprocessing.intensity.windowMinimum = 10.0;
  preprocessing.intensity.windowMaximum = 10.0;
  EXPECT_THROW(preprocessor->SetPreprocessing(preprocessing), itk::ExceptionObject);
  preprocessing = identityPreprocessing(4, 4, anunet::IntensityNormalization::Method::None);
  preprocessing.sliceAxis = 3;
  EXPECT_THROW(preprocessor->SetPreprocessing(preprocessing), itk::ExceptionObject);
  preprocessing.sliceAxis = 2;
  preprocessing.width = 0;
  EXPECT_THROW(preprocessor->SetPreprocessing(preprocessing), itk::ExceptionObject);
}

TEST(ANUNetPreprocessor, SlicesFollowTheSliceAxis)
{
  // value = 100 x + 10 y + z on a 5 x 4 x 3 volume: every axis is recognisable.
  const auto image =
    makeImage<Volume>({ 5, 4, 3 }, [](const Volume::IndexType & i) { return 100.0 * i[0] + 10.0 * i[1] + i[2]; });
  const unsigned int size[3] = { 5, 4, 3 };
  for (int axis = 0; axis < 3; ++axis)
  {
    // In-plane axes: the other two in increasing order, the first one fastest (width).
    const int widthAxis = axis == 0 ? 1 : 0;
    const int heightAxis = axis == 2 ? 1 : 2;
    auto      preprocessing =
      identityPreprocessing(size[widthAxis], size[heightAxis], anunet::IntensityNormalization::Method::None);
    preprocessing.sliceAxis = axis;
    const auto preprocessor = initialized(image, preprocessing);
    EXPECT_EQ(preprocessor->GetNumberOfSlices(image->GetBufferedRegion()), size[axis]);
    const std::vector<float> slices = preprocessor->ExtractSlices(0, size[axis]);
    for (unsigned int s = 0; s < size[axis]; ++s)
    {
      for (unsigned int h = 0; h < size[heightAxis]; ++h)
      {
        for (unsigned int w = 0; w < size[widthAxis]; ++w)
        {
          double index[3];
          index[axis] = s;
          index[widthAxis] = w;
          index[heightAxis] = h;
          ASSERT_EQ(slices[(s * size[heightAxis] + h) * size[widthAxis] + w],
                    100.0 * index[0] + 10.0 * index[1] + index[2])
            << "axis " << axis;
        }
      }
    }

    // And back: InsertSlices() puts every value where it came from.
    auto output = Volume::New();
    output->SetRegions(image->GetLargestPossibleRegion());
    output->Allocate();
    output->FillBuffer(-1.0f);
    std::vector<float> dense(slices.size());
    preprocessor->MapToInputGrid(slices.data(), size[axis], 1, dense.data());
    preprocessor->InsertSlices(dense.data(), 0, size[axis], output.GetPointer());
    for (size_t i = 0; i < image->GetBufferedRegion().GetNumberOfPixels(); ++i)
    {
      ASSERT_EQ(output->GetBufferPointer()[i], image->GetBufferPointer()[i]) << "axis " << axis;
    }
  }
}

TEST(ANUNetPreprocessor, InPlaneMapAlignsPixelAreas)
{
  // 2:1 reduction: each network pixel is the mean of a pixel pair (x = 2u + 0.5).
  const std::vector<float> row{ 0, 2, 4, 8, 16, 32, 64, 128 };
  std::vector<float>       half(4);
  Preprocessor::ResampleLinear(row.data(), 8, 1, half.data(), 4, 1);
  EXPECT_EQ(half, (std::vector<float>{ 1, 6, 24, 96 }));

  // 5 -> 3: centres at x = (u + 0.5) * 5 / 3 - 0.5 = 1/3, 2, 11/3.
  const std::vector<float> five{ 0, 30, 60, 90, 120 };
  std::vector<float>       three(3);
  Preprocessor::ResampleLinear(five.data(), 5, 1, three.data(), 3, 1);
  EXPECT_NEAR(three[0], 10.0f, 1e-4);
  EXPECT_NEAR(three[1], 60.0f, 1e-4);
  EXPECT_NEAR(three[2], 110.0f, 1e-4);

  // 2 -> 4 upsampling replicates the edges and interpolates between centres: x = -0.25 (clamped), 0.25, 0.75, 1.25.
  const std::vector<float> two{ 0, 4 };
  std::vector<float>       four(4);
  Preprocessor::ResampleLinear(two.data(), 2, 1, four.data(), 4, 1);
  EXPECT_EQ(four, (std::vector<float>{ 0, 1, 3, 4 }));

  // 2-D: separable, so a bilinear function of the centres is reproduced away from the clamped border.
  const unsigned int w = 6, h = 4, W = 12, H = 8;
  std::vector<float> plane(w * h), big(W * H);
  for (unsigned int y = 0; y < h; ++y)
  {
    for (unsigned int x = 0; x < w; ++x)
    {
      plane[y * w + x] = 3.0f * x + 5.0f * y;
    }
  }
  Preprocessor::ResampleLinear(plane.data(), w, h, big.data(), W, H);
  for (unsigned int v = 1; v + 1 < H; ++v)
  {
    for (unsigned int u = 1; u + 1 < W; ++u)
    {
      const double x = (u + 0.5) * w / W - 0.5;
      const double y = (v + 0.5) * h / H - 0.5;
      EXPECT_NEAR(big[v * W + u], 3.0 * x + 5.0 * y, 1e-4);
    }
  }

  // Labels: nearest pixel to the same centre, round half up.
  const std::vector<uint8_t> labels{ 0, 1, 2, 3, 4, 5, 6, 7 };
  std::vector<uint8_t>       nearest(4);
  Preprocessor::ResampleNearest(labels.data(), 8, 1, nearest.data(), 4, 1);
  EXPECT_EQ(nearest, (std::vector<uint8_t>{ 1, 3, 5, 7 }));
}

TEST(ANUNetPreprocessor, NetworkSizeRoundTripKeepsSmoothImages)
{
  // A smooth image resampled to the network size and back returns close to itself.
  const auto image = makeImage<Volume>(
    { 40, 30, 2 }, [](const Volume::IndexType & i) { return std::sin(i[0] / 7.0) + std::cos(i[1] / 5.0) + i[2]; });
  const auto preprocessor =
    initialized(image, identityPreprocessing(64, 48, anunet::IntensityNormalization::Method::None));
  std::vector<float> network = preprocessor->ExtractSlices(0, 2);
  ASSERT_EQ(network.size(), 2u * 64 * 48);
  std::vector<float> back(2 * 40 * 30);
  preprocessor->MapToInputGrid(network.data(), 2, 1, back.data());
  double worst = 0.0;
  for (size_t i = 0; i < back.size(); ++i)
  {
    worst = std::max(worst, std::abs(static_cast<double>(back[i]) - image->GetBufferPointer()[i]));
  }
  EXPECT_LT(worst, 0.05);
}

TEST(ANUNetPreprocessor, TwoDimensionalImagesAreOneSlice)
{
  const auto image = makeImage<Slice>({ 6, 4 }, [](const Slice::IndexType & i) { return 10 * i[1] + i[0]; });
  auto       preprocessor = itk::ANUNetPreprocessor<Slice>::New();
  preprocessor->SetPreprocessing(identityPreprocessing(6, 4, anunet::IntensityNormalization::Method::None));
  preprocessor->SetInput(image);
  preprocessor->Initialize();
  EXPECT_EQ(preprocessor->GetNumberOfSlices(image->GetBufferedRegion()), 1u);
  const std::vector<float> slice = preprocessor->ExtractSlices(0, 1);
  for (size_t i = 0; i < slice.size(); ++i)
  {
    EXPECT_EQ(slice[i], image->GetBufferPointer()[i]);
  }
}

TEST(ANUNetPreprocessor, LabelMappingMergesSourceLabels)
{
  // Labels 0..4 along x (CHAOS: 1 liver, 2 right kidney, 3 left kidney, 4 spleen).
  const auto image = makeImage<Volume>({ 5, 2, 3 }, [](const Volume::IndexType & i) { return i[0] * 10.0; });
  const auto labels = makeImage<Labels>({ 5, 2, 3 }, [](const Labels::IndexType & i) { return i[0]; });
  auto       preprocessing = identityPreprocessing(5, 2, anunet::IntensityNormalization::Method::None);

  preprocessing.labels = anunet::LabelMapping::parse("labels=2+3;background=1,4");
  anunet::SliceVolume kidney =
    Preprocessor::MakeSliceVolume(image.GetPointer(), labels.GetPointer(), preprocessing, "kidney-case");
  EXPECT_EQ(kidney.name, "kidney-case");
  EXPECT_EQ(kidney.slices, 3);
  EXPECT_EQ(kidney.channels, 1);
  EXPECT_EQ(kidney.height, 2);
  EXPECT_EQ(kidney.width, 5);
  ASSERT_EQ(kidney.labels.size(), 30u);
  ASSERT_EQ(kidney.image.size(), 30u);
  for (size_t i = 0; i < kidney.labels.size(); ++i)
  {
    const int source = static_cast<int>(i % 5);
    EXPECT_EQ(kidney.labels[i], (source == 2 || source == 3) ? 1 : 0) << "source label " << source;
    EXPECT_EQ(kidney.image[i], source * 10.0f);
  }

  preprocessing.labels = anunet::LabelMapping::parse("labels=1,2,3,4");
  anunet::SliceVolume all =
    Preprocessor::MakeSliceVolume(image.GetPointer(), labels.GetPointer(), preprocessing, "all");
  for (size_t i = 0; i < all.labels.size(); ++i)
  {
    EXPECT_EQ(all.labels[i], i % 5);
  }

  // Labels resampled to another size keep their classes (nearest, never blended).
  preprocessing.width = 3;
  preprocessing.height = 4;
  preprocessing.labels = anunet::LabelMapping::parse("labels=1,2+3;background=*");
  anunet::SliceVolume resized =
    Preprocessor::MakeSliceVolume(image.GetPointer(), labels.GetPointer(), preprocessing, "r");
  ASSERT_EQ(resized.labels.size(), 3u * 4 * 3);
  // Columns: x = (u + 0.5) * 5 / 3 - 0.5 -> 1/3, 2, 11/3 -> nearest 0, 2, 4 -> classes 0, 2, 0.
  for (size_t i = 0; i < resized.labels.size(); ++i)
  {
    EXPECT_EQ(resized.labels[i], (std::vector<int>{ 0, 2, 0 })[i % 3]);
  }
}

TEST(ANUNetPreprocessor, LabelValuesTheTaskDoesNotNameAreRejected)
{
  // Labels 0..4 along x; the liver task without a background list leaves 2, 3 and 4 unnamed.
  const auto image = makeImage<Volume>({ 5, 2, 3 }, [](const Volume::IndexType & i) { return i[0] * 10.0; });
  const auto labels = makeImage<Labels>({ 5, 2, 3 }, [](const Labels::IndexType & i) { return i[0]; });
  auto       preprocessing = identityPreprocessing(5, 2, anunet::IntensityNormalization::Method::None);
  preprocessing.labels = anunet::LabelMapping::parse("labels=1");
  try
  {
    Preprocessor::MakeSliceVolume(image.GetPointer(), labels.GetPointer(), preprocessing, "case09");
    FAIL() << "unnamed label values accepted";
  }
  catch (const itk::ExceptionObject & e)
  {
    const std::string message = e.GetDescription();
    EXPECT_NE(message.find("case09"), std::string::npos) << message;
    EXPECT_NE(message.find("2 (6 voxels), 3 (6 voxels), 4 (6 voxels)"), std::string::npos) << message;
    EXPECT_NE(message.find("labels=1;background=2,3,4"), std::string::npos) << message;
  }
  preprocessing.labels = anunet::LabelMapping::parse("labels=1;background=2,3,4");
  const anunet::SliceVolume liver =
    Preprocessor::MakeSliceVolume(image.GetPointer(), labels.GetPointer(), preprocessing, "case09");
  for (size_t i = 0; i < liver.labels.size(); ++i)
  {
    EXPECT_EQ(liver.labels[i], i % 5 == 1 ? 1 : 0);
  }
}

TEST(ANUNetPreprocessor, LabelsOnAnotherGridAreRejected)
{
  const auto          image = makeImage<Volume>({ 4, 4, 2 }, [](const Volume::IndexType &) { return 0.0; });
  const auto          labels = makeImage<Labels>({ 4, 4, 2 }, [](const Labels::IndexType &) { return 1; });
  Labels::SpacingType spacing;
  spacing.Fill(2.0);
  labels->SetSpacing(spacing);
  try
  {
    Preprocessor::MakeSliceVolume(image.GetPointer(),
                                  labels.GetPointer(),
                                  identityPreprocessing(4, 4, anunet::IntensityNormalization::Method::None),
                                  "case07");
    FAIL() << "labels on another grid accepted";
  }
  catch (const itk::ExceptionObject & e)
  {
    EXPECT_NE(std::string(e.GetDescription()).find("case07"), std::string::npos) << e.GetDescription();
  }
  const auto smaller = makeImage<Labels>({ 4, 3, 2 }, [](const Labels::IndexType &) { return 1; });
  EXPECT_THROW(Preprocessor::MakeSliceVolume(image.GetPointer(),
                                             smaller.GetPointer(),
                                             identityPreprocessing(4, 4, anunet::IntensityNormalization::Method::None),
                                             "c"),
               itk::ExceptionObject);
}

TEST(ANUNetPreprocessor, ChaosMRKidneyCase)
{
  // A real case: CHAOS MR T2 case 01 (256 x 256 x 37, labels 0..4), percentile normalisation, kidney task.
  const Volume::Pointer image = itk::ANUNetImageReader::ReadVolume(dataPath("chaos-mr-t2/case01_t2.nii.gz"));
  auto                  labelReader = itk::ImageFileReader<Labels>::New();
  labelReader->SetFileName(dataPath("chaos-mr-t2/case01_labels.nii.gz"));
  labelReader->Update();
  const Labels * labels = labelReader->GetOutput();

  anunet::Preprocessing preprocessing =
    identityPreprocessing(256, 256, anunet::IntensityNormalization::Method::Percentile);
  preprocessing.labels = anunet::LabelMapping::parse("labels=2+3;background=1,4");
  const auto preprocessor = initialized(image, preprocessing);

  std::vector<float> values(image->GetBufferPointer(),
                            image->GetBufferPointer() + image->GetBufferedRegion().GetNumberOfPixels());
  EXPECT_NEAR(preprocessor->GetIntensityMap().lower, sortedPercentile(values, 0.5), 1e-9);
  EXPECT_NEAR(preprocessor->GetIntensityMap().upper, sortedPercentile(values, 99.5), 1e-9);

  const anunet::SliceVolume volume = preprocessor->MakeSliceVolume(labels, "case01");
  EXPECT_EQ(volume.slices, 37);
  EXPECT_EQ(volume.width, 256);
  EXPECT_EQ(volume.height, 256);
  size_t kidneyVoxels = 0;
  for (size_t i = 0; i < values.size(); ++i)
  {
    const unsigned char label = labels->GetBufferPointer()[i];
    kidneyVoxels += (label == 2 || label == 3) ? 1 : 0;
    // Same size: the slices are the volume itself, normalised.
    ASSERT_EQ(volume.labels[i], (label == 2 || label == 3) ? 1 : 0);
  }
  EXPECT_GT(kidneyVoxels, 1000u);
  EXPECT_GE(*std::min_element(volume.image.begin(), volume.image.end()), 0.0f);
  EXPECT_LE(*std::max_element(volume.image.begin(), volume.image.end()), 1.0f);

  // At half the size, the kidney keeps about a quarter of its pixels.
  preprocessing.width = 128;
  preprocessing.height = 128;
  const anunet::SliceVolume half = Preprocessor::MakeSliceVolume(image.GetPointer(), labels, preprocessing, "case01");
  const auto                halfKidney = std::count(half.labels.begin(), half.labels.end(), uint8_t{ 1 });
  EXPECT_NEAR(static_cast<double>(halfKidney) / kidneyVoxels, 0.25, 0.03);
}
