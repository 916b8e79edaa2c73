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

#include "Augmentation.h"
#include "Checkpoint.h"
#include "Distributed.h"
#include "Losses.h"
#include "ModelImpl.h"
#include "SliceSampler.h"

#include <ATen/Context.h>
#include <ATen/Parallel.h>
#include <ATen/autocast_mode.h>
#include <c10/core/InferenceMode.h>
#include <torch/optim/adam.h>
#include <torch/optim/sgd.h>
#include <torch/utils.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace anunet
{
namespace
{

using Clock = std::chrono::steady_clock;
using Json = nlohmann::json;

/** Archive entries the trainer adds to a checkpoint (besides the network and the metadata). */
constexpr const char * StateKey = "anunet_trainer_state";
constexpr const char * OptimizerKey = "anunet_optimizer";
constexpr const char * BestWeightsKey = "anunet_best_weights";
constexpr const char * TorchGeneratorKey = "anunet_torch_generator";
constexpr int          TrainerStateVersion = 1;

/** Independent streams for the sampler and the augmenter from one user seed (splitmix64). */
uint64_t
deriveSeed(uint64_t seed, uint64_t stream)
{
  uint64_t z = seed + stream * 0x9E3779B97F4A7C15ULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

std::string
isoTimeNow()
{
  const std::time_t now = std::time(nullptr);
  std::tm           utc{};
  gmtime_r(&now, &utc);
  char text[32];
  std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

double
secondsSince(Clock::time_point start)
{
  return std::chrono::duration<double>(Clock::now() - start).count();
}

/** Sets LibTorch's process-wide settings for a run and restores the caller's afterwards. */
class GlobalSettingsGuard
{
public:
  explicit GlobalSettingsGuard(int threads)
    : m_Threads(at::get_num_threads())
    , m_Deterministic(at::globalContext().deterministicAlgorithms())
    , m_DeterministicWarnOnly(at::globalContext().deterministicAlgorithmsWarnOnly())
  {
    const int wanted = threads > 0 ? threads : static_cast<int>(std::max(1U, std::thread::hardware_concurrency()));
    at::set_num_threads(wanted);
    // Warn-only: an operator without a deterministic CPU kernel should not abort a training run.
    at::globalContext().setDeterministicAlgorithms(true, /*warn_only=*/true);
  }
  ~GlobalSettingsGuard()
  {
    at::set_num_threads(m_Threads);
    at::globalContext().setDeterministicAlgorithms(m_Deterministic, m_DeterministicWarnOnly);
  }
  GlobalSettingsGuard(const GlobalSettingsGuard &) = delete;
  GlobalSettingsGuard &
  operator=(const GlobalSettingsGuard &) = delete;

private:
  int  m_Threads;
  bool m_Deterministic;
  bool m_DeterministicWarnOnly;
};

/** CPU autocast to bfloat16 for one forward pass; its cache of cast weights is dropped at the end, since
 * the optimiser changes the weights before the next pass. */
class AutocastGuard
{
public:
  AutocastGuard()
    : m_Dtype(at::autocast::get_autocast_cpu_dtype())
  {
    at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
    at::autocast::set_cpu_enabled(true);
    at::autocast::increment_nesting();
  }
  ~AutocastGuard()
  {
    if (at::autocast::decrement_nesting() == 0)
    {
      at::autocast::clear_cache();
    }
    at::autocast::set_cpu_enabled(false);
    at::autocast::set_autocast_cpu_dtype(m_Dtype);
  }
  AutocastGuard(const AutocastGuard &) = delete;
  AutocastGuard &
  operator=(const AutocastGuard &) = delete;

private:
  at::ScalarType m_Dtype;
};

void
validateOptions(const TrainingOptions & o)
{
  o.network.validate();
  auto require = [](bool condition, const std::string & message) {
    if (!condition)
    {
      throw std::invalid_argument("training options: " + message);
    }
  };
  require(o.epochs >= 1, "epochs must be >= 1, got " + std::to_string(o.epochs));
  require(o.iterationsPerEpoch >= 0, "iterationsPerEpoch must be >= 0 (0: one pass over the slices)");
  require(o.batchSize >= 1, "batch size must be >= 1, got " + std::to_string(o.batchSize));
  require(o.learningRate > 0 && std::isfinite(o.learningRate), "learning rate must be positive");
  require(o.weightDecay >= 0, "weight decay must be >= 0");
  require(o.optimizer == "adam" || o.optimizer == "sgd",
          "optimizer must be \"adam\" or \"sgd\", got \"" + o.optimizer + "\"");
  require(o.schedule == "poly" || o.schedule == "plateau" || o.schedule == "constant",
          "schedule must be \"poly\", \"plateau\" or \"constant\", got \"" + o.schedule + "\"");
  require(o.polyPower >= 0, "poly power must be >= 0");
  require(o.plateauPatience >= 1, "plateau patience must be >= 1");
  require(o.plateauFactor > 0 && o.plateauFactor < 1, "plateau factor must lie in (0, 1)");
  require(o.earlyStoppingPatience >= 0, "early-stopping patience must be >= 0 (0: off)");
  require(o.threads >= 0, "threads must be >= 0 (0: all hardware threads)");
  require(o.precision == "float32" || o.precision == "bfloat16",
          "precision must be \"float32\" or \"bfloat16\", got \"" + o.precision + "\"");
  require(o.foregroundFraction >= 0 && o.foregroundFraction <= 1, "foreground fraction must lie in [0, 1]");
  makeLoss(o.loss); // throws for an unknown name, listing the valid ones
  o.distributed.validate();
  require(o.batchSize % o.distributed.worldSize == 0,
          "the batch size (" + std::to_string(o.batchSize) + ", the global batch) must be a multiple of the " +
            std::to_string(o.distributed.worldSize) + " ranks, so that every rank trains on an equal share");
}

/** What must be equal for a resumed run to continue the interrupted one (epochs may grow; paths,
 * threads and early stopping may change). */
Json
resumeFingerprint(const TrainingOptions & o)
{
  const auto & a = o.augmentation;
  return Json{ { "loss", o.loss },
               { "head_weights", o.headWeights },
               { "optimizer", o.optimizer },
               { "learning_rate", o.learningRate },
               { "weight_decay", o.weightDecay },
               { "momentum", o.momentum },
               { "schedule", o.schedule },
               { "poly_power", o.polyPower },
               { "plateau_patience", o.plateauPatience },
               { "plateau_factor", o.plateauFactor },
               { "iterations_per_epoch", o.iterationsPerEpoch },
               { "batch_size", o.batchSize },
               { "foreground_fraction", o.foregroundFraction },
               { "augmentation",
                 { a.enabled, a.flips, a.rotationDegrees, a.scaling, a.intensityScale, a.intensityShift } },
               { "precision", o.precision },
               { "seed", o.seed } };
}

Json
toJson(const EpochRecord & r)
{
  return Json{ { "epoch", r.epoch },
               { "iterations", r.iterations },
               { "loss", r.loss },
               { "val_dice", r.validationDice },
               { "per_case_dice", r.validationDicePerCase },
               { "lr", r.learningRate },
               { "seconds", r.seconds },
               { "data_seconds", r.dataSeconds },
               { "validation_seconds", r.validationSeconds },
               { "communication_seconds", r.communicationSeconds },
               { "best", r.best } };
}

EpochRecord
epochRecordFromJson(const Json & j)
{
  EpochRecord r;
  r.epoch = j.at("epoch").get<int>();
  r.iterations = j.at("iterations").get<int64_t>();
  r.loss = j.at("loss").get<double>();
  r.validationDice = j.at("val_dice").get<double>();
  r.validationDicePerCase = j.at("per_case_dice").get<std::vector<double>>();
  r.learningRate = j.at("lr").get<double>();
  r.seconds = j.at("seconds").get<double>();
  r.dataSeconds = j.value("data_seconds", 0.0);
  r.validationSeconds = j.value("validation_seconds", 0.0);
  r.communicationSeconds = j.value("communication_seconds", 0.0);
  r.best = j.at("best").get<bool>();
  return r;
}

/** One log.jsonl line: the record, with the per-case Dice keyed by case name. */
std::string
logLine(const EpochRecord & r, const std::vector<SliceVolume> & validation)
{
  Json line = toJson(r);
  Json perCase = Json::object();
  for (size_t i = 0; i < r.validationDicePerCase.size() && i < validation.size(); ++i)
  {
    perCase[validation[i].name] = r.validationDicePerCase[i];
  }
  line["per_case_dice"] = perCase;
  return line.dump();
}

/** A validation case as tensors that view the caller's buffers (nothing is copied or written). */
struct ValidationCase
{
  torch::Tensor image;  ///< S x C x H x W float
  torch::Tensor labels; ///< S x H x W uint8
};

std::vector<std::pair<std::string, torch::Tensor>>
namedState(torch::nn::Module & module)
{
  std::vector<std::pair<std::string, torch::Tensor>> state;
  for (const auto & p : module.named_parameters(/*recurse=*/true))
  {
    state.emplace_back(p.key(), p.value());
  }
  for (const auto & b : module.named_buffers(/*recurse=*/true))
  {
    state.emplace_back(b.key(), b.value());
  }
  return state;
}

/** What a Trainer keeps between and across calls of train(). */
struct TrainerState
{
  TrainingOptions           options;
  Trainer::ProgressCallback progress;
  Trainer::EpochCallback    epochDone;
  std::atomic<bool>         stopRequested{ false };
  std::vector<EpochRecord>  history;
  bool                      stoppedEarly = false;
  bool                      interrupted = false;
};

/** One call of Trainer::train(): everything that lives for the run. */
class TrainingRun
{
public:
  TrainingRun(TrainerState &                   owner,
              const std::vector<SliceVolume> & training,
              const std::vector<SliceVolume> & validation)
    : m_Owner(owner)
    , m_Options(owner.options)
    , m_Training(training)
    , m_Validation(validation)
  {}

  Model
  run();

private:
  void
  checkData() const;
  void
  setUp();
  void
  resume(const std::string & path);
  void
  restoreState(const std::string &                  file,
               const std::shared_ptr<Model::Impl> & impl,
               const Json &                         state,
               torch::serialize::InputArchive &     optimizer,
               torch::serialize::InputArchive *     best,
               const torch::Tensor &                generator);
  void
  makeOptimizer();
  double
  learningRateAt(int64_t iteration) const;
  void
  setLearningRate(double rate);
  /** Trains one epoch; false when a stop was requested before it completed. */
  bool
  trainEpoch(int epoch, EpochRecord & record);
  std::vector<double>
  validate();
  void
  endEpoch(EpochRecord & record);
  void
  writeCheckpoints(bool best);
  Model::Impl
  modelImpl() const;
  void
  writeLog(const std::string & line, bool truncate) const;
  std::string
  path(const char * file) const;
  /** Whether this process writes the checkpoints and the log: only rank 0 of a distributed run does. */
  bool
  writes() const;
  void
  synchroniseWeights();
  Model
  result();

  TrainerState &                   m_Owner;
  const TrainingOptions &          m_Options;
  const std::vector<SliceVolume> & m_Training;
  const std::vector<SliceVolume> & m_Validation;

  SegmentationNetwork                                m_Network;
  std::vector<torch::Tensor>                         m_Parameters;
  std::unique_ptr<torch::optim::Optimizer>           m_Optimizer;
  std::unique_ptr<SliceSampler>                      m_Sampler;
  std::unique_ptr<Augmenter>                         m_Augmenter;
  std::unique_ptr<DeepSupervisionLoss>               m_Loss;
  std::vector<ValidationCase>                        m_ValidationCases;
  std::vector<std::pair<std::string, torch::Tensor>> m_BestWeights;  ///< clones, empty before the first best epoch
  std::unique_ptr<Communicator>                      m_Communicator; ///< distributed runs only

  int64_t m_IterationsPerEpoch = 0;
  int64_t m_Iterations = 0; ///< optimiser steps done
  int     m_Epoch = 0;      ///< epochs completed
  double  m_BestDice = -1.0;
  int     m_BestEpoch = -1;
  double  m_LearningRate = 0.0; ///< the plateau schedule's current rate
  double  m_PlateauBest = -std::numeric_limits<double>::infinity();
  int     m_PlateauBadEpochs = 0;
  int64_t m_StepInEpoch = 0;             ///< steps done of an epoch that a stop interrupted
  double  m_EpochLossSum = 0.0;          ///< their losses' sum
  int64_t m_CheckpointedIterations = -1; ///< m_Iterations when last.pt was last written

  Clock::time_point m_Start = Clock::now();
  int64_t           m_IterationsThisCall = 0;
  double            m_TrainingSeconds = 0.0;
  double            m_ValidationSeconds = 0.0;
  int               m_EpochsValidated = 0;
  Clock::time_point m_EpochStart;
};

void
TrainingRun::checkData() const
{
  validateVolumes(m_Training, "training");
  if (!m_Validation.empty())
  {
    validateVolumes(m_Validation, "validation");
  }
  const auto & reference = m_Training.front();
  const int    classes = std::max(2, m_Options.network.classes);
  auto         check = [&](const SliceVolume & v, const char * role) {
    const std::string where = "case '" + v.name + "' (" + role + "): ";
    if (v.channels != m_Options.network.inputChannels)
    {
      throw std::invalid_argument(where + std::to_string(v.channels) + " image channels, the network takes " +
                                  std::to_string(m_Options.network.inputChannels));
    }
    if (v.height != reference.height || v.width != reference.width)
    {
      throw std::invalid_argument(where + "slices of " + std::to_string(v.height) + " x " + std::to_string(v.width) +
                                  ", the training slices are " + std::to_string(reference.height) + " x " +
                                  std::to_string(reference.width));
    }
    if (v.height % SpatialMultiple != 0 || v.width % SpatialMultiple != 0)
    {
      throw std::invalid_argument(where + "slices of " + std::to_string(v.height) + " x " + std::to_string(v.width) +
                                  "; the network needs multiples of " + std::to_string(SpatialMultiple));
    }
    const auto high = *std::max_element(v.labels.begin(), v.labels.end());
    if (high >= classes)
    {
      throw std::invalid_argument(where + "label value " + std::to_string(high) + ", but the network has " +
                                  std::to_string(m_Options.network.classes) + " output class(es): labels must be " +
                                  "class indices 0.." + std::to_string(classes - 1));
    }
  };
  for (const auto & v : m_Training)
  {
    check(v, "training");
  }
  for (const auto & v : m_Validation)
  {
    check(v, "validation");
  }
}

void
TrainingRun::makeOptimizer()
{
  const auto parameters = m_Network->parameters();
  m_Parameters = parameters;
  if (m_Options.optimizer == "adam")
  {
    m_Optimizer = std::make_unique<torch::optim::Adam>(
      parameters, torch::optim::AdamOptions(m_Options.learningRate).weight_decay(m_Options.weightDecay));
  }
  else
  {
    m_Optimizer = std::make_unique<torch::optim::SGD>(parameters,
                                                      torch::optim::SGDOptions(m_Options.learningRate)
                                                        .momentum(m_Options.momentum)
                                                        .weight_decay(m_Options.weightDecay));
  }
}

void
TrainingRun::setUp()
{
  m_IterationsPerEpoch = m_Options.iterationsPerEpoch > 0 ? m_Options.iterationsPerEpoch : [&] {
    int64_t slices = 0;
    for (const auto & v : m_Training)
    {
      slices += v.slices;
    }
    return (slices + m_Options.batchSize - 1) / m_Options.batchSize;
  }();
  m_Sampler = std::make_unique<SliceSampler>(m_Training, m_Options.foregroundFraction, deriveSeed(m_Options.seed, 1));
  m_Augmenter = std::make_unique<Augmenter>(m_Options.augmentation, deriveSeed(m_Options.seed, 2));
  m_Loss = std::make_unique<DeepSupervisionLoss>(makeLoss(m_Options.loss), m_Options.headWeights);
  m_LearningRate = m_Options.learningRate;
  for (const auto & v : m_Validation)
  {
    auto * image = const_cast<float *>(v.image.data());
    auto * labels = const_cast<uint8_t *>(v.labels.data());
    m_ValidationCases.push_back({ torch::from_blob(image, { v.slices, v.channels, v.height, v.width }, torch::kFloat),
                                  torch::from_blob(labels, { v.slices, v.height, v.width }, torch::kByte) });
  }

  if (!m_Options.resumeFrom.empty())
  {
    resume(m_Options.resumeFrom);
  }
  else
  {
    torch::manual_seed(m_Options.seed);
    m_Network = makeNetwork(m_Options.network);
    makeOptimizer();
  }
  if (writes())
  {
    std::error_code error;
    std::filesystem::create_directories(m_Options.outputDirectory, error);
    if (error)
    {
      throw std::runtime_error(m_Options.outputDirectory + ": cannot create the output directory: " + error.message());
    }
    removeStaleTemporaryFiles(m_Options.outputDirectory);
    // A fresh run starts a fresh log; a resumed one rewrites what its checkpoint knows, so a line written
    // after that checkpoint (by a run that then died) does not stay twice.
    writeLog("", /*truncate=*/true);
    for (const auto & r : m_Owner.history)
    {
      writeLog(logLine(r, m_Validation), false);
    }
  }
}

void
TrainingRun::resume(const std::string & file)
{
  Json                               state;
  auto                               optimizer = std::make_shared<torch::serialize::InputArchive>();
  auto                               best = std::make_shared<torch::serialize::InputArchive>();
  torch::Tensor                      generator;
  const std::shared_ptr<Model::Impl> impl = readCheckpoint(file, [&](torch::serialize::InputArchive & a) {
    c10::IValue text;
    if (!a.try_read(StateKey, text) || !text.isString())
    {
      throw std::runtime_error(file + ": not a trainer checkpoint (no training state; is it a best.pt or an "
                                      "exported model? resume from last.pt)");
    }
    state = Json::parse(text.toStringRef(), nullptr, /*allow_exceptions=*/false);
    if (state.is_discarded())
    {
      throw std::runtime_error(file + ": the training state is corrupt (not JSON)");
    }
    if (!a.try_read(OptimizerKey, *optimizer))
    {
      throw std::runtime_error(file + ": the optimiser state is missing");
    }
    if (!a.try_read(BestWeightsKey, *best))
    {
      best.reset();
    }
    a.try_read(TorchGeneratorKey, generator);
  });
  try
  {
    restoreState(file, impl, state, *optimizer, best.get(), generator);
  }
  catch (const Json::exception & e)
  {
    throw std::runtime_error(file + ": unreadable trainer state: " + e.what());
  }
}

void
TrainingRun::restoreState(const std::string &                  file,
                          const std::shared_ptr<Model::Impl> & impl,
                          const Json &                         state,
                          torch::serialize::InputArchive &     optimizer,
                          torch::serialize::InputArchive *     best,
                          const torch::Tensor &                generator)
{
  if (state.value("version", 0) != TrainerStateVersion)
  {
    throw std::runtime_error(file + ": unsupported trainer-state version");
  }
  if (impl->options != m_Options.network)
  {
    throw std::invalid_argument(file + ": the checkpoint's network (" + toString(impl->options.architecture) +
                                ", its widths and classes) differs from the options given; resume with the same "
                                "network options");
  }
  const Json expected = resumeFingerprint(m_Options);
  const Json stored = state.at("options");
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

  m_Network = impl->network;
  makeOptimizer();
  m_Optimizer->load(optimizer);
  m_Sampler->loadState(state.at("sampler").get<std::string>());
  m_Augmenter->loadState(state.at("augmenter").get<std::string>());
  if (generator.defined())
  {
    at::Generator cpu = at::detail::getDefaultCPUGenerator(); // a handle: sets the global generator
    cpu.set_state(generator);
  }
  m_Epoch = state.at("epoch").get<int>();
  m_Iterations = state.at("iterations").get<int64_t>();
  m_BestDice = state.at("best_dice").get<double>();
  m_BestEpoch = state.at("best_epoch").get<int>();
  m_LearningRate = state.at("learning_rate").get<double>();
  m_PlateauBest = state.at("plateau_best").is_null() ? -std::numeric_limits<double>::infinity()
                                                     : state.at("plateau_best").get<double>();
  m_PlateauBadEpochs = state.at("plateau_bad_epochs").get<int>();
  m_StepInEpoch = state.value("step_in_epoch", int64_t{ 0 });
  m_EpochLossSum = state.value("epoch_loss_sum", 0.0);
  m_CheckpointedIterations = m_Iterations;
  if (m_StepInEpoch < 0 || m_StepInEpoch >= m_IterationsPerEpoch)
  {
    throw std::runtime_error(file + ": the training state stopped at step " + std::to_string(m_StepInEpoch) +
                             " of an epoch of " + std::to_string(m_IterationsPerEpoch));
  }
  m_Owner.history.clear();
  for (const auto & r : state.at("history"))
  {
    m_Owner.history.push_back(epochRecordFromJson(r));
  }
  if (best)
  {
    for (const auto & [name, tensor] : namedState(*m_Network))
    {
      torch::Tensor stored;
      if (!best->try_read(name, stored))
      {
        throw std::runtime_error(file + ": best weights lack tensor '" + name + "'");
      }
      m_BestWeights.emplace_back(name, stored);
    }
  }
}

double
TrainingRun::learningRateAt(int64_t iteration) const
{
  if (m_Options.schedule == "poly")
  {
    const double total = static_cast<double>(m_Options.epochs) * static_cast<double>(m_IterationsPerEpoch);
    const double done = std::min(1.0, static_cast<double>(iteration) / total);
    return m_Options.learningRate * std::pow(1.0 - done, m_Options.polyPower);
  }
  return m_LearningRate; // "plateau" changes it between epochs; "constant" never
}

void
TrainingRun::setLearningRate(double rate)
{
  for (auto & group : m_Optimizer->param_groups())
  {
    group.options().set_lr(rate);
  }
}

bool
TrainingRun::trainEpoch(int epoch, EpochRecord & record)
{
  m_Network->train();
  const int64_t total = static_cast<int64_t>(m_Options.epochs) * m_IterationsPerEpoch;
  double        lossSum = m_EpochLossSum; // a resumed run may start in the middle of an epoch
  for (int64_t i = m_StepInEpoch; i < m_IterationsPerEpoch; ++i)
  {
    // A stop asked of one rank (a signal to rank 0, say) stops all of them at the same step.
    const bool stop = m_Communicator ? m_Communicator->any(m_Owner.stopRequested.load()) : m_Owner.stopRequested.load();
    if (stop)
    {
      m_StepInEpoch = i;
      m_EpochLossSum = lossSum;
      return false;
    }
    const auto stepStart = Clock::now();
    record.learningRate = learningRateAt(m_Iterations);
    setLearningRate(record.learningRate);

    // Every rank draws and augments the same global batch (the generators stay in step, and a resumed run
    // of any world size continues the same sequence), then trains on its share.
    auto batch = m_Sampler->next(m_Options.batchSize);
    m_Augmenter->apply(batch.images, batch.labels);
    if (m_Communicator)
    {
      const int64_t share = m_Options.batchSize / m_Communicator->size();
      batch.images = batch.images.narrow(0, share * m_Communicator->rank(), share);
      batch.labels = batch.labels.narrow(0, share * m_Communicator->rank(), share);
    }
    record.dataSeconds += secondsSince(stepStart);
    const ActiveCommunicator   distributed(m_Communicator.get(), m_Options.distributed.synchronisedBatchNorm);
    std::vector<torch::Tensor> heads;
    if (m_Options.precision == "bfloat16")
    {
      const AutocastGuard autocast;
      heads = m_Network->forwardHeads(batch.images);
      for (auto & head : heads)
      {
        head = head.to(torch::kFloat); // losses in float32: bfloat16 has 8 bits of mantissa
      }
    }
    else
    {
      heads = m_Network->forwardHeads(batch.images);
    }
    const auto loss = (*m_Loss)(heads, batch.labels);
    // Dropping the gradients instead of zeroing them lets backward() hand its buffers over (no fill, no add).
    for (auto & parameter : m_Parameters)
    {
      parameter.mutable_grad().reset();
    }
    loss.backward();
    if (m_Communicator)
    {
      m_Communicator->averageGradients(m_Parameters);
    }
    m_Optimizer->step();

    const double value = loss.item<double>();
    if (!std::isfinite(value))
    {
      throw std::runtime_error("training diverged: the loss is " + std::to_string(value) + " at epoch " +
                               std::to_string(epoch) + ", iteration " + std::to_string(i + 1) +
                               "; lower the learning rate");
    }
    lossSum += value;
    ++m_Iterations;
    ++m_IterationsThisCall;
    m_TrainingSeconds += secondsSince(stepStart);
    if (m_Owner.progress)
    {
      TrainingProgress p;
      p.epoch = epoch;
      p.epochs = m_Options.epochs;
      p.iteration = m_Iterations;
      p.totalIterations = total;
      p.loss = lossSum / static_cast<double>(i + 1);
      p.secondsElapsed = secondsSince(m_Start);
      const double perStep = m_TrainingSeconds / static_cast<double>(m_IterationsThisCall);
      const double validationPerEpoch =
        m_EpochsValidated > 0 ? m_ValidationSeconds / static_cast<double>(m_EpochsValidated) : 0.0;
      p.secondsRemaining = perStep * static_cast<double>(total - m_Iterations) +
                           validationPerEpoch * static_cast<double>(m_Options.epochs - epoch + 1);
      m_Owner.progress(p);
    }
  }
  record.loss = lossSum / static_cast<double>(m_IterationsPerEpoch);
  record.iterations = m_Iterations;
  m_StepInEpoch = 0;
  m_EpochLossSum = 0.0;
  if (m_Communicator)
  {
    record.communicationSeconds = m_Communicator->takeCommunicationSeconds();
  }
  return true;
}

std::vector<double>
TrainingRun::validate()
{
  std::vector<double> dice;
  if (m_ValidationCases.empty())
  {
    return dice;
  }
  const auto start = Clock::now();
  if (m_Communicator && !m_Options.distributed.synchronisedBatchNorm)
  {
    synchroniseWeights(); // every rank validates with rank 0's running statistics, the ones saved
  }
  c10::InferenceMode inference;
  m_Network->eval();
  const int64_t chunk = std::min<int64_t>(16, 2 * m_Options.batchSize);
  const int64_t classes = std::max(2, m_Options.network.classes);
  const int     ranks = m_Communicator ? m_Communicator->size() : 1;
  const int     rank = m_Communicator ? m_Communicator->rank() : 0;
  dice.assign(m_ValidationCases.size(), 0.0);
  for (size_t index = rank; index < m_ValidationCases.size(); index += ranks)
  {
    const auto & c = m_ValidationCases[index];
    // 3-D Dice per class over the whole volume: accumulate |A n G|, |A| and |G| over the slices.
    std::vector<int64_t> overlap(classes, 0), predicted(classes, 0), truth(classes, 0);
    for (int64_t s = 0; s < c.image.size(0); s += chunk)
    {
      const int64_t n = std::min(chunk, c.image.size(0) - s);
      const auto    logits = m_Network->forwardLogits(c.image.narrow(0, s, n), 0);
      const auto    prediction =
        logits.size(1) == 1 ? (logits.squeeze(1) > 0).to(torch::kByte) : logits.argmax(1).to(torch::kByte);
      const auto labels = c.labels.narrow(0, s, n);
      for (int64_t k = 1; k < classes; ++k)
      {
        const auto a = prediction == k;
        const auto g = labels == k;
        overlap[k] += (a & g).sum().item<int64_t>();
        predicted[k] += a.sum().item<int64_t>();
        truth[k] += g.sum().item<int64_t>();
      }
    }
    double sum = 0.0;
    for (int64_t k = 1; k < classes; ++k)
    {
      const int64_t denominator = predicted[k] + truth[k];
      // Both empty: nothing to find and nothing found is a perfect answer.
      sum += denominator == 0 ? 1.0 : 2.0 * static_cast<double>(overlap[k]) / static_cast<double>(denominator);
    }
    dice[index] = sum / static_cast<double>(classes - 1);
  }
  if (m_Communicator)
  {
    // Each case was scored by one rank; the others hold 0 for it.
    at::Tensor gathered = torch::tensor(dice, torch::kDouble);
    m_Communicator->allReduceSum(gathered);
    dice.assign(gathered.data_ptr<double>(), gathered.data_ptr<double>() + gathered.numel());
  }
  m_Network->train();
  m_ValidationSeconds += secondsSince(start);
  ++m_EpochsValidated;
  return dice;
}

Model::Impl
TrainingRun::modelImpl() const
{
  Model::Impl impl;
  impl.options = m_Options.network;
  impl.preprocessing = m_Options.preprocessing;
  impl.network = m_Network;
  impl.training.loss = m_Options.loss;
  impl.training.epochs = m_Epoch;
  impl.training.iterations = m_Iterations;
  impl.training.bestValidationDice = m_BestDice;
  impl.training.bestEpoch = m_BestEpoch;
  impl.training.seed = m_Options.seed;
  impl.training.created = isoTimeNow();
  impl.training.flips = m_Options.augmentation.enabled && m_Options.augmentation.flips;
  impl.threads = m_Options.threads;
  return impl;
}

std::string
TrainingRun::path(const char * file) const
{
  return (std::filesystem::path(m_Options.outputDirectory) / file).string();
}

bool
TrainingRun::writes() const
{
  return !m_Options.outputDirectory.empty() && (!m_Communicator || m_Communicator->rank() == 0);
}

void
TrainingRun::synchroniseWeights()
{
  // Seeded initialisation already agrees; this also covers a resume from files that differ between hosts.
  std::vector<torch::Tensor> state;
  for (const auto & [name, tensor] : namedState(*m_Network))
  {
    state.push_back(tensor.detach());
  }
  torch::NoGradGuard noGrad;
  m_Communicator->broadcastFromFirst(state);
}

void
TrainingRun::writeCheckpoints(bool best)
{
  if (!writes())
  {
    return;
  }
  const Model::Impl impl = modelImpl();
  if (best)
  {
    writeCheckpoint(path("best.pt"), impl);
  }
  Json state{ { "version", TrainerStateVersion },
              { "options", resumeFingerprint(m_Options) },
              { "epoch", m_Epoch },
              { "iterations", m_Iterations },
              { "best_dice", m_BestDice },
              { "best_epoch", m_BestEpoch },
              { "learning_rate", m_LearningRate },
              { "plateau_best", std::isfinite(m_PlateauBest) ? Json(m_PlateauBest) : Json() },
              { "plateau_bad_epochs", m_PlateauBadEpochs },
              { "step_in_epoch", m_StepInEpoch },
              { "epoch_loss_sum", m_EpochLossSum },
              { "sampler", m_Sampler->saveState() },
              { "augmenter", m_Augmenter->saveState() } };
  Json history = Json::array();
  for (const auto & r : m_Owner.history)
  {
    history.push_back(toJson(r));
  }
  state["history"] = history;
  writeCheckpoint(path("last.pt"), impl, [&](torch::serialize::OutputArchive & archive) {
    archive.write(StateKey, c10::IValue(state.dump()));
    torch::serialize::OutputArchive optimizer;
    m_Optimizer->save(optimizer);
    archive.write(OptimizerKey, optimizer);
    if (!m_BestWeights.empty())
    {
      torch::serialize::OutputArchive weights;
      for (const auto & [name, tensor] : m_BestWeights)
      {
        weights.write(name, tensor);
      }
      archive.write(BestWeightsKey, weights);
    }
    archive.write(TorchGeneratorKey, at::detail::getDefaultCPUGenerator().get_state());
  });
  m_CheckpointedIterations = m_Iterations;
}

void
TrainingRun::writeLog(const std::string & line, bool truncate) const
{
  if (!writes())
  {
    return;
  }
  std::ofstream log(path("log.jsonl"), truncate ? std::ios::trunc : std::ios::app);
  if (!log)
  {
    throw std::runtime_error(path("log.jsonl") + ": cannot open for writing");
  }
  if (!line.empty())
  {
    log << line << '\n';
  }
}

void
TrainingRun::endEpoch(EpochRecord & record)
{
  const auto validationStart = Clock::now();
  record.validationDicePerCase = validate();
  record.validationSeconds = secondsSince(validationStart);
  const bool withValidation = !record.validationDicePerCase.empty();
  if (withValidation)
  {
    double sum = 0.0;
    for (const double d : record.validationDicePerCase)
    {
      sum += d;
    }
    record.validationDice = sum / static_cast<double>(record.validationDicePerCase.size());
  }
  record.seconds = secondsSince(m_EpochStart);
  // Without validation the latest epoch is the best one.
  record.best = !withValidation || record.validationDice > m_BestDice;
  m_Epoch = record.epoch;
  if (record.best)
  {
    m_BestDice = record.validationDice;
    m_BestEpoch = record.epoch;
    torch::NoGradGuard noGrad;
    m_BestWeights.clear();
    for (const auto & [name, tensor] : namedState(*m_Network))
    {
      m_BestWeights.emplace_back(name, tensor.detach().clone());
    }
  }
  if (m_Options.schedule == "plateau")
  {
    const double monitored = withValidation ? record.validationDice : -record.loss;
    if (monitored > m_PlateauBest)
    {
      m_PlateauBest = monitored;
      m_PlateauBadEpochs = 0;
    }
    else if (++m_PlateauBadEpochs >= m_Options.plateauPatience)
    {
      m_LearningRate *= m_Options.plateauFactor;
      m_PlateauBadEpochs = 0;
    }
  }
  m_Owner.history.push_back(record);
  // best.pt first: a last.pt never claims a best epoch whose file is not written yet.
  writeCheckpoints(record.best);
  writeLog(logLine(record, m_Validation), false);
  if (m_Owner.epochDone)
  {
    m_Owner.epochDone(record);
  }
}

Model
TrainingRun::result()
{
  if (!m_BestWeights.empty())
  {
    torch::NoGradGuard noGrad;
    auto               current = namedState(*m_Network);
    for (size_t i = 0; i < current.size(); ++i)
    {
      current[i].second.copy_(m_BestWeights[i].second);
    }
  }
  m_Network->eval();
  auto impl = std::make_shared<Model::Impl>(modelImpl());
  impl->training.epochs = m_Epoch;
  return Model(impl);
}

Model
TrainingRun::run()
{
  checkData();
  if (m_Options.distributed.enabled())
  {
    m_Communicator = std::make_unique<Communicator>(m_Options.distributed);
  }
  setUp();
  if (m_Communicator)
  {
    synchroniseWeights();
  }
  // A stop is honoured at the next step (trainEpoch agrees on it across the ranks of a distributed run).
  for (int epoch = m_Epoch + 1; epoch <= m_Options.epochs; ++epoch)
  {
    m_EpochStart = Clock::now();
    EpochRecord record;
    record.epoch = epoch;
    if (!trainEpoch(epoch, record))
    {
      m_Owner.interrupted = true;
      if (m_Iterations != m_CheckpointedIterations)
      {
        writeCheckpoints(false); // last.pt at this step: a resumed run continues from it
      }
      break;
    }
    endEpoch(record);
    if (m_Options.earlyStoppingPatience > 0 && !m_Validation.empty() &&
        epoch - m_BestEpoch >= m_Options.earlyStoppingPatience)
    {
      m_Owner.stoppedEarly = true;
      break;
    }
  }
  return result();
}

} // namespace

struct Trainer::Impl : public TrainerState
{};

Trainer::Trainer(TrainingOptions options)
  : m_Impl(std::make_unique<Impl>())
{
  m_Impl->options = std::move(options);
}

Trainer::~Trainer() = default;

void
Trainer::setProgressCallback(ProgressCallback callback)
{
  m_Impl->progress = std::move(callback);
}

void
Trainer::setEpochCallback(EpochCallback callback)
{
  m_Impl->epochDone = std::move(callback);
}

void
Trainer::requestStop()
{
  m_Impl->stopRequested.store(true);
}

Model
Trainer::train(const std::vector<SliceVolume> & training, const std::vector<SliceVolume> & validation)
{
  validateOptions(m_Impl->options);
  GlobalSettingsGuard settings(m_Impl->options.threads);
  m_Impl->history.clear();
  m_Impl->stoppedEarly = false;
  m_Impl->interrupted = false;
  try
  {
    TrainingRun run(*m_Impl, training, validation);
    Model       model = run.run();
    m_Impl->stopRequested.store(false);
    return model;
  }
  catch (...)
  {
    m_Impl->stopRequested.store(false);
    throw;
  }
}

const std::vector<EpochRecord> &
Trainer::history() const
{
  return m_Impl->history;
}

bool
Trainer::stoppedEarly() const
{
  return m_Impl->stoppedEarly;
}

bool
Trainer::interrupted() const
{
  return m_Impl->interrupted;
}

} // namespace anunet
