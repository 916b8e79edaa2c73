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
// Internal header of the torch core: the nested U-Nets (ANU-Net and UNet++), which have pruning levels.
#ifndef anunet_NestedNetworks_h
#define anunet_NestedNetworks_h

#include "Blocks.h"
#include "SegmentationNetwork.h"

#include <array>
#include <vector>

namespace anunet
{

/** The nested U-Net grid X(i,j), i = depth 0..4, j = column 0..4 - i (Zhou et al.), in two variants.
 *
 * ANU-Net (attention = true; docs/reference.md §1, the author's AttentionUNetPlusPlus2): node
 * X(i,j), j >= 1, is CB(cat[AG(g = u, x = X(i,j-1)), u, X(i,0), ..., X(i,j-2)]) with u = Up_i(X(i+1,j-1)),
 * Up_i a ConvTranspose-BN-ReLU shared by every node of depth i, and gate widths F_int = [f0, f0, f1, f2].
 *
 * UNet++ (attention = false; the author's NestedUNet): X(i,j) = CB(cat[X(i,0), ..., X(i,j-1), bilinear(X(i+1,j-1))]).
 *
 * Heads are 1x1 convolutions on X(0,1..4) with deep supervision, on X(0,4) only without. */
class NestedNetworkImpl : public SegmentationNetworkImpl
{
public:
  NestedNetworkImpl(NetworkOptions options, bool attention);

  std::vector<torch::Tensor>
  forwardHeads(const torch::Tensor & input) override;
  torch::Tensor
  forwardLogits(const torch::Tensor & input, int level = 0) override;
  int64_t
  parameterCount(int level = 0) const override;

private:
  static constexpr int Depth = 5;
  using Grid = std::array<std::array<torch::Tensor, Depth>, Depth>;

  /** Computes the nodes X(i,j) with i + j <= level into grid. */
  void
  computeNodes(const torch::Tensor & input, int level, Grid & grid);
  /** X(i,j) from the nodes already in grid; i >= 1 for j = 0. */
  torch::Tensor
  node(int i, int j, const Grid & grid);

  bool m_Attention;
  // Indexed [i][j]; holders stay empty (nullptr) where the grid has no such node.
  std::vector<std::vector<ConvBlock>>     m_Blocks;
  std::vector<std::vector<AttentionGate>> m_Gates;
  std::vector<TransposedUpConv>           m_Up;    ///< index = depth i of the nodes it feeds
  std::vector<torch::nn::Conv2d>          m_Heads; ///< index = column j of X(0,j)
};

} // namespace anunet

#endif
