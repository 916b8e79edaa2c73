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
// Tests of itk::ANUNetSegmentationImageFilter with small networks made here: geometry, streaming, levels,
// outputs, errors, and agreement with an independent Python/TorchScript implementation.
#include "ITKTestHelpers.h"
#include "itkANUNetImageReader.h"
#include "itkANUNetModel.h"
#include "itkANUNetSegmentationImageFilter.h"
#include "itkImageFileReader.h"
#include "itkImageFileWriter.h"
#include "itkImageRegionIteratorWithIndex.h"
#include "itkStreamingImageFilter.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <string>

namespace
{
using anunet::test::errorOf;
using anunet::test::makeImage;
namespace fs = std::filesystem;
using Volume = itk::Image<float, 3>;
using LabelVolume = itk::Image<unsigned char, 3>;
using Slice = itk::Image<float, 2>;
using LabelSlice = itk::Image<unsigned char, 2>;
using LabelFilter = itk::ANUNetSegmentationImageFilter<Volume, LabelVolume>;
using ProbabilityFilter = itk::ANUNetSegmentationImageFilter<Volume, Volume>;

/** A fresh folder for one test (each test may run in its own process, in parallel). */
fs::path
scratch()
{
  const auto *   info = ::testing::UnitTest::GetInstance()->current_test_info();
  const fs::path folder = fs::path(ANUNET_TEST_TEMP) / "SegmentationFilterTest" / info->name();
  fs::remove_all(folder);
  fs::create_directories(folder);
  return folder;
}

/** A small, freshly initialised network: the tests check plumbing and geometry, not accuracy. */
anunet::Model
smallModel(anunet::Architecture                   architecture = anunet::Architecture::ANUNet,
           int                                    classes = 1,
           int                                    inputChannels = 1,
           int                                    size = 32,
           anunet::IntensityNormalization::Method method = anunet::IntensityNormalization::Method::Window)
{
  anunet::NetworkOptions options;
  options.architecture = architecture;
  options.classes = classes;
  options.inputChannels = inputChannels;
  options.filters = { 4, 8, 16, 32, 64 };
  anunet::Model         model = anunet::Model::create(options, 42);
  anunet::Preprocessing preprocessing;
  preprocessing.width = size;
  preprocessing.height = size;
  preprocessing.intensity.method = method;
  preprocessing.intensity.windowMinimum = -200.0;
  preprocessing.intensity.windowMaximum = 200.0;
  model.setPreprocessing(preprocessing);
  return model;
}

std::string
saved(const anunet::Model & model, const fs::path & folder, const std::string & name = "model.pt")
{
  const std::string path = (folder / name).string();
  model.save(path);
  return path;
}

/** A CT-like test volume: a bright ellipsoid in dark surroundings, with a gradient. */
Volume::Pointer
phantom(unsigned int width, unsigned int height, unsigned int depth)
{
  return makeImage<Volume>({ width, height, depth }, [=](const Volume::IndexType & i) {
    const double x = (i[0] - width / 2.0) / (width / 3.0);
    const double y = (i[1] - height / 2.0) / (height / 4.0);
    const double z = (i[2] - depth / 2.0) / (depth / 1.5);
    return (x * x + y * y + z * z < 1.0 ? 150.0 : -400.0) + 5.0 * i[0] - 3.0 * i[1];
  });
}

template <typename TImage>
std::vector<typename TImage::PixelType>
pixels(const TImage * image)
{
  const auto * begin = image->GetBufferPointer();
  return std::vector<typename TImage::PixelType>(begin, begin + image->GetBufferedRegion().GetNumberOfPixels());
}

/** The output of filter run through a StreamingImageFilter of divisions pieces, and the input region each piece
 * asked for. */
std::pair<std::vector<float>, std::vector<Volume::RegionType>>
streamed(ProbabilityFilter * filter, unsigned int divisions)
{
  std::vector<Volume::RegionType> inputRegions;
  const auto                      tag = filter->AddObserver(itk::StartEvent(), [&](const itk::EventObject &) {
    inputRegions.push_back(filter->GetInput()->GetRequestedRegion());
  });
  auto                            streamer = itk::StreamingImageFilter<Volume, Volume>::New();
  streamer->SetInput(filter->GetOutput());
  streamer->SetNumberOfStreamDivisions(divisions);
  streamer->Update();
  filter->RemoveObserver(tag);
  return { pixels(streamer->GetOutput()), inputRegions };
}

double
largestDifference(const std::vector<float> & a, const std::vector<float> & b)
{
  EXPECT_EQ(a.size(), b.size());
  double worst = 0.0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i)
  {
    worst = std::max(worst, std::abs(static_cast<double>(a[i]) - b[i]));
  }
  return worst;
}

