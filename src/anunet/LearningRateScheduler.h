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
// Internal header of the torch core: the learning rate over a run, apart from the optimiser that applies it.
#ifndef anunet_LearningRateScheduler_h
#define anunet_LearningRateScheduler_h

#include "anunet/Training.h"

#include <nlohmann/json.hpp>

#include <cstdint>

namespace anunet
{

/** The rate of TrainingOptions::schedule at every step. Poly depends on the step alone; plateau keeps a state
 * that endEpoch() updates and last.pt stores, so that a resumed run cuts the rate when the uninterrupted one
 * would have. */
class LearningRateScheduler
{
public:
  LearningRateScheduler(const TrainingOptions & options, int64_t iterationsPerEpoch);

  /** The rate for the optimiser step that follows `iteration` completed steps. */
  double
  rateAt(int64_t iteration) const;

  /** After an epoch: the plateau schedule watches the validation Dice, or the training loss without
   * validation cases. */
  void
  endEpoch(double loss, double validationDice, bool withValidation);

  nlohmann::json
  state() const;
  /** Throws nlohmann::json::exception for a state of another form. */
  void
  loadState(const nlohmann::json & state);

private:
  LearningRateSchedule m_Schedule;
  double               m_BaseRate;
  double               m_PolyPower;
  int                  m_PlateauPatience;
  double               m_PlateauFactor;
  double               m_TotalIterations;

  double m_Rate;
  double m_PlateauBest;
  int    m_PlateauBadEpochs = 0;
};

} // namespace anunet

#endif
