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
#include "ResumeState.h"

#include "Json.h"

namespace anunet
{

namespace
{
using OrderedJson = nlohmann::ordered_json;

constexpr int StateVersion = 1;

/** What must be equal for a resumed run to continue the interrupted one (epochs may grow; paths, threads
 * and early stopping may change). Names as in configs, so that a message names the option a user set. */
OrderedJson
fingerprint(const TrainingOptions & o)
{
  const auto & a = o.augmentation;
  OrderedJson  augmentation{ a.enabled, a.flips, a.rotationDegrees, a.scaling, a.intensityScale, a.intensityShift };
  if (a.changesIntensityAfterGeometry()) // only then, so that runs from before these options still resume
  {
    for (const double value : { a.noise,
                                a.noiseProbability,
                                a.blur,
                                a.blurProbability,
                                a.contrast,
                                a.contrastProbability,
                                a.lowResolution,
                                a.lowResolutionProbability,
                                a.gamma,
                                a.gammaProbability })
    {
      augmentation.push_back(value);
    }
  }
  OrderedJson fields{ { "loss", o.loss },
                      { "head_weights", o.headWeights },
                      { "optimizer", toString(o.optimizer) },
                      { "learning_rate", o.learningRate },
                      { "weight_decay", o.weightDecay },
                      { "momentum", o.momentum },
                      { "schedule", toString(o.schedule) },
                      { "poly_power", o.polyPower },
                      { "plateau_patience", o.plateauPatience },
                      { "plateau_factor", o.plateauFactor },
                      { "iterations_per_epoch", o.iterationsPerEpoch },
                      { "batch_size", o.batchSize },
                      { "foreground_fraction", o.foregroundFraction },
                      { "augmentation", augmentation },
                      { "precision", toString(o.precision) },
                      { "seed", o.seed } };
  return fields;
}

void
checkSameOptions(const OrderedJson & stored, const TrainingOptions & options, const std::string & file)
{
  const OrderedJson expected = fingerprint(options); // a named object: items() only refers to it
  for (const auto & item : expected.items())
  {
    if (!stored.contains(item.key()) || stored.at(item.key()) != item.value())
    {
      throw std::invalid_argument(file + ": option '" + item.key() + "' was " +
                                  (stored.contains(item.key()) ? stored.at(item.key()).dump() : "absent") +
                                  " in the interrupted run, now " + item.value().dump() +
                                  "; a resumed run must use the same options (only epochs may grow)");
    }
  }
}
} // namespace

std::string
ResumeState::toJson(const TrainingOptions & options) const
{
  OrderedJson state{ { "version", StateVersion },      { "options", fingerprint(options) }, { "epoch", epoch },
                     { "iterations", iterations },     { "best_dice", bestDice },           { "best_epoch", bestEpoch },
                     { "step_in_epoch", stepInEpoch }, { "epoch_loss_sum", epochLossSum },  { "sampler", sampler },
                     { "augmenter", augmenter } };
  // The schedule's keys sit at the top level, where version 1 of the state has always kept them.
  for (const auto & [key, value] : schedule.items())
  {
    state[key] = value;
  }
  state["history"] = history;
  return state.dump();
}

ResumeState
ResumeState::fromJson(const std::string & text, const TrainingOptions & options, const std::string & file)
{
  const auto state = OrderedJson::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!state.is_object())
  {
    throw std::runtime_error(file + ": the training state is corrupt (not a JSON object)");
  }
  if (state.value("version", 0) != StateVersion)
  {
    throw std::runtime_error(file + ": unsupported trainer-state version");
  }
  const auto stored = state.find("options");
  if (stored == state.end() || !stored->is_object())
  {
    throw std::runtime_error(file + ": unreadable trainer state: it records no options");
  }
  checkSameOptions(*stored, options, file);
  try
  {
    ResumeState r;
    r.epoch = json::integer<int>(state.at("epoch"), "epoch");
    r.iterations = json::integer<int64_t>(state.at("iterations"), "iterations");
    r.bestDice = state.at("best_dice").get<double>();
    r.bestEpoch = json::integer<int>(state.at("best_epoch"), "best_epoch");
    r.stepInEpoch = state.value("step_in_epoch", int64_t{ 0 });
    r.epochLossSum = state.value("epoch_loss_sum", 0.0);
    r.schedule = { { "learning_rate", state.at("learning_rate") },
                   { "plateau_best", state.at("plateau_best") },
                   { "plateau_bad_epochs", state.at("plateau_bad_epochs") } };
    r.sampler = state.at("sampler").get<std::string>();
    r.augmenter = state.at("augmenter").get<std::string>();
    for (const auto & record : state.at("history"))
    {
      r.history.push_back(record.get<EpochRecord>());
    }
    return r;
  }
  catch (const nlohmann::json::exception & e)
  {
    throw std::runtime_error(file + ": unreadable trainer state: " + e.what());
  }
  catch (const std::invalid_argument & e) // a history entry (EpochRecord's from_json)
  {
    throw std::runtime_error(file + ": unreadable trainer state: " + e.what());
  }
}

} // namespace anunet