std::vector<float>
readRaw(const fs::path & path, size_t count)
{
  std::vector<float> values(count);
  std::ifstream      in(path, std::ios::binary);
  in.read(reinterpret_cast<char *>(values.data()), static_cast<std::streamsize>(count * sizeof(float)));
  EXPECT_EQ(static_cast<size_t>(in.gcount()), count * sizeof(float)) << path;
  return values;
}
} // namespace

TEST(ANUNetSegmentationFilter, OutputKeepsTheInputGeometry)
{
  const fs::path      folder = scratch();
  auto                image = phantom(40, 30, 5);
  Volume::SpacingType spacing;
  spacing[0] = 0.7;
  spacing[1] = 0.9;
  spacing[2] = 2.5;
  image->SetSpacing(spacing);
  Volume::PointType origin;
  origin[0] = -10.25;
  origin[1] = 20.5;
  origin[2] = 30.75;
  image->SetOrigin(origin);
  // A rotation about z by 30 degrees with the y axis flipped: neither identity nor axis-aligned.
  Volume::DirectionType direction;
  const double          c = std::cos(M_PI / 6.0), s = std::sin(M_PI / 6.0);
  direction[0][0] = c;
  direction[0][1] = s;
  direction[0][2] = 0.0;
  direction[1][0] = s;
  direction[1][1] = -c;
  direction[1][2] = 0.0;
  direction[2][0] = 0.0;
  direction[2][1] = 0.0;
  direction[2][2] = 1.0;
  image->SetDirection(direction);

  auto filter = LabelFilter::New();

  filter->SetNumberOfThreads(1);
  filter->SetInput(image);
  filter->SetModelFileName(saved(smallModel(), folder));
  filter->SetLevel(1);
  filter->Update();
  const LabelVolume * output = filter->GetOutput();
  EXPECT_EQ(output->GetLargestPossibleRegion(), image->GetLargestPossibleRegion());
  EXPECT_EQ(output->GetSpacing(), image->GetSpacing());
  EXPECT_EQ(output->GetOrigin(), image->GetOrigin());
  EXPECT_EQ(output->GetDirection(), image->GetDirection());
  for (const unsigned char label : pixels(output))
  {
    ASSERT_LE(label, 1);
  }
  EXPECT_EQ(filter->GetModel().options().architecture, anunet::Architecture::ANUNet);
}

TEST(ANUNetSegmentationFilter, PngInPngOut)
{
  const fs::path    folder = scratch();
  const auto        slice = makeImage<LabelSlice>({ 48, 40 }, [](const LabelSlice::IndexType & i) {
    return (i[0] - 24) * (i[0] - 24) + (i[1] - 20) * (i[1] - 20) < 150 ? 220 : 30;
  });
  const std::string input = (folder / "slice.png").string();
  itk::WriteImage(slice, input);

  auto model = smallModel(anunet::Architecture::ANUNet, 1, 1, 32, anunet::IntensityNormalization::Method::None);
  auto filter = itk::ANUNetSegmentationImageFilter<Slice, LabelSlice>::New();
  filter->SetNumberOfThreads(1);
  filter->SetInput(itk::ANUNetImageReader::ReadSlice(input));
  filter->SetModelFileName(saved(model, folder));
  const std::string output = (folder / "labels.png").string();
  itk::WriteImage(filter->GetOutput(), output);

  const auto written = itk::ReadImage<LabelSlice>(output);
  EXPECT_EQ(written->GetLargestPossibleRegion(), slice->GetLargestPossibleRegion());
  EXPECT_EQ(pixels(written.GetPointer()), pixels(filter->GetOutput()));
}

