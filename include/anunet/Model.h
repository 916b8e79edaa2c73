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
#ifndef anunet_Model_h
#define anunet_Model_h

#include "anunet/ANUNetCoreExport.h"
#include "anunet/NetworkOptions.h"
#include "anunet/Preprocessing.h"

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace anunet
{

/** The arithmetic of forward passes, in training (TrainingOptions::precision) and inference
 * (Model::RunOptions::precision). */
enum class Precision
{
  Float32,
  /** bfloat16: 8 bits of mantissa, float32's range. In training, LibTorch's CPU autocast (losses, the
   * gradients' accumulation into float32 weights, the optimiser and validation stay float32): about 1.8x faster
   * per step on CPUs with AVX512-BF16. In inference, the network's weights and activations in bfloat16 and the
   * probabilities computed in float32 from its logits. Where the CPU has neither avx512_bf16 nor amx_bf16 it
   * would be emulated, slower than float32: inference and training refuse it there (Model::checkPrecision()). */
  BFloat16
};

ANUNetCore_EXPORT std::string
                  toString(Precision precision);
/** "float32" or "bfloat16"; std::invalid_argument naming the valid values otherwise. */
ANUNetCore_EXPORT Precision
precisionFromString(const std::string & name);

/** Whether this CPU runs bfloat16 arithmetic in hardware (avx512_bf16 or amx_bf16), read from the CPU at run
 * time. */
ANUNetCore_EXPORT bool
cpuHasBFloat16();

/** What a checkpoint says about how its weights came to be (written by the trainer). */
struct ANUNetCore_EXPORT TrainingSummary
{
  std::string loss;           ///< e.g. "hybrid", "bce-dice"
  int         epochs = 0;     ///< epochs completed
  int64_t     iterations = 0; ///< optimiser steps completed
  double      bestValidationDice = -1.0;
  int         bestEpoch = -1;
  uint64_t    seed = 0;
  std::string created; ///< ISO 8601 time of writing
  /** Whether training augmented with left-right flips: test-time mirroring suits only such a model. */
  bool flips = false;
};

/** The JSON form of a summary, as a checkpoint's metadata holds it ("training"), for the tool and Python. */
ANUNetCore_EXPORT std::string
                  toJson(const TrainingSummary & summary);

/** The pruning level chosen on validation cases (`anunet prune`): the smallest level whose mean Dice is within
 * tolerance of the best level's. Segmentation uses it unless a level is asked for. */
struct ANUNetCore_EXPORT LevelChoice
{
  /** One level's measurements on the validation cases. */
  struct Score
  {
    int     level = 0;
    double  dice = 0.0;            ///< mean over the cases of the 3-D Dice
    double  secondsPerSlice = 0.0; ///< the network alone, on the machine that chose
    int64_t parameters = 0;
  };
  int                      level = 0; ///< 0: none chosen (the full network)
  double                   tolerance = 0.01;
  std::vector<std::string> cases;
  std::vector<Score>       scores;
};

/** A network with its metadata, behind a torch-free interface.
 *
 * This is what the ITK layer and the front ends use: they never see a torch type. A Model is a shared
 * handle, as an itk::SmartPointer or a torch::nn::ModuleHolder is: copies are cheap and refer to the same
 * network, metadata, thread count and device, so a change through one copy is seen by all. clone() makes
 * an independent model with copied weights. Code given a Model it does not own (a filter's input) runs it
 * with per-call RunOptions and clones it rather than change it. run() is safe from one thread at a time.
 *
 * Inputs and outputs are dense float buffers in N x C x H x W order (W fastest, as an ITK image
 * buffer). Any H and W are accepted: run() pads to a multiple of SpatialMultiple and crops back. */
class ANUNetCore_EXPORT Model
{
public:
  using Shape = std::array<int64_t, 4>; ///< N, C, H, W

  /** A new network with freshly initialised weights (seeded, so reproducible). */
  static Model
  create(const NetworkOptions & options, uint64_t seed = 0);

  /** Reads a checkpoint written by save(), or a TorchScript file (exportTorchScript() or Python's
   * torch.jit.save). Throws std::runtime_error naming the file and what is wrong with it. */
  static Model
  load(const std::string & path);

  /** Copies share everything (see the class comment). */
  Model(const Model &);
  Model(Model &&) noexcept;
  Model &
  operator=(const Model &);
  Model &
  operator=(Model &&) noexcept;
  ~Model();

  /** An independent model: the same weights (copied), metadata, thread count and device. */
  Model
  clone() const;
  /** True when both handles refer to the same model. */
  bool
  sharesWith(const Model & other) const
  {
    return m_Impl == other.m_Impl;
  }

  /** Architecture and sizes; for a TorchScript file, what its metadata says (or inferred). */
  const NetworkOptions &
  options() const;
  const Preprocessing &
  preprocessing() const;
  void
  setPreprocessing(const Preprocessing & preprocessing);
  const TrainingSummary &
  training() const;
  void
  setTraining(const TrainingSummary & summary);
  /** The recorded pruning level (level 0 when none was chosen). setLevelChoice checks the level. */
  const LevelChoice &
  levelChoice() const;
  void
  setLevelChoice(const LevelChoice & choice);

  /** True when this model runs a TorchScript module rather than a network built by the factory. */
  bool
  isTorchScript() const;
  /** The level a TorchScript model was exported at (exportTorchScript()); run() takes that level or 0. 0 for a
   * module exported at the full network, a foreign module, and models that are not TorchScript. */
  int
  torchScriptLevel() const;

  /** 4 for networks with pruning levels, 0 otherwise. */
  int
  maximumLevel() const;

  /** Number of trainable parameters of the network pruned at level (0 = whole network, all heads). */
  int64_t
  parameterCount(int level = 0) const;

  /** Intra-op threads for run(); 0 = all hardware threads. LibTorch's default here is 1. */
  void
  setNumberOfThreads(int threads);
  int
  numberOfThreads() const;

  /** "cpu" or "cuda[:k]"; throws std::runtime_error if this LibTorch build lacks that device. */
  void
  setDevice(const std::string & device);
  std::string
  device() const;
  static bool
  cudaAvailable();
  /** Throws std::runtime_error saying why, when device is not "cpu" or an existing "cuda[:index]" here. */
  static void
  checkDevice(const std::string & device);
  /** Throws std::invalid_argument saying why, when precision cannot run on device at full speed: bfloat16 on
   * a CPU without bfloat16 arithmetic (cpuHasBFloat16()) would be emulated, slower than float32. Inference and
   * training both refuse it there. device as for checkDevice(). */
  static void
  checkPrecision(Precision precision, const std::string & device);

  /** Number of output channels: 1 (sigmoid) or C (softmax). */
  int
  outputChannels() const;

  /** Test-time augmentation of run(): InPlane averages the probabilities of each slice and of its three
   * in-plane mirror images (flipped in x, in y, in both), mapped back; it costs four forward passes. */
  enum class Mirroring
  {
    Off,
    InPlane
  };

  /** How one run() call goes; nothing of it is stored in the model. */
  struct RunOptions
  {
    int       level = 0; ///< pruning level 1..maximumLevel(), or 0 for the full network's final output
    Mirroring mirroring = Mirroring::Off;
    int       threads = -1; ///< LibTorch intra-op threads for this call: -1 = numberOfThreads(), 0 = all
    /** BFloat16 where checkPrecision() refuses it throws std::invalid_argument. Not for TorchScript models. */
    Precision precision = Precision::Float32;
  };

  /** Probabilities for a batch of slices.
   *
   * \param input N x C x H x W floats, already normalised as preprocessing() says.
   * \param output receives N x outputChannels() x H x W probabilities in [0, 1]. */
  void
  run(const float * input, const Shape & shape, float * output, const RunOptions & options) const;
  void
  run(const float * input, const Shape & shape, int level, float * output, Mirroring mirroring = Mirroring::Off) const;
  std::vector<float>
  run(const std::vector<float> & input, const Shape & shape, int level = 0, Mirroring mirroring = Mirroring::Off) const;

  /** Writes a self-describing checkpoint atomically (temporary file + rename). */
  void
  save(const std::string & path) const;

  /** Writes a TorchScript module that computes probabilities at the given level (0 = full). */
  void
  exportTorchScript(const std::string & path, int level = 0) const;

  /** Internal: the implementation, for the torch core's own classes (trainer, tests). */
  struct Impl;
  Impl &
  impl() const
  {
    return *m_Impl;
  }
  explicit Model(std::shared_ptr<Impl> impl);

private:
  std::shared_ptr<Impl> m_Impl;
};

/** Sets LibTorch's intra-op thread count (0 = all hardware threads) for its lifetime and restores the previous
 * count after. Model::run sets the model's count for each call where it differs from the process's; LibTorch
 * 1.13's oneDNN convolutions then run about 1.5x slower per call (ANU-Net L1 at 256^2: 46 -> 71 ms, AMD EPYC Zen
 * 5, 2 threads against a process count of 1), as if their kernels were set up again. Code that runs many calls
 * holds one of these around them at the model's count (ANUNetSegmentationImageFilter does), so that the count
 * changes once. */
class ANUNetCore_EXPORT ScopedThreadCount
{
public:
  explicit ScopedThreadCount(int threads);
  ~ScopedThreadCount();
  ScopedThreadCount(const ScopedThreadCount &) = delete;
  ScopedThreadCount &
  operator=(const ScopedThreadCount &) = delete;

private:
  int m_Previous;
};

/** Process-wide CPU settings that LibTorch leaves at slow defaults on Debian: large allocations stay in the
 * heap (glibc mallopt; else tensors are first-touched through page faults, 3-10x slower, docs/reference.md
 * §4) and OpenBLAS runs single-threaded (its spinning workers compete with LibTorch's OpenMP threads,
 * 1.8x per training step). Both change the whole process, so the library never calls this itself: an
 * application opts in once at start (the anunet tool and the Python module do; an ITK host such as 3D Slicer
 * keeps its own settings unless it calls this). Idempotent and thread-safe. */
ANUNetCore_EXPORT void
configureCpuRuntime();

} // namespace anunet

#endif
