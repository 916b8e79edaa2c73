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
#include "anunet/Training.h"

#include "anunet/Augmentation.h"
#include "anunet/Checkpoint.h"
#include "anunet/SliceSampler.h"

#include "CoreTestHelpers.h"

#include <torch/torch.h>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <functional>
#include <fstream>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace
{

namespace fs = std::filesystem;
using anunet::SliceVolume;

using anunet::test::discCase;
using anunet::test::discCases;
using anunet::test::Size;
using anunet::test::tinyOptions;

std::string
freshDirectory(const std::string & name)
{
  const fs::path path = fs::path(ANUNET_TEST_TEMP) / "TrainerTest" / name;
  fs::remove_all(path);
  return path.string();
}

/** Every parameter and buffer of a checkpoint's network, in order. */
std::vector<torch::Tensor>
checkpointTensors(const std::string & path)
{
  const auto                 impl = anunet::readCheckpoint(path);
  std::vector<torch::Tensor> tensors;
  for (const auto & p : impl->network->named_parameters())
  {
    tensors.push_back(p.value().detach().clone());
  }
  for (const auto & b : impl->network->named_buffers())
  {
    tensors.push_back(b.value().clone());
  }
  return tensors;
}

template <typename F>
std::string
errorOf(F && f)
{
  try
  {
    f();
  }
  catch (const std::exception & e)
  {
    return e.what();
  }
  return "(no exception)";
}

// ---------------------------------------------------------------------------------------------- sampler

TEST(SliceSampler, SameSeedSameBatchesAndShapes)
{
  const auto           cases = discCases("s", 2, 10, 1);
  anunet::SliceSampler a(cases, 0.5, 42);
  anunet::SliceSampler b(cases, 0.5, 42);
  anunet::SliceSampler c(cases, 0.5, 43);
  bool                 differs = false;
  for (int i = 0; i < 5; ++i)
  {
    const auto x = a.next(4);
    const auto y = b.next(4);
    const auto z = c.next(4);
    EXPECT_EQ(x.slices, y.slices);
    differs = differs || x.slices != z.slices;
    EXPECT_EQ(x.images.sizes(), (std::vector<int64_t>{ 4, 1, Size, Size }));
    EXPECT_EQ(x.labels.sizes(), (std::vector<int64_t>{ 4, Size, Size }));
    EXPECT_EQ(x.images.scalar_type(), torch::kFloat);
    EXPECT_EQ(x.labels.scalar_type(), torch::kLong);
    EXPECT_TRUE(torch::equal(x.images, y.images));
    // The batch holds the slices it names: slice 12 is slice 2 of the second case.
    const int64_t       slice = x.slices[0];
    const SliceVolume & v = cases[slice / 10];
    const auto          offset = static_cast<int64_t>((slice % 10) * Size * Size);
    EXPECT_FLOAT_EQ(x.images[0][0][5][7].item<float>(), v.image[offset + 5 * Size + 7]);
  }
  EXPECT_TRUE(differs);
}

TEST(SliceSampler, ForegroundFraction)
{
  const auto           cases = discCases("f", 3, 20, 2);
  anunet::SliceSampler all(cases, 1.0, 1);
  anunet::SliceSampler natural(cases, 0.0, 1);
  anunet::SliceSampler half(cases, 0.5, 1);
  const double         share = static_cast<double>(all.numberOfForegroundSlices()) / all.numberOfSlices();
  ASSERT_GT(share, 0.5);
  ASSERT_LT(share, 0.95);
  int64_t naturalCount = 0, halfCount = 0;
  for (int i = 0; i < 100; ++i)
  {
    EXPECT_TRUE((all.next(4).labels.flatten(1).amax(1) > 0).all().item<bool>());
    naturalCount += (natural.next(4).labels.flatten(1).amax(1) > 0).sum().item<int64_t>();
    halfCount += (half.next(4).labels.flatten(1).amax(1) > 0).sum().item<int64_t>();
  }
  EXPECT_NEAR(naturalCount / 400.0, share, 0.07);
  EXPECT_NEAR(halfCount / 400.0, 0.5 + 0.5 * share, 0.07);
}

TEST(SliceSampler, StateRoundTripContinuesTheStream)
{
  const auto           cases = discCases("r", 1, 12, 3);
  anunet::SliceSampler a(cases, 0.5, 5);
  a.next(3);
  const auto           state = a.saveState();
  const auto           expected = a.next(3).slices;
  anunet::SliceSampler b(cases, 0.5, 999);
  b.loadState(state);
  EXPECT_EQ(b.next(3).slices, expected);
  EXPECT_THROW(b.loadState("not a state"), std::runtime_error);
}

// ---------------------------------------------------------------------------------------------- augmentation

TEST(Augmentation, FlipsMoveImageAndLabelsTogether)
{
  const auto                  cases = discCases("a", 1, 8, 4);
  anunet::SliceSampler        sampler(cases, 1.0, 1);
  auto                        batch = sampler.next(8);
  anunet::AugmentationOptions options;
  options.flips = true;
  options.rotationDegrees = 0;
  options.scaling = 0;
  options.intensityScale = 0;
  options.intensityShift = 0;
  anunet::Augmenter augmenter(options, 3);
  auto              images = batch.images;
  auto              labels = batch.labels;
  augmenter.apply(images, labels);
  int flipped = 0;
  for (int64_t i = 0; i < 8; ++i)
  {
    const bool same = torch::allclose(images[i], batch.images[i], 0, 1e-5);
    const bool mirrored = torch::allclose(images[i], batch.images[i].flip({ 2 }), 0, 1e-5);
    EXPECT_TRUE(same || mirrored) << i;
    EXPECT_TRUE(torch::equal(labels[i], mirrored && !same ? batch.labels[i].flip({ 1 }) : batch.labels[i])) << i;
    flipped += mirrored && !same;
  }
  EXPECT_GT(flipped, 0);
  EXPECT_LT(flipped, 8);
}

TEST(Augmentation, RotationKeepsLabelsOnTheDiscsAndIsSeeded)
{
  // Noise-free discs: after any rotation/zoom the labels must still mark the bright pixels.
  auto v = discCase("clean", 8, 5);
  for (size_t i = 0; i < v.image.size(); ++i)
  {
    v.image[i] = v.labels[i] ? 1.0f : 0.0f;
  }
  anunet::SliceSampler        sampler({ v }, 1.0, 1);
  const auto                  batch = sampler.next(8);
  anunet::AugmentationOptions options;
  options.rotationDegrees = 30;
  options.scaling = 0.2;
  options.intensityScale = 0;
  options.intensityShift = 0;
  anunet::Augmenter a(options, 11);
  anunet::Augmenter b(options, 11);
  auto              imagesA = batch.images, labelsA = batch.labels;
  auto              imagesB = batch.images, labelsB = batch.labels;
  a.apply(imagesA, labelsA);
  b.apply(imagesB, labelsB);
  EXPECT_TRUE(torch::equal(imagesA, imagesB));
  EXPECT_TRUE(torch::equal(labelsA, labelsB));
  EXPECT_FALSE(torch::equal(labelsA, batch.labels));
  EXPECT_EQ(labelsA.scalar_type(), torch::kLong);
  EXPECT_TRUE(((labelsA == 0) | (labelsA == 1)).all().item<bool>());
  const double agreement = ((imagesA.squeeze(1) > 0.5) == (labelsA == 1)).to(torch::kDouble).mean().item<double>();
  EXPECT_GT(agreement, 0.98);
}

TEST(Augmentation, IntensityIsAffinePerSliceAndDisabledIsIdentity)
{
  const auto                  cases = discCases("i", 1, 4, 6);
  anunet::SliceSampler        sampler(cases, 0.5, 1);
  const auto                  batch = sampler.next(4);
  anunet::AugmentationOptions options;
  options.flips = false;
  options.rotationDegrees = 0;
  options.scaling = 0;
  anunet::Augmenter augmenter(options, 2);
  auto              images = batch.images, labels = batch.labels;
  augmenter.apply(images, labels);
  EXPECT_TRUE(torch::equal(labels, batch.labels));
  for (int64_t i = 0; i < 4; ++i)
  {
    // Fit y = g x + o from two pixels and check every pixel follows it.
    const auto   x = batch.images[i].flatten();
    const auto   y = images[i].flatten();
    const double g = ((y[1] - y[0]) / (x[1] - x[0])).item<double>();
    const double o = (y[0] - g * x[0]).item<double>();
    EXPECT_TRUE(torch::allclose(y, x * g + o, 1e-4, 1e-4));
    EXPECT_LE(std::abs(g - 1), 0.1 + 1e-6);
    EXPECT_LE(std::abs(o), 0.1 + 1e-6);
  }
  options.enabled = false;
  anunet::Augmenter off(options, 2);
  images = batch.images;
  off.apply(images, labels);
  EXPECT_TRUE(torch::equal(images, batch.images));
}

namespace
{
/** Options with every change off but the intensity change under test, applied to every slice. */
anunet::AugmentationOptions
onlyIntensityAfterGeometry()
{
  anunet::AugmentationOptions options;
  options.rotationDegrees = 0;
  options.scaling = 0;
  options.intensityScale = 0;
  options.intensityShift = 0;
  options.noiseProbability = options.blurProbability = options.contrastProbability = 1;
  options.lowResolutionProbability = options.gammaProbability = 1;
  return options;
}
} // namespace

TEST(Augmentation, IntensityChangesAfterGeometryDoWhatTheySay)
{
  const auto           cases = discCases("n", 1, 4, 9);
  anunet::SliceSampler sampler(cases, 0.5, 1);
  const auto           batch = sampler.next(4);
  const auto           dims = std::vector<int64_t>{ 1, 2, 3 };
  const auto           run = [&batch](const anunet::AugmentationOptions & options) {
    anunet::Augmenter augmenter(options, 5);
    auto              images = batch.images, labels = batch.labels;
    augmenter.apply(images, labels);
    EXPECT_TRUE(torch::equal(labels, batch.labels)); // intensity changes leave the labels alone
    EXPECT_EQ(images.sizes(), batch.images.sizes());
    return images;
  };
  const auto low = batch.images.amin(dims);
  const auto high = batch.images.amax(dims);

  auto options = onlyIntensityAfterGeometry();
  options.gamma = 0.5;
  const auto powered = run(options);
  // A power of the slice's min-max range: its ends stay, the order of the pixels too.
  EXPECT_TRUE(torch::allclose(powered.amin(dims), low, 1e-5, 1e-5));
  EXPECT_TRUE(torch::allclose(powered.amax(dims), high, 1e-5, 1e-5));
  EXPECT_FALSE(torch::allclose(powered, batch.images, 1e-3, 1e-3));
  const auto order = batch.images.flatten(1).argsort(/*dim=*/1, /*descending=*/false);
  EXPECT_TRUE((powered.flatten(1).gather(1, order).diff(1, 1) >= -1e-6).all().item<bool>());

  options = onlyIntensityAfterGeometry();
  options.contrast = 0.25;
  const auto contrast = run(options);
  EXPECT_TRUE((contrast.amin(dims) >= low - 1e-5).all().item<bool>());
  EXPECT_TRUE((contrast.amax(dims) <= high + 1e-5).all().item<bool>());
  EXPECT_FALSE(torch::allclose(contrast, batch.images, 1e-3, 1e-3));

  options = onlyIntensityAfterGeometry();
  options.noise = 0.2;
  const double noiseStd = (run(options) - batch.images).std().item<double>();
  EXPECT_GT(noiseStd, 0.01);
  EXPECT_LT(noiseStd, 0.2);

  // Blur and a coarser sampling smooth: neighbouring pixels differ less, the mean stays about the same.
  const auto roughness = [](const torch::Tensor & x) { return x.diff(1, 3).abs().mean().item<double>(); };
  options = onlyIntensityAfterGeometry();
  options.blur = 1.5;
  const auto blurred = run(options);
  EXPECT_LT(roughness(blurred), 0.8 * roughness(batch.images));
  EXPECT_NEAR(blurred.mean().item<double>(), batch.images.mean().item<double>(), 0.02);
  options = onlyIntensityAfterGeometry();
  options.lowResolution = 1.0;
  EXPECT_FALSE(torch::allclose(run(options), batch.images, 1e-3, 1e-3));
}

TEST(Augmentation, IntensityChangesAreSeededAndResumeExactly)
{
  const auto                  cases = discCases("r", 1, 4, 10);
  anunet::SliceSampler        sampler(cases, 0.5, 1);
  const auto                  batch = sampler.next(6);
  anunet::AugmentationOptions options; // the default geometry and affine intensity, then all five changes
  options.noise = 0.1;
  options.blur = 1.0;
  options.contrast = 0.25;
  options.lowResolution = 1.0;
  options.gamma = 0.5;
  anunet::Augmenter a(options, 21);
  anunet::Augmenter b(options, 21);
  auto              imagesA = batch.images, labelsA = batch.labels;
  a.apply(imagesA, labelsA);
  const std::string state = a.saveState();
  auto              imagesB = batch.images, labelsB = batch.labels;
  b.apply(imagesB, labelsB);
  EXPECT_TRUE(torch::equal(imagesA, imagesB));
  EXPECT_TRUE(torch::equal(labelsA, labelsB));

  // The next batch of a resumed augmenter equals that of the uninterrupted one.
  anunet::Augmenter resumed(options, 0);
  resumed.loadState(state);
  auto next = batch.images, nextLabels = batch.labels;
  auto again = batch.images, againLabels = batch.labels;
  a.apply(next, nextLabels);
  resumed.apply(again, againLabels);
  EXPECT_TRUE(torch::equal(next, again));
}

TEST(Augmentation, OutOfRangeOptionsNameTheirConfigKey)
{
  for (const auto & [change, key] :
       std::vector<std::pair<std::function<void(anunet::AugmentationOptions &)>, std::string>>{
         { [](auto & o) { o.noise = -0.1; }, "noise" },
         { [](auto & o) { o.blur = 0.2; }, "blur" },
         { [](auto & o) { o.contrast = 1.0; }, "contrast" },
         { [](auto & o) { o.gamma = -1; }, "gamma" },
         { [](auto & o) { o.lowResolution = 5; }, "low_resolution" },
         { [](auto & o) { o.gammaProbability = 1.5; }, "gamma_probability" } })
  {
    anunet::AugmentationOptions options;
    change(options);
    try
    {
      options.validate();
      ADD_FAILURE() << "accepted a bad " << key;
    }
    catch (const std::invalid_argument & e)
    {
      EXPECT_NE(std::string(e.what()).find(key), std::string::npos) << e.what();
    }
  }
}

// ---------------------------------------------------------------------------------------------- validation of inputs

TEST(Trainer, BadInputsNameTheCase)
{
  const auto options = tinyOptions("");
  const auto good = discCases("good", 1, 4, 7);

  EXPECT_NE(errorOf([&] { anunet::Trainer(options).train({}, good); }).find("no training cases"), std::string::npos);

  auto wrongSize = discCases("odd", 1, 4, 8);
  wrongSize[0].image.pop_back();
  EXPECT_NE(errorOf([&] { anunet::Trainer(options).train(wrongSize, good); }).find("case 'odd0'"), std::string::npos);

  auto withNaN = discCases("nan", 1, 4, 9);
  withNaN[0].image[3 * Size * Size + 5] = std::nanf("");
  const auto message = errorOf([&] { anunet::Trainer(options).train(good, withNaN); });
  EXPECT_NE(message.find("case 'nan0'"), std::string::npos) << message;
  EXPECT_NE(message.find("slice 3"), std::string::npos) << message;

  auto other = discCases("other", 1, 4, 10);
  other[0].height = other[0].width = 16;
  other[0].image.resize(4 * 16 * 16);
  other[0].labels.resize(4 * 16 * 16);
  EXPECT_NE(errorOf([&] { anunet::Trainer(options).train(good, other); }).find("case 'other0'"), std::string::npos);

  auto badLabel = discCases("label", 1, 4, 11);
  badLabel[0].labels[0] = 3;
  EXPECT_NE(errorOf([&] { anunet::Trainer(options).train(badLabel, {}); }).find("case 'label0'"), std::string::npos);

  auto badOptions = options;
  badOptions.loss = "l2";
  EXPECT_THROW(anunet::Trainer(badOptions).train(good, {}), std::invalid_argument);
}

// A device this LibTorch lacks, or bfloat16 on a CPU without it, is refused before any step, naming the option.
TEST(Trainer, AnAbsentDeviceOrPrecisionIsRefusedBeforeTraining)
{
  const auto good = discCases("good", 1, 4, 7);
  auto       options = tinyOptions("");
  options.device = "tpu";
  EXPECT_NE(errorOf([&] { anunet::Trainer(options).train(good, {}); }).find("unknown device \"tpu\""),
            std::string::npos);
  if (!anunet::Model::cudaAvailable())
  {
    options.device = "cuda";
    const auto message = errorOf([&] { anunet::Trainer(options).train(good, {}); });
    EXPECT_NE(message.find("no usable CUDA"), std::string::npos) << message;
  }
  options.device = "cpu";
  options.precision = anunet::Precision::BFloat16;
  if (anunet::cpuHasBFloat16())
  {
    // CPU autocast: the same steps as in float32, up to bfloat16's rounding.
    options.epochs = 1;
    const auto      training = discCases("train", 2, 8, 50);
    anunet::Trainer half(options);
    half.train(training, {});
    options.precision = anunet::Precision::Float32;
    anunet::Trainer single(options);
    single.train(training, {});
    ASSERT_EQ(half.history().size(), 1U);
    EXPECT_NEAR(half.history()[0].loss, single.history()[0].loss, 0.05 * single.history()[0].loss);
  }
  else
  {
    const auto message = errorOf([&] { anunet::Trainer(options).train(good, {}); });
    EXPECT_NE(message.find("avx512_bf16"), std::string::npos) << message;
  }
}

// ---------------------------------------------------------------------------------------------- training

TEST(Trainer, LossDecreasesAndDiceRisesOnDiscs)
{
  auto options = tinyOptions(freshDirectory("learn"));
  options.epochs = 4;
  options.iterationsPerEpoch = 8;
  options.loss = "hybrid";
  const auto training = discCases("train", 3, 12, 20);
  const auto validation = discCases("val", 2, 8, 40);

  anunet::Trainer                       trainer(options);
  std::vector<anunet::TrainingProgress> progress;
  trainer.setProgressCallback([&](const anunet::TrainingProgress & p) { progress.push_back(p); });
  const auto model = trainer.train(training, validation);

  const auto & history = trainer.history();
  ASSERT_EQ(history.size(), 4U);

  // Measured: loss 4.09 -> 3.02, Dice 0.65 -> 0.96; an untrained network scores Dice ~0.
  EXPECT_LT(history.back().loss, 0.85 * history.front().loss);
  EXPECT_GT(history.back().validationDice, 0.8);
  EXPECT_EQ(history.back().validationDicePerCase.size(), 2U);
  ASSERT_EQ(progress.size(), 32U);
  EXPECT_EQ(progress.back().iteration, 32);
  EXPECT_EQ(progress.back().totalIterations, 32);
  EXPECT_GT(progress.front().secondsRemaining, 0.0);
  EXPECT_LT(progress.back().secondsRemaining, progress.front().secondsRemaining); // only a validation is left

  // The returned model is the best epoch's, with its metadata.
  EXPECT_EQ(model.training().loss, "hybrid");
  EXPECT_EQ(model.training().epochs, 4);
  EXPECT_EQ(model.training().iterations, 32);
  double best = -1;
  int    bestEpoch = -1;
  for (const auto & r : history)
  {
    if (r.validationDice > best)
    {
      best = r.validationDice;
      bestEpoch = r.epoch;
    }
  }
  EXPECT_DOUBLE_EQ(model.training().bestValidationDice, best);
  EXPECT_EQ(model.training().bestEpoch, bestEpoch);
  const auto reloaded = anunet::Model::load((fs::path(options.outputDirectory) / "best.pt").string());
  EXPECT_EQ(reloaded.training().bestEpoch, bestEpoch);
  EXPECT_EQ(reloaded.preprocessing(), options.preprocessing);

  // The best model segments a validation slice as the trainer measured.
  const auto & v = validation[0];
  const auto   probabilities = model.run(v.image, { v.slices, 1, Size, Size });
  int64_t      overlap = 0, predicted = 0, truth = 0;
  for (size_t i = 0; i < probabilities.size(); ++i)
  {
    const bool a = probabilities[i] > 0.5f;
    const bool g = v.labels[i] == 1;
    overlap += a && g;
    predicted += a;
    truth += g;
  }
  EXPECT_NEAR(2.0 * overlap / (predicted + truth), history[bestEpoch - 1].validationDicePerCase[0], 1e-3);
}

TEST(Trainer, ResumeEqualsUninterrupted)
{
  const auto training = discCases("train", 2, 8, 50);
  const auto validation = discCases("val", 1, 4, 60);

  auto straightOptions = tinyOptions(freshDirectory("straight"));
  straightOptions.optimizer = anunet::Optimizer::Adam;
  anunet::Trainer straight(straightOptions);
  straight.train(training, validation);

  auto            firstOptions = tinyOptions(freshDirectory("interrupted"));
  anunet::Trainer first(firstOptions);
  first.setEpochCallback([&first](const anunet::EpochRecord &) { first.requestStop(); });
  first.train(training, validation);
  ASSERT_EQ(first.history().size(), 1U);

  auto resumedOptions = firstOptions;
  resumedOptions.resumeFrom = (fs::path(firstOptions.outputDirectory) / "last.pt").string();
  anunet::Trainer resumed(resumedOptions);
  resumed.train(training, validation);

  ASSERT_EQ(resumed.history().size(), 2U);
  for (size_t e = 0; e < 2; ++e)
  {
    EXPECT_EQ(resumed.history()[e].loss, straight.history()[e].loss) << "epoch " << e + 1;
    EXPECT_EQ(resumed.history()[e].validationDice, straight.history()[e].validationDice) << "epoch " << e + 1;
    EXPECT_EQ(resumed.history()[e].learningRate, straight.history()[e].learningRate) << "epoch " << e + 1;
  }
  const auto a = checkpointTensors((fs::path(straightOptions.outputDirectory) / "last.pt").string());
  const auto b = checkpointTensors((fs::path(firstOptions.outputDirectory) / "last.pt").string());
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i)
  {
    EXPECT_TRUE(torch::equal(a[i], b[i])) << "tensor " << i;
  }

  // Resuming with other options, or from a best.pt, is refused with the reason.
  auto changed = resumedOptions;
  changed.learningRate = 1e-3;
  EXPECT_NE(errorOf([&] { anunet::Trainer(changed).train(training, validation); }).find("learning_rate"),
            std::string::npos);
  auto fromBest = resumedOptions;
  fromBest.resumeFrom = (fs::path(firstOptions.outputDirectory) / "best.pt").string();
  EXPECT_NE(errorOf([&] { anunet::Trainer(fromBest).train(training, validation); }).find("last.pt"), std::string::npos);
}

