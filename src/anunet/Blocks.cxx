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
#include "Blocks.h"

#include "Distributed.h"

#include <algorithm>

namespace anunet
{

namespace
{
torch::nn::Conv2d
conv3x3(int64_t in, int64_t out)
{
  return torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 3).padding(1).bias(true));
}

torch::nn::Conv2d
conv1x1(int64_t in, int64_t out)
{
  return torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 1).bias(true));
}

/** Batch normalisation. In a distributed training step its statistics are those of the whole batch over
 * all ranks (synchronised batch norm), so that the ranks compute the step one process would compute on the
 * whole batch; the module's own kernel everywhere else. One collective per pass: the sums of x and x^2 go
 * together, accumulated in double, where E[x^2] - E[x]^2 keeps the variance as accurate as the kernel's
 * two-pass float32 one. */
at::Tensor
normalize(torch::nn::BatchNorm2d & norm, const at::Tensor & x)
{
  if (!batchNormIsDistributed() || !norm->is_training())
  {
    return norm(x);
  }
  const at::Tensor input = x.to(at::kFloat); // float32 statistics under bfloat16 autocast too
  const double     count = static_cast<double>(input.numel() / input.size(1)) * batchRanks();
  const at::Tensor moments = batchSum(at::stack({ input.sum({ 0, 2, 3 }, false, at::kDouble),
                                                  (input * input).sum({ 0, 2, 3 }, false, at::kDouble) })) /
                             count;
  const at::Tensor mean = moments[0];
  const at::Tensor variance = (moments[1] - mean * mean).clamp_min(0.0);
  {
    torch::NoGradGuard noGrad;
    norm->num_batches_tracked += 1;
    const auto   momentum = norm->options.momentum();
    const double m = momentum ? *momentum : 1.0 / norm->num_batches_tracked.item<double>();
    norm->running_mean.mul_(1 - m).add_(mean.to(at::kFloat), m);
    norm->running_var.mul_(1 - m).add_((variance * (count / std::max(1.0, count - 1))).to(at::kFloat), m);
  }
  const at::Tensor scale = (variance + norm->options.eps()).rsqrt().to(at::kFloat) * norm->weight;
  const at::Tensor shift = norm->bias - mean.to(at::kFloat) * scale;
  return (input * scale.view({ 1, -1, 1, 1 }) + shift.view({ 1, -1, 1, 1 })).to(x.scalar_type());
}

/** The eval-mode batch normalisation after a convolution as a scale and shift per output channel. */
struct ChannelAffine
{
  at::Tensor scale;
  at::Tensor shift;
};

ChannelAffine
affineOf(const torch::nn::BatchNorm2d & norm)
{
  const at::Tensor scale = norm->weight * (norm->running_var + norm->options.eps()).rsqrt();
  return { scale, norm->bias - norm->running_mean * scale };
}

/** conv then norm becomes conv with scaled weights and a shifted bias. */
void
foldInto(torch::nn::Conv2d & conv, const torch::nn::BatchNorm2d & norm)
{
  torch::NoGradGuard noGrad;
  const auto [scale, shift] = affineOf(norm);
  conv->weight.mul_(scale.view({ -1, 1, 1, 1 }));
  conv->bias.mul_(scale).add_(shift);
}

} // namespace

torch::Tensor
FoldableBlock::normalized(torch::nn::BatchNorm2d & norm, const torch::Tensor & x) const
{
  return m_Folded ? x : normalize(norm, x);
}

// Scale factors, not output sizes: sizes read in C++ would be traced as constants, and a TorchScript export
// would then accept only the size it was traced at.
constexpr double upsampleFactors[] = { 2.0, 2.0 };

torch::Tensor
upsampleNearest2x(const torch::Tensor & input)
{
  return torch::upsample_nearest2d(input, c10::nullopt, at::ArrayRef<double>(upsampleFactors));
}

torch::Tensor
upsampleBilinear2x(const torch::Tensor & input)
{
  // align_corners as the author's NestedUNet (nn.Upsample(scale_factor=2, mode='bilinear', align_corners=True)).
  return torch::upsample_bilinear2d(input, c10::nullopt, /*align_corners=*/true, at::ArrayRef<double>(upsampleFactors));
}

torch::nn::Conv2d
makeHead(int64_t inChannels, int64_t classes)
{
  return conv1x1(inChannels, classes);
}

int64_t
countParameters(const torch::nn::Module & module)
{
  int64_t count = 0;
  for (const auto & parameter : module.parameters(/*recurse=*/true))
  {
    if (parameter.requires_grad())
    {
      count += parameter.numel();
    }
  }
  return count;
}

// In-place ReLU after BN is safe for autograd: batch norm's backward needs its input, not its output.

ConvBlockImpl::ConvBlockImpl(int64_t inChannels, int64_t outChannels)
  : m_Conv1(register_module("conv1", conv3x3(inChannels, outChannels)))
  , m_Norm1(register_module("bn1", torch::nn::BatchNorm2d(outChannels)))
  , m_Conv2(register_module("conv2", conv3x3(outChannels, outChannels)))
  , m_Norm2(register_module("bn2", torch::nn::BatchNorm2d(outChannels)))
{}

torch::Tensor
ConvBlockImpl::forward(const torch::Tensor & input)
{
  auto x = normalized(m_Norm1, m_Conv1(input)).relu_();
  return normalized(m_Norm2, m_Conv2(x)).relu_();
}

void
ConvBlockImpl::foldBatchNorm()
{
  foldInto(m_Conv1, m_Norm1);
  foldInto(m_Conv2, m_Norm2);
  m_Folded = true;
}

