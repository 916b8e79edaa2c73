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
#include "anunet/Model.h"

#include "Checkpoint.h"
#include "Json.h"
#include "ModelImpl.h"

#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>
#include <torch/cuda.h>
#include <torch/types.h>
#include <torch/utils.h>

#include <algorithm>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace anunet
{

namespace
{
int64_t
roundUp(int64_t value, int64_t multiple)
{
  return (value + multiple - 1) / multiple * multiple;
}
} // namespace

void
to_json(nlohmann::json & j, const TrainingSummary & summary)
{
  j = nlohmann::json{ { "loss", summary.loss },
                      { "epochs", summary.epochs },
                      { "iterations", summary.iterations },
                      { "best_validation_dice", summary.bestValidationDice },
                      { "best_epoch", summary.bestEpoch },
                      { "seed", summary.seed },
                      { "created", summary.created },
                      { "flips", summary.flips } };
}

std::string
toJson(const TrainingSummary & summary)
{
  return nlohmann::json(summary).dump();
}

void
to_json(nlohmann::json & j, const LevelChoice & choice)
{
  nlohmann::json scores = nlohmann::json::array();
  for (const auto & s : choice.scores)
  {
    scores.push_back({ { "level", s.level },
                       { "dice", s.dice },
                       { "seconds_per_slice", s.secondsPerSlice },
                       { "parameters", s.parameters } });
  }
  j = nlohmann::json{
    { "level", choice.level }, { "tolerance", choice.tolerance }, { "cases", choice.cases }, { "scores", scores }
  };
}

void
from_json(const nlohmann::json & j, LevelChoice & choice)
{
  json::requireObject(j, "level choice");
  json::rejectUnknownKeys(j, { "level", "tolerance", "cases", "scores" }, "level choice");
  json::readIfPresent(j, "level", choice.level);
  json::readIfPresent(j, "tolerance", choice.tolerance);
  json::readIfPresent(j, "cases", choice.cases);
  choice.scores.clear();
  for (const auto & item : j.value("scores", nlohmann::json::array()))
  {
    json::requireObject(item, "level score");
    json::rejectUnknownKeys(item, { "level", "dice", "seconds_per_slice", "parameters" }, "level score");
    LevelChoice::Score score;
    json::readIfPresent(item, "level", score.level);
    json::readIfPresent(item, "dice", score.dice);
    json::readIfPresent(item, "seconds_per_slice", score.secondsPerSlice);
    json::readIfPresent(item, "parameters", score.parameters);
    choice.scores.push_back(score);
  }
}

void
from_json(const nlohmann::json & j, TrainingSummary & summary)
{
  json::requireObject(j, "training summary");
  json::rejectUnknownKeys(
    j,
    { "loss", "epochs", "iterations", "best_validation_dice", "best_epoch", "seed", "created", "flips" },
    "training summary");
  json::readIfPresent(j, "loss", summary.loss);
  json::readIfPresent(j, "epochs", summary.epochs);
  json::readIfPresent(j, "iterations", summary.iterations);
  json::readIfPresent(j, "best_validation_dice", summary.bestValidationDice);
  json::readIfPresent(j, "best_epoch", summary.bestEpoch);
  json::readIfPresent(j, "seed", summary.seed);
  json::readIfPresent(j, "created", summary.created);
  json::readIfPresent(j, "flips", summary.flips);
}

Model::Model(std::shared_ptr<Impl> impl)
  : m_Impl(std::move(impl))
{
  if (!m_Impl)
  {
    throw std::invalid_argument("anunet::Model: null implementation");
  }
  // A Model is for inference, and run() must not change the network it shares: switching to eval mode for a
  // call and back would let a concurrent call run batch normalisation in training mode (batch statistics,
  // and an update of the shared running statistics). So the network is put in eval mode once, here.
  if (m_Impl->network)
  {
    m_Impl->network->eval();
  }
}

// Copies get their own metadata and settings but share the network (and its weights).
Model::Model(const Model &) = default;
Model::Model(Model &&) noexcept = default;
Model &
Model::operator=(const Model &) = default;
Model &
Model::operator=(Model &&) noexcept = default;
Model::~Model() = default;

Model
Model::clone() const
{
  auto copy = std::make_shared<Impl>(*m_Impl);
  if (m_Impl->network)
  {
    copy->network = copyNetwork(*m_Impl->network);
  }
  else
  {
    copy->script = cloneTorchScript(*m_Impl);
  }
  return Model(copy);
}

Model
Model::create(const NetworkOptions & options, uint64_t seed)
{
  auto impl = std::make_shared<Impl>();
  impl->options = options;
  impl->training.seed = seed;
  torch::manual_seed(seed);
  impl->network = makeNetwork(options);
  return Model(std::move(impl));
}

Model
Model::load(const std::string & path)
{
  return Model(loadModelFile(path));
}

const NetworkOptions &
Model::options() const
{
  return m_Impl->options;
}

const Preprocessing &
Model::preprocessing() const
{
  return m_Impl->preprocessing;
}

void
Model::setPreprocessing(const Preprocessing & preprocessing)
{
  m_Impl->preprocessing = preprocessing;
}

const TrainingSummary &
Model::training() const
{
  return m_Impl->training;
}

void
Model::setTraining(const TrainingSummary & summary)
{
  m_Impl->training = summary;
}

const LevelChoice &
Model::levelChoice() const
{
  return m_Impl->levelChoice;
}

void
Model::setLevelChoice(const LevelChoice & choice)
{
  if (choice.level < 0 || choice.level > maximumLevel())
  {
    throw std::invalid_argument("pruning level " + std::to_string(choice.level) + " chosen, but the " +
                                toString(m_Impl->options.architecture) + " network has levels 0.." +
                                std::to_string(maximumLevel()));
  }
  m_Impl->levelChoice = choice;
}

bool
Model::isTorchScript() const
{
  return m_Impl->script != nullptr;
}

int
Model::torchScriptLevel() const
{
  return m_Impl->script != nullptr ? m_Impl->scriptLevel : 0;
}

int
Model::maximumLevel() const
{
  return m_Impl->network ? m_Impl->network->maximumLevel() : 0;
}

int64_t
Model::parameterCount(int level) const
{
  if (m_Impl->network)
  {
    return m_Impl->network->parameterCount(level);
  }
  if (level != 0)
  {
    throw std::invalid_argument("TorchScript model: parameter counts per pruning level are not available");
  }
  return torchScriptParameterCount(*m_Impl);
}

void
Model::setNumberOfThreads(int threads)
{
  if (threads < 0)
  {
    throw std::invalid_argument("number of threads must be >= 0 (0 = all hardware threads), got " +
                                std::to_string(threads));
  }
  m_Impl->threads = threads;
}

int
Model::numberOfThreads() const
{
  return m_Impl->threads;
}

namespace
{

c10::Device
parseDevice(const std::string & device)
{
  c10::Device parsed(c10::DeviceType::CPU);
  try
  {
    parsed = c10::Device(device);
  }
  catch (const c10::Error &)
  {
    throw std::runtime_error("unknown device \"" + device + "\"; use \"cpu\" or \"cuda[:index]\"");
  }
  if (!parsed.is_cpu() && !parsed.is_cuda())
  {
    throw std::runtime_error("device \"" + device + "\" is not supported; use \"cpu\" or \"cuda[:index]\"");
  }
  if (parsed.is_cuda() && !torch::cuda::is_available())
  {
    throw std::runtime_error("device \"" + device +
                             "\" requested, but this LibTorch build has no usable CUDA (Debian's LibTorch is "
                             "CPU-only; docs/building.md says how to build against a CUDA LibTorch)");
  }
  if (parsed.is_cuda() && parsed.has_index() && parsed.index() >= static_cast<int>(torch::cuda::device_count()))
  {
    throw std::runtime_error("device \"" + device + "\" does not exist: this machine has " +
                             std::to_string(torch::cuda::device_count()) + " CUDA device(s), numbered from 0");
  }
  return parsed;
}

} // namespace

void
Model::checkDevice(const std::string & device)
{
  parseDevice(device);
}

void
Model::checkPrecision(Precision precision, const std::string & device)
{
  toString(precision); // throws for a value outside the enum (a cast from an integer)
  if (precision == Precision::BFloat16 && parseDevice(device).is_cpu() && !cpuHasBFloat16())
  {
    throw std::invalid_argument("bfloat16 needs a CPU with avx512_bf16 or amx_bf16; this one has neither, so "
                                "bfloat16 would be emulated and slower than float32");
  }
}

void
Model::setDevice(const std::string & device)
{
  const c10::Device parsed = parseDevice(device);
  if (m_Impl->network)
  {
    m_Impl->network->to(parsed);
    m_Impl->inference.clear();
  }
  else
  {
    moveTorchScript(*m_Impl, parsed);
  }
  m_Impl->device = parsed;
}

std::string
Model::device() const
{
  return m_Impl->device.str();
}

bool
Model::cudaAvailable()
{
  return torch::cuda::is_available();
}

ScopedThreadCount::ScopedThreadCount(int threads)
  : m_Previous(at::get_num_threads())
{
  const int wanted = threads > 0 ? threads : static_cast<int>(std::max(1U, std::thread::hardware_concurrency()));
  if (wanted != m_Previous)
  {
    at::set_num_threads(wanted);
  }
}

ScopedThreadCount::~ScopedThreadCount()
{
  if (at::get_num_threads() != m_Previous)
  {
    at::set_num_threads(m_Previous);
  }
}

int
Model::outputChannels() const
{
  return m_Impl->network ? m_Impl->options.classes : m_Impl->scriptOutputChannels;
}

void
Model::run(const float * input, const Shape & shape, int level, float * output, Mirroring mirroring) const
{
  RunOptions options;
  options.level = level;
  options.mirroring = mirroring;
  run(input, shape, output, options);
}

void
Model::run(const float * input, const Shape & shape, float * output, const RunOptions & options) const
{
  const int level = options.level;
  if (options.threads < -1)
  {
    throw std::invalid_argument("Model::run: threads must be -1 (the model's), 0 (all) or positive, got " +
                                std::to_string(options.threads));
  }
  const auto & [n, c, h, w] = shape;
  if (n < 1 || c < 1 || h < 1 || w < 1)
  {
    std::ostringstream message;
    message << "Model::run: invalid input shape " << n << " x " << c << " x " << h << " x " << w;
    throw std::invalid_argument(message.str());
  }
  if (c != m_Impl->options.inputChannels)
  {
    throw std::invalid_argument("Model::run: input has " + std::to_string(c) + " channels, the " +
                                toString(m_Impl->options.architecture) + " model expects " +
                                std::to_string(m_Impl->options.inputChannels));
  }
  if (input == nullptr || output == nullptr)
  {
    throw std::invalid_argument("Model::run: null input or output buffer");
  }
  if (m_Impl->script && level != 0 && level != m_Impl->scriptLevel)
  {
    throw std::invalid_argument("Model::run: this TorchScript model computes level " +
                                std::to_string(m_Impl->scriptLevel) + " only, not level " + std::to_string(level));
  }
  if (m_Impl->network)
  {
    m_Impl->network->checkLevel(level);
    if (m_Impl->network->is_training())
    {
      // Only code with access to the Impl can get here; batch statistics would silently change the output.
      throw std::logic_error("Model::run: the network was put in training mode; a Model's network stays in eval "
                             "mode");
    }
  }
  if (options.precision == Precision::BFloat16)
  {
    if (m_Impl->script)
    {
      throw std::invalid_argument("Model::run: bfloat16 needs a checkpoint; a TorchScript model runs as it was "
                                  "exported");
    }
    try
    {
      checkPrecision(options.precision, m_Impl->device.str());
    }
    catch (const std::invalid_argument & e)
    {
      throw std::invalid_argument(std::string("Model::run: ") + e.what());
    }
  }
  ScopedThreadCount  threads(options.threads == -1 ? m_Impl->threads : options.threads);
  c10::InferenceMode inferenceMode;

  // The caller's buffer is read in place; nothing is written to it.
  auto x = torch::from_blob(const_cast<float *>(input), { n, c, h, w }, torch::kFloat);
  // The mirror images go through the network as one batch of 4 N (one pass uses the threads better than four);
  // they are flipped before padding, so that each is padded on its own far side as the plain slice is.
  const bool mirrored = options.mirroring == Mirroring::InPlane;
  if (mirrored)
  {
    x = torch::cat({ x, x.flip({ 3 }), x.flip({ 2 }), x.flip({ 2, 3 }) });
  }
  const int64_t paddedH = roundUp(h, SpatialMultiple);
  const int64_t paddedW = roundUp(w, SpatialMultiple);
  if (paddedH != h || paddedW != w)
  {
    // Replicate the last row/column rather than pad with zeros: an artificial edge would draw a response.
    x = torch::replication_pad2d(x, { 0, paddedW - w, 0, paddedH - h });
  }
  if (m_Impl->device != x.device())
  {
    x = x.to(m_Impl->device);
  }
  auto probabilities =
    m_Impl->network
      ? runInferenceForm(*m_Impl->inference.get(*m_Impl->network, options.precision), x, level, options.precision)
      : runTorchScript(*m_Impl, x);
  const int64_t channels = outputChannels();
  const int64_t batch = mirrored ? 4 * n : n;
  if (probabilities.dim() != 4 || probabilities.size(0) != batch || probabilities.size(1) != channels ||
      probabilities.size(2) != paddedH || probabilities.size(3) != paddedW)
  {
    std::ostringstream message;
    message << "Model::run: the network returned shape " << probabilities.sizes() << ", expected " << batch << " x "
            << channels << " x " << paddedH << " x " << paddedW;
    throw std::runtime_error(message.str());
  }
  probabilities = probabilities.slice(2, 0, h).slice(3, 0, w);
  if (mirrored)
  {
    const auto parts = probabilities.chunk(4);
    probabilities = (parts[0] + parts[1].flip({ 3 }) + parts[2].flip({ 2 }) + parts[3].flip({ 2, 3 })) / 4;
  }
  auto result = torch::from_blob(output, { n, channels, h, w }, torch::kFloat);
  result.copy_(probabilities);
}

std::vector<float>
Model::run(const std::vector<float> & input, const Shape & shape, int level, Mirroring mirroring) const
{
  const auto & [n, c, h, w] = shape;
  if (static_cast<int64_t>(input.size()) != n * c * h * w)
  {
    throw std::invalid_argument("Model::run: input holds " + std::to_string(input.size()) +
                                " floats, the shape needs " + std::to_string(n * c * h * w));
  }
  std::vector<float> output(static_cast<size_t>(n * outputChannels() * h * w));
  run(input.data(), shape, level, output.data(), mirroring);
  return output;
}

void
Model::save(const std::string & path) const
{
  if (!m_Impl->network)
  {
    throw std::runtime_error("cannot save " + path +
                             " as a checkpoint: this model is a TorchScript module (its weights are not a network "
                             "built by this library)");
  }
  writeCheckpoint(path, *m_Impl);
}

void
Model::exportTorchScript(const std::string & path, int level) const
{
  if (!m_Impl->network)
  {
    throw std::runtime_error("cannot export " + path + ": this model is already a TorchScript module");
  }
  m_Impl->network->checkLevel(level);
  writeTorchScript(path, *m_Impl, level);
}

} // namespace anunet
