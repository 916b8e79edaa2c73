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

#include "anunet/AtomicFile.h"

#include "Augmentation.h"
#include "Checkpoint.h"
#include "Distributed.h"
#include "EpochLog.h"
#include "LearningRateScheduler.h"
#include "Losses.h"
#include "ModelImpl.h"
#include "ResumeState.h"
#include "SliceSampler.h"
#include "TrainerCheckpoint.h"
#include "TrainingGuards.h"
#include "ValidationDice.h"

#include <c10/core/InferenceMode.h>
#include <torch/optim/adam.h>
#include <torch/optim/sgd.h>
#include <torch/utils.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <stdexcept>

namespace anunet
{
namespace
{

using Clock = std::chrono::steady_clock;

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

/** The device a rank trains on: a distributed run given "cuda" without an index puts each rank of a host on its
 * own GPU, as torchrun's LOCAL_RANK intends. */
c10::Device
trainingDevice(const TrainingOptions & options)
{
  c10::Device device(options.device);
  if (device.is_cuda() && !device.has_index() && options.distributed.enabled())
  {
    device.set_index(static_cast<c10::DeviceIndex>(options.distributed.localRank));
  }
  return device;
}

/** An optimiser's state is read onto the CPU with the rest of last.pt; it must live where its parameters do. */
void
moveOptimizerState(torch::optim::Optimizer & optimizer, const c10::Device & device)
{
  auto move = [&](const torch::Tensor & t) { return t.defined() ? t.to(device) : t; };
  for (auto & entry : optimizer.state())
  {
    if (auto * adam = dynamic_cast<torch::optim::AdamParamState *>(entry.second.get()))
    {
      adam->exp_avg(move(adam->exp_avg()));
      adam->exp_avg_sq(move(adam->exp_avg_sq()));
      adam->max_exp_avg_sq(move(adam->max_exp_avg_sq()));
    }
    else if (auto * sgd = dynamic_cast<torch::optim::SGDParamState *>(entry.second.get()))
    {
      sgd->momentum_buffer(move(sgd->momentum_buffer()));
    }
  }
}

/** A validation case as tensors that view the caller's buffers (nothing is copied or written). */
struct ValidationCase
{
  torch::Tensor image;  ///< S x C x H x W float
  torch::Tensor labels; ///< S x H x W uint8
};

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
class TrainingLoop
{
public:
  TrainingLoop(TrainerState &                   owner,
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
  setUp();
  void
  resume(const std::string & path);
  void
  makeOptimizer();
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

  c10::Device                              m_Device{ torch::kCPU };
  SegmentationNetwork                      m_Network;
  std::vector<torch::Tensor>               m_Parameters;
  std::unique_ptr<torch::optim::Optimizer> m_Optimizer;
  std::unique_ptr<SliceSampler>            m_Sampler;
  std::unique_ptr<Augmenter>               m_Augmenter;
  std::unique_ptr<DeepSupervisionLoss>     m_Loss;
  std::unique_ptr<LearningRateScheduler>   m_Schedule;
  EpochLog                                 m_Log{ {} };
  std::vector<ValidationCase>              m_ValidationCases;
  NamedTensors                             m_BestWeights;  ///< clones, empty before the first best epoch
  std::unique_ptr<Communicator>            m_Communicator; ///< distributed runs only

  int64_t m_IterationsPerEpoch = 0;
  int64_t m_Iterations = 0; ///< optimiser steps done
  int     m_Epoch = 0;      ///< epochs completed
  double  m_BestDice = -1.0;
  int     m_BestEpoch = -1;
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
TrainingLoop::makeOptimizer()
{
  const auto parameters = m_Network->parameters();
  m_Parameters = parameters;
  if (m_Options.optimizer == Optimizer::Adam)
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
TrainingLoop::setUp()
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
  m_Schedule = std::make_unique<LearningRateScheduler>(m_Options, m_IterationsPerEpoch);
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
    m_Network->to(m_Device);
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
    m_Log = EpochLog(path("log.jsonl"));
    m_Log.restart(m_Owner.history);
  }
}

void
TrainingLoop::resume(const std::string & file)
{
  const TrainerCheckpoint checkpoint = readTrainerCheckpoint(file);
  if (checkpoint.model->options != m_Options.network)
  {
    throw std::invalid_argument(file + ": the checkpoint's network (" +
                                toString(checkpoint.model->options.architecture) +
                                ", its widths and classes) differs from the options given; resume with the same "
                                "network options");
  }
  const ResumeState state = ResumeState::fromJson(checkpoint.state, m_Options, file);
  m_Network = checkpoint.model->network;
  m_Network->to(m_Device);
  makeOptimizer();
  m_Optimizer->load(*checkpoint.optimizer);
  moveOptimizerState(*m_Optimizer, m_Device);
  m_Sampler->loadState(state.sampler);
  m_Augmenter->loadState(state.augmenter);
  if (checkpoint.generator.defined())
  {
    at::Generator cpu = at::detail::getDefaultCPUGenerator(); // a handle: sets the global generator
    cpu.set_state(checkpoint.generator);
  }
  m_Epoch = state.epoch;
  m_Iterations = state.iterations;
  m_BestDice = state.bestDice;
  m_BestEpoch = state.bestEpoch;
  try
  {
    m_Schedule->loadState(state.schedule);
  }
  catch (const nlohmann::json::exception & e)
  {
    throw std::runtime_error(file + ": unreadable trainer state: " + e.what());
  }
  m_StepInEpoch = state.stepInEpoch;
  m_EpochLossSum = state.epochLossSum;
  m_CheckpointedIterations = m_Iterations;
  if (m_StepInEpoch < 0 || m_StepInEpoch >= m_IterationsPerEpoch)
  {
    throw std::runtime_error(file + ": the training state stopped at step " + std::to_string(m_StepInEpoch) +
                             " of an epoch of " + std::to_string(m_IterationsPerEpoch));
  }
  m_Owner.history = state.history;
  m_BestWeights = checkpoint.bestWeights;
}

void
TrainingLoop::setLearningRate(double rate)
{
  for (auto & group : m_Optimizer->param_groups())
  {
    group.options().set_lr(rate);
  }
}

bool
TrainingLoop::trainEpoch(int epoch, EpochRecord & record)
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
    record.learningRate = m_Schedule->rateAt(m_Iterations);
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
    if (!m_Device.is_cpu())
    {
      batch.images = batch.images.to(m_Device);
      batch.labels = batch.labels.to(m_Device);
    }
    const ActiveCommunicator   distributed(m_Communicator.get(), m_Options.distributed.synchronisedBatchNorm);
    std::vector<torch::Tensor> heads;
    if (m_Options.precision == Precision::BFloat16)
    {
      const AutocastGuard autocast(m_Device.type());
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
TrainingLoop::validate()
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
    VolumeDice   volume(classes);
    for (int64_t s = 0; s < c.image.size(0); s += chunk)
    {
      const int64_t n = std::min(chunk, c.image.size(0) - s);
      const auto    logits = m_Network->forwardLogits(c.image.narrow(0, s, n).to(m_Device), 0);
      volume.add(predictedClasses(logits).cpu(), c.labels.narrow(0, s, n));
    }
    dice[index] = volume.meanForeground();
  }
  if (m_Communicator)
  {
    // Each case was scored by one rank; the others hold 0 for it.
    at::Tensor gathered = torch::tensor(dice, torch::kDouble).to(m_Device);
    m_Communicator->allReduceSum(gathered);
    gathered = gathered.cpu();
    dice.assign(gathered.data_ptr<double>(), gathered.data_ptr<double>() + gathered.numel());
  }
  m_Network->train();
  m_ValidationSeconds += secondsSince(start);
  ++m_EpochsValidated;
  return dice;
}

Model::Impl
TrainingLoop::modelImpl() const
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
TrainingLoop::path(const char * file) const
{
  return (std::filesystem::path(m_Options.outputDirectory) / file).string();
}

bool
TrainingLoop::writes() const
{
  return !m_Options.outputDirectory.empty() && (!m_Communicator || m_Communicator->rank() == 0);
}

void
TrainingLoop::synchroniseWeights()
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
TrainingLoop::writeCheckpoints(bool best)
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
  ResumeState state;
  state.epoch = m_Epoch;
  state.iterations = m_Iterations;
  state.bestDice = m_BestDice;
  state.bestEpoch = m_BestEpoch;
  state.stepInEpoch = m_StepInEpoch;
  state.epochLossSum = m_EpochLossSum;
  state.schedule = m_Schedule->state();
  state.sampler = m_Sampler->saveState();
  state.augmenter = m_Augmenter->saveState();
  state.history = m_Owner.history;
  writeTrainerCheckpoint(path("last.pt"), impl, state.toJson(m_Options), *m_Optimizer, m_BestWeights);
  m_CheckpointedIterations = m_Iterations;
}

void
TrainingLoop::endEpoch(EpochRecord & record)
{
  const auto validationStart = Clock::now();
  record.validationDicePerCase = validate();
  for (const auto & v : m_Validation)
  {
    record.validationCases.push_back(v.name);
  }
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
  m_Schedule->endEpoch(record.loss, record.validationDice, withValidation);
  m_Owner.history.push_back(record);
  // best.pt first: a last.pt never claims a best epoch whose file is not written yet.
  writeCheckpoints(record.best);
  m_Log.append(record);
  if (m_Owner.epochDone)
  {
    m_Owner.epochDone(record);
  }
}

Model
TrainingLoop::result()
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
  impl->device = m_Device;
  return Model(impl);
}

Model
TrainingLoop::run()
{
  checkTrainingCases(m_Options, m_Training, m_Validation);
  m_Device = trainingDevice(m_Options);
  if (m_Options.distributed.enabled())
  {
    m_Communicator = std::make_unique<Communicator>(m_Options.distributed, m_Device);
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
  m_Impl->options.validate();
  GlobalSettingsGuard settings(m_Impl->options.threads);
  m_Impl->history.clear();
  m_Impl->stoppedEarly = false;
  m_Impl->interrupted = false;
  try
  {
    TrainingLoop run(*m_Impl, training, validation);
    Model        model = run.run();
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
