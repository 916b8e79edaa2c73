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
#ifndef anunet_Training_h
#define anunet_Training_h

#include "anunet/ANUNetCoreExport.h"
#include "anunet/Model.h"

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace anunet
{

/** One case, already preprocessed to the network's in-plane size by the ITK layer.
 *
 * image: slices x channels x height x width floats; labels: slices x height x width class indices
 * (0 = background), as LabelMapping produced them. */
struct ANUNetCore_EXPORT SliceVolume
{
  std::string          name;
  int64_t              slices = 0;
  int64_t              channels = 1;
  int64_t              height = 0;
  int64_t              width = 0;
  std::vector<float>   image;
  std::vector<uint8_t> labels;

  /** Throws std::invalid_argument naming the case when sizes disagree or the image holds NaN/Inf. */
  void
  validate() const;
};

struct ANUNetCore_EXPORT AugmentationOptions
{
  bool enabled = true;
  /** Left-right flips. Off by default: abdominal organs are lateralised (liver right, spleen left, and
   * CHAOS labels the two kidneys apart), and flipped slices teach the network to find the liver on the
   * spleen's side as well. */
  bool   flips = false;
  double rotationDegrees = 10.0; ///< uniform in [-r, r]
  double scaling = 0.1;          ///< zoom factor uniform in [1 - s, 1 + s]
  double intensityScale = 0.1;   ///< x * (1 + u), u uniform in [-s, s]
  double intensityShift = 0.1;   ///< x + u, u uniform in [-s, s]

  /** Intensity changes after nnU-Net's defaults (Isensee et al. 2021), each applied to a slice with its
   * probability after the geometric transform, in this order. A magnitude of 0 turns one off; all are off by
   * default, so that a recipe without them draws the same random numbers as before they existed. */
  double noise = 0; ///< Gaussian noise, standard deviation uniform in [0, s]
  double noiseProbability = 0.1;
  double blur = 0; ///< Gaussian blur, sigma uniform in [0.5, b] pixels (0 or 0.5 <= b <= 4)
  double blurProbability = 0.2;
  double contrast = 0; ///< mean + (x - mean) c, c uniform in [1 - s, 1 + s], kept in the slice's range
  double contrastProbability = 0.15;
  double lowResolution = 0; ///< down (nearest) and up (bilinear) by a factor uniform in [1, 1 + r]
  double lowResolutionProbability = 0.25;
  double gamma = 0; ///< ((x - min) / range)^e on the slice's range, e log-uniform in [1/(1+g), 1+g]
  double gammaProbability = 0.3;

  bool
  changesIntensityAfterGeometry() const
  {
    return noise > 0 || blur > 0 || contrast > 0 || lowResolution > 0 || gamma > 0;
  }

  /** Throws std::invalid_argument naming the option's config key (training.augmentation.<key>). */
  void
  validate() const;
};

/** Data-parallel training over several processes on LibTorch's distributed runtime (c10d, Gloo).
 *
 * Every rank holds the whole network. The options' batchSize is the GLOBAL batch: every rank draws the same
 * seeded batch, augments it, and trains on its own batchSize / worldSize slices of it. Batch statistics
 * (batch normalisation, the batch Dice of the losses) are summed over all ranks and gradients averaged, so
 * that W ranks compute the same step as one process on the whole batch, up to rounding. Validation cases
 * are shared out between the ranks and their Dice gathered. Only rank 0 writes checkpoints and the log. */
struct ANUNetCore_EXPORT DistributedOptions
{
  int         worldSize = 1; ///< processes taking part; 1 = not distributed
  int         rank = 0;      ///< this process, 0 .. worldSize - 1; rank 0 hosts the rendezvous store
  int         localRank = 0; ///< rank on this host (the CUDA device a rank would use)
  std::string masterAddress = "127.0.0.1";
  int         masterPort = 29500;
  /** How long a rank waits for the rendezvous and for any collective before it gives up with an error:
   * a rank that died makes the others fail after at most this long, never hang. */
  double timeoutSeconds = 300.0;
  /** Batch normalisation over the whole global batch (one collective per layer and pass). false: each rank
   * normalises with the statistics of its own share, as PyTorch's DistributedDataParallel does by default;
   * fewer collectives, but no longer the step of one process, and the running statistics are rank 0's. */
  bool synchronisedBatchNorm = true;

  bool
  enabled() const
  {
    return worldSize > 1;
  }

  /** Throws std::invalid_argument naming the field when the settings are inconsistent. */
  void
  validate() const;

  /** The settings of torchrun (MASTER_ADDR, MASTER_PORT, WORLD_SIZE, RANK, LOCAL_RANK) or, where WORLD_SIZE is
   * unset, of a Slurm step (SLURM_NTASKS, SLURM_PROCID, SLURM_LOCALID, the first host of SLURM_JOB_NODELIST
   * unless MASTER_ADDR is set). Throws std::invalid_argument naming the variable that is malformed. */
  static DistributedOptions
  fromEnvironment();

  /** The first host of a Slurm node list: "gpu[07-09,12],cpu1" gives "gpu07". */
  static std::string
  firstHost(const std::string & slurmNodeList);
};

enum class Optimizer
{
  Adam, ///< "adam"
  SGD   ///< "sgd": with momentum and optional weight decay
};

/** How the learning rate changes over a run. */
enum class LearningRateSchedule
{
  Poly,     ///< "poly": rate * (1 - step / steps)^power, the schedule of nnU-Net and many segmentation papers
  Plateau,  ///< "plateau": cut by plateauFactor after plateauPatience epochs without improvement
  Constant, ///< "constant"
};


/** Lower-case names, as in configs and checkpoints; the fromString functions throw std::invalid_argument
 * naming the text and the valid names. */
ANUNetCore_EXPORT std::string
                  toString(Optimizer optimizer);
ANUNetCore_EXPORT Optimizer
                  optimizerFromString(const std::string & name);
ANUNetCore_EXPORT std::string
                  toString(LearningRateSchedule schedule);
ANUNetCore_EXPORT LearningRateSchedule
scheduleFromString(const std::string & name);

struct ANUNetCore_EXPORT TrainingOptions
{
  NetworkOptions network;
  Preprocessing  preprocessing; ///< recorded in the checkpoint, not applied here

  /** "hybrid" (the paper's Dice + focal), "bce-dice" (the reference code's), "dice", "focal", "bce". */
  std::string         loss = "hybrid";
  std::vector<double> headWeights; ///< deep-supervision weights of heads X(0,1..4); empty = equal

  Optimizer            optimizer = Optimizer::Adam;
  double               learningRate = 1e-3;
  double               weightDecay = 0.0;
  double               momentum = 0.9; ///< SGD only
  LearningRateSchedule schedule = LearningRateSchedule::Poly;
  double               polyPower = 0.9;
  int                  plateauPatience = 3; ///< epochs without improvement before the rate is cut by plateauFactor
  double               plateauFactor = 0.5;

  int     epochs = 20;
  int64_t iterationsPerEpoch = 0; ///< 0: one pass over the training slices
  int     batchSize = 4;
  int     earlyStoppingPatience = 0; ///< epochs without a better validation Dice before stopping; 0 = off

  /** Share of batch slots that are forced to hold a slice with foreground; the other slots are drawn from all
   * slices, so the foreground share is at least the data's own. */
  double              foregroundFraction = 0.5;
  AugmentationOptions augmentation;

  Precision precision = Precision::Float32;

  uint64_t seed = 0;
  /** LibTorch intra-op threads during train() (restored afterwards); 0 = all hardware threads. */
  int threads = 0;
  /** Where the network trains: "cpu" or "cuda[:k]" (Model::checkDevice()). Batches are drawn and augmented on
   * the CPU and then moved. Checkpoints are read onto the CPU, so a run may resume on another device (it then
   * rounds differently, as at another thread count). A distributed run on CUDA uses NCCL
   * where LibTorch has it, each rank on device cuda:localRank unless an index is given. */
  std::string device = "cpu";

  DistributedOptions distributed;

  /** Where best.pt, last.pt and log.jsonl go; created if missing. Empty: nothing is written (and a run
   * cannot be resumed). */
  std::string outputDirectory;
  /** A last.pt to continue from: the run goes on exactly as if it had not stopped (same weights, losses and
   * Dice, bit for bit, at the same thread count). The options must be those of the interrupted run, except
   * epochs (which may grow), threads, earlyStoppingPatience, outputDirectory and resumeFrom; a difference is
   * an error naming the option. */
  std::string resumeFrom;

  /** Throws std::invalid_argument naming the option for a value out of range or inconsistent with others. */
  void
  validate() const;
};

/** One epoch of a run: a line of log.jsonl, an entry of last.pt's history. */
struct ANUNetCore_EXPORT EpochRecord
{
  int                      epoch = 0;
  int64_t                  iterations = 0;
  double                   loss = 0.0;
  double                   validationDice = -1.0;      ///< mean over validation volumes of the 3-D Dice; -1 without
  std::vector<std::string> validationCases;            ///< the validation cases' names,
  std::vector<double>      validationDicePerCase;      ///< and their Dice
  double                   learningRate = 0.0;         ///< the rate of the epoch's last optimiser step
  double                   seconds = 0.0;              ///< training and validation of this epoch, wall clock
  double                   dataSeconds = 0.0;          ///< of seconds: drawing and augmenting the batches
  double                   validationSeconds = 0.0;    ///< of seconds: validating
  double                   communicationSeconds = 0.0; ///< of seconds: waiting in collectives (distributed only)
  bool                     best = false;               ///< best validation Dice so far (every epoch without validation)

  bool
  operator==(const EpochRecord & other) const;
};

/** The one JSON form of an epoch, used by log.jsonl, last.pt's history, the tool and Python:
 *
 *   {"epoch":3,"iterations":300,"loss":0.41,"val_dice":0.93,"per_case_dice":{"case31":0.94,...},"lr":0.0008,
 *    "seconds":312.5,"data_seconds":20.1,"validation_seconds":30.2,"communication_seconds":0.0,"best":true}
 *
 * per_case_dice keeps the cases' order. */
ANUNetCore_EXPORT std::string
                  toJson(const EpochRecord & record);
/** Reads toJson's form; throws std::invalid_argument naming the key that is missing or of the wrong type. */
ANUNetCore_EXPORT EpochRecord
epochRecordFromJson(const std::string & text);

struct ANUNetCore_EXPORT TrainingProgress
{
  int     epoch = 0;
  int     epochs = 0;
  int64_t iteration = 0; ///< optimiser steps so far
  int64_t totalIterations = 0;
  double  loss = 0.0; ///< running mean over the epoch
  double  secondsElapsed = 0.0;
  double  secondsRemaining = 0.0; ///< the remaining steps at the mean step time, plus the remaining validations
};

/** Trains a network on preprocessed slices; torch-free interface, implemented in the torch core.
 *
 * Each epoch runs iterationsPerEpoch optimiser steps on sampled, augmented batches (loss: the chosen loss on
 * every deep-supervision head, weighted), then measures the validation Dice: per validation case, the 3-D
 * Dice over all its slices of the full network's output (level 0, threshold 0.5 or argmax), averaged over
 * the foreground classes; EpochRecord::validationDice is the mean over the cases. Then, in outputDirectory:
 * best.pt when the Dice improved, last.pt (network, optimiser state, random-engine states, history and best
 * weights, so that resumeFrom continues exactly), and one line of log.jsonl (toJson(EpochRecord)).
 *
 * Both checkpoints are written atomically and carry options.preprocessing and a TrainingSummary. The
 * same seed and thread count give the same result; oneDNN's convolutions may round differently at another
 * thread count, so runs are reproducible bit for bit only at the same count. Early stopping and the
 * plateau schedule follow the validation Dice (the plateau schedule the training loss without validation
 * cases; early stopping is off without them). */
class ANUNetCore_EXPORT Trainer
{
public:
  explicit Trainer(TrainingOptions options);
  ~Trainer();

  using ProgressCallback = std::function<void(const TrainingProgress &)>;
  using EpochCallback = std::function<void(const EpochRecord &)>;
  void
  setProgressCallback(ProgressCallback callback);
  void
  setEpochCallback(EpochCallback callback);

  /** Asks a running train() to stop after the current iteration; safe from another thread (and from the
   * callbacks). With an output directory, last.pt is then written at that step (weights, optimiser,
   * generators and the epoch's partial loss), so that resumeFrom continues from the same step exactly as if
   * the run had not stopped; log.jsonl keeps complete epochs only. */
  void
  requestStop();

  /** Runs the epochs; returns the best model by validation Dice (the last one without validation).
   * validation may be empty. Throws std::invalid_argument naming the case for an empty training list,
   * inconsistent sizes, non-finite intensities or labels the network cannot output, and naming the
   * option for invalid options. */
  Model
  train(const std::vector<SliceVolume> & training, const std::vector<SliceVolume> & validation);

  const std::vector<EpochRecord> &
  history() const;
  bool
  stoppedEarly() const;
  /** Whether the last train() ended on requestStop() before its last epoch. */
  bool
  interrupted() const;

private:
  struct Impl;
  std::unique_ptr<Impl> m_Impl;
};

} // namespace anunet

#endif