TEST(Trainer, SameSeedSameResult)
{
  const auto training = discCases("train", 2, 8, 70);
  const auto validation = discCases("val", 1, 6, 80);
  auto       options = tinyOptions("");
  options.epochs = 1;
  anunet::Trainer a(options);
  anunet::Trainer b(options);
  a.train(training, validation);
  b.train(training, validation);
  EXPECT_EQ(a.history()[0].loss, b.history()[0].loss);
  EXPECT_EQ(a.history()[0].validationDice, b.history()[0].validationDice);
  options.seed = 8;
  anunet::Trainer c(options);
  c.train(training, validation);
  EXPECT_NE(a.history()[0].loss, c.history()[0].loss);
}

TEST(Trainer, AStopMidEpochCheckpointsThatStepAndResumesExactly)
{
  const auto training = discCases("train", 2, 8, 90);
  const auto validation = discCases("val", 1, 4, 95);
  auto       straightOptions = tinyOptions(freshDirectory("stop-straight"));
  straightOptions.epochs = 3;
  anunet::Trainer straight(straightOptions);
  straight.train(training, validation);
  EXPECT_FALSE(straight.interrupted());

  auto options = tinyOptions(freshDirectory("stop"));
  options.epochs = 3;
  anunet::Trainer trainer(options);
  trainer.setProgressCallback([&trainer](const anunet::TrainingProgress & p) {
    if (p.epoch == 2 && p.iteration == 6) // mid-way through epoch 2
    {
      trainer.requestStop();
    }
  });
  trainer.train(training, validation);
  EXPECT_TRUE(trainer.interrupted());
  ASSERT_EQ(trainer.history().size(), 1U);
  const auto last = anunet::Model::load((fs::path(options.outputDirectory) / "last.pt").string());
  EXPECT_EQ(last.training().epochs, 1);
  EXPECT_EQ(last.training().iterations, 6) << "last.pt is written at the step the run stopped at";
  for (const auto & entry : fs::directory_iterator(options.outputDirectory))
  {
    EXPECT_EQ(entry.path().filename().string().find(".tmp"), std::string::npos) << entry.path();
  }

  // Resumed from that step, the run ends exactly as the uninterrupted one, and the stop request did not stick.
  auto resumedOptions = options;
  resumedOptions.resumeFrom = (fs::path(options.outputDirectory) / "last.pt").string();
  anunet::Trainer resumed(resumedOptions);
  resumed.train(training, validation);
  EXPECT_FALSE(resumed.interrupted());
  ASSERT_EQ(resumed.history().size(), 3U);
  for (size_t e = 0; e < 3; ++e)
  {
    EXPECT_EQ(resumed.history()[e].loss, straight.history()[e].loss) << "epoch " << e + 1;
    EXPECT_EQ(resumed.history()[e].validationDice, straight.history()[e].validationDice) << "epoch " << e + 1;
  }
  const auto a = checkpointTensors((fs::path(straightOptions.outputDirectory) / "last.pt").string());
  const auto b = checkpointTensors((fs::path(options.outputDirectory) / "last.pt").string());
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i)
  {
    EXPECT_TRUE(torch::equal(a[i], b[i])) << "tensor " << i;
  }
}

