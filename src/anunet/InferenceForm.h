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
// The network as inference runs it: a copy with batch normalisation folded away and weights in the chosen
// precision, made once per model and precision and kept beside the network it came from.
#ifndef anunet_InferenceForm_h
#define anunet_InferenceForm_h

#include "SegmentationNetwork.h"

#include "anunet/Model.h"

#include <mutex>

namespace anunet
{

/** A copy of network, its parameters and buffers, on the same device and in the same mode. */
SegmentationNetwork
copyNetwork(const SegmentationNetworkImpl & network);

/** A copy of network for inference only: eval mode, every batch normalisation folded into the convolution
 * before it, the 2x2 transposed convolutions as 1x1 convolutions and a pixel shuffle (FoldableBlock in
 * Blocks.h), weights in float32 or bfloat16 and channels-last. In float32 it computes what network computes in eval
 * mode, up to rounding (NetworksTest.InferenceFormMatchesTheNetwork). */
SegmentationNetwork
makeInferenceForm(const SegmentationNetworkImpl & network, Precision precision);

/** Probabilities at a level from an inference form: the input cast to the form's precision and channels-last
 * (the probabilities are channels-last too, which only matters for several classes), the logits cast
 * back to float32 before the sigmoid or softmax, so that probabilities near 0.5 keep float32's resolution. */
torch::Tensor
runInferenceForm(SegmentationNetworkImpl & form, const torch::Tensor & input, int level, Precision precision);

/** A model's inference forms, made on first use and shared by the Model copies that share its network.
 * Thread-safe. A copy of the cache (Model::clone copies the Impl) starts empty: it belongs to another network. */
class InferenceForms
{
public:
  InferenceForms() = default;
  InferenceForms(const InferenceForms &) {}
  InferenceForms &
  operator=(const InferenceForms &);

  SegmentationNetwork
  get(const SegmentationNetworkImpl & network, Precision precision);
  /** Forgets the forms; for a network whose weights or device changed. */
  void
  clear();

private:
  std::mutex          m_Mutex;
  SegmentationNetwork m_Float32;
  SegmentationNetwork m_BFloat16;
};

} // namespace anunet

#endif