TEST(ANUNetSegmentationFilter, StreamingMatchesTheWholeVolume)
{
  const fs::path folder = scratch();
  const auto     image = phantom(44, 36, 9);
  for (const auto method :
       { anunet::IntensityNormalization::Method::Window, anunet::IntensityNormalization::Method::Percentile })
  {
    auto model = itk::ANUNetModel::New();
    model->SetModel(smallModel(anunet::Architecture::ANUNet, 1, 1, 32, method));

    auto whole = ProbabilityFilter::New();

    whole->SetNumberOfThreads(1);
    whole->SetInput(image);
    whole->SetModelInput(model);
    whole->SetOutputProbabilities(true);
    whole->SetLevel(2);
    whole->Update();

    auto pieces = ProbabilityFilter::New();

    pieces->SetNumberOfThreads(1);
    pieces->SetInput(image);
    pieces->SetModelInput(model);
    pieces->SetOutputProbabilities(true);
    pieces->SetLevel(2);
    const auto [values, inputRegions] = streamed(pieces, 3);
    ASSERT_EQ(inputRegions.size(), 3u) << anunet::toString(method);
    for (const auto & region : inputRegions)
    {
      // Window streams the input too; Percentile needs the whole volume's statistics.
      EXPECT_EQ(region.GetSize(2), method == anunet::IntensityNormalization::Method::Window ? 3u : 9u);
      EXPECT_EQ(region.GetSize(0), 44u);
      EXPECT_EQ(region.GetSize(1), 36u);
    }
    EXPECT_LE(largestDifference(pixels(whole->GetOutput()), values), 1e-6) << anunet::toString(method);
  }

  // With the volume's intensity map computed beforehand, Percentile streams its input too.
  {
    auto model = itk::ANUNetModel::New();
    model->SetModel(
      smallModel(anunet::Architecture::ANUNet, 1, 1, 32, anunet::IntensityNormalization::Method::Percentile));
    auto whole = ProbabilityFilter::New();
    whole->SetNumberOfThreads(1);
    whole->SetInput(image);
    whole->SetModelInput(model);
    whole->SetOutputProbabilities(true);
    whole->Update();

    const auto map =
      ProbabilityFilter::PreprocessorType::ComputeVolumeIntensityMap(image, model->GetModel().preprocessing(), 3);
    ASSERT_TRUE(map.has_value());
    auto pieces = ProbabilityFilter::New();
    pieces->SetNumberOfThreads(1);
    pieces->SetInput(image);
    pieces->SetModelInput(model);
    pieces->SetOutputProbabilities(true);
    pieces->SetVolumeIntensityMap(*map);
    const auto [values, inputRegions] = streamed(pieces, 3);
    ASSERT_EQ(inputRegions.size(), 3u);
    for (const auto & region : inputRegions)
    {
      EXPECT_EQ(region.GetSize(2), 3u);
    }
    EXPECT_LE(largestDifference(pixels(whole->GetOutput()), values), 1e-6);
  }

  // Labels too, with a streaming division count that does not divide the slices evenly.
  auto labels = LabelFilter::New();
  labels->SetNumberOfThreads(1);
  labels->SetInput(image);
  labels->SetModelFileName(saved(smallModel(), folder));
  labels->SetBatchSize(2);
  labels->Update();
  auto streamed = LabelFilter::New();
  streamed->SetNumberOfThreads(1);
  streamed->SetInput(image);
  streamed->SetModelFileName(labels->GetModelFileName());
  auto streamer = itk::StreamingImageFilter<LabelVolume, LabelVolume>::New();
  streamer->SetInput(streamed->GetOutput());
  streamer->SetNumberOfStreamDivisions(4);
  streamer->Update();
  // Other batch compositions may change the last bits of a probability (oneDNN picks kernels by shape and
  // CPU), so a label may differ only where the probability is within rounding of the threshold.
  auto probability = ProbabilityFilter::New();
  probability->SetNumberOfThreads(1);
  probability->SetInput(image);
  probability->SetModelFileName(labels->GetModelFileName());
  probability->SetOutputProbabilities(true);
  probability->SetBatchSize(2);
  probability->Update();
  const auto whole = pixels(labels->GetOutput());
  const auto pieces = pixels(streamer->GetOutput());
  const auto p = pixels(probability->GetOutput());
  ASSERT_EQ(whole.size(), pieces.size());
  size_t different = 0;
  for (size_t i = 0; i < whole.size(); ++i)
  {
    if (whole[i] != pieces[i])
    {
      ++different;
      EXPECT_LT(std::abs(p[i] - 0.5F), 1e-5F) << "voxel " << i;
    }
  }
  EXPECT_LE(different, whole.size() / 1000) << "labels that differ between whole and streamed";
}

