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
#include "NestedNetworks.h"

#include <stdexcept>
#include <string>

namespace anunet
{

NestedNetworkImpl::NestedNetworkImpl(NetworkOptions options, bool attention)
  : SegmentationNetworkImpl(std::move(options))
  , m_Attention(attention)
  , m_Blocks(Depth, std::vector<ConvBlock>(Depth, ConvBlock(nullptr)))
  , m_Gates(Depth, std::vector<AttentionGate>(Depth, AttentionGate(nullptr)))
  , m_Up(Depth - 1, TransposedUpConv(nullptr))
  , m_Heads(Depth, torch::nn::Conv2d(nullptr))
{
  const auto & f = m_Options.filters;

  // Registration order = encoder, then by column: the order of the author's __init__, so that state dicts
  // list tensors in the order readers of the paper's code expect.
  for (int i = 0; i < Depth; ++i)
  {
    const int64_t in = i == 0 ? m_Options.inputChannels : f[i - 1];
    m_Blocks[i][0] = register_module("conv_" + std::to_string(i) + "_0", ConvBlock(in, f[i]));
  }
  if (m_Attention)
  {
    for (int i = 0; i < Depth - 1; ++i)
    {
      m_Up[i] = register_module("up_" + std::to_string(i), TransposedUpConv(f[i + 1], f[i]));
    }
  }
  for (int j = 1; j < Depth; ++j)
  {
    for (int i = 0; i + j < Depth; ++i)
    {
      const std::string name = std::to_string(i) + "_" + std::to_string(j);
      if (m_Attention)
      {
        // F_int = [f0, f0, f1, f2]: the author's [32, 32, 64, 128] at widths 32..512.
        const int64_t intermediate = i == 0 ? f[0] : f[i - 1];
        m_Gates[i][j] = register_module("gate_" + name, AttentionGate(f[i], f[i], intermediate));
        m_Blocks[i][j] = register_module("conv_" + name, ConvBlock(int64_t{ f[i] } * (j + 1), f[i]));
      }
      else
      {
        m_Blocks[i][j] = register_module("conv_" + name, ConvBlock(int64_t{ f[i] } * j + f[i + 1], f[i]));
      }
    }
  }
  for (int j = 1; j < Depth; ++j)
  {
    if (m_Options.deepSupervision || j == Depth - 1)
    {
      m_Heads[j] = register_module("head_" + std::to_string(j), makeHead(f[0], m_Options.classes));
    }
  }
}

torch::Tensor
NestedNetworkImpl::node(int i, int j, const Grid & grid)
{
  if (j == 0)
  {
    return m_Blocks[i][0](torch::max_pool2d(grid[i - 1][0], { 2, 2 }, { 2, 2 }));
  }
  const auto &               lower = grid[i + 1][j - 1];
  std::vector<torch::Tensor> parts;
  parts.reserve(j + 1);
  if (m_Attention)
  {
    auto up = m_Up[i](lower);
    parts.push_back(m_Gates[i][j](up, grid[i][j - 1]));
    parts.push_back(std::move(up));
    for (int k = 0; k + 1 < j; ++k)
    {
      parts.push_back(grid[i][k]);
    }
  }
  else
  {
    for (int k = 0; k < j; ++k)
    {
      parts.push_back(grid[i][k]);
    }
    parts.push_back(upsampleBilinear2x(lower));
  }
  return m_Blocks[i][j](torch::cat(parts, 1));
}

void
NestedNetworkImpl::computeNodes(const torch::Tensor & input, int level, Grid & grid)
{
  // By anti-diagonals s = i + j: X(i+1,j-1) and X(i,j-1) are ready before X(i,j) needs them.
  grid[0][0] = m_Blocks[0][0](input);
  for (int s = 1; s <= level; ++s)
  {
    grid[s][0] = node(s, 0, grid);
    for (int j = 1; j <= s; ++j)
    {
      grid[s - j][j] = node(s - j, j, grid);
    }
  }
}

std::vector<torch::Tensor>
NestedNetworkImpl::forwardHeads(const torch::Tensor & input)
{
  checkInput(input, 0);
  Grid grid;
  computeNodes(input, Depth - 1, grid);
  std::vector<torch::Tensor> heads;
  for (int j = 1; j < Depth; ++j)
  {
    if (!m_Heads[j].is_empty())
    {
      heads.push_back(m_Heads[j](grid[0][j]));
    }
  }
  return heads;
}

torch::Tensor
NestedNetworkImpl::forwardLogits(const torch::Tensor & input, int level)
{
  checkInput(input, level);
  const int column = level == 0 ? Depth - 1 : level;
  Grid      grid;
  computeNodes(input, column, grid);
  return m_Heads[column](grid[0][column]);
}

int64_t
NestedNetworkImpl::parameterCount(int level) const
{
  checkLevel(level);
  if (level == 0 || level == Depth - 1)
  {
    return SegmentationNetworkImpl::parameterCount(0);
  }
  // The modules forwardLogits(level) runs: nodes with i + j <= level, their gates, the upsamplers of the
  // depths that have a nested node, and the one head.
  int64_t count = countParameters(*m_Heads[level]);
  for (int i = 0; i <= level; ++i)
  {
    for (int j = 0; i + j <= level; ++j)
    {
      count += countParameters(*m_Blocks[i][j]);
      if (j > 0 && m_Attention)
      {
        count += countParameters(*m_Gates[i][j]);
      }
    }
    if (m_Attention && i < level)
    {
      count += countParameters(*m_Up[i]);
    }
  }
  return count;
}

} // namespace anunet
