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
// Checkpoints and TorchScript: round trips give identical outputs, every bad file gives an error that
// names the file, exported modules load in Python too.
#include "CoreTestHelpers.h"
#include "anunet/Checkpoint.h"
#include "anunet/Json.h"
#include "anunet/ModelImpl.h"

#include "anunet/Model.h"

#include <ATen/Parallel.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace
{
using anunet::test::smallOptions;
namespace fs = std::filesystem;
using anunet::Architecture;
using anunet::Model;
using anunet::NetworkOptions;

std::vector<float>
randomBuffer(int64_t count, uint64_t seed)
{
  torch::manual_seed(seed);
  const auto         values = torch::randn({ count });
  std::vector<float> buffer(values.data_ptr<float>(), values.data_ptr<float>() + count);
  return buffer;
}

double
maxAbsDiff(const std::vector<float> & a, const std::vector<float> & b)
{
  EXPECT_EQ(a.size(), b.size());
  double worst = 0.0;
  for (size_t k = 0; k < a.size() && k < b.size(); ++k)
  {
    worst = std::max(worst, static_cast<double>(std::abs(a[k] - b[k])));
  }
  return worst;
}

/** Expects loading path to throw std::runtime_error whose message names the file and contains fragment. */
void
expectLoadError(const std::string & path, const std::string & fragment)
{
  try
  {
    Model::load(path);
    ADD_FAILURE() << path << " was accepted";
  }
  catch (const std::runtime_error & e)
  {
    const std::string message = e.what();
    EXPECT_NE(message.find(path), std::string::npos) << "message does not name the file: " << message;
    EXPECT_NE(message.find(fragment), std::string::npos) << "expected \"" << fragment << "\" in: " << message;
  }
}

/** Some training-mode forwards so that BN running statistics differ from their initial values. */
void
updateBatchNormStatistics(Model & model)
{
  auto & network = *model.impl().network;
  network.train();
  torch::NoGradGuard noGrad;
  for (int step = 0; step < 2; ++step)
  {
    network.forwardHeads(torch::randn({ 2, model.options().inputChannels, 32, 32 }) * 3 + 1);
  }
  network.eval(); // as every Model's network is outside a trainer
}

class CheckpointTest : public ::testing::Test
{
protected:
  void
  SetUp() override
  {
    at::set_num_threads(2);
    const auto * info = ::testing::UnitTest::GetInstance()->current_test_info();
    m_Directory = fs::path(ANUNET_TEST_TEMP) / "CheckpointTest" / info->name();
    fs::remove_all(m_Directory);
    fs::create_directories(m_Directory);
  }

  std::string
  file(const std::string & name) const
  {
    return (m_Directory / name).string();
  }

  fs::path m_Directory;
};

TEST_F(CheckpointTest, RoundTripKeepsWeightsStatisticsAndMetadata)
{
  for (const auto architecture : { Architecture::ANUNet, Architecture::AttentionR2UNet })
  {
    SCOPED_TRACE(anunet::toString(architecture));
    auto options = smallOptions(architecture, 2, 3);
    options.recurrence = 1;
    auto model = Model::create(options, 5);
    updateBatchNormStatistics(model);
    anunet::Preprocessing preprocessing;
    preprocessing.intensity.method = anunet::IntensityNormalization::Method::ZScore;
    preprocessing.width = 192;
    preprocessing.labels = anunet::LabelMapping::parse("labels=1,2,3,4");
    model.setPreprocessing(preprocessing);
    anunet::TrainingSummary summary;
    summary.loss = "hybrid";
    summary.epochs = 3;
    summary.bestValidationDice = 0.5;
    model.setTraining(summary);

    const std::string path = file(anunet::toString(architecture) + ".pt");
    model.save(path);
    const auto loaded = Model::load(path);
    EXPECT_FALSE(loaded.isTorchScript());
    EXPECT_EQ(loaded.options(), options);
    EXPECT_EQ(loaded.preprocessing(), preprocessing);
    EXPECT_EQ(loaded.training().epochs, 3);
    EXPECT_EQ(loaded.training().loss, "hybrid");

    const auto original = model.impl().network->named_buffers();
    const auto restored = loaded.impl().network->named_buffers();
    ASSERT_EQ(original.size(), restored.size());
    bool statisticsMoved = false;
    for (const auto & item : original)
    {
      EXPECT_TRUE(torch::equal(item.value(), restored[item.key()])) << item.key();
      statisticsMoved = statisticsMoved || (item.key().find("running_mean") != std::string::npos &&
                                            item.value().abs().max().item<double>() > 0.0);
    }
    EXPECT_TRUE(statisticsMoved); // the comparison above was not between initial values

    const Model::Shape shape{ 2, 2, 40, 24 };
    const auto         input = randomBuffer(2 * 2 * 40 * 24, 1);
    const int          level = loaded.maximumLevel() > 0 ? 2 : 0;
    EXPECT_EQ(maxAbsDiff(model.run(input, shape, level), loaded.run(input, shape, level)), 0.0);
  }
  // Written atomically: no temporary is left behind.
  for (const auto & entry : fs::directory_iterator(m_Directory))
  {
    EXPECT_EQ(entry.path().string().find(".partial-"), std::string::npos) << entry.path();
  }
}

TEST_F(CheckpointTest, TrainerEntriesTravelWithTheCheckpoint)
{
  auto              model = Model::create(smallOptions(Architecture::UNet), 2);
  const std::string path = file("extra.pt");
  const auto        moment = torch::arange(6, torch::kFloat);
  anunet::writeCheckpoint(path, model.impl(), [&](torch::serialize::OutputArchive & archive) {
    archive.write("optimizer_moment", moment);
    archive.write("epoch", c10::IValue(int64_t{ 7 }));
  });
  torch::Tensor read;
  c10::IValue   epoch;
  auto          impl = anunet::readCheckpoint(path, [&](torch::serialize::InputArchive & archive) {
    archive.read("optimizer_moment", read);
    archive.read("epoch", epoch);
  });
  EXPECT_TRUE(torch::equal(read, moment));
  EXPECT_EQ(epoch.toInt(), 7);
  EXPECT_EQ(impl->options, model.options());
}

TEST_F(CheckpointTest, TorchScriptExportComputesTheSameProbabilities)
{
  for (const auto & [architecture, classes, level] :
       std::vector<std::tuple<Architecture, int, int>>{ { Architecture::ANUNet, 1, 2 },
                                                        { Architecture::UNetPlusPlus, 3, 4 },
                                                        { Architecture::AttentionR2UNet, 2, 0 } })
  {
    SCOPED_TRACE(anunet::toString(architecture) + " level " + std::to_string(level));
    auto model = Model::create(smallOptions(architecture, 1, classes), 9);
    updateBatchNormStatistics(model);
    anunet::Preprocessing preprocessing;
    preprocessing.height = 320;
    model.setPreprocessing(preprocessing);
    const std::string path = file(anunet::toString(architecture) + std::to_string(level) + ".torchscript.pt");
    model.exportTorchScript(path, level);

    const auto script = Model::load(path);
    EXPECT_TRUE(script.isTorchScript());
    EXPECT_EQ(script.options(), model.options());
    EXPECT_EQ(script.preprocessing(), preprocessing);
    EXPECT_EQ(script.outputChannels(), classes);
    EXPECT_EQ(script.parameterCount(), model.parameterCount(0));
    // Another size than the trace's 32 x 32, and an odd one (padded by run()).
    const Model::Shape shape{ 2, 1, 50, 37 };
    const auto         input = randomBuffer(2 * 50 * 37, 3);
    EXPECT_LT(maxAbsDiff(model.run(input, shape, level), script.run(input, shape, 0)), 1e-6);
    EXPECT_THROW(script.save(file("no.pt")), std::runtime_error);
    if (level != 0)
    {
      EXPECT_THROW(script.run(input, shape, level == 2 ? 3 : 2), std::invalid_argument);
    }
  }
}

TEST_F(CheckpointTest, TorchScriptExportLoadsInPythonAndForeignModulesLoadHere)
{
  if (std::system("/usr/bin/python3 -c 'import torch' > /dev/null 2>&1") != 0)
  {
    // scripts/setup.sh installs python3-torch; without it this test must fail rather than silently not run.
    FAIL() << "/usr/bin/python3 with torch is not available (Debian's python3-torch)";
  }
  auto model = Model::create(smallOptions(Architecture::ANUNet), 4);
  updateBatchNormStatistics(model);
  const std::string exported = file("exported.pt");
  model.exportTorchScript(exported, 3);
  const std::string foreign = file("foreign.pt");
  const std::string result = file("python.txt");
  // Python: run the export on a constant image and report the sum; write a module of its own (2 input
  // channels, 3 output channels, no metadata). A script file, not -c: torch.jit.script reads the source.
  const std::string scriptPath = file("check.py");
  std::ofstream(scriptPath)
    << "import json, sys, torch\n"
    << "extra = {'anunet_metadata.json': ''}\n"
    << "m = torch.jit.load(sys.argv[1], _extra_files=extra)\n"
    << "y = m(torch.full((1, 1, 48, 32), 0.25))\n"
    << "class Foreign(torch.nn.Module):\n"
    << "    def __init__(self):\n"
    << "        super().__init__()\n"
    << "        self.conv = torch.nn.Conv2d(2, 3, 3, padding=1)\n"
    << "    def forward(self, x):\n"
    << "        return torch.softmax(self.conv(x), 1)\n"
    << "torch.manual_seed(0)\n"
    << "torch.jit.script(Foreign()).save(sys.argv[2])\n"
    << "level = json.loads(extra['anunet_metadata.json'])['level']\n"
    << "open(sys.argv[3], 'w').write('%r %d %d' % (y.double().sum().item(), y.shape[2], level))\n";
  const std::string command = "/usr/bin/python3 " + scriptPath + " " + exported + " " + foreign + " " + result;
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  std::ifstream resultFile(result);
  double        pythonSum = 0.0;
  int           rows = 0;
  int           level = 0;
  resultFile >> pythonSum >> rows >> level;
  EXPECT_EQ(rows, 48);
  EXPECT_EQ(level, 3);
  const auto output = model.run(std::vector<float>(48 * 32, 0.25F), { 1, 1, 48, 32 }, 3);
  double     sum = 0.0;
  for (const float p : output)
  {
    sum += p;
  }
  EXPECT_NEAR(sum, pythonSum, 1e-6 * 48 * 32);

  const auto loaded = Model::load(foreign);
  EXPECT_TRUE(loaded.isTorchScript());
  EXPECT_EQ(loaded.options().inputChannels, 2); // found by probing
  EXPECT_EQ(loaded.outputChannels(), 3);
  const auto probabilities = loaded.run(std::vector<float>(2 * 2 * 20 * 20, 1.0F), { 2, 2, 20, 20 }, 0);
  ASSERT_EQ(probabilities.size(), 2U * 3U * 20U * 20U);
  EXPECT_NEAR(probabilities[0] + probabilities[400] + probabilities[800], 1.0, 1e-5);
}

TEST_F(CheckpointTest, BadFilesAreRejectedWithTheirName)
{
  auto              model = Model::create(smallOptions(Architecture::ANUNet), 1);
  const std::string good = file("good.pt");
  model.save(good);

  expectLoadError(file("missing.pt"), "not found");

  const std::string truncated = file("truncated.pt");
  {
    std::ifstream in(good, std::ios::binary);
    std::string   bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::ofstream(truncated, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size() / 2));
  }
  expectLoadError(truncated, "truncated or corrupt");

  const std::string text = file("notes.txt");
  std::ofstream(text) << "epoch 1 loss 0.3\n";
  expectLoadError(text, "truncated or corrupt");

  // A LibTorch archive that is not ours.
  const std::string foreignArchive = file("foreign-archive.pt");
  {
    torch::serialize::OutputArchive archive;
    archive.write("weights", torch::ones({ 3 }));
    archive.save_to(foreignArchive);
  }
  expectLoadError(foreignArchive, "not an ITKANUNet checkpoint");

  const auto writeWith = [&](const std::string & path, const NetworkOptions & weightsOf, const std::string & metadata) {
    torch::serialize::OutputArchive archive;
    torch::serialize::OutputArchive weights;
    anunet::makeNetwork(weightsOf)->save(weights);
    archive.write(anunet::NetworkKey, weights);
    archive.write(anunet::MetadataKey, c10::IValue(metadata));
    archive.save_to(path);
  };
  const auto metadataFor = [&](const NetworkOptions & options, int version, const std::string & format) {
    nlohmann::json metadata{ { "format", format }, { "version", version }, { "network", options } };
    return metadata.dump();
  };
  const auto small = smallOptions(Architecture::ANUNet);

  const std::string future = file("future.pt");
  writeWith(future, small, metadataFor(small, 2, anunet::CheckpointFormat));
  expectLoadError(future, "unsupported checkpoint version 2");

  const std::string otherFormat = file("other-format.pt");
  writeWith(otherFormat, small, metadataFor(small, 1, "someone-elses-format"));
  expectLoadError(otherFormat, "not an ITKANUNet checkpoint");

  const std::string corrupt = file("corrupt-metadata.pt");
  writeWith(corrupt, small, "{\"format\": \"itkanunet-check");
  expectLoadError(corrupt, "corrupt metadata");

  auto wider = small;
  wider.filters = { 8, 8, 16, 32, 64 };
  const std::string mismatch = file("mismatch.pt");
  writeWith(mismatch, small, metadataFor(wider, 1, anunet::CheckpointFormat));
  expectLoadError(mismatch, "tensor 'conv_0_0.conv1.weight' has shape [4, 1, 3, 3] in the file");

  auto withoutHeads = small;
  withoutHeads.deepSupervision = false;
  const std::string extraHeads = file("extra-heads.pt");
  writeWith(extraHeads, small, metadataFor(withoutHeads, 1, anunet::CheckpointFormat));
  expectLoadError(extraHeads, "unexpected entry 'head_1'");

  const std::string missingHeads = file("missing-heads.pt");
  writeWith(missingHeads, withoutHeads, metadataFor(small, 1, anunet::CheckpointFormat));
  expectLoadError(missingHeads, "module 'head_1' is missing");

  const std::string otherNetwork = file("other-network.pt");
  writeWith(otherNetwork, smallOptions(Architecture::UNet), metadataFor(small, 1, anunet::CheckpointFormat));
  expectLoadError(otherNetwork, "unexpected entry 'enc_0'");

  const std::string noWeights = file("no-weights.pt");
  {
    torch::serialize::OutputArchive archive;
    archive.write(anunet::MetadataKey, c10::IValue(metadataFor(small, 1, anunet::CheckpointFormat)));
    archive.save_to(noWeights);
  }
  expectLoadError(noWeights, "no \"network\" weights entry");

  auto invalid = small;
  invalid.classes = 0;
  const std::string badOptions = file("bad-options.pt");
  writeWith(badOptions, small, metadataFor(invalid, 1, anunet::CheckpointFormat));
  expectLoadError(badOptions, "invalid metadata");

  try
  {
    model.save(file("no-such-directory/model.pt"));
    ADD_FAILURE() << "saving into a missing directory succeeded";
  }
  catch (const std::runtime_error & e)
  {
    EXPECT_NE(std::string(e.what()).find("no-such-directory/model.pt"), std::string::npos) << e.what();
  }
  EXPECT_NO_THROW(Model::load(good));
}

