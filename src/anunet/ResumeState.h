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
// Internal header of the torch core: the part of a trainer checkpoint (last.pt) that is not tensors.
#ifndef anunet_ResumeState_h
#define anunet_ResumeState_h

#include "anunet/Training.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace anunet
{

/** Where a run stands after a step, so that resumeFrom continues it exactly: the counters, the schedule's
 * and the generators' states, the history, and the options that a resumed run must share. The tensors (the
 * optimiser's moments, the best weights, LibTorch's generator) go into the checkpoint beside it. */
struct ResumeState
{
  int                      epoch = 0;      ///< epochs completed
  int64_t                  iterations = 0; ///< optimiser steps done
  double                   bestDice = -1.0;
  int                      bestEpoch = -1;
  int64_t                  stepInEpoch = 0;    ///< steps done of an epoch that a stop interrupted
  double                   epochLossSum = 0.0; ///< their losses' sum
  nlohmann::json           schedule;           ///< LearningRateScheduler::state()
  std::string              sampler;            ///< SliceSampler::saveState()
  std::string              augmenter;
  std::vector<EpochRecord> history;

  /** The checkpoint's text, with the options' fingerprint. */
  std::string
  toJson(const TrainingOptions & options) const;

  /** Reads toJson's text and checks that options may continue the run it describes: throws
   * std::invalid_argument naming file and the option that differs, std::runtime_error naming file for a
   * state that is corrupt or of another version. */
  static ResumeState
  fromJson(const std::string & text, const TrainingOptions & options, const std::string & file);
};

} // namespace anunet

#endif
