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
#include "TrainingBars.h"

namespace anunet::cli
{

TrainingBars::TrainingBars(bool shown)
  : m_Reading("read", shown)
  , m_Training("train", shown)
{}

TrainingBars::~TrainingBars()
{
  m_Reading.finish();
  m_Training.finish();
}

workflow::TrainingObserver
TrainingBars::observer(std::function<bool()> stopRequested)
{
  workflow::TrainingObserver o;
  o.reading = [this](size_t done, size_t total, const std::string & caseName) {
    if (done < total)
    {
      m_Reading.update(static_cast<double>(done) / static_cast<double>(total), "case " + caseName);
      return;
    }
    m_Reading.update(1.0, std::to_string(total) + " cases");
    m_Reading.finish();
  };
  o.step = [this](const TrainingProgress & p) {
    const double fraction =
      static_cast<double>(p.iteration) / static_cast<double>(std::max<int64_t>(1, p.totalIterations));
    m_Training.update(fraction,
                      "epoch " + std::to_string(p.epoch) + "/" + std::to_string(p.epochs) + " loss " +
                        formatNumber(p.loss, 4),
                      p.secondsRemaining);
  };
  o.epoch = [this](const EpochRecord & r) {
    // Without validation cases there is no Dice (the record holds -1) and every epoch counts as the best.
    const std::string validation =
      r.validationDice < 0.0 ? std::string()
                             : ", validation Dice " + formatNumber(r.validationDice, 4) + (r.best ? " (best)" : "");
    m_Training.message("epoch " + std::to_string(r.epoch) + ": loss " + formatNumber(r.loss, 4) + validation + ", " +
                       formatNumber(r.seconds, 1) + " s");
  };
  o.stopRequested = std::move(stopRequested);
  return o;
}

} // namespace anunet::cli