TEST_F(CheckpointTest, MetadataOfTheWrongTypeIsAnErrorNamingTheFile)
{
  // Found by fuzz/ (checkpoint_metadata; the inputs are in fuzz/regressions/): a "format" or "level" of another
  // JSON type escaped the loaders as nlohmann's type_error, and a version above INT64_MAX read as a negative one.
  const auto expectError = [](const std::string & text, const char * format, const std::string & fragment) {
    try
    {
      anunet::readMetadataText(text, format, "meta.pt");
      ADD_FAILURE() << text << " was accepted";
    }
    catch (const std::runtime_error & e)
    {
      const std::string message = e.what();
      EXPECT_EQ(message.rfind("meta.pt: ", 0), 0u) << message;
      EXPECT_NE(message.find(fragment), std::string::npos) << "expected \"" << fragment << "\" in: " << message;
    }
  };
  const std::string network = R"("network": {"architecture": "unet", "filters": [1, 1, 1, 1, 1]})";
  expectError(R"({"format": 1, "version": 1, )" + network + "}", anunet::CheckpointFormat, "(format \"1\"");
  expectError(R"({"format": ["itkanunet-torchscript"], "version": 1, )" + network + "}",
              anunet::TorchScriptFormat,
              "format \"[\"itkanunet-torchscript\"]\"");
  expectError(R"({"format": "itkanunet-checkpoint", "version": 18446744073709551615, )" + network + "}",
              anunet::CheckpointFormat,
              "unsupported checkpoint version 18446744073709551615");
  const std::string torchScript = R"({"format": "itkanunet-torchscript", "version": 1, )" + network;
  expectError(torchScript + R"(, "level": "1"})", anunet::TorchScriptFormat, "pruning level 0..4, got \"1\"");
  expectError(torchScript + R"(, "level": 5})", anunet::TorchScriptFormat, "pruning level 0..4, got 5");
  expectError(torchScript + R"(, "level": 4294967297})", anunet::TorchScriptFormat, "got 4294967297");
  EXPECT_EQ(
    anunet::readMetadataText(torchScript + R"(, "level": 3})", anunet::TorchScriptFormat, "meta.pt")->scriptLevel, 3);

  // The same through a checkpoint file, as a user meets it.
  const std::string numberFormat = file("number-format.pt");
  {
    torch::serialize::OutputArchive archive;
    archive.write(anunet::MetadataKey, c10::IValue(R"({"format": 1, "version": 1})"));
    archive.save_to(numberFormat);
  }
  expectLoadError(numberFormat, "not an ITKANUNet checkpoint (format \"1\"");
}

} // namespace
