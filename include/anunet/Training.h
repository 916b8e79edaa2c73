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
  bool   enabled = true;
  bool   flips = true;              ///< left-right flips
  double rotationDegrees = 10.0;    ///< uniform in [-r, r]
  double scaling = 0.1;             ///< zoom factor uniform in [1 - s, 1 + s]
  double intensityScale = 0.1;      ///< x * (1 + u), u uniform in [-s, s]
  double intensityShift = 0.1;      ///< x + u, u uniform in [-s, s]
};

struct ANUNetCore_EXPORT TrainingOptions
{
  NetworkOptions network;
  Preprocessing  preprocessing; ///< recorded in the checkpoint, not applied here

  /** "hybrid" (the paper's Dice + focal), "bce-dice" (the reference code's), "dice", "focal", "bce". */
  std::string         loss = "hybrid";
  std::vector<double> headWeights; ///< deep-supervision weights of heads X(0,1..4); empty = equal

  std::string optimizer = "adam"; ///< "adam" or "sgd"
  double      learningRate = 1e-3;
  double      weightDecay = 0.0;
  double      momentum = 0.9;         ///< SGD only
  std::string schedule = "poly";      ///< "poly", "plateau" or "constant"
  double      polyPower = 0.9;
  int         plateauPatience = 3;    ///< epochs without improvement before the rate is cut by plateauFactor
  double      plateauFactor = 0.5;

  int     epochs = 20;
  int64_t iterationsPerEpoch = 0; ///< 0: one pass over the training slices
  int     batchSize = 4;
  int     earlyStoppingPatience = 0; ///< epochs without a better validation Dice before stopping; 0 = off

  double              foregroundFraction = 0.5; ///< share of sampled slices that contain foreground
  AugmentationOptions augmentation;

  uint64_t seed = 0;
  int      threads = 0; ///< 0 = all hardware threads

  /** Where best.pt, last.pt and log.jsonl go; created if missing. */
  std::string outputDirectory;
  /** A last.pt to continue from (same options): the run goes on exactly as if it had not stopped. */
  std::string resumeFrom;
};

/** One line of the per-epoch log. */
struct ANUNetCore_EXPORT EpochRecord
{
  int     epoch = 0;
  int64_t iterations = 0;
  double  loss = 0.0;
  double  validationDice = -1.0; ///< mean over validation volumes of the 3-D Dice; -1 without validation
  std::vector<double> validationDicePerCase;
  double  learningRate = 0.0;
  double  seconds = 0.0;
  bool    best = false;
};

struct ANUNetCore_EXPORT TrainingProgress
{
  int     epoch = 0;
  int     epochs = 0;
  int64_t iteration = 0;       ///< optimiser steps so far
  int64_t totalIterations = 0;
  double  loss = 0.0;          ///< running mean over the epoch
  double  secondsElapsed = 0.0;
  double  secondsRemaining = 0.0;
};

/** Trains a network on preprocessed slices; torch-free interface, implemented in the torch core. */
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

  /** Asks a running train() to stop after the current iteration; safe from another thread. */
  void
  requestStop();

  /** Runs the epochs; returns the best model by validation Dice (the last one without validation). */
  Model
  train(const std::vector<SliceVolume> & training, const std::vector<SliceVolume> & validation);

  const std::vector<EpochRecord> &
  history() const;
  bool
  stoppedEarly() const;

private:
  struct Impl;
  std::unique_ptr<Impl> m_Impl;
};

} // namespace anunet

#endif
