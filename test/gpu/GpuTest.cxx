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
// The torch core on a CUDA device, against the same computation on the CPU. Built only against a CUDA LibTorch
// (test/gpu/CMakeLists.txt), with the CTest label REQUIRES_GPU: a CPU-only build neither runs nor skips them.
#include "anunet/Model.h"
#include "anunet/Training.h"

#include "../core/CoreTestHelpers.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

namespace
{

namespace fs = std::filesystem;
using anunet::test::discCases;
using anunet::test::smallOptions;
using anunet::test::tinyOptions;

std::string
freshDirectory(const std::string & name)
{
  const fs::path path = fs::path(ANUNET_TEST_TEMP) / "GpuTest" / name;
  fs::remove_all(path);
  return path.string();
}

float
largestDifference(const std::vector<float> & a, const std::vector<float> & b)
{
  float largest = 0.0F;
  for (size_t i = 0; i < a.size(); ++i)
  {
    largest = std::max(largest, std::abs(a[i] - b[i]));
  }
  return largest;
}

TEST(Gpu, TheDeviceIsThere)
{
  ASSERT_TRUE(anunet::Model::cudaAvailable()) << "a CUDA LibTorch on a machine without a usable GPU";
  EXPECT_NO_THROW(anunet::Model::checkDevice("cuda:0"));
  EXPECT_THROW(anunet::Model::checkDevice("cuda:4096"), std::runtime_error);
}

// Every architecture and level gives the CPU's probabilities on the GPU, in float32 and (looser) in bfloat16.
// cuDNN may convolve in TF32 on recent GPUs: 10 bits of mantissa, hence 1e-2 rather than the CPU's 1e-4.
TEST(Gpu, InferenceMatchesTheCpu)
{
  const std::vector<float> input = [] {
    std::vector<float> values(2 * 64 * 64);
    for (size_t i = 0; i < values.size(); ++i)
    {
      values[i] = std::sin(0.05F * static_cast<float>(i));
    }
    return values;
  }();
  for (const auto architecture : { anunet::Architecture::UNet,
                                   anunet::Architecture::R2UNet,
                                   anunet::Architecture::AttentionUNet,
                                   anunet::Architecture::AttentionR2UNet,
                                   anunet::Architecture::UNetPlusPlus,
                                   anunet::Architecture::ANUNet })
  {
    auto model = anunet::Model::create(smallOptions(architecture), 5);
    for (int level = 0; level <= model.maximumLevel(); ++level)
    {
      anunet::Model::RunOptions options;
      options.level = level;
      std::vector<float> cpu(input.size());
      std::vector<float> gpu(input.size());
      std::vector<float> half(input.size());
      model.setDevice("cpu");
      model.run(input.data(), { 2, 1, 64, 64 }, cpu.data(), options);
      model.setDevice("cuda");
      model.run(input.data(), { 2, 1, 64, 64 }, gpu.data(), options);
      EXPECT_LT(largestDifference(cpu, gpu), 1e-2F) << toString(architecture) << " level " << level;
      options.precision = anunet::Precision::BFloat16;
      model.run(input.data(), { 2, 1, 64, 64 }, half.data(), options);
      EXPECT_LT(largestDifference(cpu, half), 5e-2F) << toString(architecture) << " level " << level << ", bfloat16";
    }
  }
}

// Training on the GPU takes the CPU's steps up to rounding, writes checkpoints that load anywhere, and resumes
// on either device.
TEST(Gpu, TrainingFollowsTheCpuAndResumesOnEitherDevice)
{
  const auto training = discCases("train", 2, 8, 50);
  const auto validation = discCases("val", 1, 4, 60);

  auto            cpuOptions = tinyOptions(freshDirectory("cpu"));
  anunet::Trainer onCpu(cpuOptions);
  onCpu.train(training, validation);

  auto gpuOptions = tinyOptions(freshDirectory("gpu"));
  gpuOptions.device = "cuda";
  anunet::Trainer onGpu(gpuOptions);
  const auto      model = onGpu.train(training, validation);
  EXPECT_EQ(model.device(), "cuda:0");
  ASSERT_EQ(onGpu.history().size(), onCpu.history().size());
  for (size_t e = 0; e < onCpu.history().size(); ++e)
  {
    EXPECT_NEAR(onGpu.history()[e].loss, onCpu.history()[e].loss, 0.02 * onCpu.history()[e].loss) << "epoch " << e;
  }

  // A GPU run's last.pt goes on on the CPU, and a CPU run's on the GPU (the optimiser's state moves with it).
  auto more = gpuOptions;
  more.epochs = 3;
  more.device = "cpu";
  more.resumeFrom = (fs::path(gpuOptions.outputDirectory) / "last.pt").string();
  more.outputDirectory = freshDirectory("gpu-then-cpu");
  anunet::Trainer gpuThenCpu(more);
  gpuThenCpu.train(training, validation);
  EXPECT_EQ(gpuThenCpu.history().size(), 3U);

  more.device = "cuda";
  more.resumeFrom = (fs::path(cpuOptions.outputDirectory) / "last.pt").string();
  more.outputDirectory = freshDirectory("cpu-then-gpu");
  anunet::Trainer cpuThenGpu(more);
  cpuThenGpu.train(training, validation);
  ASSERT_EQ(cpuThenGpu.history().size(), 3U);
  EXPECT_TRUE(std::isfinite(cpuThenGpu.history()[2].loss));

  // bfloat16 autocast on CUDA.
  auto half = gpuOptions;
  half.precision = anunet::Precision::BFloat16;
  half.outputDirectory = freshDirectory("gpu-bf16");
  anunet::Trainer inHalf(half);
  inHalf.train(training, validation);
  EXPECT_NEAR(inHalf.history()[0].loss, onCpu.history()[0].loss, 0.05 * onCpu.history()[0].loss);
}

} // namespace
