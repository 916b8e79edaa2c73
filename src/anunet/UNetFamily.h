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
// Internal header of the torch core: the four non-nested baselines (U-Net, R2U-Net, Attention U-Net,
// Attention R2U-Net), wired as LeeJunHyun/Image_Segmentation network.py (docs/reference.md §2).
#ifndef anunet_UNetFamily_h
#define anunet_UNetFamily_h

#include "Blocks.h"
#include "SegmentationNetwork.h"

#include <torch/nn/modules/container/any.h>

#include <array>
#include <vector>

namespace anunet
{

/** Encoder of five blocks with 2x2 max pooling; decoder d_i = Block(cat[skip_i, Up_i(d_{i+1})]) where skip_i is
 * the encoder output, gated by AG(g = Up_i(d_{i+1}), x = encoder_i, F_int = f_i / 2) in the attention variants.
 * Blocks are ConvBlock, or RecurrentResidualBlock in the R2 variants. One head, no pruning levels. */
class UNetFamilyImpl : public SegmentationNetworkImpl
{
public:
  explicit UNetFamilyImpl(NetworkOptions options);

  std::vector<torch::Tensor>
  forwardHeads(const torch::Tensor & input) override;
  torch::Tensor
  forwardLogits(const torch::Tensor & input, int level = 0) override;

private:
  static constexpr int Depth = 5;

  torch::nn::AnyModule
  makeBlock(int64_t in, int64_t out) const;

  bool                                        m_Recurrent;
  bool                                        m_Attention;
  std::array<torch::nn::AnyModule, Depth>     m_Encoder;
  std::vector<UpConv>                         m_Up;    ///< index = level i it upsamples into
  std::vector<AttentionGate>                  m_Gates; ///< empty holders without attention
  std::array<torch::nn::AnyModule, Depth - 1> m_Decoder;
  torch::nn::Conv2d                           m_Head{ nullptr };
};

} // namespace anunet

#endif