TEST(ANUNetSegmentationFilter, ProbabilitiesAndLabelsAgree)
{
  const fs::path    folder = scratch();
  const auto        image = phantom(40, 32, 3);
  const std::string path = saved(smallModel(), folder);

  auto probability = ProbabilityFilter::New();

  probability->SetNumberOfThreads(1);
  probability->SetInput(image);
  probability->SetModelFileName(path);
  probability->OutputProbabilitiesOn();
  probability->Update();
  const auto p = pixels(probability->GetOutput());

  auto background = ProbabilityFilter::New();

  background->SetNumberOfThreads(1);
  background->SetInput(image);
  background->SetModelFileName(path);
  background->OutputProbabilitiesOn();
  background->SetProbabilityClass(0);
  background->Update();
  const auto q = pixels(background->GetOutput());

  for (const double threshold : { 0.5, 0.3 })
  {
    auto labels = LabelFilter::New();
    labels->SetNumberOfThreads(1);
    labels->SetInput(image);
    labels->SetModelFileName(path);
    labels->SetThreshold(threshold);
    labels->Update();
    const auto l = pixels(labels->GetOutput());
    for (size_t i = 0; i < p.size(); ++i)
    {
      ASSERT_GE(p[i], 0.0f);
      ASSERT_LE(p[i], 1.0f);
      ASSERT_NEAR(q[i], 1.0f - p[i], 1e-6);
      ASSERT_EQ(l[i], p[i] > threshold ? 1 : 0) << "pixel " << i << " probability " << p[i];
    }
  }
}

TEST(ANUNetSegmentationFilter, MultiClassLabelsAreTheArgmax)
{
  const fs::path                  folder = scratch();
  const auto                      image = phantom(36, 36, 2);
  const std::string               path = saved(smallModel(anunet::Architecture::ANUNet, 3), folder);
  std::vector<std::vector<float>> probabilities;
  for (int k = 0; k < 3; ++k)
  {
    auto filter = ProbabilityFilter::New();
    filter->SetNumberOfThreads(1);
    filter->SetInput(image);
    filter->SetModelFileName(path);
    filter->OutputProbabilitiesOn();
    filter->SetProbabilityClass(k);
    filter->Update();
    probabilities.push_back(pixels(filter->GetOutput()));
  }
  auto labels = LabelFilter::New();
  labels->SetNumberOfThreads(1);
  labels->SetInput(image);
  labels->SetModelFileName(path);
  labels->Update();
  const auto          l = pixels(labels->GetOutput());
  std::vector<size_t> counts(3, 0);
  for (size_t i = 0; i < l.size(); ++i)
  {
    ASSERT_NEAR(probabilities[0][i] + probabilities[1][i] + probabilities[2][i], 1.0, 1e-5);
    int best = 0;
    for (int k = 1; k < 3; ++k)
    {
      best = probabilities[k][i] > probabilities[best][i] ? k : best;
    }
    ASSERT_EQ(l[i], best);
    ++counts[l[i]];
  }
  auto outOfRange = ProbabilityFilter::New();
  outOfRange->SetNumberOfThreads(1);
  outOfRange->SetInput(image);
  outOfRange->SetModelFileName(path);
  outOfRange->OutputProbabilitiesOn();
  outOfRange->SetProbabilityClass(3);
  EXPECT_NE(errorOf([&] { outOfRange->Update(); }).find("ProbabilityClass 3"), std::string::npos);
}