TEST(Trainer, StaleTemporaryFilesOfAKilledWriterAreRemoved)
{
  const auto training = discCases("train", 1, 4, 97);
  auto       options = tinyOptions(freshDirectory("stale"));
  options.epochs = 1;
  const auto stale = fs::path(options.outputDirectory) / ".last.partial-999999999.pt"; // no such process
  const auto other = fs::path(options.outputDirectory) / ".notes.partial-draft.txt";   // not a writer's name
  fs::create_directories(options.outputDirectory);
  std::ofstream(stale) << "half a checkpoint";
  std::ofstream(other) << "the user's";
  ASSERT_TRUE(fs::exists(stale) && fs::exists(other));
  anunet::Trainer(options).train(training, {});
  EXPECT_FALSE(fs::exists(stale));
  EXPECT_TRUE(fs::exists(other));
  EXPECT_NO_THROW(anunet::Model::load((fs::path(options.outputDirectory) / "last.pt").string()));
}

TEST(Trainer, LogLinesParse)
{
  const auto                       training = discCases("train", 2, 8, 100);
  const auto                       validation = discCases("val", 2, 4, 110);
  auto                             options = tinyOptions(freshDirectory("log"));
  anunet::Trainer                  trainer(options);
  std::vector<anunet::EpochRecord> epochs;
  trainer.setEpochCallback([&](const anunet::EpochRecord & r) { epochs.push_back(r); });
  trainer.train(training, validation);
  ASSERT_EQ(epochs.size(), 2U);

  std::ifstream log(fs::path(options.outputDirectory) / "log.jsonl");
  std::string   line;
  int           count = 0;
  while (std::getline(log, line))
  {
    const auto   j = nlohmann::json::parse(line);
    const auto & r = epochs.at(static_cast<size_t>(count));
    EXPECT_EQ(j.at("epoch").get<int>(), r.epoch);
    EXPECT_EQ(j.at("iterations").get<int64_t>(), 4 * r.epoch);
    EXPECT_DOUBLE_EQ(j.at("loss").get<double>(), r.loss);
    EXPECT_DOUBLE_EQ(j.at("val_dice").get<double>(), r.validationDice);
    EXPECT_DOUBLE_EQ(j.at("per_case_dice").at("val1").get<double>(), r.validationDicePerCase[1]);
    EXPECT_DOUBLE_EQ(j.at("lr").get<double>(), r.learningRate);
    EXPECT_GT(j.at("seconds").get<double>(), 0.0);
    ++count;
  }
  EXPECT_EQ(count, 2);
}

