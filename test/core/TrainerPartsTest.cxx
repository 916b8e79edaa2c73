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
// The trainer's parts, each alone: the learning-rate schedule, the validation Dice, the resume state, the
// epoch's JSON form and log, the option names.
#include "anunet/EpochLog.h"
#include "anunet/LearningRateScheduler.h"
#include "anunet/ResumeState.h"
#include "anunet/ValidationDice.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

namespace
{
anunet::TrainingOptions
scheduleOptions(anunet::LearningRateSchedule schedule)
{
  anunet::TrainingOptions o;
  o.schedule = schedule;
  o.learningRate = 0.01;
  o.epochs = 4;
  o.polyPower = 0.9;
  o.plateauPatience = 2;
  o.plateauFactor = 0.5;
  return o;
}

anunet::EpochRecord
sampleRecord(int epoch)
{
  anunet::EpochRecord r;
  r.epoch = epoch;
  r.iterations = 10 * epoch;
  r.loss = 0.25 / epoch;
  r.validationDice = 0.8125;
  // Not in alphabetical order: the JSON form must keep the cases' order.
  r.validationCases = { "case9", "case10" };
  r.validationDicePerCase = { 0.75, 0.875 };
  r.learningRate = 1e-3;
  r.seconds = 12.5;
  r.dataSeconds = 1.5;
  r.validationSeconds = 2.5;
  r.best = epoch == 1;
  return r;
}
} // namespace

TEST(LearningRateScheduler, PolyFallsFromTheRateToZeroOverTheRun)
{
  const anunet::LearningRateScheduler poly(scheduleOptions(anunet::LearningRateSchedule::Poly), 10);
  EXPECT_DOUBLE_EQ(poly.rateAt(0), 0.01);
  EXPECT_DOUBLE_EQ(poly.rateAt(20), 0.01 * std::pow(0.5, 0.9));
  EXPECT_DOUBLE_EQ(poly.rateAt(40), 0.0);
  EXPECT_DOUBLE_EQ(poly.rateAt(50), 0.0); // epochs grown on resume past the planned end: never negative
  EXPECT_GT(poly.rateAt(19), poly.rateAt(20));
}

TEST(LearningRateScheduler, PlateauCutsAfterThePatienceAndConstantNever)
{
  anunet::LearningRateScheduler plateau(scheduleOptions(anunet::LearningRateSchedule::Plateau), 10);
  plateau.endEpoch(0.5, 0.6, true);
  plateau.endEpoch(0.5, 0.6, true); // one epoch without improvement
  EXPECT_DOUBLE_EQ(plateau.rateAt(30), 0.01);
  plateau.endEpoch(0.5, 0.59, true); // two: cut
  EXPECT_DOUBLE_EQ(plateau.rateAt(30), 0.005);
  plateau.endEpoch(0.5, 0.7, true); // an improvement resets the count
  plateau.endEpoch(0.5, 0.7, true);
  EXPECT_DOUBLE_EQ(plateau.rateAt(50), 0.005);

  // Without validation the training loss is watched: a falling loss is an improvement.
  anunet::LearningRateScheduler byLoss(scheduleOptions(anunet::LearningRateSchedule::Plateau), 10);
  for (const double loss : { 0.9, 0.8, 0.7, 0.6 })
  {
    byLoss.endEpoch(loss, -1.0, false);
  }
  EXPECT_DOUBLE_EQ(byLoss.rateAt(40), 0.01);

  anunet::LearningRateScheduler constant(scheduleOptions(anunet::LearningRateSchedule::Constant), 10);
  for (int epoch = 0; epoch < 5; ++epoch)
  {
    constant.endEpoch(0.5, 0.5, true);
  }
  EXPECT_DOUBLE_EQ(constant.rateAt(0), 0.01);
  EXPECT_DOUBLE_EQ(constant.rateAt(39), 0.01);
}

