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
#ifndef anunet_Benchmark_h
#define anunet_Benchmark_h

#include "anunet/ANUNetCoreExport.h"
#include "anunet/Model.h"
#include "anunet/NetworkOptions.h"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace anunet::benchmark
{

/** What a timing depends on besides the code: read once per run of `anunet bench`. */
struct ANUNetCore_EXPORT MachineFacts
{
  std::string              cpuModel;     ///< /proc/cpuinfo "model name"
  std::vector<std::string> cpuFlags;     ///< of the flags that decide kernels (avx2, avx512*, amx*), those present
  bool                     bf16 = false; ///< avx512_bf16 or amx_bf16: bfloat16 runs in hardware
  int                      logicalCpus = 0;
  int                      physicalCores = 0; ///< distinct (physical id, core id) pairs; 0 if unknown
  std::string              libtorchVersion;
  int                      libtorchDefaultThreads = 0; ///< at::get_num_threads() before anything set it
};

ANUNetCore_EXPORT MachineFacts
machineFacts();

/** How often a measurement is repeated: warm-up runs are discarded, then runs continue until at least
 * minimumRuns are done and either maximumRuns are done or budgetSeconds have passed, so fast kernels get more
 * samples and slow ones do not stretch the run. */
struct ANUNetCore_EXPORT TimingPolicy
{
  int    warmups = 1;
  int    minimumRuns = 3;
  int    maximumRuns = 10;
  double budgetSeconds = 3.0;
};

struct ANUNetCore_EXPORT Timing
{
  double minimumSeconds = 0.0;
  double medianSeconds = 0.0;
  int    runs = 0;
};

/** Wall-clock timing of body under policy. */
ANUNetCore_EXPORT Timing
measure(const std::function<void()> & body, const TimingPolicy & policy);

/** A timing with the floating-point work of one run (GFLOP, 2 x multiply-adds as docs/reference.md §3). */
struct ANUNetCore_EXPORT Rate
{
  Timing timing;
  double gflop = 0.0;

  /** GFLOP/s of the fastest run. */
  double
  gflops() const
  {
    return timing.minimumSeconds > 0.0 ? gflop / timing.minimumSeconds : 0.0;
  }
};

/** The "conv peak": one 3x3 convolution (pad 1, with bias), channels-last, batch x channels x size x size,
 * fp32, no gradients; the issue-17 setting is batch 4, 64 channels, 256^2. */
ANUNetCore_EXPORT Rate
convolutionRate(int threads, const TimingPolicy & policy, int batch = 4, int channels = 64, int size = 256);

/** An n x n fp32 matmul (LibTorch's BLAS, OpenBLAS on Debian). OpenBLAS runs with threads threads for this
 * measurement only: the tool keeps it at one thread otherwise (configureCpuRuntime). */
ANUNetCore_EXPORT Rate
matmulRate(int threads, const TimingPolicy & policy, int n = 2048);

/** GFLOP of one forward of model at level on a 1 x C x size x size input (docs/reference.md §3). */
ANUNetCore_EXPORT double
forwardGflop(const Model & model, int level, int size);

/** Model::run on batch x C x size x size (a fixed pseudo-random input), at model's thread count, in precision. */
ANUNetCore_EXPORT Rate
forwardRate(const Model &        model,
            int                  level,
            int                  size,
            int                  batch,
            const TimingPolicy & policy,
            Precision            precision = Precision::Float32);

/** One training iteration as the trainer runs it: forward of every deep-supervision head, the hybrid loss
 * summed over heads with equal weights, backward, Adam step (learning rate 1e-3). Trains model's own
 * network in place (copies of model share it), on image (batch x C x size x size) and labels (batch x size
 * x size class indices). gflop counts forward + backward as 3 x the forward's convolution work. */
ANUNetCore_EXPORT Rate
trainingStepRate(Model &                      model,
                 const std::vector<float> &   image,
                 const std::vector<uint8_t> & labels,
                 int                          size,
                 int                          batch,
                 int                          threads,
                 const TimingPolicy &         policy);

/** Deterministic inputs, so that the eager peer reads exactly what ours ran on. */
ANUNetCore_EXPORT std::vector<float>
                  syntheticImage(int64_t count, uint64_t seed);
/** Class indices 0/1: a disc per slice, so every head sees both classes. */
ANUNetCore_EXPORT std::vector<uint8_t>
                  syntheticLabels(int batch, int size);

} // namespace anunet::benchmark

#endif
