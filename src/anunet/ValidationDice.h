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
// Internal header of the torch core: the trainer's validation measure.
#ifndef anunet_ValidationDice_h
#define anunet_ValidationDice_h

#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace anunet
{

/** The 3-D Dice of a volume per class, accumulated slice chunk by slice chunk: |A n G|, |A| and |G| are summed
 * over all slices before the ratio is taken, so that the chunking does not change the result. */
class VolumeDice
{
public:
  /** classes: the label values 0 .. classes - 1 (0 the background), at least 2. */
  explicit VolumeDice(int64_t classes);

  /** prediction and truth: class indices of the same shape (any integer type). */
  void
  add(const torch::Tensor & prediction, const torch::Tensor & truth);

  /** The mean over the foreground classes; a class absent from both counts 1 (nothing to find, nothing found). */
  double
  meanForeground() const;

private:
  std::vector<int64_t> m_Overlap;
  std::vector<int64_t> m_Predicted;
  std::vector<int64_t> m_Truth;
};

/** Class indices from logits: one channel is a sigmoid (> 0), several a softmax (argmax). */
torch::Tensor
predictedClasses(const torch::Tensor & logits);

} // namespace anunet

#endif
