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
// The kernels of `anunet bench` (issue 17): everything of it that needs LibTorch, in one translation unit.
#include "anunet/Benchmark.h"

#include "CpuInfo.h"
#include "FlopCounter.h"
#include "Losses.h"
#include "ModelImpl.h"

#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>
#include <torch/optim/adam.h>
#include <torch/version.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <dlfcn.h>

namespace anunet::benchmark
{
namespace
{

template <typename Function>
Function
openBlasFunction(const char * name)
{
  auto function = reinterpret_cast<Function>(dlsym(RTLD_DEFAULT, name));
  if (function == nullptr)
  {
    if (void * library = dlopen("libopenblas.so.0", RTLD_LAZY | RTLD_NOLOAD))
    {
      function = reinterpret_cast<Function>(dlsym(library, name));
      dlclose(library);
    }
  }
  return function;
}

/** OpenBLAS at a given thread count for the guard's lifetime; a no-op where OpenBLAS is not loaded. */
class OpenBlasThreadsGuard
{
  using Get = int (*)();
  using Set = void (*)(int);

public:
  explicit OpenBlasThreadsGuard(int threads)
    : m_Get(openBlasFunction<Get>("openblas_get_num_threads"))
    , m_Set(openBlasFunction<Set>("openblas_set_num_threads"))
  {
    if (m_Get != nullptr && m_Set != nullptr)
    {
      m_Previous = m_Get();
      m_Set(threads);
    }
  }
  ~OpenBlasThreadsGuard()
  {
    if (m_Previous > 0)
    {
      m_Set(m_Previous);
    }
  }
  OpenBlasThreadsGuard(const OpenBlasThreadsGuard &) = delete;
  OpenBlasThreadsGuard &
  operator=(const OpenBlasThreadsGuard &) = delete;

private:
  Get m_Get;
  Set m_Set;
  int m_Previous = 0;
};

uint64_t
splitMix(uint64_t & state)
{
  uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

SegmentationNetworkImpl &
networkOf(const Model & model)
{
  if (!model.impl().network)
  {
    throw std::invalid_argument("benchmark: a TorchScript model has no FLOP count or training step");
  }
  return *model.impl().network;
}
} // namespace

MachineFacts
machineFacts()
{
  MachineFacts facts;
  facts.libtorchDefaultThreads = at::get_num_threads();
  facts.libtorchVersion = TORCH_VERSION;
  facts.logicalCpus = static_cast<int>(std::thread::hardware_concurrency());
  // The flags that select oneDNN's and OpenBLAS's kernels, and the ones issue 17's bf16 mode depends on.
  static const std::vector<std::string> relevant{ "avx2",        "fma",         "avx512f",  "avx512_vnni", "avx_vnni",
                                                  "avx512_bf16", "avx512_fp16", "amx_tile", "amx_bf16",    "amx_int8" };
  const CpuInfo &                       cpu = cpuInfo();
  facts.cpuModel = cpu.model;
  for (const auto & flag : relevant)
  {
    if (cpu.flags.count(flag) != 0)
    {
      facts.cpuFlags.push_back(flag);
    }
  }
  facts.bf16 = cpuHasBFloat16();
  facts.physicalCores = cpu.physicalCores;
  return facts;
}

Timing
measure(const std::function<void()> & body, const TimingPolicy & policy)
{
  using Clock = std::chrono::steady_clock;
  for (int i = 0; i < policy.warmups; ++i)
  {
    body();
  }
  std::vector<double> seconds;
  const auto          start = Clock::now();
  while (static_cast<int>(seconds.size()) < std::max(1, policy.minimumRuns) ||
         (static_cast<int>(seconds.size()) < policy.maximumRuns &&
          std::chrono::duration<double>(Clock::now() - start).count() < policy.budgetSeconds))
  {
    const auto begin = Clock::now();
    body();
    seconds.push_back(std::chrono::duration<double>(Clock::now() - begin).count());
  }
  std::sort(seconds.begin(), seconds.end());
  Timing timing;
  timing.runs = static_cast<int>(seconds.size());
  timing.minimumSeconds = seconds.front();
  const size_t middle = seconds.size() / 2;
  timing.medianSeconds = seconds.size() % 2 == 1 ? seconds[middle] : 0.5 * (seconds[middle - 1] + seconds[middle]);
  return timing;
}

Rate
convolutionRate(int threads, const TimingPolicy & policy, int batch, int channels, int size)
{
  ScopedThreadCount  threadCount(threads);
  c10::InferenceMode inferenceMode;
  torch::manual_seed(0);
  const auto input = at::rand({ batch, channels, size, size }).contiguous(at::MemoryFormat::ChannelsLast);
  const auto weight = (at::rand({ channels, channels, 3, 3 }) - 0.5).contiguous(at::MemoryFormat::ChannelsLast);
  const auto bias = at::rand({ channels });
  Rate       rate;
  rate.gflop = 2.0 * batch * size * size * channels * channels * 9 / 1e9;
  rate.timing = measure([&] { at::conv2d(input, weight, bias, 1, 1); }, policy);
  return rate;
}

Rate
matmulRate(int threads, const TimingPolicy & policy, int n)
{
  ScopedThreadCount    threadCount(threads);
  OpenBlasThreadsGuard blasThreads(threads > 0 ? threads : at::get_num_threads());
  c10::InferenceMode   inferenceMode;
  torch::manual_seed(0);
  const auto a = at::rand({ n, n });
  const auto b = at::rand({ n, n });
  Rate       rate;
  rate.gflop = 2.0 * n * n * static_cast<double>(n) / 1e9;
  rate.timing = measure([&] { at::mm(a, b); }, policy);
  return rate;
}

double
forwardGflop(const Model & model, int level, int size)
{
  return forwardFlops(networkOf(model), level, size, size).flops / 1e9;
}

Rate
forwardRate(const Model & model, int level, int size, int batch, const TimingPolicy & policy, Precision precision)
{
  const int64_t      channels = model.options().inputChannels;
  const Model::Shape shape{ batch, channels, size, size };
  const auto         input = syntheticImage(batch * channels * size * size, 1);
  std::vector<float> output(static_cast<size_t>(batch) * model.outputChannels() * size * size);
  Rate               rate;
  rate.gflop = batch * forwardGflop(model, level, size);
  Model::RunOptions options;
  options.level = level;
  options.precision = precision;
  // The count set once, as an application running many calls sets it (ScopedThreadCount in Model.h).
  ScopedThreadCount threadCount(model.numberOfThreads());
  rate.timing = measure([&] { model.run(input.data(), shape, output.data(), options); }, policy);
  return rate;
}

Rate
trainingStepRate(Model &                      model,
                 const std::vector<float> &   image,
                 const std::vector<uint8_t> & labels,
                 int                          size,
                 int                          batch,
                 int                          threads,
                 const TimingPolicy &         policy)
{
  auto &        network = networkOf(model);
  const int64_t channels = network.options().inputChannels;
  if (image.size() != static_cast<size_t>(batch * channels * size * size) ||
      labels.size() != static_cast<size_t>(batch * size * size))
  {
    throw std::invalid_argument("benchmark: training inputs do not match batch " + std::to_string(batch) + " x size " +
                                std::to_string(size));
  }
  Rate rate;
  // Backward costs about twice the forward's convolution work (input and weight gradients).
  rate.gflop = 3.0 * batch * forwardFlops(network, 0, size, size).flops / 1e9;

  ScopedThreadCount threadCount(threads);
  const auto        x = torch::from_blob(const_cast<float *>(image.data()), { batch, channels, size, size }).clone();
  const auto y = torch::from_blob(const_cast<uint8_t *>(labels.data()), { batch, size, size }, torch::kByte).clone();
  network.train();
  auto                parameters = network.parameters();
  torch::optim::Adam  optimizer(parameters, torch::optim::AdamOptions(1e-3));
  DeepSupervisionLoss loss(makeLoss("hybrid"));
  // The trainer's step (Trainer.cxx, TrainingRun::trainEpoch) minus drawing the batch, including its one
  // synchronising read of the loss.
  rate.timing = measure(
    [&] {
      const auto value = loss(network.forwardHeads(x), y);
      for (auto & parameter : parameters)
      {
        parameter.mutable_grad().reset();
      }
      value.backward();
      optimizer.step();
      (void)value.item<double>();
    },
    policy);
  network.eval();
  return rate;
}

std::vector<float>
syntheticImage(int64_t count, uint64_t seed)
{
  std::vector<float> values(static_cast<size_t>(count));
  uint64_t           state = seed;
  for (auto & value : values)
  {
    value = static_cast<float>(splitMix(state) >> 40) / static_cast<float>(1 << 24);
  }
  return values;
}

std::vector<uint8_t>
syntheticLabels(int batch, int size)
{
  std::vector<uint8_t> labels(static_cast<size_t>(batch) * size * size);
  for (int n = 0; n < batch; ++n)
  {
    const double radius = size * (0.15 + 0.05 * (n % 4));
    for (int y = 0; y < size; ++y)
    {
      for (int x = 0; x < size; ++x)
      {
        const double dx = x - 0.5 * size;
        const double dy = y - 0.5 * size;
        labels[(static_cast<size_t>(n) * size + y) * size + x] = dx * dx + dy * dy < radius * radius ? 1 : 0;
      }
    }
  }
  return labels;
}

} // namespace anunet::benchmark
