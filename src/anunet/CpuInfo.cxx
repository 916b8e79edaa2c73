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
#include "CpuInfo.h"

#include "anunet/Model.h"

#include <fstream>
#include <sstream>

namespace anunet
{
namespace
{
std::string
trim(const std::string & text)
{
  const auto first = text.find_first_not_of(" \t");
  const auto last = text.find_last_not_of(" \t\r\n");
  return first == std::string::npos ? std::string() : text.substr(first, last - first + 1);
}

CpuInfo
readCpuInfo()
{
  CpuInfo                                       info;
  std::ifstream                                 cpuinfo("/proc/cpuinfo");
  std::set<std::pair<std::string, std::string>> cores;
  std::string                                   line;
  std::string                                   physicalId;
  bool                                          flagsRead = false;
  while (std::getline(cpuinfo, line))
  {
    const auto colon = line.find(':');
    if (colon == std::string::npos)
    {
      continue;
    }
    const std::string key = trim(line.substr(0, colon));
    const std::string value = trim(line.substr(colon + 1));
    if (key == "model name" && info.model.empty())
    {
      info.model = value;
    }
    else if (key == "flags" && !flagsRead)
    {
      std::istringstream words(value);
      for (std::string word; words >> word;)
      {
        info.flags.insert(word);
      }
      flagsRead = true;
    }
    else if (key == "physical id")
    {
      physicalId = value;
    }
    else if (key == "core id")
    {
      cores.emplace(physicalId, value);
    }
  }
  info.physicalCores = static_cast<int>(cores.size());
  return info;
}
} // namespace

const CpuInfo &
cpuInfo()
{
  static const CpuInfo info = readCpuInfo();
  return info;
}

bool
cpuHasBFloat16()
{
  const auto & flags = cpuInfo().flags;
  return flags.count("avx512_bf16") != 0 || flags.count("amx_bf16") != 0;
}

} // namespace anunet
