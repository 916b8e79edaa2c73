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
#include "InferenceForm.h"

#include "Blocks.h"

#include <torch/utils.h>

namespace anunet
{

SegmentationNetwork
copyNetwork(const SegmentationNetworkImpl & network)
{
  auto               copy = makeNetwork(network.options());
  const auto         from = network.named_parameters(/*recurse=*/true);
  torch::NoGradGuard noGrad;
  if (!from.is_empty())
  {
    copy->to(from.begin()->value().device());
  }
  for (auto & item : copy->named_parameters(/*recurse=*/true))
  {
    item.value().copy_(from[item.key()]);
  }
  const auto buffers = network.named_buffers(/*recurse=*/true);
  for (auto & item : copy->named_buffers(/*recurse=*/true))
  {
    item.value().copy_(buffers[item.key()]);
  }
  copy->train(network.is_training());
  return copy;
}

SegmentationNetwork
makeInferenceForm(const SegmentationNetworkImpl & network, Precision precision)
{
  auto form = copyNetwork(network);
  form->eval();
  for (const auto & module : form->modules(/*include_self=*/false))
  {
    if (auto * block = dynamic_cast<FoldableBlock *>(module.get()))
    {
      block->foldBatchNorm();
    }
  }
  if (precision == Precision::BFloat16)
  {
    form->to(torch::kBFloat16);
  }
  // Channels-last weights and input: oneDNN then convolves in place of its own layout instead of reordering
  // every input and output (ANU-Net L4 at 256^2: 363 -> 334 ms in float32, 232 -> 178 ms in bfloat16, AMD EPYC
  // Zen 5, 2 threads). It paid only once batch norm and the transposed convolutions were gone: LibTorch 1.13's
  // kernels for those are slower in channels-last than the reorders they save.
  torch::NoGradGuard noGrad;
  for (auto & parameter : form->parameters(/*recurse=*/true))
  {
    parameter.requires_grad_(false);
    if (parameter.dim() == 4)
    {
      parameter.set_data(parameter.contiguous(at::MemoryFormat::ChannelsLast));
    }
  }
  return form;
}

torch::Tensor
runInferenceForm(SegmentationNetworkImpl & form, const torch::Tensor & input, int level, Precision precision)
{
  const auto type = precision == Precision::BFloat16 ? torch::kBFloat16 : torch::kFloat;
  const auto x = input.to(type).contiguous(at::MemoryFormat::ChannelsLast);
  return toProbabilities(form.forwardLogits(x, level).to(torch::kFloat));
}

InferenceForms &
InferenceForms::operator=(const InferenceForms &)
{
  clear();
  return *this;
}

SegmentationNetwork
InferenceForms::get(const SegmentationNetworkImpl & network, Precision precision)
{
  std::lock_guard<std::mutex> lock(m_Mutex);
  auto &                      form = precision == Precision::BFloat16 ? m_BFloat16 : m_Float32;
  if (!form)
  {
    form = makeInferenceForm(network, precision);
  }
  return form;
}

void
InferenceForms::clear()
{
  std::lock_guard<std::mutex> lock(m_Mutex);
  m_Float32 = nullptr;
  m_BFloat16 = nullptr;
}

} // namespace anunet