TEST(LearningRateScheduler, StateRoundTripContinuesTheSchedule)
{
  const auto                    options = scheduleOptions(anunet::LearningRateSchedule::Plateau);
  anunet::LearningRateScheduler first(options, 10);
  anunet::LearningRateScheduler fresh(options, 10);
  fresh.loadState(first.state()); // an unset best (minus infinity) is stored as null
  first.endEpoch(0.5, 0.6, true);
  first.endEpoch(0.5, 0.6, true);
  anunet::LearningRateScheduler resumed(options, 10);
  resumed.loadState(first.state());
  first.endEpoch(0.5, 0.6, true);
  resumed.endEpoch(0.5, 0.6, true);
  EXPECT_DOUBLE_EQ(resumed.rateAt(30), 0.005);
  EXPECT_DOUBLE_EQ(resumed.rateAt(30), first.rateAt(30));
  EXPECT_THROW(resumed.loadState(nlohmann::json::object()), nlohmann::json::exception);
}

TEST(VolumeDice, CountsOverTheWholeVolumeWhateverTheChunks)
{
  // Two slices of 2 x 2: class 1 predicted on 3 voxels, true on 2, overlapping on 2; class 2 absent from both.
  const auto         prediction = torch::tensor({ 1, 1, 0, 0, 1, 0, 0, 0 }, torch::kByte).view({ 2, 2, 2 });
  const auto         truth = torch::tensor({ 1, 0, 0, 0, 1, 0, 0, 0 }, torch::kByte).view({ 2, 2, 2 });
  anunet::VolumeDice whole(3);
  whole.add(prediction, truth);
  const double expected = (2.0 * 2 / (3 + 2) + 1.0) / 2.0;
  EXPECT_DOUBLE_EQ(whole.meanForeground(), expected);

  anunet::VolumeDice chunked(3);
  chunked.add(prediction.narrow(0, 0, 1), truth.narrow(0, 0, 1));
  chunked.add(prediction.narrow(0, 1, 1), truth.narrow(0, 1, 1));
  EXPECT_DOUBLE_EQ(chunked.meanForeground(), expected);

  anunet::VolumeDice missed(2);
  missed.add(torch::zeros({ 1, 2, 2 }, torch::kByte), torch::ones({ 1, 2, 2 }, torch::kByte));
  EXPECT_DOUBLE_EQ(missed.meanForeground(), 0.0);
  EXPECT_THROW(anunet::VolumeDice(1), c10::Error);
}

TEST(VolumeDice, PredictedClassesFromSigmoidAndSoftmaxLogits)
{
  const auto sigmoid = anunet::predictedClasses(torch::tensor({ -1.0f, 2.0f }).view({ 1, 1, 1, 2 }));
  EXPECT_TRUE(sigmoid.equal(torch::tensor({ 0, 1 }, torch::kByte).view({ 1, 1, 2 })));
  const auto softmax =
    anunet::predictedClasses(torch::tensor({ 0.0f, 1.0f, 3.0f, 0.0f, 2.0f, 0.5f }).view({ 1, 3, 1, 2 }));
  EXPECT_TRUE(softmax.equal(torch::tensor({ 1, 0 }, torch::kByte).view({ 1, 1, 2 })));
}

TEST(EpochRecordJson, RoundTripsAndKeepsTheCasesOrder)
{
  const auto record = sampleRecord(3);
  const auto text = anunet::toJson(record);
  EXPECT_LT(text.find("\"case9\""), text.find("\"case10\"")) << text;
  EXPECT_EQ(text.rfind("{\"epoch\":3,", 0), 0U) << text;
  EXPECT_EQ(anunet::epochRecordFromJson(text), record);
  EXPECT_THROW(anunet::epochRecordFromJson("{\"epoch\":1}"), std::invalid_argument);
  EXPECT_THROW(anunet::epochRecordFromJson("[1, 2]"), std::invalid_argument);
  EXPECT_THROW(anunet::epochRecordFromJson("not json"), std::invalid_argument);
}

