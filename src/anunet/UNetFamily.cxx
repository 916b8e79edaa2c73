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
#include "UNetFamily.h"

#include <string>

namespace anunet
{

UNetFamilyImpl::UNetFamilyImpl(NetworkOptions options)
  : SegmentationNetworkImpl(std::move(options))
  , m_Recurrent(m_Options.architecture == Architecture::R2UNet ||
                m_Options.architecture == Architecture::AttentionR2UNet)
  , m_Attention(m_Options.architecture == Architecture::AttentionUNet ||
                m_Options.architecture == Architecture::AttentionR2UNet)
  , m_Up(Depth - 1, UpConv(nullptr))
  , m_Gates(Depth - 1, AttentionGate(nullptr))
{
  const auto & f = m_Options.filters;
  for (int i = 0; i < Depth; ++i)
  {
    m_Encoder[i] = makeBlock(i == 0 ? m_Options.inputChannels : f[i - 1], f[i]);
    register_module("enc_" + std::to_string(i), m_Encoder[i].ptr());
  }
  // Decoder registered from the deepest level up, as network.py declares Up5, Att5, Up_conv5, ...
  for (int i = Depth - 2; i >= 0; --i)
  {
    const std::string level = std::to_string(i);
    m_Up[i] = register_module("up_" + level, UpConv(f[i + 1], f[i]));
    if (m_Attention)
    {
      m_Gates[i] = register_module("gate_" + level, AttentionGate(f[i], f[i], f[i] / 2));
    }
    m_Decoder[i] = makeBlock(int64_t{ 2 } * f[i], f[i]);
    register_module("dec_" + level, m_Decoder[i].ptr());
  }
  m_Head = register_module("head", makeHead(f[0], m_Options.classes));
}

torch::nn::AnyModule
UNetFamilyImpl::makeBlock(int64_t in, int64_t out) const
{
  if (m_Recurrent)
  {
    return torch::nn::AnyModule(RecurrentResidualBlock(in, out, m_Options.recurrence));
  }
  return torch::nn::AnyModule(ConvBlock(in, out));
}

std::vector<torch::Tensor>
UNetFamilyImpl::forwardHeads(const torch::Tensor & input)
{
  return { forwardLogits(input, 0) };
}

torch::Tensor
UNetFamilyImpl::forwardLogits(const torch::Tensor & input, int level)
{
  checkInput(input, level);
  std::array<torch::Tensor, Depth> encoded;
  encoded[0] = m_Encoder[0].forward(input);
  for (int i = 1; i < Depth; ++i)
  {
    encoded[i] = m_Encoder[i].forward(torch::max_pool2d(encoded[i - 1], { 2, 2 }, { 2, 2 }));
  }
  torch::Tensor decoded = std::move(encoded[Depth - 1]);
  for (int i = Depth - 2; i >= 0; --i)
  {
    auto up = m_Up[i](decoded);
    auto skip = m_Attention ? m_Gates[i](up, encoded[i]) : encoded[i];
    decoded = m_Decoder[i].forward(torch::cat({ skip, up }, 1));
  }
  return m_Head(decoded);
}

} // namespace anunet
