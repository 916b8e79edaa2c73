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
// Internal header of the torch core: the building blocks shared by the six networks.
#ifndef anunet_Blocks_h
#define anunet_Blocks_h

#include <torch/nn/module.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include <cstdint>

namespace anunet
{

/** A block whose batch normalisations can be folded into the convolutions before them, for inference:
 * in eval mode a batch normalisation is an affine map per channel, so the folded block computes what the
 * eval-mode block computes with one pass over memory less per normalisation. Folding is for a copy made for
 * inference (makeInferenceForm in InferenceForm.h): the folded block cannot be trained or saved. */
class FoldableBlock
{
public:
  virtual ~FoldableBlock() = default;
  virtual void
  foldBatchNorm() = 0;

protected:
  /** norm(x) as the block computes it (normalize in Blocks.cxx), or x itself once folded. */
  torch::Tensor
  normalized(torch::nn::BatchNorm2d & norm, const torch::Tensor & x) const;

  bool m_Folded = false;
};

/** Conv3x3 (bias) -> BN -> ReLU, twice: the convolution block of every network (ANU-Net's Conv_Block,
 * LeeJunHyun's conv_block, UNet++'s VGGBlock). */
class ConvBlockImpl
  : public torch::nn::Module
  , public FoldableBlock
{
public:
  ConvBlockImpl(int64_t inChannels, int64_t outChannels);
  torch::Tensor
  forward(const torch::Tensor & input);
  void
  foldBatchNorm() override;

private:
  torch::nn::Conv2d      m_Conv1{ nullptr };
  torch::nn::BatchNorm2d m_Norm1{ nullptr };
  torch::nn::Conv2d      m_Conv2{ nullptr };
  torch::nn::BatchNorm2d m_Norm2{ nullptr };
};
TORCH_MODULE(ConvBlock);

/** Recurrent convolution (Alom et al., LeeJunHyun's Recurrent_block): one Conv3x3-BN-ReLU applied t + 1
 * times, x1 = f(x), then x1 = f(x + x1) t times; the weights are shared across the steps. */
class RecurrentBlockImpl
  : public torch::nn::Module
  , public FoldableBlock
{
public:
  RecurrentBlockImpl(int64_t channels, int recurrence);
  torch::Tensor
  forward(const torch::Tensor & input);
  void
  foldBatchNorm() override;

private:
  int                    m_Recurrence;
  torch::nn::Conv2d      m_Conv{ nullptr };
  torch::nn::BatchNorm2d m_Norm{ nullptr };
};
TORCH_MODULE(RecurrentBlock);

/** Recurrent residual block (RRCNN_block): Conv1x1 to the output width, two recurrent blocks, plus the
 * 1x1 output as residual. */
class RecurrentResidualBlockImpl : public torch::nn::Module
{
public:
  RecurrentResidualBlockImpl(int64_t inChannels, int64_t outChannels, int recurrence);
  torch::Tensor
  forward(const torch::Tensor & input);

private:
  torch::nn::Conv2d m_Project{ nullptr };
  RecurrentBlock    m_Recurrent1{ nullptr };
  RecurrentBlock    m_Recurrent2{ nullptr };
};
TORCH_MODULE(RecurrentResidualBlock);

/** Learned x2 upsampling of ANU-Net (up_conv of the author's code): ConvTranspose2d k2 s2 (bias) -> BN -> ReLU. */
/** 2x2 transposed convolution with stride 2, batch norm, ReLU. Folded, it runs as a 1x1 convolution to four
 * times the channels and a pixel shuffle, the same numbers: each output pixel of a 2x2 stride-2 transposed
 * convolution sees exactly one input pixel. LibTorch 1.13 runs the transposed convolution through its slow
 * reference kernel (11 % of ANU-Net's L4 forward) and rejects it in bfloat16; oneDNN runs the 1x1 one. */
class TransposedUpConvImpl
  : public torch::nn::Module
  , public FoldableBlock
{
public:
  TransposedUpConvImpl(int64_t inChannels, int64_t outChannels);
  torch::Tensor
  forward(const torch::Tensor & input);
  void
  foldBatchNorm() override;

private:
  torch::nn::ConvTranspose2d m_Conv{ nullptr };
  torch::nn::BatchNorm2d     m_Norm{ nullptr };
  torch::nn::Conv2d          m_Shuffled{ nullptr }; ///< the folded form's 1x1 convolution
};
TORCH_MODULE(TransposedUpConv);

/** x2 upsampling of the LeeJunHyun U-Nets (up_conv there): nearest x2 -> Conv3x3 (bias) -> BN -> ReLU. */
class UpConvImpl
  : public torch::nn::Module
  , public FoldableBlock
{
public:
  UpConvImpl(int64_t inChannels, int64_t outChannels);
  torch::Tensor
  forward(const torch::Tensor & input);
  void
  foldBatchNorm() override;

private:
  torch::nn::Conv2d      m_Conv{ nullptr };
  torch::nn::BatchNorm2d m_Norm{ nullptr };
};
TORCH_MODULE(UpConv);

/** Additive attention gate (Oktay et al.; Attention_block): psi = sigmoid(BN(conv1x1(ReLU(BN(W_g g) + BN(W_x x)))))
 * with one channel; returns x * psi. g is the gating signal from the coarser level, x the skip being gated. */
class AttentionGateImpl
  : public torch::nn::Module
  , public FoldableBlock
{
public:
  AttentionGateImpl(int64_t gatingChannels, int64_t skipChannels, int64_t intermediateChannels);
  torch::Tensor
  forward(const torch::Tensor & gating, const torch::Tensor & skip);
  void
  foldBatchNorm() override;

private:
  torch::nn::Conv2d      m_GatingConv{ nullptr };
  torch::nn::BatchNorm2d m_GatingNorm{ nullptr };
  torch::nn::Conv2d      m_SkipConv{ nullptr };
  torch::nn::BatchNorm2d m_SkipNorm{ nullptr };
  torch::nn::Conv2d      m_PsiConv{ nullptr };
  torch::nn::BatchNorm2d m_PsiNorm{ nullptr };
};
TORCH_MODULE(AttentionGate);

/** x2 upsampling without weights; size-agnostic when traced. */
torch::Tensor
upsampleNearest2x(const torch::Tensor & input);
torch::Tensor
upsampleBilinear2x(const torch::Tensor & input);

/** A 1x1 convolution with bias: the output heads. */
torch::nn::Conv2d
makeHead(int64_t inChannels, int64_t classes);

/** Parameters (requires_grad) of a module and its children. */
int64_t
countParameters(const torch::nn::Module & module);

} // namespace anunet

#endif