TEST(ANUNetSegmentationFilter, ModelInputOrFileName)
{
  const fs::path    folder = scratch();
  const auto        image = phantom(32, 32, 2);
  const auto        network = smallModel();
  const std::string path = saved(network, folder);

  auto fromFile = LabelFilter::New();

  fromFile->SetNumberOfThreads(1);
  fromFile->SetInput(image);
  fromFile->SetModelFileName(path);
  fromFile->Update();

  auto model = itk::ANUNetModel::New();
  model->Load(path);
  EXPECT_EQ(model->GetFileName(), path);
  auto fromInput = LabelFilter::New();
  fromInput->SetNumberOfThreads(1);
  fromInput->SetInput(image);
  fromInput->SetModelInput(model);
  fromInput->Update();
  EXPECT_EQ(pixels(fromFile->GetOutput()), pixels(fromInput->GetOutput()));

  fromInput->SetModelFileName(path);
  EXPECT_NE(errorOf([&] { fromInput->Update(); }).find("set only one"), std::string::npos);

  auto none = LabelFilter::New();

  none->SetNumberOfThreads(1);
  none->SetInput(image);
  EXPECT_NE(errorOf([&] { none->Update(); }).find("No model"), std::string::npos);

  auto empty = LabelFilter::New();

  empty->SetNumberOfThreads(1);
  empty->SetInput(image);
  empty->SetModelInput(itk::ANUNetModel::New());
  EXPECT_NE(errorOf([&] { empty->Update(); }).find("holds no network"), std::string::npos);

  const std::string missing = (folder / "missing.pt").string();
  auto              unreadable = LabelFilter::New();
  unreadable->SetNumberOfThreads(1);
  unreadable->SetInput(image);
  unreadable->SetModelFileName(missing);
  EXPECT_NE(errorOf([&] { unreadable->Update(); }).find(missing), std::string::npos);
}

TEST(ANUNetSegmentationFilter, LevelsAreChecked)
{
  const fs::path folder = scratch();
  const auto     image = phantom(32, 32, 2);
  auto           filter = LabelFilter::New();
  filter->SetNumberOfThreads(1);
  filter->SetInput(image);
  filter->SetModelFileName(saved(smallModel(), folder, "anunet.pt"));
  for (int level = 0; level <= 4; ++level)
  {
    filter->SetLevel(level);
    EXPECT_NO_THROW(filter->Update()) << "level " << level;
  }
  filter->SetLevel(5);
  EXPECT_NE(errorOf([&] { filter->Update(); }).find("out of range"), std::string::npos);

  auto unet = LabelFilter::New();

  unet->SetNumberOfThreads(1);
  unet->SetInput(image);
  unet->SetModelFileName(saved(smallModel(anunet::Architecture::UNet), folder, "unet.pt"));
  unet->SetLevel(2);
  EXPECT_NE(errorOf([&] { unet->Update(); }).find("no pruning levels"), std::string::npos);
  unet->SetLevel(0);
  EXPECT_NO_THROW(unet->Update());
}

TEST(ANUNetSegmentationFilter, BadInputsAreClearErrors)
{
  const fs::path folder = scratch();
  auto           image = phantom(32, 32, 2);

  auto twoChannels = LabelFilter::New();

  twoChannels->SetNumberOfThreads(1);
  twoChannels->SetInput(image);
  twoChannels->SetModelFileName(saved(smallModel(anunet::Architecture::ANUNet, 1, 2), folder, "two.pt"));
  EXPECT_NE(errorOf([&] { twoChannels->Update(); }).find("2 input channels"), std::string::npos);

  const std::string path = saved(smallModel(), folder);
  image->SetPixel({ { 3, 4, 1 } }, std::numeric_limits<float>::quiet_NaN());
  auto withNaN = LabelFilter::New();
  withNaN->SetNumberOfThreads(1);
  withNaN->SetInput(image);
  withNaN->SetModelFileName(path);
  const std::string message = errorOf([&] { withNaN->Update(); });
  EXPECT_NE(message.find("NaN"), std::string::npos) << message;
  EXPECT_NE(message.find("[3, 4, 1]"), std::string::npos) << message;

  auto integerProbabilities = itk::ANUNetSegmentationImageFilter<Volume, LabelVolume>::New();

  integerProbabilities->SetNumberOfThreads(1);
  integerProbabilities->SetInput(phantom(32, 32, 2));
  integerProbabilities->SetModelFileName(path);
  integerProbabilities->OutputProbabilitiesOn();
  EXPECT_NE(errorOf([&] { integerProbabilities->Update(); }).find("floating-point"), std::string::npos);

  auto badDevice = LabelFilter::New();

  badDevice->SetNumberOfThreads(1);
  badDevice->SetInput(phantom(32, 32, 2));
  badDevice->SetModelFileName(path);
  badDevice->SetDevice("quantum");
  EXPECT_NE(errorOf([&] { badDevice->Update(); }).find("quantum"), std::string::npos);
}

