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
#include "LearningRateScheduler.h"

#include "Json.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace anunet
{

LearningRateScheduler::LearningRateScheduler(const TrainingOptions & options, int64_t iterationsPerEpoch)
  : m_Schedule(options.schedule)
  , m_BaseRate(options.learningRate)
  , m_PolyPower(options.polyPower)
  , m_PlateauPatience(options.plateauPatience)
  , m_PlateauFactor(options.plateauFactor)
  , m_TotalIterations(static_cast<double>(options.epochs) * static_cast<double>(iterationsPerEpoch))
  , m_Rate(options.learningRate)
  , m_PlateauBest(-std::numeric_limits<double>::infinity())
{}

double
LearningRateScheduler::rateAt(int64_t iteration) const
{
  if (m_Schedule == LearningRateSchedule::Poly)
  {
    const double done = std::min(1.0, static_cast<double>(iteration) / m_TotalIterations);
    return m_BaseRate * std::pow(1.0 - done, m_PolyPower);
  }
  return m_Rate; // the plateau schedule changes it between epochs; the constant one never
}

void
LearningRateScheduler::endEpoch(double loss, double validationDice, bool withValidation)
{
  if (m_Schedule != LearningRateSchedule::Plateau)
  {
    return;
  }
  const double monitored = withValidation ? validationDice : -loss;
  if (monitored > m_PlateauBest)
  {
    m_PlateauBest = monitored;
    m_PlateauBadEpochs = 0;
  }
  else if (++m_PlateauBadEpochs >= m_PlateauPatience)
  {
    m_Rate *= m_PlateauFactor;
    m_PlateauBadEpochs = 0;
  }
}

nlohmann::json
LearningRateScheduler::state() const
{
  // JSON has no infinity: an unset best is null.
  return { { "learning_rate", m_Rate },
           { "plateau_best", std::isfinite(m_PlateauBest) ? nlohmann::json(m_PlateauBest) : nlohmann::json() },
           { "plateau_bad_epochs", m_PlateauBadEpochs } };
}

void
LearningRateScheduler::loadState(const nlohmann::json & state)
{
  m_Rate = state.at("learning_rate").get<double>();
  const auto & best = state.at("plateau_best");
  m_PlateauBest = best.is_null() ? -std::numeric_limits<double>::infinity() : best.get<double>();
  m_PlateauBadEpochs = json::integer<int>(state.at("plateau_bad_epochs"), "plateau_bad_epochs");
}

} // namespace anunet
