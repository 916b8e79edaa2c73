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
#include "anunet/Training.h"

#include <cctype>
#include <cstdlib>
#include <stdexcept>
#include <string>

namespace anunet
{
namespace
{

const char *
variable(const char * name)
{
  const char * value = std::getenv(name);
  return value != nullptr && *value != '\0' ? value : nullptr;
}

int
integerVariable(const char * name, int fallback, int minimum, int maximum)
{
  const char * text = variable(name);
  if (text == nullptr)
  {
    return fallback;
  }
  try
  {
    size_t     used = 0;
    const long value = std::stol(text, &used);
    if (used == std::string(text).size() && value >= minimum && value <= maximum)
    {
      return static_cast<int>(value);
    }
  }
  catch (const std::exception &)
  {}
  throw std::invalid_argument(std::string("distributed training: environment variable ") + name + "='" + text +
                              "' is not an integer in [" + std::to_string(minimum) + ", " + std::to_string(maximum) +
                              "]");
}

} // namespace

void
DistributedOptions::validate() const
{
  auto require = [](bool condition, const std::string & message) {
    if (!condition)
    {
      throw std::invalid_argument("distributed training: " + message);
    }
  };
  require(worldSize >= 1, "world size must be >= 1, got " + std::to_string(worldSize));
  require(rank >= 0 && rank < worldSize,
          "rank " + std::to_string(rank) + " is outside 0.." + std::to_string(worldSize - 1));
  require(localRank >= 0, "local rank must be >= 0, got " + std::to_string(localRank));
  require(masterPort >= 1 && masterPort <= 65535, "port must lie in 1..65535, got " + std::to_string(masterPort));
  require(!masterAddress.empty(), "no master address");
  require(timeoutSeconds > 0, "timeout must be positive");
}

std::string
DistributedOptions::firstHost(const std::string & list)
{
  // Comma-separated entries, each a host or a prefix with a bracketed list of ranges ("node[01-04,07]"),
  // where the commas inside the brackets do not separate hosts. Zero padding is part of the name.
  const auto malformed = [&](const char * why) {
    return std::invalid_argument("distributed training: the Slurm node list '" + list + "' " + why);
  };
  const size_t bracket = list.find('[');
  const size_t comma = list.find(',');
  std::string  host;
  if (bracket == std::string::npos || (comma != std::string::npos && comma < bracket))
  {
    host = list.substr(0, comma);
  }
  else
  {
    const size_t close = list.find(']', bracket);
    size_t       end = bracket + 1;
    while (end < list.size() && std::isdigit(static_cast<unsigned char>(list[end])))
    {
      ++end;
    }
    if (close == std::string::npos || end == bracket + 1)
    {
      throw malformed("has a bracket without a numeric range");
    }
    const size_t next = list.find(',', close);
    host = list.substr(0, bracket) + list.substr(bracket + 1, end - bracket - 1) +
           list.substr(close + 1, next == std::string::npos ? std::string::npos : next - close - 1);
  }
  if (host.empty())
  {
    throw malformed("names no host");
  }
  return host;
}

DistributedOptions
DistributedOptions::fromEnvironment()
{
  DistributedOptions o;
  const bool         torchrun = variable("WORLD_SIZE") != nullptr;
  if (torchrun)
  {
    o.worldSize = integerVariable("WORLD_SIZE", 1, 1, 1 << 20);
    o.rank = integerVariable("RANK", 0, 0, o.worldSize - 1);
    o.localRank = integerVariable("LOCAL_RANK", 0, 0, 1 << 20);
  }
  else
  {
    o.worldSize = integerVariable("SLURM_NTASKS", 1, 1, 1 << 20);
    o.rank = integerVariable("SLURM_PROCID", 0, 0, o.worldSize - 1);
    o.localRank = integerVariable("SLURM_LOCALID", 0, 0, 1 << 20);
  }
  if (const char * address = variable("MASTER_ADDR"))
  {
    o.masterAddress = address;
  }
  else if (const char * nodes = variable("SLURM_JOB_NODELIST"); nodes != nullptr && !torchrun)
  {
    o.masterAddress = firstHost(nodes);
  }
  o.masterPort = integerVariable("MASTER_PORT", o.masterPort, 1, 65535);
  o.validate();
  return o;
}

} // namespace anunet
