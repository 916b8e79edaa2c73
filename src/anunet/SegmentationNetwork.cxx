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
#include "SegmentationNetwork.h"

#include "Blocks.h"
#include "NestedNetworks.h"
#include "UNetFamily.h"

#include <sstream>
#include <stdexcept>

namespace anunet
{

SegmentationNetworkImpl::SegmentationNetworkImpl(NetworkOptions options)
  : m_Options(std::move(options))
{
  m_Options.validate();
}

torch::Tensor
SegmentationNetworkImpl::forward(const torch::Tensor & input, int level)
{
  return toProbabilities(forwardLogits(input, level));
}

int
SegmentationNetworkImpl::maximumLevel() const
{
  return hasPruningLevels(m_Options.architecture) ? 4 : 0;
}

int64_t
SegmentationNetworkImpl::parameterCount(int level) const
{
  checkLevel(level);
  return countParameters(*this);
}

void
SegmentationNetworkImpl::checkLevel(int level) const
{
  const int maximum = maximumLevel();
  if (level < 0 || level > maximum)
  {
    throw std::invalid_argument(toString(m_Options.architecture) + ": pruning level " + std::to_string(level) +
                                " is out of range 0.." + std::to_string(maximum));
  }
  if (level != 0 && level != maximum && !m_Options.deepSupervision)
  {
    throw std::invalid_argument(toString(m_Options.architecture) + ": pruning level " + std::to_string(level) +
                                " needs deep supervision (the network has only the final head; use level 0 or " +
                                std::to_string(maximum) + ")");
  }
}

void
SegmentationNetworkImpl::checkInput(const torch::Tensor & input, int level) const
{
  checkLevel(level);
  const auto fail = [&](const std::string & problem) {
    std::ostringstream message;
    message << toString(m_Options.architecture) << ": input of shape " << input.sizes() << ' ' << problem;
    throw std::invalid_argument(message.str());
  };
  if (input.dim() != 4)
  {
    fail("is not N x C x H x W");
  }
  if (input.size(1) != m_Options.inputChannels)
  {
    fail("has " + std::to_string(input.size(1)) + " channels, the network expects " +
         std::to_string(m_Options.inputChannels));
  }
  if (input.size(0) < 1 || input.size(2) < SpatialMultiple || input.size(3) < SpatialMultiple ||
      input.size(2) % SpatialMultiple != 0 || input.size(3) % SpatialMultiple != 0)
  {
    fail("needs H and W to be positive multiples of " + std::to_string(SpatialMultiple) +
         " (four 2x2 poolings); pad the input (Model::run does)");
  }
  if (!input.is_floating_point())
  {
    fail("has a non-floating type");
  }
}

SegmentationNetwork
makeNetwork(const NetworkOptions & options)
{
  options.validate();
  switch (options.architecture)
  {
    case Architecture::ANUNet:
      return std::make_shared<NestedNetworkImpl>(options, /*attention=*/true);
    case Architecture::UNetPlusPlus:
      return std::make_shared<NestedNetworkImpl>(options, /*attention=*/false);
    case Architecture::UNet:
    case Architecture::R2UNet:
    case Architecture::AttentionUNet:
    case Architecture::AttentionR2UNet:
      return std::make_shared<UNetFamilyImpl>(options);
  }
  throw std::invalid_argument("makeNetwork: unknown architecture");
}

torch::Tensor
toProbabilities(const torch::Tensor & logits)
{
  return logits.size(1) == 1 ? torch::sigmoid(logits) : torch::softmax(logits, 1);
}

} // namespace anunet
