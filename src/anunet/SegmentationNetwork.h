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
// Internal header of the torch core: never included by public headers.
#ifndef anunet_SegmentationNetwork_h
#define anunet_SegmentationNetwork_h

#include "anunet/NetworkOptions.h"

#include <torch/nn/module.h>
#include <torch/types.h>

#include <memory>
#include <string>
#include <vector>

namespace anunet
{

/** Base of the six networks.
 *
 * Every network returns logits; probabilities come from toProbabilities() (sigmoid for one output
 * channel, softmax over channels otherwise), so that losses can use the numerically stable forms. */
class SegmentationNetworkImpl : public torch::nn::Module
{
public:
  explicit SegmentationNetworkImpl(NetworkOptions options);

  /** Logits of every head, in order X(0,1), ..., X(0,4) for nested networks with deep supervision;
   * a single element otherwise. Used in training. */
  virtual std::vector<torch::Tensor>
  forwardHeads(const torch::Tensor & input) = 0;

  /** Logits of the output at a pruning level 1..maximumLevel(), computing only the nodes X(i,j) with
   * i + j <= level; level 0 is the full network's final output. */
  virtual torch::Tensor
  forwardLogits(const torch::Tensor & input, int level = 0) = 0;

  /** Probabilities at a level (what inference uses). */
  torch::Tensor
  forward(const torch::Tensor & input, int level = 0);

  /** 4 for networks with pruning levels, 0 otherwise. */
  int
  maximumLevel() const;

  /** Trainable parameters used by forwardLogits(level): level 0 or maximumLevel() counts the whole
   * network with all its heads; a lower level counts the pruned network with its one head. */
  virtual int64_t
  parameterCount(int level = 0) const;

  const NetworkOptions &
  options() const
  {
    return m_Options;
  }

  /** Throws std::invalid_argument unless level is 0..maximumLevel() and has a head (without deep
   * supervision a nested network has only the final head: level 0 or 4). */
  void
  checkLevel(int level) const;

protected:
  /** Throws std::invalid_argument unless input is N x inputChannels x H x W with H, W multiples of 16,
   * and level is valid. */
  void
  checkInput(const torch::Tensor & input, int level) const;

  NetworkOptions m_Options;
};

using SegmentationNetwork = std::shared_ptr<SegmentationNetworkImpl>;

/** The factory: builds the network named by options.architecture, weights initialised from the
 * current torch seed. Throws std::invalid_argument for invalid options. */
SegmentationNetwork
makeNetwork(const NetworkOptions & options);

/** Sigmoid for one channel, softmax over dim 1 otherwise. */
torch::Tensor
toProbabilities(const torch::Tensor & logits);

} // namespace anunet

#endif