RecurrentBlockImpl::RecurrentBlockImpl(int64_t channels, int recurrence)
  : m_Recurrence(recurrence)
  , m_Conv(register_module("conv", conv3x3(channels, channels)))
  , m_Norm(register_module("bn", torch::nn::BatchNorm2d(channels)))
{}

torch::Tensor
RecurrentBlockImpl::forward(const torch::Tensor & input)
{
  auto x1 = normalized(m_Norm, m_Conv(input)).relu_();
  for (int step = 0; step < m_Recurrence; ++step)
  {
    x1 = normalized(m_Norm, m_Conv(input + x1)).relu_();
  }
  return x1;
}

void
RecurrentBlockImpl::foldBatchNorm()
{
  // One convolution and one normalisation serve every step: folded once.
  foldInto(m_Conv, m_Norm);
  m_Folded = true;
}

RecurrentResidualBlockImpl::RecurrentResidualBlockImpl(int64_t inChannels, int64_t outChannels, int recurrence)
  : m_Project(register_module("conv1x1", conv1x1(inChannels, outChannels)))
  , m_Recurrent1(register_module("rcnn1", RecurrentBlock(outChannels, recurrence)))
  , m_Recurrent2(register_module("rcnn2", RecurrentBlock(outChannels, recurrence)))
{}

torch::Tensor
RecurrentResidualBlockImpl::forward(const torch::Tensor & input)
{
  auto x = m_Project(input);
  return x + m_Recurrent2(m_Recurrent1(x));
}

TransposedUpConvImpl::TransposedUpConvImpl(int64_t inChannels, int64_t outChannels)
  : m_Conv(register_module(
      "conv",
      torch::nn::ConvTranspose2d(torch::nn::ConvTranspose2dOptions(inChannels, outChannels, 2).stride(2).bias(true))))
  , m_Norm(register_module("bn", torch::nn::BatchNorm2d(outChannels)))
{}

torch::Tensor
TransposedUpConvImpl::forward(const torch::Tensor & input)
{
  if (m_Folded)
  {
    return torch::pixel_shuffle(m_Shuffled(input), 2).relu_();
  }
  return normalize(m_Norm, m_Conv(input)).relu_();
}

void
TransposedUpConvImpl::foldBatchNorm()
{
  torch::NoGradGuard noGrad;
  const auto [scale, shift] = affineOf(m_Norm);
  // Transposed weights are in x out x 2 x 2; output (o, 2h + a, 2w + b) = sum_i x(i, h, w) W(i, o, a, b), which
  // pixel_shuffle reads from channel 4 o + 2 a + b of a 1x1 convolution.
  const at::Tensor weight = m_Conv->weight * scale.view({ 1, -1, 1, 1 });
  const int64_t    in = weight.size(0);
  const int64_t    out = weight.size(1);
  m_Shuffled = register_module("conv_as_1x1", torch::nn::Conv2d(torch::nn::Conv2dOptions(in, 4 * out, 1).bias(true)));
  m_Shuffled->to(weight.device(), weight.scalar_type());
  m_Shuffled->weight.copy_(weight.permute({ 1, 2, 3, 0 }).reshape({ 4 * out, in, 1, 1 }));
  m_Shuffled->bias.copy_((m_Conv->bias * scale + shift).repeat_interleave(4));
  m_Folded = true;
}

UpConvImpl::UpConvImpl(int64_t inChannels, int64_t outChannels)
  : m_Conv(register_module("conv", conv3x3(inChannels, outChannels)))
  , m_Norm(register_module("bn", torch::nn::BatchNorm2d(outChannels)))
{}

torch::Tensor
UpConvImpl::forward(const torch::Tensor & input)
{
  return normalized(m_Norm, m_Conv(upsampleNearest2x(input))).relu_();
}

void
UpConvImpl::foldBatchNorm()
{
  foldInto(m_Conv, m_Norm);
  m_Folded = true;
}

AttentionGateImpl::AttentionGateImpl(int64_t gatingChannels, int64_t skipChannels, int64_t intermediateChannels)
  : m_GatingConv(register_module("W_g_conv", conv1x1(gatingChannels, intermediateChannels)))
  , m_GatingNorm(register_module("W_g_bn", torch::nn::BatchNorm2d(intermediateChannels)))
  , m_SkipConv(register_module("W_x_conv", conv1x1(skipChannels, intermediateChannels)))
  , m_SkipNorm(register_module("W_x_bn", torch::nn::BatchNorm2d(intermediateChannels)))
  , m_PsiConv(register_module("psi_conv", conv1x1(intermediateChannels, 1)))
  , m_PsiNorm(register_module("psi_bn", torch::nn::BatchNorm2d(1)))
{}

torch::Tensor
AttentionGateImpl::forward(const torch::Tensor & gating, const torch::Tensor & skip)
{
  // add_ into the BN output is safe for autograd (BN does not keep its output), and saves one tensor; folded, it
  // adds into the convolution's output, which runs only for inference.
  auto sum = normalized(m_GatingNorm, m_GatingConv(gating)).add_(normalized(m_SkipNorm, m_SkipConv(skip))).relu_();
  auto psi = normalized(m_PsiNorm, m_PsiConv(sum)).sigmoid_();
  return skip * psi;
}

void
AttentionGateImpl::foldBatchNorm()
{
  foldInto(m_GatingConv, m_GatingNorm);
  foldInto(m_SkipConv, m_SkipNorm);
  foldInto(m_PsiConv, m_PsiNorm);
  m_Folded = true;
}

} // namespace anunet
