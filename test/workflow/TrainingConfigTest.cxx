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
#include "InputError.h"
#include "TrainingConfig.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace
{
using anunet::workflow::InputError;
using anunet::workflow::parseTrainingConfig;

/** The message of the InputError that parsing text raises; fails the test when there is none. */
std::string
errorOf(const std::string & text)
{
  try
  {
    parseTrainingConfig(text, "test.yaml", "/data");
  }
  catch (const InputError & e)
  {
    return e.what();
  }
  ADD_FAILURE() << "no InputError for:\n" << text;
  return {};
}

bool
mentions(const std::string & message, const std::string & part)
{
  return message.find(part) != std::string::npos;
}
} // namespace

TEST(TrainingConfig, ReadsEverySectionAndResolvesPathsAgainstTheDataRoot)
{
  const auto config = parseTrainingConfig(R"(
architecture: unetpp
task: kidney
data:
  image: chaos/{id}/t2.nii.gz
  label: /abs/{id}_label.nii.gz
  train: [case1, case2]
  validation: [case3]
preprocessing: { intensity: percentile, size: [128, 96], slice_axis: 1 }
network: { filters: [8, 16, 32, 64, 128], deep_supervision: false }
training: { optimizer: sgd, learning_rate: 0.01, epochs: 3, batch_size: 2, seed: 7 }
)",
                                          "test.yaml",
                                          "/data");
  EXPECT_EQ(config.options.network.architecture, anunet::Architecture::UNetPlusPlus);
  EXPECT_EQ(config.task, "kidney");
  ASSERT_EQ(config.training.size(), 2u);
  EXPECT_EQ(config.training[1].image, "/data/chaos/case2/t2.nii.gz");
  EXPECT_EQ(config.training[1].label, "/abs/case2_label.nii.gz");
  ASSERT_EQ(config.validation.size(), 1u);
  EXPECT_EQ(config.options.preprocessing.width, 128);
  EXPECT_EQ(config.options.preprocessing.height, 96);
  EXPECT_EQ(config.options.preprocessing.sliceAxis, 1);
  EXPECT_FALSE(config.options.network.deepSupervision);
  EXPECT_EQ(config.options.optimizer, anunet::Optimizer::SGD);
  EXPECT_EQ(config.options.epochs, 3);
  EXPECT_EQ(config.options.seed, 7u);
}

TEST(TrainingConfig, SubstitutesACaseIdThatContainsThePlaceholderOnce)
{
  // Found by fuzz/ (training_config): the substitution expanded the id it had just put in, forever.
  const auto config = parseTrainingConfig(R"(
data: { image: "{id}/{id}.nii", label: "l{id}", train: ["a{id}b"] }
)",
                                          "test.yaml",
                                          "/data");
  ASSERT_EQ(config.training.size(), 1u);
  EXPECT_EQ(config.training[0].image, "/data/a{id}b/a{id}b.nii");
  EXPECT_EQ(config.training[0].label, "/data/la{id}b");
}

TEST(TrainingConfig, NamesTheFileAndKeyOfEveryProblem)
{
  EXPECT_TRUE(mentions(errorOf("archtecture: anunet\n"), "test.yaml: archtecture: unknown key"));
  EXPECT_TRUE(mentions(errorOf("training: { epochs: many }\n"), "training.epochs: has the wrong type"));
  EXPECT_TRUE(mentions(errorOf("training: { bogus: 1 }\n"), "training.bogus: unknown key"));
  EXPECT_TRUE(mentions(errorOf("data: { train: [a] }\n"), "data: needs both 'image' and 'label'"));
  EXPECT_TRUE(mentions(errorOf("architecture: vnet\n"), "architecture:"));
  EXPECT_TRUE(mentions(errorOf("training: { optimizer: lbfgs }\n"), "training.optimizer: unknown optimizer \"lbfgs\""));
  EXPECT_TRUE(mentions(errorOf("training: { precision: fp8 }\n"), "training.precision: unknown precision"));
  EXPECT_TRUE(mentions(errorOf("preprocessing: { size: [0, 64] }\n"), "preprocessing.size"));
  EXPECT_TRUE(mentions(errorOf("preprocessing: { window: [5, 1] }\n"), "preprocessing.window"));
  EXPECT_TRUE(mentions(errorOf("- a list\n- at the top\n"), "top level: expected a mapping"));
  EXPECT_TRUE(mentions(errorOf("training: [1, 2]\n"), "training: expected a mapping"));
}

TEST(TrainingConfig, RejectsMalformedDocumentsAsInputErrors)
{
  EXPECT_TRUE(mentions(errorOf("training: { epochs: [1\n"), "test.yaml: not valid YAML/JSON"));
  // A mapping used as a key: yaml-cpp refuses to convert it to a string.
  EXPECT_FALSE(errorOf("{ [a]: 1 }\n").empty());
  EXPECT_FALSE(errorOf("? { a: 1 }\n: 2\n").empty());
}

TEST(TrainingConfig, TellsAMissingFileFromAFolder)
{
  EXPECT_THROW(anunet::workflow::readTrainingConfig("/nonexistent/config.yaml", "/data"),
               anunet::workflow::MissingFileError);
  const std::filesystem::path folder = std::filesystem::path(ANUNET_TEST_TEMP) / "config-folder.yaml";
  std::filesystem::create_directories(folder);
  try
  {
    anunet::workflow::readTrainingConfig(folder.string(), "/data");
    FAIL() << "no error for a folder";
  }
  catch (const anunet::workflow::MissingFileError &)
  {
    FAIL() << "a folder is not a missing file";
  }
  catch (const InputError & e)
  {
    EXPECT_TRUE(mentions(e.what(), "is a folder")) << e.what();
  }
}

TEST(TrainingConfig, ReadsAugmentationAsASwitchOrAsItsSettings)
{
  EXPECT_FALSE(
    parseTrainingConfig("training: { augmentation: false }\n", "test.yaml", "/data").options.augmentation.enabled);
  const auto   config = parseTrainingConfig(R"(
training:
  augmentation: { rotation: 15, gamma: 0.5, noise: 0.1, blur_probability: 0.3, flips: true }
)",
                                          "test.yaml",
                                          "/data");
  const auto & a = config.options.augmentation;
  EXPECT_TRUE(a.enabled);
  EXPECT_TRUE(a.flips);
  EXPECT_EQ(a.rotationDegrees, 15);
  EXPECT_EQ(a.gamma, 0.5);
  EXPECT_EQ(a.noise, 0.1);
  EXPECT_EQ(a.blurProbability, 0.3);
  EXPECT_EQ(a.blur, 0);      // not given: off
  EXPECT_EQ(a.scaling, 0.1); // not given: the trainer's default
  EXPECT_TRUE(
    mentions(errorOf("training: { augmentation: { gama: 0.5 } }\n"), "training.augmentation.gama: unknown key"));
  EXPECT_TRUE(mentions(errorOf("training: { augmentation: { noise: lots } }\n"),
                       "training.augmentation.noise: has the wrong type"));
}