TEST(ResumeState, RoundTripsAndRefusesOtherOptionsNamingThem)
{
  anunet::TrainingOptions options;
  options.seed = 11;
  anunet::LearningRateScheduler schedule(options, 5);
  anunet::ResumeState           state;
  state.epoch = 2;
  state.iterations = 13;
  state.bestDice = 0.5;
  state.bestEpoch = 1;
  state.stepInEpoch = 3;
  state.epochLossSum = 1.25;
  state.schedule = schedule.state();
  state.sampler = "sampler-state";
  state.augmenter = "augmenter-state";
  state.history = { sampleRecord(1), sampleRecord(2) };
  const auto text = state.toJson(options);

  const auto back = anunet::ResumeState::fromJson(text, options, "last.pt");
  EXPECT_EQ(back.epoch, 2);
  EXPECT_EQ(back.iterations, 13);
  EXPECT_EQ(back.bestEpoch, 1);
  EXPECT_EQ(back.stepInEpoch, 3);
  EXPECT_DOUBLE_EQ(back.epochLossSum, 1.25);
  EXPECT_EQ(back.schedule, state.schedule);
  EXPECT_EQ(back.sampler, "sampler-state");
  EXPECT_EQ(back.history, state.history);

  auto more = options;
  more.epochs = 50; // epochs may grow, threads and paths change
  more.threads = 1;
  EXPECT_NO_THROW(anunet::ResumeState::fromJson(text, more, "last.pt"));
  auto other = options;
  other.optimizer = anunet::Optimizer::SGD;
  try
  {
    anunet::ResumeState::fromJson(text, other, "last.pt");
    FAIL() << "a resumed run with another optimizer was accepted";
  }
  catch (const std::invalid_argument & e)
  {
    EXPECT_NE(std::string(e.what()).find("last.pt: option 'optimizer' was \"adam\""), std::string::npos) << e.what();
  }
  EXPECT_THROW(anunet::ResumeState::fromJson("{", options, "last.pt"), std::runtime_error);
  EXPECT_THROW(anunet::ResumeState::fromJson("{\"version\":7}", options, "last.pt"), std::runtime_error);
  auto truncated = nlohmann::json::parse(text);
  truncated.erase("sampler");
  EXPECT_THROW(anunet::ResumeState::fromJson(truncated.dump(), options, "last.pt"), std::runtime_error);
}

TEST(EpochLog, RestartsWithTheHistoryAndAppendsWholeLines)
{
  const auto path = std::filesystem::path(ANUNET_TEST_TEMP) / "epoch-log.jsonl";
  {
    std::ofstream stale(path);
    stale << "a line of a killed run\n";
  }
  const anunet::EpochLog log(path.string());
  log.restart({ sampleRecord(1) });
  log.append(sampleRecord(2));
  std::ifstream            in(path);
  std::string              line;
  std::vector<std::string> lines;
  while (std::getline(in, line))
  {
    lines.push_back(line);
  }
  ASSERT_EQ(lines.size(), 2U);
  EXPECT_EQ(anunet::epochRecordFromJson(lines[0]), sampleRecord(1));
  EXPECT_EQ(anunet::epochRecordFromJson(lines[1]), sampleRecord(2));
  EXPECT_NO_THROW(anunet::EpochLog("").append(sampleRecord(1))); // no path, no log
  EXPECT_THROW(anunet::EpochLog("/nonexistent/folder/log.jsonl").append(sampleRecord(1)), std::runtime_error);
}

TEST(TrainingOptionNames, RoundTripAndListTheValidOnes)
{
  for (const auto o : { anunet::Optimizer::Adam, anunet::Optimizer::SGD })
  {
    EXPECT_EQ(anunet::optimizerFromString(anunet::toString(o)), o);
  }
  for (const auto s : { anunet::LearningRateSchedule::Poly,
                        anunet::LearningRateSchedule::Plateau,
                        anunet::LearningRateSchedule::Constant })
  {
    EXPECT_EQ(anunet::scheduleFromString(anunet::toString(s)), s);
  }
  EXPECT_EQ(anunet::precisionFromString("bfloat16"), anunet::Precision::BFloat16);
  try
  {
    anunet::scheduleFromString("cosine");
    FAIL() << "no error for an unknown schedule";
  }
  catch (const std::invalid_argument & e)
  {
    EXPECT_STREQ(e.what(), "unknown schedule \"cosine\"; valid: poly, plateau, constant");
  }
  anunet::TrainingOptions bad;
  bad.optimizer = static_cast<anunet::Optimizer>(7);
  EXPECT_THROW(bad.validate(), std::invalid_argument);
}
