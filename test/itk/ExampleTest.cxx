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
// Runs the example pipeline (examples/DicomToSegmentation) and `anunet segment` as users do, on the DICOM series
// of ../shared/data, with a small untrained network: these tests check plumbing and geometry, not accuracy.
#include "ITKTestHelpers.h"
#include "anunet/Model.h"
#include "itkANUNetImageReader.h"
#include "itkANUNetSegmentationImageFilter.h"
#include "itkConnectedComponentImageFilter.h"
#include "itkImageFileReader.h"
#include "itkImageFileWriter.h"
#include "itkImageIOFactory.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

namespace
{
namespace fs = std::filesystem;
using Volume = itk::Image<float, 3>;
using LabelVolume = itk::Image<unsigned char, 3>;

using anunet::test::dataPath;

fs::path
scratch()
{
  const auto *   info = ::testing::UnitTest::GetInstance()->current_test_info();
  const fs::path folder =
    fs::path(ANUNET_TEST_TEMP) / "ExampleTest" / (std::string(info->test_suite_name()) + "." + info->name());
  fs::remove_all(folder);
  fs::create_directories(folder);
  return folder;
}

/** A small ANU-Net at 64 x 64 with the usual liver CT window. */
std::string
savedModel(const fs::path & folder, anunet::Architecture architecture = anunet::Architecture::ANUNet)
{
  anunet::NetworkOptions options;
  options.architecture = architecture;
  options.filters = { 4, 8, 16, 32, 64 };
  anunet::Model         model = anunet::Model::create(options, 3);
  anunet::Preprocessing preprocessing;
  preprocessing.width = 64;
  preprocessing.height = 64;
  preprocessing.intensity.method = anunet::IntensityNormalization::Method::Window;
  preprocessing.intensity.windowMinimum = -200.0;
  preprocessing.intensity.windowMaximum = 200.0;
  model.setPreprocessing(preprocessing);
  const std::string path = (folder / (anunet::toString(architecture) + ".pt")).string();
  model.save(path);
  return path;
}

struct ProcessResult
{
  int         status = -1;
  std::string output; ///< stdout and stderr
};

ProcessResult
run(const std::string & command)
{
  ProcessResult result;
  FILE * const  pipe = popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr)
  {
    return result;
  }
  char buffer[4096];
  while (size_t n = fread(buffer, 1, sizeof(buffer), pipe))
  {
    result.output.append(buffer, n);
  }
  const int status = pclose(pipe);
  result.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

std::string
quoted(const std::string & text)
{
  return "'" + text + "'";
}

/** The number printed after label (e.g. "Dice: "), or -1. */
double
valueAfter(const std::string & text, const std::string & label)
{
  const auto at = text.find(label);
  return at == std::string::npos ? -1.0 : std::stod(text.substr(at + label.size()));
}

template <typename TImage>
void
expectSameGrid(const TImage * a, const itk::ImageBase<3> * b)
{
  EXPECT_EQ(a->GetLargestPossibleRegion().GetSize(), b->GetLargestPossibleRegion().GetSize());
  for (unsigned int d = 0; d < 3; ++d)
  {
    // NIfTI stores geometry in single precision.
    EXPECT_NEAR(a->GetSpacing()[d], b->GetSpacing()[d], 1e-5);
    EXPECT_NEAR(a->GetOrigin()[d], b->GetOrigin()[d], 1e-4);
    for (unsigned int e = 0; e < 3; ++e)
    {
      EXPECT_NEAR(a->GetDirection()[d][e], b->GetDirection()[d][e], 1e-6);
    }
  }
}

/** Dice of label 1 against truth > 0, computed here from the pixels. */
double
dice(const LabelVolume * prediction, const Volume * truth)
{
  size_t       a = 0, g = 0, both = 0;
  const size_t n = prediction->GetBufferedRegion().GetNumberOfPixels();
  for (size_t i = 0; i < n; ++i)
  {
    const bool p = prediction->GetBufferPointer()[i] == 1;
    const bool t = truth->GetBufferPointer()[i] > 0.5f;
    a += p;
    g += t;
    both += p && t;
  }
  return a + g == 0 ? 1.0 : 2.0 * both / static_cast<double>(a + g);
}

std::vector<std::string>
filesIn(const fs::path & folder)
{
  std::vector<std::string> names;
  for (const auto & entry : fs::directory_iterator(folder))
  {
    names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}
} // namespace

#ifdef ANUNET_EXAMPLE_DICOM
TEST(ANUNetExample, DicomToSegmentationOnIrcad)
{
  const fs::path      folder = scratch();
  const std::string   model = savedModel(folder);
  const std::string   ct = dataPath("ircad-1.01-ct/dicom/PATIENT_DICOM");
  const std::string   mask = dataPath("ircad-1.01-ct/dicom/MASKS_DICOM_liver");
  const std::string   output = (folder / "liver.nii.gz").string();
  const ProcessResult result = run(quoted(ANUNET_EXAMPLE_DICOM) + " " + quoted(ct) + " " + quoted(model) + " " +
                                   quoted(output) + " " + quoted(mask) + " 1 1");
  ASSERT_EQ(result.status, 0) << result.output;

  const auto input = itk::ANUNetImageReader::ReadVolume(ct);
  const auto written = itk::ReadImage<LabelVolume>(output);
  expectSameGrid(written.GetPointer(), input);
  const auto   truth = itk::ANUNetImageReader::ReadVolume(mask);
  const double printed = valueAfter(result.output, "Dice: ");
  ASSERT_GE(printed, 0.0) << result.output;
  EXPECT_LE(printed, 1.0);
  EXPECT_NEAR(printed, dice(written, truth), 1e-4) << result.output;

  // Windowing with ITK's filter and running the model with normalisation None is the same as letting the filter
  // apply the model's recorded window (up to float rounding at the threshold).
  auto direct = itk::ANUNetSegmentationImageFilter<Volume, LabelVolume>::New();
  direct->SetInput(input);
  direct->SetModelFileName(model);
  direct->SetLevel(1);
  direct->SetNumberOfThreads(1);
  direct->Update();
  size_t       differences = 0;
  const size_t n = input->GetBufferedRegion().GetNumberOfPixels();
  for (size_t i = 0; i < n; ++i)
  {
    differences += written->GetBufferPointer()[i] != direct->GetOutput()->GetBufferPointer()[i];
  }
  EXPECT_LE(differences, n / 1000) << differences << " of " << n << " labels differ";
}

TEST(ANUNetExample, DicomToSegmentationOnDcmqi)
{
  const fs::path      folder = scratch();
  const std::string   truth = dataPath("dcmqi-ct/liver_seg.nrrd");
  const std::string   output = (folder / "liver.nii.gz").string();
  const ProcessResult result = run(quoted(ANUNET_EXAMPLE_DICOM) + " " + quoted(dataPath("dcmqi-ct/ct-3slice")) + " " +
                                   quoted(savedModel(folder)) + " " + quoted(output) + " " + quoted(truth) + " 2 1");
  ASSERT_EQ(result.status, 0) << result.output;
  const auto written = itk::ReadImage<LabelVolume>(output);
  const auto reference = itk::ReadImage<Volume>(truth);
  expectSameGrid(written.GetPointer(), reference);
  const double printed = valueAfter(result.output, "Dice: ");
  ASSERT_GE(printed, 0.0) << result.output;
  EXPECT_NEAR(printed, dice(written, reference), 1e-4) << result.output;
}

TEST(ANUNetExample, DicomToSegmentationReportsErrors)
{
  const fs::path folder = scratch();
  ProcessResult  result = run(quoted(ANUNET_EXAMPLE_DICOM));
  EXPECT_NE(result.status, 0);
  EXPECT_NE(result.output.find("Usage"), std::string::npos) << result.output;

  result = run(quoted(ANUNET_EXAMPLE_DICOM) + " " + quoted(folder.string()) + " " + quoted(savedModel(folder)) + " " +
               quoted((folder / "out.nii.gz").string()));
  EXPECT_NE(result.status, 0);
  EXPECT_NE(result.output.find("No DICOM series"), std::string::npos) << result.output;
  EXPECT_FALSE(fs::exists(folder / "out.nii.gz"));
}

#endif

#ifdef ANUNET_CLI
TEST(ANUNetSegmentCommand, ADeviceThatIsNotHereIsAnOptionError)
{
  const fs::path    folder = scratch();
  const std::string model = savedModel(folder);
  const std::string mr = dataPath("chaos-mr-t2/case33_t2.nii.gz");
  const std::string output = (folder / "seg.nii.gz").string();
  for (const std::string device : { "cuda:7", "tpu", "cuda:x" })
  {
    const ProcessResult result = run(quoted(ANUNET_CLI) + " segment --model " + quoted(model) + " --input " +
                                     quoted(mr) + " --output " + quoted(output) + " --device " + device);
    EXPECT_NE(result.status, 0) << device;
    EXPECT_NE(result.output.find("--device " + device + ": "), std::string::npos) << result.output;
    EXPECT_EQ(result.output.find("case33"), std::string::npos) << "the image is not to blame: " << result.output;
    EXPECT_FALSE(fs::exists(output));
  }
}

TEST(ANUNetSegmentCommand, PrecisionIsCheckedBeforeAnyCaseIsRead)
{
  const fs::path    folder = scratch();
  const std::string model = savedModel(folder);
  const std::string mr = dataPath("chaos-mr-t2/case33_t2.nii.gz");
  const std::string output = (folder / "seg.nii.gz").string();
  const std::string command = quoted(ANUNET_CLI) + " segment --model " + quoted(model) + " --input " + quoted(mr) +
                              " --output " + quoted(output) + " --level 1 --threads 1 --precision ";
  ProcessResult result = run(command + "half");
  EXPECT_NE(result.status, 0);
  EXPECT_NE(result.output.find("--precision"), std::string::npos) << result.output;
  EXPECT_FALSE(fs::exists(output));
  result = run(command + "bfloat16");
  if (anunet::cpuHasBFloat16())
  {
    EXPECT_EQ(result.status, 0) << result.output;
    EXPECT_TRUE(fs::exists(output));
  }
  else
  {
    EXPECT_NE(result.status, 0);
    EXPECT_NE(result.output.find("--precision bfloat16: bfloat16 needs a CPU with avx512_bf16 or amx_bf16"),
              std::string::npos)
      << result.output;
    EXPECT_FALSE(fs::exists(output));
  }
}

TEST(ANUNetSegmentCommand, SegmentsADicomSeries)
{
  const fs::path    folder = scratch();
  const std::string model = savedModel(folder);
  fs::create_directories(folder / "out");
  const std::string   ct = dataPath("dcmqi-ct/ct-3slice");
  const std::string   output = (folder / "out" / "seg.nii.gz").string();
  const ProcessResult result = run(quoted(ANUNET_CLI) + " segment --model " + quoted(model) + " --input " + quoted(ct) +
                                   " --output " + quoted(output) + " --level 1 --threads 1 --batch 2");
  ASSERT_EQ(result.status, 0) << result.output;
  EXPECT_EQ(filesIn(folder / "out"), std::vector<std::string>{ "seg.nii.gz" });
  const auto written = itk::ReadImage<LabelVolume>(output);
  expectSameGrid(written.GetPointer(), itk::ANUNetImageReader::ReadVolume(ct));

  // Probabilities: a float image in [0, 1].
  const std::string   probabilities = (folder / "out" / "p.nrrd").string();
  const ProcessResult p = run(quoted(ANUNET_CLI) + " segment --model " + quoted(model) + " --input " + quoted(ct) +
                              " --output " + quoted(probabilities) + " --probability --threads 1");
  ASSERT_EQ(p.status, 0) << p.output;
  auto io = itk::ImageIOFactory::CreateImageIO(probabilities.c_str(), itk::ImageIOFactory::IOFileModeEnum::ReadMode);
  ASSERT_TRUE(io);
  io->SetFileName(probabilities);
  io->ReadImageInformation();
  EXPECT_EQ(io->GetComponentType(), itk::IOComponentEnum::FLOAT);
  const auto values = itk::ReadImage<Volume>(probabilities);
  for (size_t i = 0; i < values->GetBufferedRegion().GetNumberOfPixels(); ++i)
  {
    ASSERT_GE(values->GetBufferPointer()[i], 0.0f);
    ASSERT_LE(values->GetBufferPointer()[i], 1.0f);
  }
}

// An uncompressed volume is streamed (a pass for the percentiles, then slabs); its labels are those of the same
// volume read whole from the compressed file, up to batch composition at the threshold.
TEST(ANUNetSegmentCommand, AStreamedVolumeGivesTheLabelsOfTheWholeVolume)
{
  const fs::path    folder = scratch();
  const std::string model = (fs::path(ANUNET_SOURCE_DIR) / "data" / "models" / "chaos-t2-liver-small.pt").string();
  const std::string compressed = dataPath("chaos-mr-t2/case33_t2.nii.gz");
  const std::string plain = (folder / "case33_t2.mha").string();
  auto              writer = itk::ImageFileWriter<Volume>::New();
  writer->SetInput(itk::ANUNetImageReader::ReadVolume(compressed));
  writer->SetFileName(plain);
  writer->UseCompressionOff();
  writer->Update();
  ASSERT_TRUE(itk::ANUNetImageReader::StreamsCheaply(plain));
  ASSERT_FALSE(itk::ANUNetImageReader::StreamsCheaply(compressed));
  ASSERT_FALSE(itk::ANUNetImageReader::StreamsCheaply((folder / "case33_t2.nii").string())); // ITK 5.2 leaks there

  std::vector<LabelVolume::Pointer> labels;
  for (const auto & input : { compressed, plain })
  {
    const std::string   output = (folder / ("seg" + std::to_string(labels.size()) + ".nii.gz")).string();
    const ProcessResult result = run(quoted(ANUNET_CLI) + " segment --model " + quoted(model) + " --input " +
                                     quoted(input) + " --output " + quoted(output) + " --threads 2");
    ASSERT_EQ(result.status, 0) << result.output;
    labels.push_back(itk::ReadImage<LabelVolume>(output));
  }
  const size_t count = labels[0]->GetBufferedRegion().GetNumberOfPixels();
  ASSERT_EQ(labels[1]->GetBufferedRegion().GetNumberOfPixels(), count);
  size_t different = 0;
  size_t labelled = 0;
  for (size_t i = 0; i < count; ++i)
  {
    different += labels[0]->GetBufferPointer()[i] != labels[1]->GetBufferPointer()[i] ? 1 : 0;
    labelled += labels[0]->GetBufferPointer()[i] != 0 ? 1 : 0;
  }
  EXPECT_GT(labelled, count / 100) << "the liver model finds the liver";
  EXPECT_LE(different, count / 1000);
}

TEST(ANUNetSegmentCommand, SegmentsAPngSlice)
{
  const fs::path      folder = scratch();
  const std::string   output = (folder / "slice-seg.png").string();
  const std::string   input = dataPath("chaos-ct-dicom/ct_set3/Ground/liver_GT_025.png");
  const ProcessResult result = run(quoted(ANUNET_CLI) + " segment --model " + quoted(savedModel(folder)) + " --input " +
                                   quoted(input) + " --output " + quoted(output) + " --threads 1");
  ASSERT_EQ(result.status, 0) << result.output;
  const auto written = itk::ReadImage<itk::Image<unsigned char, 2>>(output);
  EXPECT_EQ(written->GetLargestPossibleRegion().GetSize(),
            itk::ANUNetImageReader::ReadSlice(input)->GetLargestPossibleRegion().GetSize());
}

TEST(ANUNetSegmentCommand, FailuresLeaveNoOutput)
{
  const fs::path    folder = scratch();
  const std::string model = savedModel(folder);
  const std::string unet = savedModel(folder, anunet::Architecture::UNet);
  fs::create_directories(folder / "out");
  const std::string output = (folder / "out" / "seg.nii.gz").string();
  const std::string ct = dataPath("dcmqi-ct/ct-3slice");
  const auto        segment = [&](const std::string & arguments) {
    return run(quoted(ANUNET_CLI) + " segment --threads 1 --output " + quoted(output) + " " + arguments);
  };

  const std::string missing = (folder / "missing.nii.gz").string();
  ProcessResult     result = segment("--model " + quoted(model) + " --input " + quoted(missing));
  EXPECT_EQ(result.status, 1);
  EXPECT_NE(result.output.find(missing), std::string::npos) << result.output;

  const std::string garbage = (folder / "garbage.pt").string();
  std::ofstream(garbage) << "not a model";
  result = segment("--model " + quoted(garbage) + " --input " + quoted(ct));
  EXPECT_EQ(result.status, 1);
  EXPECT_NE(result.output.find(garbage), std::string::npos) << result.output;

  result = segment("--model " + quoted(unet) + " --input " + quoted(ct) + " --level 2");
  EXPECT_EQ(result.status, 1);
  EXPECT_NE(result.output.find("no pruning levels"), std::string::npos) << result.output;

  result = segment("--model " + quoted(model) + " --input " + quoted(dataPath("dcmqi-ct/liver_seg.nrrd")) +
                   " --series-uid 1.2.3");
  EXPECT_EQ(result.status, 1);
  EXPECT_NE(result.output.find("--series-uid"), std::string::npos) << result.output;

  EXPECT_TRUE(filesIn(folder / "out").empty()) << "a failed run left files behind";

  result = run(quoted(ANUNET_CLI) + " segment --model " + quoted(model) + " --input " + quoted(ct) + " --output " +
               quoted((folder / "out" / "seg.mhd").string()));
  EXPECT_EQ(result.status, 1);
  EXPECT_NE(result.output.find("single-file"), std::string::npos) << result.output;
}

/** The committed MR liver model (data/models/README.md), copied so that a test may rewrite it. */
std::string
committedModel(const fs::path & folder)
{
  const fs::path copy = folder / "chaos-t2-liver-small.pt";
  fs::copy_file(fs::path(ANUNET_SOURCE_DIR) / "data" / "models" / "chaos-t2-liver-small.pt", copy);
  return copy.string();
}

/** Connected components of label 1 (face connectivity, as the post-processing uses). */
size_t
componentCount(const LabelVolume * labels)
{
  auto components = itk::ConnectedComponentImageFilter<LabelVolume, itk::Image<unsigned int, 3>>::New();
  components->SetInput(labels);
  components->Update();
  return components->GetObjectCount();
}

TEST(ANUNetSegmentCommand, LargestComponentAndMirroring)
{
  const fs::path    folder = scratch();
  const std::string model = committedModel(folder);
  const std::string mr = dataPath("chaos-mr-t2/case32_t2.nii.gz");
  const auto        segment = [&](const std::string & name, const std::string & options) {
    const std::string output = (folder / name).string();
    const auto        result = run(quoted(ANUNET_CLI) + " segment --threads 2 --model " + quoted(model) + " --input " +
                            quoted(mr) + " --output " + quoted(output) + " " + options);
    EXPECT_EQ(result.status, 0) << result.output;
    return itk::ReadImage<LabelVolume>(output);
  };
  const auto plain = segment("plain.nii.gz", "--level 2");
  const auto largest = segment("largest.nii.gz", "--level 2 --largest-component");
  const auto mirrored = segment("mirrored.nii.gz", "--level 2 --mirror");
  // The shallow level leaves islands (that is why the option exists); one component remains, a subset.
  ASSERT_GT(componentCount(plain), 1U);
  EXPECT_EQ(componentCount(largest), 1U);
  size_t       kept = 0, outside = 0, changed = 0;
  const size_t n = plain->GetBufferedRegion().GetNumberOfPixels();
  for (size_t i = 0; i < n; ++i)
  {
    kept += largest->GetBufferPointer()[i];
    outside += largest->GetBufferPointer()[i] > plain->GetBufferPointer()[i];
    changed += mirrored->GetBufferPointer()[i] != plain->GetBufferPointer()[i];
  }
  EXPECT_GT(kept, 1000U);
  EXPECT_EQ(outside, 0U);
  // Mirroring changes the boundary a little, not the organ.
  EXPECT_GT(changed, 0U);
  EXPECT_LT(changed, n / 50);

  // The committed model was trained without flips: mirroring it is allowed, with a warning.
  const auto warned = run(quoted(ANUNET_CLI) + " segment --threads 2 --level 1 --mirror --model " + quoted(model) +
                          " --input " + quoted(mr) + " --output " + quoted((folder / "w.nii.gz").string()));
  EXPECT_EQ(warned.status, 0) << warned.output;
  EXPECT_NE(warned.output.find("trained without flips"), std::string::npos) << warned.output;

  const auto both = run(quoted(ANUNET_CLI) + " segment --model " + quoted(model) + " --input " + quoted(mr) +
                        " --output " + quoted((folder / "p.nii.gz").string()) + " --probability --largest-component");
  EXPECT_EQ(both.status, 1);
  EXPECT_NE(both.output.find("--largest-component"), std::string::npos) << both.output;
  EXPECT_FALSE(fs::exists(folder / "p.nii.gz"));
}

TEST(ANUNetPruneCommand, RecordsTheChosenLevelThatSegmentUses)
{
  const fs::path    folder = scratch();
  const std::string model = committedModel(folder);
  const std::string config = (folder / "validation.yaml").string();
  std::ofstream(config)
    << "data:\n  image: chaos-mr-t2/case{id}_t2.nii.gz\n  label: chaos-mr-t2/case{id}_labels.nii.gz\n"
       "  validation: [\"31\"]\n";
  const auto prune = [&](const std::string & options) {
    return run(quoted(ANUNET_CLI) + " prune --threads 2 --model " + quoted(model) + " --config " + quoted(config) +
               " --data-root " + quoted(ANUNET_DATA_ROOT) + " " + options);
  };

  // Any level is within 1 of the best: the smallest is chosen.
  ProcessResult result = prune("--tolerance 1 --output " + quoted((folder / "l1.pt").string()));
  ASSERT_EQ(result.status, 0) << result.output;
  EXPECT_NE(result.output.find("chosen: L1"), std::string::npos) << result.output;
  const anunet::Model l1 = anunet::Model::load((folder / "l1.pt").string());
  EXPECT_EQ(l1.levelChoice().level, 1);
  EXPECT_EQ(l1.levelChoice().cases, std::vector<std::string>{ "31" });
  ASSERT_EQ(l1.levelChoice().scores.size(), 4U);
  double best = 0.0;
  for (const auto & s : l1.levelChoice().scores)
  {
    EXPECT_GT(s.dice, 0.3) << "L" << s.level;
    EXPECT_GT(s.secondsPerSlice, 0.0);
    EXPECT_EQ(s.parameters, l1.parameterCount(s.level));
    best = std::max(best, s.dice);
  }

  // No tolerance: the best level, recorded in place.
  result = prune("--tolerance 0");
  ASSERT_EQ(result.status, 0) << result.output;
  const anunet::Model chosen = anunet::Model::load(model);
  ASSERT_GE(chosen.levelChoice().level, 1);
  EXPECT_DOUBLE_EQ(chosen.levelChoice().scores[chosen.levelChoice().level - 1].dice, best);

  // segment without --level runs the recorded level: the same labels as asking for it.
  const std::string mr = dataPath("chaos-mr-t2/case33_t2.nii.gz");
  const auto        segment = [&](const std::string & model, const std::string & name, const std::string & options) {
    const std::string output = (folder / name).string();
    const auto r = run(quoted(ANUNET_CLI) + " segment --threads 2 --batch 4 --model " + quoted(model) + " --input " +
                       quoted(mr) + " --output " + quoted(output) + " " + options);
    EXPECT_EQ(r.status, 0) << r.output;
    return itk::ReadImage<LabelVolume>(output);
  };
  const auto   recorded = segment((folder / "l1.pt").string(), "recorded.nii.gz", "");
  const auto   asked = segment((folder / "l1.pt").string(), "asked.nii.gz", "--level 1");
  const auto   full = segment((folder / "l1.pt").string(), "full.nii.gz", "--level 0");
  const size_t n = recorded->GetBufferedRegion().GetNumberOfPixels();
  EXPECT_TRUE(std::equal(recorded->GetBufferPointer(), recorded->GetBufferPointer() + n, asked->GetBufferPointer()));
  EXPECT_FALSE(std::equal(recorded->GetBufferPointer(), recorded->GetBufferPointer() + n, full->GetBufferPointer()));

  // What prune refuses, by name.
  const std::string unet = savedModel(folder, anunet::Architecture::UNet);
  result = run(quoted(ANUNET_CLI) + " prune --model " + quoted(unet) + " --config " + quoted(config));
  EXPECT_EQ(result.status, 1);
  EXPECT_NE(result.output.find("no pruning levels"), std::string::npos) << result.output;
  const std::string noValidation = (folder / "none.yaml").string();
  std::ofstream(noValidation) << "data:\n  image: a{id}.nii.gz\n  label: b{id}.nii.gz\n  validation: []\n";
  result = run(quoted(ANUNET_CLI) + " prune --model " + quoted(model) + " --config " + quoted(noValidation));
  EXPECT_EQ(result.status, 1);
  EXPECT_NE(result.output.find("data.validation"), std::string::npos) << result.output;
}

TEST(ANUNetDemoCommand, WritesItsReport)
{
  const fs::path      folder = scratch();
  const fs::path      out = folder / "demo";
  const ProcessResult result =
    run(quoted(ANUNET_CLI) + " demo --config " + quoted(std::string(ANUNET_SOURCE_DIR) + "/test/Input/tiny-demo.yaml") +
        " --data-root " + quoted(ANUNET_DATA_ROOT) + " --out " + quoted(out.string()));
  ASSERT_EQ(result.status, 0) << result.output;
  for (const char * file : { "report.md",
                             "metrics.json",
                             "case33_liver_seg.nii.gz",
                             "training_curves.svg",
                             "training/best.pt",
                             "training/last.pt",
                             "training/log.jsonl" })
  {
    EXPECT_TRUE(fs::is_regular_file(out / file)) << file;
  }
  std::ifstream in(out / "metrics.json");
  const auto    metrics = nlohmann::json::parse(in);
  EXPECT_EQ(metrics.at("case"), "33");
  ASSERT_EQ(metrics.at("levels").size(), 4U);
  for (const auto & level : metrics.at("levels"))
  {
    EXPECT_GE(level.at("dice").get<double>(), 0.0);
    EXPECT_LE(level.at("dice").get<double>(), 1.0);
    EXPECT_GT(level.at("ms_per_slice").get<double>(), 0.0);
  }
  // The segmentation is on the unseen case's own grid.
  expectSameGrid(itk::ReadImage<LabelVolume>((out / "case33_liver_seg.nii.gz").string()).GetPointer(),
                 itk::ANUNetImageReader::ReadVolume(dataPath("chaos-mr-t2/case33_t2.nii.gz")));
  EXPECT_NE(result.output.find("Unseen case 33"), std::string::npos) << result.output;
  size_t overlays = 0;
  for (const auto & entry : fs::directory_iterator(out))
  {
    overlays += entry.path().filename().string().rfind("overlay_case33_slice", 0) == 0 ? 1 : 0;
  }
  EXPECT_GE(overlays, 1U);
}
#endif
