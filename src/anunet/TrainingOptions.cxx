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

#include "Json.h"
#include "Losses.h"

#include <nlohmann/json.hpp>

#include <array>
#include <cmath>
#include <sstream>
#include <stdexcept>
#include <utility>

namespace anunet
{

namespace
{
/** One table per enum gives both directions of the names and the list for messages. */
template <typename Enum, size_t N>
std::string
nameOf(const std::array<std::pair<Enum, const char *>, N> & names, Enum value, const char * what)
{
  for (const auto & [entry, name] : names)
  {
    if (entry == value)
    {
      return name;
    }
  }
  throw std::invalid_argument(std::string("unknown ") + what + " value " + std::to_string(static_cast<int>(value)));
}

template <typename Enum, size_t N>
Enum
valueOf(const std::array<std::pair<Enum, const char *>, N> & names, const std::string & text, const char * what)
{
  std::string valid;
  for (const auto & [entry, name] : names)
  {
    if (text == name)
    {
      return entry;
    }
    valid += (valid.empty() ? "" : ", ") + std::string(name);
  }
  throw std::invalid_argument(std::string("unknown ") + what + " \"" + text + "\"; valid: " + valid);
}

constexpr std::array<std::pair<Optimizer, const char *>, 2>            optimizerNames{ {
             { Optimizer::Adam, "adam" },
             { Optimizer::SGD, "sgd" },
} };
constexpr std::array<std::pair<LearningRateSchedule, const char *>, 3> scheduleNames{ {
  { LearningRateSchedule::Poly, "poly" },
  { LearningRateSchedule::Plateau, "plateau" },
  { LearningRateSchedule::Constant, "constant" },
} };
constexpr std::array<std::pair<Precision, const char *>, 2>            precisionNames{ {
             { Precision::Float32, "float32" },
             { Precision::BFloat16, "bfloat16" },
} };
} // namespace

std::string
toString(Optimizer optimizer)
{
  return nameOf(optimizerNames, optimizer, "optimizer");
}

Optimizer
optimizerFromString(const std::string & name)
{
  return valueOf(optimizerNames, name, "optimizer");
}

std::string
toString(LearningRateSchedule schedule)
{
  return nameOf(scheduleNames, schedule, "schedule");
}

LearningRateSchedule
scheduleFromString(const std::string & name)
{
  return valueOf(scheduleNames, name, "schedule");
}

std::string
toString(Precision precision)
{
  return nameOf(precisionNames, precision, "precision");
}

Precision
precisionFromString(const std::string & name)
{
  return valueOf(precisionNames, name, "precision");
}

void
AugmentationOptions::validate() const
{
  const auto require = [](bool condition, const char * key, const std::string & rule, double value) {
    if (!condition)
    {
      std::ostringstream got;
      got << value;
      throw std::invalid_argument(std::string("augmentation (training.augmentation.") + key + "): " + key + " " + rule +
                                  ", got " + got.str());
    }
  };
  require(rotationDegrees >= 0 && rotationDegrees <= 180, "rotation", "must lie in [0, 180] degrees", rotationDegrees);
  require(scaling >= 0 && scaling < 1, "scaling", "must lie in [0, 1)", scaling);
  require(intensityScale >= 0 && intensityScale < 1, "intensity_scale", "must lie in [0, 1)", intensityScale);
  require(intensityShift >= 0 && std::isfinite(intensityShift), "intensity_shift", "must be >= 0", intensityShift);
  require(noise >= 0 && std::isfinite(noise), "noise", "must be >= 0", noise);
  require(blur == 0 || (blur >= 0.5 && blur <= 4), "blur", "must be 0 (off) or lie in [0.5, 4] pixels", blur);
  require(contrast >= 0 && contrast < 1, "contrast", "must lie in [0, 1)", contrast);
  require(lowResolution >= 0 && lowResolution <= 3, "low_resolution", "must lie in [0, 3]", lowResolution);
  require(gamma >= 0 && gamma <= 3, "gamma", "must lie in [0, 3]", gamma);
  for (const auto & [key, p] : { std::pair{ "noise_probability", noiseProbability },
                                 std::pair{ "blur_probability", blurProbability },
                                 std::pair{ "contrast_probability", contrastProbability },
                                 std::pair{ "low_resolution_probability", lowResolutionProbability },
                                 std::pair{ "gamma_probability", gammaProbability } })
  {
    require(p >= 0 && p <= 1, key, "must lie in [0, 1]", p);
  }
}

void
TrainingOptions::validate() const
{
  network.validate();
  auto require = [](bool condition, const std::string & message) {
    if (!condition)
    {
      throw std::invalid_argument("training options: " + message);
    }
  };
  const auto multiple = [](int size) { return size >= SpatialMultiple && size % SpatialMultiple == 0; };
  require(multiple(preprocessing.width) && multiple(preprocessing.height),
          "the network's slice size (preprocessing.size) must be a positive multiple of " +
            std::to_string(SpatialMultiple) + " in both directions, got " + std::to_string(preprocessing.width) +
            " x " + std::to_string(preprocessing.height));
  require(epochs >= 1, "epochs must be >= 1, got " + std::to_string(epochs));
  require(iterationsPerEpoch >= 0,
          "iterations per epoch (iterations_per_epoch) must be >= 0 (0: one pass over the slices)");
  require(batchSize >= 1, "batch size (batch_size) must be >= 1, got " + std::to_string(batchSize));
  require(learningRate > 0 && std::isfinite(learningRate), "learning rate (learning_rate) must be positive");
  require(weightDecay >= 0, "weight decay (weight_decay) must be >= 0");
  toString(optimizer); // throws for a value outside the enum (a cast from an integer)
  toString(schedule);
  try
  {
    Model::checkDevice(device);
    Model::checkPrecision(precision, device);
  }
  catch (const std::exception & e)
  {
    throw std::invalid_argument("training options: " + std::string(e.what()));
  }
  require(polyPower >= 0, "poly power (poly_power) must be >= 0");
  require(plateauPatience >= 1, "plateau patience (plateau_patience) must be >= 1");
  require(plateauFactor > 0 && plateauFactor < 1, "plateau factor (plateau_factor) must lie in (0, 1)");
  require(earlyStoppingPatience >= 0, "early-stopping patience (early_stopping) must be >= 0 (0: off)");
  require(threads >= 0, "threads must be >= 0 (0: all hardware threads)");
  require(foregroundFraction >= 0 && foregroundFraction <= 1,
          "foreground fraction (foreground_fraction) must lie in [0, 1]");
  makeLoss(loss); // throws for an unknown name, listing the valid ones
  try
  {
    augmentation.validate();
  }
  catch (const std::invalid_argument & e)
  {
    throw std::invalid_argument("training options: " + std::string(e.what()));
  }
  distributed.validate();
  require(batchSize % distributed.worldSize == 0,
          "the batch size (" + std::to_string(batchSize) + ", the global batch) must be a multiple of the " +
            std::to_string(distributed.worldSize) + " ranks, so that every rank trains on an equal share");
}

bool
EpochRecord::operator==(const EpochRecord & other) const
{
  return epoch == other.epoch && iterations == other.iterations && loss == other.loss &&
         validationDice == other.validationDice && validationCases == other.validationCases &&
         validationDicePerCase == other.validationDicePerCase && learningRate == other.learningRate &&
         seconds == other.seconds && dataSeconds == other.dataSeconds && validationSeconds == other.validationSeconds &&
         communicationSeconds == other.communicationSeconds && best == other.best;
}

void
to_json(nlohmann::ordered_json & j, const EpochRecord & r)
{
  nlohmann::ordered_json perCase = nlohmann::ordered_json::object();
  for (size_t i = 0; i < r.validationDicePerCase.size(); ++i)
  {
    // A record made without names (by hand) still has a key per case.
    perCase[i < r.validationCases.size() ? r.validationCases[i] : "case" + std::to_string(i)] =
      r.validationDicePerCase[i];
  }
  j = nlohmann::ordered_json{ { "epoch", r.epoch },
                              { "iterations", r.iterations },
                              { "loss", r.loss },
                              { "val_dice", r.validationDice },
                              { "per_case_dice", perCase },
                              { "lr", r.learningRate },
                              { "seconds", r.seconds },
                              { "data_seconds", r.dataSeconds },
                              { "validation_seconds", r.validationSeconds },
                              { "communication_seconds", r.communicationSeconds },
                              { "best", r.best } };
}

void
from_json(const nlohmann::ordered_json & j, EpochRecord & r)
{
  try
  {
    r.epoch = json::integer<int>(j.at("epoch"), "epoch");
    r.iterations = json::integer<int64_t>(j.at("iterations"), "iterations");
    r.loss = j.at("loss").get<double>();
    r.validationDice = j.at("val_dice").get<double>();
    r.validationCases.clear();
    r.validationDicePerCase.clear();
    for (const auto & [name, dice] : j.at("per_case_dice").items())
    {
      r.validationCases.push_back(name);
      r.validationDicePerCase.push_back(dice.get<double>());
    }
    r.learningRate = j.at("lr").get<double>();
    r.seconds = j.at("seconds").get<double>();
    r.dataSeconds = j.value("data_seconds", 0.0);
    r.validationSeconds = j.value("validation_seconds", 0.0);
    r.communicationSeconds = j.value("communication_seconds", 0.0);
    r.best = j.at("best").get<bool>();
  }
  catch (const nlohmann::json::exception & e)
  {
    throw std::invalid_argument(std::string("epoch record: ") + e.what());
  }
}

std::string
toJson(const EpochRecord & record)
{
  return nlohmann::ordered_json(record).dump();
}

EpochRecord
epochRecordFromJson(const std::string & text)
{
  const auto j = nlohmann::ordered_json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object())
  {
    throw std::invalid_argument("epoch record: not a JSON object");
  }
  return j.get<EpochRecord>();
}

} // namespace anunet