TEST(ANUNetSegmentationFilter, ProgressAndAbort)
{
  const fs::path folder = scratch();
  auto           model = itk::ANUNetModel::New();
  model->SetModel(smallModel());
  model->GetModel().setNumberOfThreads(3);
  auto filter = LabelFilter::New();
  filter->SetInput(phantom(32, 32, 7));
  filter->SetModelInput(model);
  filter->SetBatchSize(2);
  filter->SetNumberOfThreads(1);
  std::vector<float> progress;
  bool               abort = false;
  filter->AddObserver(itk::ProgressEvent(), [&](const itk::EventObject &) {
    progress.push_back(filter->GetProgress());
    if (abort && filter->GetProgress() > 0.4f)
    {
      filter->AbortGenerateDataOn();
    }
  });
  filter->Update();
  // 7 slices in batches of 2: 0, then after each of the 4 batches (ITK adds its own 0 and 1).
  EXPECT_NE(std::find(progress.begin(), progress.end(), 2.0f / 7.0f), progress.end());
  EXPECT_NE(std::find(progress.begin(), progress.end(), 6.0f / 7.0f), progress.end());
  EXPECT_EQ(progress.back(), 1.0f);
  // The filter's thread count applied to this run only.
  EXPECT_EQ(model->GetModel().numberOfThreads(), 3);

  abort = true;
  filter->Modified();
  EXPECT_THROW(filter->Update(), itk::ProcessAborted);
}

TEST(ANUNetSegmentationFilter, MatchesTorchScriptFromPython)
{
  // The Python script re-implements ANU-Net's wiring, loads this checkpoint's weights, exports TorchScript, and
  // computes probabilities with its own preprocessing (window, then torch's bilinear resampling to the network
  // size and back). The C++ filter must give the same probabilities from the checkpoint and from that file.
  const fs::path    folder = scratch();
  auto              network = smallModel(anunet::Architecture::ANUNet, 1, 1, 32);
  const std::string checkpoint = saved(network, folder);
  const auto        image = phantom(40, 24, 3);
  {
    std::ofstream raw(folder / "image.raw", std::ios::binary);
    raw.write(reinterpret_cast<const char *>(image->GetBufferPointer()),
              static_cast<std::streamsize>(image->GetBufferedRegion().GetNumberOfPixels() * sizeof(float)));
  }
  const std::string script = std::string(ANUNET_SOURCE_DIR) + "/test/itk/make_torchscript_reference.py";
  const std::string torchscript = (folder / "reference.ts.pt").string();
  // The script also perturbs batch norm (fresh statistics are an identity that would hide wiring errors).
  const std::string perturbed = (folder / "perturbed.pt").string();
  const std::string command = std::string(ANUNET_PYTHON) + " " + script + " --checkpoint " + checkpoint +
                              " --perturbed-checkpoint " + perturbed + " --image " + (folder / "image.raw").string() +
                              " --shape 3 24 40 --torchscript " + torchscript + " --probabilities " +
                              (folder / "reference.raw").string();
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  const std::vector<float> reference = readRaw(folder / "reference.raw", 3 * 24 * 40);

  for (const std::string & path : { perturbed, torchscript })
  {
    auto filter = ProbabilityFilter::New();
    filter->SetNumberOfThreads(1);
    filter->SetInput(image);
    filter->SetModelFileName(path);
    filter->OutputProbabilitiesOn();
    filter->Update();
    EXPECT_EQ(filter->GetModel().isTorchScript(), path == torchscript);
    const auto probabilities = pixels(filter->GetOutput());
    double     worst = 0.0;
    for (size_t i = 0; i < reference.size(); ++i)
    {
      worst = std::max(worst, std::abs(static_cast<double>(probabilities[i]) - reference[i]));
    }
    EXPECT_LE(worst, 1e-5) << path;
  }
}
