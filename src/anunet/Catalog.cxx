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
#include "anunet/Catalog.h"
#include "anunet/Model.h"

#include "FlopCounter.h"
#include "SegmentationNetwork.h"

#include <ATen/Parallel.h>
#include <torch/utils.h>

#include <stdexcept>
#include <thread>

namespace anunet
{

std::string
displayName(Architecture architecture)
{
  switch (architecture)
  {
    case Architecture::ANUNet:
      return "ANU-Net";
    case Architecture::UNetPlusPlus:
      return "UNet++";
    case Architecture::UNet:
      return "U-Net";
    case Architecture::R2UNet:
      return "R2U-Net";
    case Architecture::AttentionUNet:
      return "Attention U-Net";
    case Architecture::AttentionR2UNet:
      return "Attention R2U-Net";
  }
  return toString(architecture);
}

std::vector<ArchitectureSummary>
describeArchitectures(int size, const NetworkOptions & base)
{
  if (size < SpatialMultiple || size % SpatialMultiple != 0)
  {
    throw std::invalid_argument("describeArchitectures: size must be a positive multiple of " +
                                std::to_string(SpatialMultiple) + ", got " + std::to_string(size));
  }
  // The weights do not matter here, but a fixed seed keeps the global generator's state predictable.
  torch::manual_seed(0);
  std::vector<ArchitectureSummary> rows;
  for (const auto architecture : allArchitectures())
  {
    NetworkOptions options = base;
    options.architecture = architecture;
    options.deepSupervision = true;
    auto       network = makeNetwork(options);
    const auto addRow = [&](int level) {
      ArchitectureSummary row;
      row.architecture = architecture;
      row.level = level;
      row.displayName = displayName(architecture) + (level > 0 ? " L" + std::to_string(level) : "");
      row.parameters = network->parameterCount(level);
      row.gflops = forwardFlops(*network, level, size, size).flops / 1e9;
      row.size = size;
      rows.push_back(row);
    };
    if (network->maximumLevel() > 0)
    {
      for (int level = 1; level <= network->maximumLevel(); ++level)
      {
        addRow(level);
      }
    }
    else
    {
      addRow(0);
    }
  }
  return rows;
}

} // namespace anunet
