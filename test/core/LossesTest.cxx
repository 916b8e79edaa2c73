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
#include "anunet/Losses.h"

#include <torch/torch.h>

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

namespace
{

using anunet::bceDiceLoss;
using anunet::bceLoss;
using anunet::diceLoss;
using anunet::focalLoss;
using anunet::hybridLoss;
using anunet::HybridLossOptions;
using anunet::makeLoss;

double
value(const torch::Tensor & t)
{
  return t.item<double>();
}

// Two pixels, Y = (0.5, 0.75), Ybar = (1, 0): every term is written out by hand below.
struct TwoPixels : public ::testing::Test
{
  torch::Tensor logits = torch::tensor({ 0.0, std::log(3.0) }, torch::kDouble).view({ 1, 1, 1, 2 });
  torch::Tensor target = torch::tensor({ 1, 0 }, torch::kLong).view({ 1, 1, 2 });
};

TEST_F(TwoPixels, BinaryCrossEntropy)
{
  EXPECT_NEAR(value(bceLoss(logits, target)), (-std::log(0.5) - std::log(0.25)) / 2, 1e-12);
}

TEST_F(TwoPixels, SoftDice)
{
  // intersection 0.5, sum Y 1.25, sum Ybar 1, s = 1.
  EXPECT_NEAR(value(diceLoss(logits, target)), 1 - (2 * 0.5 + 1) / (1.25 + 1 + 1), 1e-12);
}

TEST_F(TwoPixels, BceDiceAsTheReferenceCode)
{
  const double dice = (2 * 0.5 + 1e-5) / (1.25 + 1 + 1e-5);
  EXPECT_NEAR(value(bceDiceLoss(logits, target)), 0.5 * (-std::log(0.5) - std::log(0.25)) / 2 + 1 - dice, 1e-12);
}

TEST_F(TwoPixels, Focal)
{
  // foreground pixel: 0.25 (1 - 0.5)^2 (-log 0.5); background pixel, P(bg) = 0.25: 0.75 (1 - 0.25)^2 (-log 0.25).
  const double expected = (0.25 * 0.25 * -std::log(0.5) + 0.75 * 0.5625 * -std::log(0.25)) / 2;
  EXPECT_NEAR(value(focalLoss(logits, target)), expected, 1e-12);
}

TEST_F(TwoPixels, Hybrid)
{
  // w(Y) = 0.3 / ((Y - 0.5)^2 + 0.05): 6 at Y = 0.5, 0.3 / 0.1125 at Y = 0.75.
  const double crossEntropy = (6.0 * -std::log(0.5) + 0.3 / 0.1125 * -std::log(0.25)) / 2;
  const double dice = (2 * 0.5 + 1) / (0.25 + 0.5625 + 1 + 1);
  EXPECT_NEAR(value(hybridLoss(logits, target)), 1 - dice + crossEntropy, 1e-12);

  HybridLossOptions options;
  options.alpha = 0.5;
  EXPECT_NEAR(value(hybridLoss(logits, target, options)), 1 - dice + 0.5 * crossEntropy, 1e-12);
}

TEST_F(TwoPixels, ProbabilityTargetEqualsIndexTarget)
{
  const auto soft = target.to(torch::kDouble).view({ 1, 1, 1, 2 });
  for (const auto & name : anunet::lossNames())
  {
    const auto loss = makeLoss(name);
    EXPECT_NEAR(value(loss(logits, soft)), value(loss(logits, target)), 1e-12) << name;
  }
}

TEST(Losses, MultiClassHandComputed)
{
  // softmax(0, log 2, log 3) = (1/6, 2/6, 3/6), true class 2.
  const auto logits = torch::tensor({ 0.0, std::log(2.0), std::log(3.0) }, torch::kDouble).view({ 1, 3, 1, 1 });
  const auto target = torch::full({ 1, 1, 1 }, 2, torch::kLong);
  EXPECT_NEAR(value(bceLoss(logits, target)), -std::log(0.5), 1e-12);
  // Foreground classes 1 and 2: (0 + 1) / (1/3 + 0 + 1) and (2 * 0.5 + 1) / (0.5 + 1 + 1).
  EXPECT_NEAR(value(diceLoss(logits, target)), 1 - (0.75 + 0.8) / 2, 1e-12);
  EXPECT_NEAR(value(focalLoss(logits, target)), 0.25 * 0.25 * -std::log(0.5), 1e-12);
}

// A binary logit z is the two-class task with logits (0, z): every loss must agree on both forms.
TEST(Losses, BinaryEqualsTwoClassSoftmax)
{
  torch::manual_seed(1);
  const auto z = torch::randn({ 3, 1, 8, 8 }, torch::kDouble) * 3;
  const auto twoClass = torch::cat({ torch::zeros_like(z), z }, 1);
  const auto target = torch::randint(0, 2, { 3, 8, 8 }, torch::kLong);
  for (const auto & name : anunet::lossNames())
  {
    const auto loss = makeLoss(name);
    EXPECT_NEAR(value(loss(z, target)), value(loss(twoClass, target)), 1e-10) << name;
  }
}

/** Central differences of loss with respect to every logit, against autograd. */
void
expectGradientMatchesFiniteDifferences(const anunet::LossFunction & loss,
                                       const torch::Tensor &        logits0,
                                       const torch::Tensor &        target,
                                       const std::string &          what)
{
  auto logits = logits0.clone().requires_grad_(true);
  loss(logits, target).backward();
  const auto   analytic = logits.grad();
  const auto   flat = logits0.clone().view(-1);
  const auto   numeric = torch::zeros_like(flat);
  const double h = 1e-6;
  for (int64_t i = 0; i < flat.numel(); ++i)
  {
    const double original = flat[i].item<double>();
    flat[i] = original + h;
    const double up = value(loss(flat.view(logits0.sizes()), target));
    flat[i] = original - h;
    const double down = value(loss(flat.view(logits0.sizes()), target));
    flat[i] = original;
    numeric[i] = (up - down) / (2 * h);
  }
  const double error = (analytic.view(-1) - numeric).abs().max().item<double>();
  const double scale = numeric.abs().max().item<double>();
  EXPECT_GT(scale, 1e-6) << what << ": degenerate test, all gradients are zero";
  EXPECT_LT(error, 1e-6 * std::max(1.0, scale)) << what;
}

TEST(Losses, GradientsMatchFiniteDifferences)
{
  torch::manual_seed(2);
  const std::vector<int64_t> channelCounts{ 1, 3 };
  for (const int64_t channels : channelCounts)
  {
    const auto logits = torch::randn({ 2, channels, 4, 4 }, torch::kDouble) * 2;
    const auto target = torch::randint(0, channels == 1 ? 2 : channels, { 2, 4, 4 }, torch::kLong);
    // The default hybrid loss stops the gradient through its weight, so differences cannot match it:
    // it is checked below without the stop-gradient, and with a constant weight in the next test.
    for (const std::string name : { "bce-dice", "dice", "focal", "bce" })
    {
      expectGradientMatchesFiniteDifferences(
        makeLoss(name), logits, target, name + ", C = " + std::to_string(channels));
    }
    // The printed hybrid formula itself, differentiated through its 1 / |Y - 0.5|^gamma weight too.
    HybridLossOptions full;
    full.detachWeight = false;
    expectGradientMatchesFiniteDifferences(
      [full](const torch::Tensor & z, const torch::Tensor & t) { return hybridLoss(z, t, full); },
      logits,
      target,
      "hybrid without stop-gradient, C = " + std::to_string(channels));
    // Probability (soft) targets take the same path as one-hot ones.
    const auto soft = torch::rand_like(logits).softmax(1);
    expectGradientMatchesFiniteDifferences(
      [full](const torch::Tensor & z, const torch::Tensor & t) { return hybridLoss(z, t, full); },
      logits,
      channels == 1 ? torch::rand_like(logits) : soft,
      "hybrid, soft target");
  }
}

// The stop-gradient weight: with gamma = 0 the weight is constant, so autograd and differences agree.
TEST(Losses, HybridStopGradientIsOnlyTheWeight)
{
  torch::manual_seed(3);
  const auto        logits = torch::randn({ 2, 1, 4, 4 }, torch::kDouble);
  const auto        target = torch::randint(0, 2, { 2, 4, 4 }, torch::kLong);
  HybridLossOptions options;
  options.gamma = 0.0;
  expectGradientMatchesFiniteDifferences(
    [options](const torch::Tensor & z, const torch::Tensor & t) { return hybridLoss(z, t, options); },
    logits,
    target,
    "hybrid, gamma = 0");
}

// Y = 0, 0.5 and 1 in float32: logits -30, 0, +30 (and beyond), for every class and target.
TEST(Losses, FiniteAtSaturatedAndUncertainOutputs)
{
  const auto binary = torch::tensor({ -30.0f, 0.0f, 30.0f, -30.0f, 0.0f, 30.0f, -100.0f, 100.0f }).view({ 1, 1, 2, 4 });
  const auto binaryTarget = torch::tensor({ 0, 0, 0, 1, 1, 1, 1, 0 }, torch::kLong).view({ 1, 2, 4 });
  const auto multi = torch::tensor({ -30.0f, 0.0f, 30.0f, 30.0f, 0.0f, -30.0f, 0.0f, 0.0f, 0.0f }).view({ 1, 3, 1, 3 });
  const auto multiTarget = torch::tensor({ 0, 1, 2 }, torch::kLong).view({ 1, 1, 3 });
  const std::vector<std::pair<torch::Tensor, torch::Tensor>> cases{ { binary, binaryTarget }, { multi, multiTarget } };
  for (const auto & [logits0, target] : cases)
  {
    for (const auto & name : anunet::lossNames())
    {
      auto       logits = logits0.clone().requires_grad_(true);
      const auto loss = makeLoss(name)(logits, target);
      loss.backward();
      EXPECT_TRUE(std::isfinite(loss.item<float>())) << name;
      EXPECT_TRUE(torch::isfinite(logits.grad()).all().item<bool>()) << name;
    }
  }
}

TEST(Losses, ConfidentCorrectPredictionIsNearZero)
{
  const auto target = torch::tensor({ 0, 1, 1, 0 }, torch::kLong).view({ 1, 2, 2 });
  const auto logits = (target.to(torch::kFloat) * 60 - 30).view({ 1, 1, 2, 2 });
  for (const auto & name : anunet::lossNames())
  {
    EXPECT_LT(value(makeLoss(name)(logits, target)), 1e-6) << name;
    EXPECT_GT(value(makeLoss(name)(-logits, target)), value(makeLoss(name)(logits, target))) << name;
  }
}

TEST(Losses, DeepSupervisionWeights)
{
  torch::manual_seed(4);
  const auto                 target = torch::randint(0, 2, { 2, 8, 8 }, torch::kLong);
  std::vector<torch::Tensor> heads;
  for (int i = 0; i < 4; ++i)
  {
    heads.push_back(torch::randn({ 2, 1, 8, 8 }, torch::kDouble));
  }
  const auto   bce = makeLoss("bce");
  const double l0 = value(bce(heads[0], target));
  const double l3 = value(bce(heads[3], target));
  double       mean = 0;
  for (const auto & h : heads)
  {
    mean += value(bce(h, target)) / 4;
  }
  EXPECT_NEAR(value(anunet::DeepSupervisionLoss(bce)(heads, target)), mean, 1e-12);
  EXPECT_NEAR(value(anunet::DeepSupervisionLoss(bce, { 1, 0, 0, 2 })(heads, target)), l0 + 2 * l3, 1e-12);
  const anunet::DeepSupervisionLoss twoWeights(bce, { 1, 1 });
  EXPECT_THROW(twoWeights(heads, target), std::invalid_argument);
  const anunet::DeepSupervisionLoss equal(bce);
  EXPECT_THROW(equal({}, target), std::invalid_argument);
}

TEST(Losses, BadInputsAreRejected)
{
  const auto logits = torch::zeros({ 1, 1, 4, 4 });
  EXPECT_THROW(makeLoss("dicey"), std::invalid_argument);
  try
  {
    makeLoss("dicey");
  }
  catch (const std::invalid_argument & e)
  {
    EXPECT_NE(std::string(e.what()).find("bce-dice"), std::string::npos) << e.what();
  }
  EXPECT_THROW(bceLoss(logits, torch::full({ 1, 4, 4 }, 2, torch::kLong)), std::invalid_argument); // class 2 of 2
  EXPECT_THROW(bceLoss(logits, torch::zeros({ 1, 4, 5 }, torch::kLong)), std::invalid_argument);
  EXPECT_THROW(bceLoss(logits, torch::zeros({ 1, 1, 4, 5 })), std::invalid_argument);
  EXPECT_THROW(bceLoss(torch::zeros({ 4, 4 }), torch::zeros({ 4, 4 }, torch::kLong)), std::invalid_argument);
}

} // namespace
