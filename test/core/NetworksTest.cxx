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
// The six networks: wiring (exact parameter counts of docs/reference.md §2), shapes, pruned forward,
// gradients, probabilities, FLOP counts (§3), and the torch-free Model facade's run().
#include "CoreTestHelpers.h"
#include "anunet/FlopCounter.h"
#include "anunet/InferenceForm.h"
#include "anunet/Json.h"
#include "anunet/ModelImpl.h"
#include "anunet/SegmentationNetwork.h"

#include "anunet/Catalog.h"
#include "anunet/Model.h"
#include "anunet/Training.h"

#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <dlfcn.h>
#include <chrono>
#include <iostream>

namespace
{
using anunet::Architecture;
using anunet::NetworkOptions;
using anunet::test::smallOptions;

NetworkOptions
paperOptions(Architecture architecture)
{
  NetworkOptions options;
  options.architecture = architecture;
  return options;
}

double
maxAbsDiff(const torch::Tensor & a, const torch::Tensor & b)
{
  return (a - b).abs().max().item<double>();
}

class NetworksTest : public ::testing::Test
{
protected:
  void
  SetUp() override
  {
    at::set_num_threads(2);
    torch::manual_seed(0);
  }
};

TEST_F(NetworksTest, ANUNetParameterCountsPerLevelMatchThePaper)
{
  auto network = anunet::makeNetwork(paperOptions(Architecture::ANUNet));
  EXPECT_EQ(network->parameterCount(1), 103812);
  EXPECT_EQ(network->parameterCount(2), 513354);
  EXPECT_EQ(network->parameterCount(3), 2191763);
  EXPECT_EQ(network->parameterCount(4), 8950594);
  EXPECT_EQ(network->parameterCount(0), 8950594);
  EXPECT_EQ(network->maximumLevel(), 4);

  auto options = paperOptions(Architecture::ANUNet);
  options.deepSupervision = false;
  EXPECT_EQ(anunet::makeNetwork(options)->parameterCount(0), 8950495); // one head on X(0,4)
}

TEST_F(NetworksTest, BaselineParameterCountsMatchTheReferenceCode)
{
  EXPECT_EQ(anunet::makeNetwork(paperOptions(Architecture::UNet))->parameterCount(), 8636769);
  EXPECT_EQ(anunet::makeNetwork(paperOptions(Architecture::R2UNet))->parameterCount(), 9778721);
  EXPECT_EQ(anunet::makeNetwork(paperOptions(Architecture::AttentionUNet))->parameterCount(), 8725501);
  EXPECT_EQ(anunet::makeNetwork(paperOptions(Architecture::AttentionR2UNet))->parameterCount(), 9867453);
  auto unetpp = anunet::makeNetwork(paperOptions(Architecture::UNetPlusPlus));
  EXPECT_EQ(unetpp->parameterCount(0), 9162852);
  EXPECT_EQ(unetpp->parameterCount(4), 9162852);
  auto options = paperOptions(Architecture::UNetPlusPlus);
  options.deepSupervision = false;
  EXPECT_EQ(anunet::makeNetwork(options)->parameterCount(), 9162753);
  // 64-1024 widths: the figures of the original papers' code.
  options = paperOptions(Architecture::UNet);
  options.filters = { 64, 128, 256, 512, 1024 };
  EXPECT_EQ(anunet::makeNetwork(options)->parameterCount(), 34525889);
}

TEST_F(NetworksTest, EveryNetworkAndLevelGivesTheInputSize)
{
  for (const auto architecture : anunet::allArchitectures())
  {
    for (const auto & [channels, classes] : std::vector<std::pair<int, int>>{ { 1, 1 }, { 2, 3 } })
    {
      SCOPED_TRACE(anunet::toString(architecture) + " classes " + std::to_string(classes));
      auto       network = anunet::makeNetwork(smallOptions(architecture, channels, classes));
      const auto input = torch::randn({ 2, channels, 32, 48 });
      const auto heads = network->forwardHeads(input);
      ASSERT_EQ(heads.size(), anunet::hasPruningLevels(architecture) ? 4U : 1U);
      for (const auto & head : heads)
      {
        EXPECT_EQ(head.sizes(), (std::vector<int64_t>{ 2, classes, 32, 48 }));
      }
      for (int level = 0; level <= network->maximumLevel(); ++level)
      {
        EXPECT_EQ(network->forward(input, level).sizes(), (std::vector<int64_t>{ 2, classes, 32, 48 }));
      }
    }
  }
}

TEST_F(NetworksTest, PrunedForwardEqualsTheFullNetworksHead)
{
  for (const auto architecture : { Architecture::ANUNet, Architecture::UNetPlusPlus })
  {
    SCOPED_TRACE(anunet::toString(architecture));
    auto network = anunet::makeNetwork(smallOptions(architecture));
    // Non-trivial BN statistics first, then compare in eval mode.
    {
      torch::NoGradGuard noGrad;
      for (int step = 0; step < 3; ++step)
      {
        network->forwardHeads(torch::randn({ 2, 1, 32, 32 }) * 2 + 1);
      }
    }
    network->eval();
    torch::NoGradGuard noGrad;
    const auto         input = torch::randn({ 2, 1, 32, 32 });
    const auto         heads = network->forwardHeads(input);
    for (int level = 1; level <= 4; ++level)
    {
      EXPECT_LT(maxAbsDiff(network->forwardLogits(input, level), heads[level - 1]), 1e-5) << "level " << level;
    }
    EXPECT_LT(maxAbsDiff(network->forwardLogits(input, 0), heads[3]), 1e-5);
    // Heads differ from one another: the levels really are different networks.
    EXPECT_GT(maxAbsDiff(heads[0], heads[3]), 1e-4);
  }
}

/** A network with batch-norm statistics and affine parameters away from their initial values (which fold into
 * nothing: scale 1, shift 0), in eval mode. */
anunet::SegmentationNetwork
networkWithTrainedNorms(const NetworkOptions & options)
{
  auto               network = anunet::makeNetwork(options);
  torch::NoGradGuard noGrad;
  for (auto & module : network->modules(/*include_self=*/false))
  {
    if (auto * norm = module->as<torch::nn::BatchNorm2dImpl>())
    {
      norm->weight.uniform_(0.5, 1.5);
      norm->bias.uniform_(-0.2, 0.2);
      norm->running_mean.uniform_(-0.2, 0.2);
      norm->running_var.uniform_(0.5, 2.0);
    }
  }
  network->eval();
  return network;
}

// The folded network inference runs (batch norm in the convolutions, transposed convolutions as 1x1 ones with
// a pixel shuffle) computes the plain eval-mode network's probabilities, for every architecture and level.
TEST_F(NetworksTest, InferenceFormMatchesTheNetwork)
{
  for (const auto architecture : anunet::allArchitectures())
  {
    SCOPED_TRACE(anunet::toString(architecture));
    auto options = smallOptions(architecture, 2, 3);
    options.deepSupervision = true;
    const auto network = networkWithTrainedNorms(options);
    const auto form = anunet::makeInferenceForm(*network, anunet::Precision::Float32);
    const auto bf16 = anunet::makeInferenceForm(*network, anunet::Precision::BFloat16);
    EXPECT_TRUE(network->parameters()[0].requires_grad()); // the network itself is untouched
    c10::InferenceMode inferenceMode;
    const auto         input = torch::randn({ 2, 2, 32, 48 });
    for (int level = 0; level <= network->maximumLevel(); ++level)
    {
      const auto plain = network->forward(input, level);
      const auto folded = anunet::runInferenceForm(*form, input, level, anunet::Precision::Float32);
      EXPECT_LT(maxAbsDiff(folded, plain), 1e-4) << "level " << level;
      // bfloat16 keeps 8 bits of mantissa: probabilities move by a few hundredths at most on these weights.
      const auto half = anunet::runInferenceForm(*bf16, input, level, anunet::Precision::BFloat16);
      EXPECT_EQ(half.scalar_type(), torch::kFloat);
      EXPECT_LT(maxAbsDiff(half, plain), 0.05) << "level " << level;
      EXPECT_LT((half - plain).abs().mean().item<double>(), 0.01) << "level " << level;
    }
  }
}

// bfloat16 runs where the CPU has it in hardware, and is refused with the reason elsewhere.
TEST_F(NetworksTest, BFloat16InferenceNeedsTheCpusBFloat16)
{
  auto                      model = anunet::Model::create(smallOptions(Architecture::ANUNet), 3);
  const std::vector<float>  input(2 * 32 * 32, 0.25F);
  std::vector<float>        single(input.size());
  std::vector<float>        half(input.size());
  anunet::Model::RunOptions options;
  options.level = 2;
  model.run(input.data(), { 2, 1, 32, 32 }, single.data(), options);
  options.precision = anunet::Precision::BFloat16;
  if (anunet::cpuHasBFloat16())
  {
    model.run(input.data(), { 2, 1, 32, 32 }, half.data(), options);
    for (size_t i = 0; i < half.size(); ++i)
    {
      ASSERT_NEAR(half[i], single[i], 0.05) << i;
    }
  }
  else
  {
    try
    {
      model.run(input.data(), { 2, 1, 32, 32 }, half.data(), options);
      FAIL() << "bfloat16 accepted on a CPU without it";
    }
    catch (const std::invalid_argument & e)
    {
      EXPECT_NE(std::string(e.what()).find("avx512_bf16"), std::string::npos) << e.what();
    }
  }
}

/** Backpropagates the sum of every head weighted per pixel at random, so that no parameter's gradient cancels
 * by symmetry (a plain sum would give BN-normalised branches zero gradient). */
void
backpropagateRandomlyWeightedHeads(anunet::SegmentationNetworkImpl & network)
{
  auto loss = torch::zeros({});
  for (const auto & head : network.forwardHeads(torch::randn({ 2, 1, 32, 32 })))
  {
    loss = loss + (head * torch::randn_like(head)).sum();
  }
  loss.backward();
}

TEST_F(NetworksTest, GradientsReachEveryParameter)
{
  for (const auto architecture : anunet::allArchitectures())
  {
    SCOPED_TRACE(anunet::toString(architecture));
    auto network = anunet::makeNetwork(smallOptions(architecture));
    // The wiring is checked in eval mode: there BatchNorm is a fixed affine map, so every parameter,
    // including a convolution bias that feeds a BatchNorm, influences the output. In training mode such a
    // bias has a gradient that is exactly zero in exact arithmetic (the batch mean removes it), and only
    // rounding, which differs between CPUs, makes it non-zero; that case is checked separately below.
    network->eval();
    backpropagateRandomlyWeightedHeads(*network);
    for (const auto & item : network->named_parameters())
    {
      ASSERT_TRUE(item.value().grad().defined()) << item.key();
      EXPECT_GT(item.value().grad().abs().max().item<double>(), 0.0) << item.key();
    }
  }
}

TEST_F(NetworksTest, TrainingModeGradientsAreFiniteAndDefined)
{
  for (const auto architecture : anunet::allArchitectures())
  {
    SCOPED_TRACE(anunet::toString(architecture));
    auto network = anunet::makeNetwork(smallOptions(architecture));
    network->train();
    backpropagateRandomlyWeightedHeads(*network);
    double largest = 0.0;
    for (const auto & item : network->named_parameters())
    {
      ASSERT_TRUE(item.value().grad().defined()) << item.key();
      ASSERT_TRUE(torch::isfinite(item.value().grad()).all().item<bool>()) << item.key();
      largest = std::max(largest, item.value().grad().abs().max().item<double>());
    }
    EXPECT_GT(largest, 0.0);
  }
}

TEST_F(NetworksTest, OutputsAreProbabilities)
{
  for (const auto architecture : { Architecture::ANUNet, Architecture::AttentionR2UNet })
  {
    SCOPED_TRACE(anunet::toString(architecture));
    torch::NoGradGuard noGrad;
    auto               binary = anunet::makeNetwork(smallOptions(architecture));
    binary->eval();
    const auto p = binary->forward(torch::randn({ 1, 1, 32, 32 }) * 10);
    EXPECT_GE(p.min().item<float>(), 0.0F);
    EXPECT_LE(p.max().item<float>(), 1.0F);

    auto multi = anunet::makeNetwork(smallOptions(architecture, 1, 4));
    multi->eval();
    const auto q = multi->forward(torch::randn({ 2, 1, 32, 32 }));
    EXPECT_GE(q.min().item<float>(), 0.0F);
    EXPECT_LT(maxAbsDiff(q.sum(1), torch::ones({ 2, 32, 32 })), 1e-5);
    EXPECT_LT(maxAbsDiff(q, torch::softmax(multi->forwardLogits(torch::zeros({ 2, 1, 32, 32 })), 1)), 1.0) << "sanity";
  }
}

TEST_F(NetworksTest, EvalModeIsDeterministicAndSeedsReproduceWeights)
{
  torch::manual_seed(3);
  auto a = anunet::makeNetwork(smallOptions(Architecture::ANUNet));
  torch::manual_seed(3);
  auto b = anunet::makeNetwork(smallOptions(Architecture::ANUNet));
  torch::manual_seed(4);
  auto c = anunet::makeNetwork(smallOptions(Architecture::ANUNet));
  a->eval();
  b->eval();
  c->eval();
  torch::NoGradGuard noGrad;
  const auto         input = torch::randn({ 1, 1, 32, 32 });
  const auto         first = a->forward(input);
  EXPECT_TRUE(torch::equal(first, a->forward(input)));
  EXPECT_TRUE(torch::equal(first, b->forward(input)));
  EXPECT_FALSE(torch::equal(first, c->forward(input)));
}

TEST_F(NetworksTest, InvalidInputsAndLevelsAreRejected)
{
  auto network = anunet::makeNetwork(smallOptions(Architecture::ANUNet));
  try
  {
    network->forward(torch::zeros({ 1, 1, 40, 32 }));
    FAIL() << "40 rows accepted";
  }
  catch (const std::invalid_argument & e)
  {
    EXPECT_NE(std::string(e.what()).find("multiples of 16"), std::string::npos) << e.what();
  }
  EXPECT_THROW(network->forward(torch::zeros({ 1, 2, 32, 32 })), std::invalid_argument);
  EXPECT_THROW(network->forward(torch::zeros({ 1, 32, 32 })), std::invalid_argument);
  EXPECT_THROW(network->forward(torch::zeros({ 1, 1, 32, 32 }), 5), std::invalid_argument);
  EXPECT_THROW(network->parameterCount(-1), std::invalid_argument);

  auto options = smallOptions(Architecture::ANUNet);
  options.deepSupervision = false;
  auto single = anunet::makeNetwork(options);
  EXPECT_THROW(single->forward(torch::zeros({ 1, 1, 32, 32 }), 2), std::invalid_argument);
  EXPECT_EQ(single->forwardHeads(torch::zeros({ 1, 1, 32, 32 })).size(), 1U);

  auto unet = anunet::makeNetwork(smallOptions(Architecture::UNet));
  EXPECT_THROW(unet->forward(torch::zeros({ 1, 1, 32, 32 }), 1), std::invalid_argument);

  options = smallOptions(Architecture::UNet);
  options.filters = { 4, 8, 16 };
  EXPECT_THROW(anunet::makeNetwork(options), std::invalid_argument);
  options = smallOptions(Architecture::UNet);
  options.classes = 0;
  EXPECT_THROW(anunet::makeNetwork(options), std::invalid_argument);
}

// docs/reference.md §2 and §3: parameters and GFLOP of one forward at 1 x 1 x 256 x 256, one head, as
// `anunet models` lists them.
TEST_F(NetworksTest, CatalogMatchesTheReferenceTables)
{
  const auto rows = anunet::describeArchitectures(256);
  ASSERT_EQ(rows.size(), 4U + 4U + 4U); // four baselines, UNet++ L1-L4, ANU-Net L1-L4
  struct Expected
  {
    Architecture architecture;
    int          level;
    int64_t      parameters;
    double       gflops;
  };
  const Expected expected[] = {
    { Architecture::UNet, 0, 8636769, 32.657 },          { Architecture::R2UNet, 0, 9778721, 76.244 },
    { Architecture::AttentionUNet, 0, 8725501, 33.198 }, { Architecture::AttentionR2UNet, 0, 9867453, 76.785 },
    { Architecture::UNetPlusPlus, 4, 9162852, 68.896 },  { Architecture::ANUNet, 1, 103812, 7.227 },
    { Architecture::ANUNet, 2, 513354, 18.439 },         { Architecture::ANUNet, 3, 2191763, 36.095 },
    { Architecture::ANUNet, 4, 8950594, 61.401 },
  };
  for (const auto & want : expected)
  {
    const auto found = std::find_if(rows.begin(), rows.end(), [&](const anunet::ArchitectureSummary & row) {
      return row.architecture == want.architecture && row.level == want.level;
    });
    ASSERT_NE(found, rows.end()) << anunet::toString(want.architecture) << " level " << want.level;
    EXPECT_EQ(found->parameters, want.parameters) << found->displayName;
    EXPECT_NEAR(found->gflops, want.gflops, 6e-4) << found->displayName;
    EXPECT_EQ(found->size, 256);
  }
  EXPECT_THROW(anunet::describeArchitectures(100), std::invalid_argument);
}

TEST_F(NetworksTest, FlopCountsScaleExactlyWithTheImageArea)
{
  // The catalog counts on 16 x 16 and scales; that equals a count measured at the real size.
  auto small = anunet::makeNetwork(smallOptions(Architecture::ANUNet));
  EXPECT_DOUBLE_EQ(anunet::forwardFlops(*small, 2, 64, 96).flops, anunet::measureForwardFlops(*small, 2, 64, 96).flops);
  auto r2 = anunet::makeNetwork(smallOptions(Architecture::AttentionR2UNet));
  EXPECT_DOUBLE_EQ(anunet::forwardFlops(*r2, 0, 32, 48).flops, anunet::measureForwardFlops(*r2, 0, 32, 48).flops);
  // Hand count for the smallest case: ANU-Net L1 with widths 4..64 on 1 x 1 x 16 x 16.
  // X00: 3x3 1->4, 4->4 at 16x16; X10: 4->8, 8->8 at 8x8; up_0: ConvT 8->4 k2 at 8x8 input; gate_0_1: three 1x1
  // convs (4->4, 4->4, 4->1) at 16x16; X01: 8->4, 4->4 at 16x16; head 4->1 at 16x16.
  const double macs = 256.0 * 9 * (1 * 4 + 4 * 4) + 64.0 * 9 * (4 * 8 + 8 * 8) + 64.0 * 4 * 8 * 4 +
                      256.0 * (4 * 4 + 4 * 4 + 4 * 1) + 256.0 * 9 * (8 * 4 + 4 * 4) + 256.0 * 4 * 1;
  EXPECT_DOUBLE_EQ(anunet::measureForwardFlops(*small, 1, 16, 16).flops, 2.0 * macs);
  EXPECT_THROW(anunet::forwardFlops(*small, 2, 50, 64), std::invalid_argument);
}

TEST_F(NetworksTest, ModelRunPadsOddSizesAndCropsBack)
{
  auto                     options = smallOptions(Architecture::ANUNet);
  auto                     model = anunet::Model::create(options, 11);
  const int                threadsBefore = at::get_num_threads();
  const auto               input = torch::randn({ 1, 1, 50, 37 });
  const std::vector<float> buffer(input.data_ptr<float>(), input.data_ptr<float>() + input.numel());
  model.setNumberOfThreads(1);
  const auto output = model.run(buffer, { 1, 1, 50, 37 }, 3);
  ASSERT_EQ(output.size(), 50U * 37U);
  EXPECT_EQ(at::get_num_threads(), threadsBefore);
  for (const float p : output)
  {
    ASSERT_GE(p, 0.0F);
    ASSERT_LE(p, 1.0F);
  }
  // The same as padding by hand (replicate to 64 x 48) and cropping.
  auto & network = *model.impl().network;
  network.eval();
  torch::NoGradGuard noGrad;
  const auto         padded = torch::replication_pad2d(input, { 0, 11, 0, 14 });
  const auto         expected = network.forward(padded, 3).slice(2, 0, 50).slice(3, 0, 37).contiguous();
  const auto         actual = torch::from_blob(const_cast<float *>(output.data()), { 1, 1, 50, 37 });
  // run() computes with the folded inference form: equal up to float32 rounding.
  EXPECT_LT(maxAbsDiff(actual, expected), 1e-5);
  EXPECT_TRUE(network.is_training() == false);

  // Multi-class output and batch > 1 into the caller's buffer.
  auto               multi = anunet::Model::create(smallOptions(Architecture::UNet, 2, 3), 1);
  std::vector<float> in(2 * 2 * 17 * 21, 0.5F);
  std::vector<float> out(2 * 3 * 17 * 21, -1.0F);
  multi.run(in.data(), { 2, 2, 17, 21 }, 0, out.data());
  EXPECT_EQ(multi.outputChannels(), 3);
  for (int64_t pixel = 0; pixel < 17 * 21; ++pixel)
  {
    const float sum = out[pixel] + out[17 * 21 + pixel] + out[2 * 17 * 21 + pixel];
    ASSERT_NEAR(sum, 1.0F, 1e-5);
  }
  EXPECT_THROW(multi.run(in, { 2, 1, 17, 42 }, 0), std::invalid_argument); // wrong channel count
  EXPECT_THROW(multi.run(in, { 2, 2, 17, 20 }, 0), std::invalid_argument); // wrong buffer size
  EXPECT_THROW(model.run(buffer, { 1, 1, 50, 37 }, 7), std::invalid_argument);
}

TEST_F(NetworksTest, MirroredRunAveragesTheFlippedSlicesOwnRuns)
{
  // An odd size, so that the flips and the padding must be done in the right order.
  const int64_t n = 2, h = 50, w = 37;
  auto          model = anunet::Model::create(smallOptions(Architecture::ANUNet), 5);
  const auto    input = torch::randn({ n, 1, h, w });
  const auto    asVector = [](const torch::Tensor & t) {
    const auto c = t.contiguous();
    return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
  };
  const auto asTensor = [&](std::vector<float> & v) { return torch::from_blob(v.data(), { n, 1, h, w }); };
  auto       mirrored = model.run(asVector(input), { n, 1, h, w }, 2, anunet::Model::Mirroring::InPlane);

  // The plain runs of the four mirror images, each flipped back, averaged.
  torch::Tensor sum = torch::zeros({ n, 1, h, w });
  for (const std::vector<int64_t> & dims : std::vector<std::vector<int64_t>>{ {}, { 3 }, { 2 }, { 2, 3 } })
  {
    auto plain = model.run(asVector(dims.empty() ? input : input.flip(dims)), { n, 1, h, w }, 2);
    sum += dims.empty() ? asTensor(plain).clone() : asTensor(plain).flip(dims);
  }
  // A batch of 4 N may take other convolution kernels than N: equal up to rounding.
  EXPECT_LT(maxAbsDiff(asTensor(mirrored), sum / 4), 1e-5);

  // Mirroring the input mirrors the result.
  auto flippedFirst = model.run(asVector(input.flip({ 3 })), { n, 1, h, w }, 2, anunet::Model::Mirroring::InPlane);
  EXPECT_LT(maxAbsDiff(asTensor(flippedFirst).flip({ 3 }), asTensor(mirrored)), 1e-5);
  // And it is not the plain run (the untrained network is not symmetric).
  auto plain = model.run(asVector(input), { n, 1, h, w }, 2);
  EXPECT_GT(maxAbsDiff(asTensor(plain), asTensor(mirrored)), 1e-4);
}

TEST_F(NetworksTest, ModelFacadeReportsItsNetwork)
{
  auto model = anunet::Model::create(paperOptions(Architecture::ANUNet));
  EXPECT_EQ(model.maximumLevel(), 4);
  EXPECT_EQ(model.parameterCount(3), 2191763);
  EXPECT_FALSE(model.isTorchScript());
  EXPECT_EQ(model.device(), "cpu");
  EXPECT_THROW(model.setDevice("tpu:0"), std::runtime_error);
  if (!anunet::Model::cudaAvailable())
  {
    EXPECT_THROW(model.setDevice("cuda"), std::runtime_error);
  }
}

TEST_F(NetworksTest, CopiesShareTheModelAndClonesAreIndependent)
{
  auto model = anunet::Model::create(smallOptions(Architecture::ANUNet), 4);
  model.setNumberOfThreads(1);
  // A copy is a handle on the same model: metadata, settings and weights.
  anunet::Model         copy = model;
  anunet::Preprocessing preprocessing;
  preprocessing.width = 128;
  copy.setPreprocessing(preprocessing);
  copy.setNumberOfThreads(2);
  EXPECT_TRUE(copy.sharesWith(model));
  EXPECT_EQ(model.preprocessing().width, 128);
  EXPECT_EQ(model.numberOfThreads(), 2);

  // A clone has the same weights in storage of its own, and settings of its own.
  anunet::Model clone = model.clone();
  EXPECT_FALSE(clone.sharesWith(model));
  EXPECT_EQ(clone.preprocessing().width, 128);
  EXPECT_EQ(clone.numberOfThreads(), 2);
  const std::vector<float> input(2 * 40 * 40, 0.25F);
  const auto               before = model.run(input, { 2, 1, 40, 40 }, 3);
  EXPECT_EQ(clone.run(input, { 2, 1, 40, 40 }, 3), before); // the same computation on equal weights
  {
    torch::NoGradGuard noGrad;
    for (auto & p : clone.impl().network->parameters())
    {
      p.add_(1.0);
    }
    clone.impl().inference.clear(); // run() computes with a folded copy, made before this change
  }
  EXPECT_EQ(model.run(input, { 2, 1, 40, 40 }, 3), before);
  EXPECT_NE(clone.run(input, { 2, 1, 40, 40 }, 3), before);
  clone.setNumberOfThreads(1);
  preprocessing.width = 64;
  clone.setPreprocessing(preprocessing);
  EXPECT_EQ(model.numberOfThreads(), 2);
  EXPECT_EQ(model.preprocessing().width, 128);

  // Per-call threads leave the model's setting alone.
  anunet::Model::RunOptions options;
  options.level = 3;
  options.threads = 1;
  std::vector<float> output(input.size());
  model.run(input.data(), { 2, 1, 40, 40 }, output.data(), options);
  EXPECT_EQ(model.numberOfThreads(), 2);
  options.threads = -2;
  EXPECT_THROW(model.run(input.data(), { 2, 1, 40, 40 }, output.data(), options), std::invalid_argument);
}

TEST_F(NetworksTest, OptionsNamesAndLabelMappings)
{
  for (const auto architecture : anunet::allArchitectures())
  {
    EXPECT_EQ(anunet::architectureFromString(anunet::toString(architecture)), architecture);
  }
  EXPECT_THROW(anunet::architectureFromString("vnet"), std::invalid_argument);
  const auto merged = anunet::LabelMapping::parse("labels=2+3");
  EXPECT_EQ(merged.classes, (std::vector<std::vector<int>>{ { 2, 3 } }));
  EXPECT_EQ(merged.networkOutputs(), 1);
  const auto custom = anunet::LabelMapping::parse("labels=1,2+3,4");
  EXPECT_EQ(custom.classes, (std::vector<std::vector<int>>{ { 1 }, { 2, 3 }, { 4 } }));
  EXPECT_EQ(custom.names, (std::vector<std::string>{ "labels-1", "labels-2+3", "labels-4" }));
  EXPECT_EQ(custom.networkOutputs(), 4);
  EXPECT_EQ(custom.classOf(3), 2);
  EXPECT_EQ(custom.classOf(0), 0);
  EXPECT_EQ(custom.classOf(9), 0);
  EXPECT_THROW(anunet::LabelMapping::parse("labels=1,x"), std::invalid_argument);
  EXPECT_THROW(anunet::LabelMapping::parse("labels=1,1"), std::invalid_argument);
  EXPECT_THROW(anunet::LabelMapping::parse("labels=0"), std::invalid_argument);
  EXPECT_THROW(anunet::LabelMapping::parse("labels="), std::invalid_argument);
  // Named tasks of a dataset are the configs' (workflow/TaskPresets), not the core's.
  EXPECT_THROW(anunet::LabelMapping::parse("liver"), std::invalid_argument);
}

TEST_F(NetworksTest, JsonRoundTripsAndRejectsUnknownKeys)
{
  auto options = smallOptions(Architecture::AttentionR2UNet, 2, 3);
  options.recurrence = 3;
  options.deepSupervision = false;
  const nlohmann::json optionsJson = options;
  EXPECT_EQ(optionsJson.get<NetworkOptions>(), options);
  EXPECT_EQ(optionsJson.at("architecture"), "r2attunet");

  anunet::Preprocessing preprocessing;
  preprocessing.intensity.method = anunet::IntensityNormalization::Method::Percentile;
  preprocessing.width = 128;
  preprocessing.labels = anunet::LabelMapping::parse("labels=1,2,3,4");
  const nlohmann::json preprocessingJson = preprocessing;
  EXPECT_EQ(preprocessingJson.get<anunet::Preprocessing>(), preprocessing);

  anunet::TrainingSummary summary;
  summary.loss = "hybrid";
  summary.iterations = 1234567890123;
  summary.bestValidationDice = 0.91;
  const nlohmann::json summaryJson = summary;
  const auto           back = summaryJson.get<anunet::TrainingSummary>();
  EXPECT_EQ(back.iterations, summary.iterations);
  EXPECT_EQ(back.bestValidationDice, summary.bestValidationDice);

  auto typo = optionsJson;
  typo["filter"] = { 1, 2 };
  try
  {
    typo.get<NetworkOptions>();
    FAIL() << "unknown key accepted";
  }
  catch (const std::invalid_argument & e)
  {
    EXPECT_NE(std::string(e.what()).find("\"filter\""), std::string::npos) << e.what();
  }
  // Missing keys keep the defaults (configs may be partial).
  EXPECT_EQ(nlohmann::json::object().get<NetworkOptions>(), NetworkOptions());

  // Integers are checked, not cast: a width of 1.1e98 was undefined behaviour (fuzz/regressions).
  auto whole = optionsJson;
  whole["filters"] = { 2.0, 4, 8u, 16, 32 };
  whole["classes"] = 3.0;
  EXPECT_EQ(whole.get<NetworkOptions>().filters, (std::vector<int>{ 2, 4, 8, 16, 32 }));
  EXPECT_EQ(whole.get<NetworkOptions>().classes, 3);
  for (const auto & [key, value] :
       std::vector<std::pair<std::string, nlohmann::json>>{ { "filters", { 2, 4, 1.1e98, 16, 32 } },
                                                            { "filters", { 2, 4, 8.5, 16, 32 } },
                                                            { "filters", { 2, 4, 8, 16, 4294967296 } },
                                                            { "filters", 7 },
                                                            { "classes", -1e300 },
                                                            { "classes", std::numeric_limits<double>::quiet_NaN() },
                                                            { "input_channels", 2147483648.0 } })
  {
    auto bad = optionsJson;
    bad[key] = value;
    try
    {
      bad.get<NetworkOptions>();
      ADD_FAILURE() << key << " = " << value.dump() << " accepted";
    }
    catch (const std::invalid_argument & e)
    {
      EXPECT_NE(std::string(e.what()).find(key), std::string::npos) << e.what();
    }
  }
  // Lists of lists too: the label mapping's classes (a second fuzzing finding, 9.2e19 in a class).
  auto badLabels = preprocessingJson;
  badLabels["labels"]["classes"] = { { 1, 2 }, { 9.2e19 } };
  try
  {
    badLabels.get<anunet::Preprocessing>();
    ADD_FAILURE() << "a class value of 9.2e19 accepted";
  }
  catch (const std::invalid_argument & e)
  {
    EXPECT_NE(std::string(e.what()).find("classes[1][0]"), std::string::npos) << e.what();
  }
}

// configureCpuRuntime() changes how fast, not what: one OpenBLAS thread (ConvTranspose2d's GEMMs) and the
// heap-kept allocations give the same outputs and gradients as LibTorch's defaults. Each CTest case runs in its
// own process, so the first half of this test sees the defaults.
TEST_F(NetworksTest, CpuRuntimeSettingsKeepResults)
{
  using GetThreads = int (*)();
  const auto openBlasThreads = reinterpret_cast<GetThreads>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
  at::set_num_threads(2);
  torch::manual_seed(5);
  auto       network = anunet::makeNetwork(smallOptions(Architecture::ANUNet));
  const auto input = torch::randn({ 3, 1, 32, 32 });
  auto       run = [&] {
    network->zero_grad();
    const auto output = network->forward(input, 0);
    output.square().sum().backward();
    std::vector<torch::Tensor> result{ output.detach().clone() };
    for (const auto & p : network->parameters())
    {
      if (p.grad().defined()) // the heads of X(0,1..3) take no part in the full network's output
      {
        result.push_back(p.grad().clone());
      }
    }
    return result;
  };
  const auto plain = run();
  anunet::configureCpuRuntime();
  if (openBlasThreads != nullptr)
  {
    EXPECT_EQ(openBlasThreads(), 1);
  }
  const auto tuned = run();
  ASSERT_EQ(plain.size(), tuned.size());
  for (size_t i = 0; i < plain.size(); ++i)
  {
    EXPECT_TRUE(torch::allclose(plain[i], tuned[i], 1e-4, 1e-5)) << "tensor " << i;
  }
}

// The library leaves process-wide settings to the application: creating, running and training a model, and the
// catalogue, keep OpenBLAS's thread count (and the allocator, which cannot be read back) as they were.
TEST_F(NetworksTest, LibraryCallsLeaveProcessSettingsAlone)
{
  using GetThreads = int (*)();
  const auto openBlasThreads = reinterpret_cast<GetThreads>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
  ASSERT_NE(openBlasThreads, nullptr) << "Debian's LibTorch links OpenBLAS; this test needs it loaded";
  const int before = openBlasThreads();
  auto      model = anunet::Model::create(smallOptions(Architecture::ANUNet), 3);
  model.setNumberOfThreads(2);
  const std::vector<float> input(2 * 32 * 32, 0.5F);
  model.run(input, { 2, 1, 32, 32 }, 2);
  anunet::describeArchitectures(32);
  anunet::TrainingOptions options;
  options.network = smallOptions(Architecture::ANUNet);
  options.preprocessing.width = options.preprocessing.height = 32;
  options.epochs = 1;
  options.iterationsPerEpoch = 1;
  options.batchSize = 1;
  anunet::SliceVolume volume;
  volume.name = "flat";
  volume.slices = 1;
  volume.height = volume.width = 32;
  volume.image.assign(32 * 32, 0.0F);
  volume.labels.assign(32 * 32, 0);
  anunet::Trainer(options).train({ volume }, {});
  EXPECT_EQ(openBlasThreads(), before);
}

// Not part of the suite (timing depends on the machine): run with --gtest_also_run_disabled_tests.
TEST_F(NetworksTest, DISABLED_TimeANUNetL4At256)
{
  anunet::configureCpuRuntime();
  auto network = anunet::makeNetwork(paperOptions(Architecture::ANUNet));
  network->eval();
  torch::NoGradGuard noGrad;
  const auto         input = torch::randn({ 1, 1, 256, 256 });
  for (const int level : { 1, 4 })
  {
    for (int warm = 0; warm < 2; ++warm)
    {
      network->forward(input, level);
    }
    std::vector<double> times;
    for (int run = 0; run < 7; ++run)
    {
      const auto start = std::chrono::steady_clock::now();
      network->forward(input, level);
      times.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
    }
    std::sort(times.begin(), times.end());
    std::cout << "ANU-Net L" << level << " 1x1x256x256 eval no-grad, " << at::get_num_threads() << " threads: min "
              << times.front() << " ms, median " << times[times.size() / 2] << " ms\n";
  }
}

} // namespace