TEST(Trainer, SchedulesAndEarlyStopping)
{
  const auto training = discCases("train", 1, 8, 120);
  const auto validation = discCases("val", 1, 4, 130);
  auto       options = tinyOptions("");
  options.iterationsPerEpoch = 2;

  // A rate too small to change any prediction: validation Dice stays put, so it never improves.
  options.learningRate = 1e-12;
  options.schedule = anunet::LearningRateSchedule::Plateau;
  options.plateauPatience = 1;
  options.epochs = 3;
  anunet::Trainer plateau(options);
  plateau.train(training, validation);
  ASSERT_EQ(plateau.history().size(), 3U);
  EXPECT_DOUBLE_EQ(plateau.history()[1].learningRate, 1e-12);
  EXPECT_DOUBLE_EQ(plateau.history()[2].learningRate, 0.5e-12);

  options.earlyStoppingPatience = 1;
  options.epochs = 5;
  anunet::Trainer early(options);
  early.train(training, validation);
  EXPECT_TRUE(early.stoppedEarly());
  EXPECT_EQ(early.history().size(), 2U);

  options.earlyStoppingPatience = 0;
  options.learningRate = 1e-2;
  options.schedule = anunet::LearningRateSchedule::Poly;
  options.epochs = 2;
  anunet::Trainer poly(options);
  poly.train(training, validation);
  EXPECT_FALSE(poly.stoppedEarly());
  EXPECT_DOUBLE_EQ(poly.history()[0].learningRate, 1e-2 * std::pow(1 - 1.0 / 4, 0.9)); // last step of epoch 1
  EXPECT_DOUBLE_EQ(poly.history()[1].learningRate, 1e-2 * std::pow(1 - 3.0 / 4, 0.9));
}

TEST(Trainer, MultiClassAndSgd)
{
  const auto training = discCases("train", 1, 8, 140, 3);
  const auto validation = discCases("val", 1, 4, 150, 3);
  auto       options = tinyOptions("");
  options.network.classes = 3;
  options.optimizer = anunet::Optimizer::SGD;
  options.loss = "focal";
  options.epochs = 1;
  anunet::Trainer trainer(options);
  const auto      model = trainer.train(training, validation);
  EXPECT_EQ(model.outputChannels(), 3);
  const double dice = trainer.history()[0].validationDice;
  EXPECT_GE(dice, 0.0);
  EXPECT_LE(dice, 1.0);
  EXPECT_TRUE(std::isfinite(trainer.history()[0].loss));
}

} // namespace
