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
#include "ValidationDice.h"

namespace anunet
{

VolumeDice::VolumeDice(int64_t classes)
  : m_Overlap(classes, 0)
  , m_Predicted(classes, 0)
  , m_Truth(classes, 0)
{
  TORCH_CHECK(classes >= 2, "VolumeDice needs the background and at least one class, got ", classes);
}

void
VolumeDice::add(const torch::Tensor & prediction, const torch::Tensor & truth)
{
  TORCH_CHECK(prediction.sizes() == truth.sizes(),
              "prediction ",
              prediction.sizes(),
              " and truth ",
              truth.sizes(),
              " differ in shape");
  for (size_t k = 1; k < m_Overlap.size(); ++k)
  {
    const auto a = prediction == static_cast<int64_t>(k);
    const auto g = truth == static_cast<int64_t>(k);
    m_Overlap[k] += (a & g).sum().item<int64_t>();
    m_Predicted[k] += a.sum().item<int64_t>();
    m_Truth[k] += g.sum().item<int64_t>();
  }
}

double
VolumeDice::meanForeground() const
{
  double sum = 0.0;
  for (size_t k = 1; k < m_Overlap.size(); ++k)
  {
    const int64_t denominator = m_Predicted[k] + m_Truth[k];
    sum += denominator == 0 ? 1.0 : 2.0 * static_cast<double>(m_Overlap[k]) / static_cast<double>(denominator);
  }
  return sum / static_cast<double>(m_Overlap.size() - 1);
}

torch::Tensor
predictedClasses(const torch::Tensor & logits)
{
  return logits.size(1) == 1 ? (logits.squeeze(1) > 0).to(torch::kByte) : logits.argmax(1).to(torch::kByte);
}

} // namespace anunet
