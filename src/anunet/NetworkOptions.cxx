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
#include "anunet/NetworkOptions.h"

#include "Json.h"

#include <stdexcept>
#include <string>

namespace anunet
{

namespace
{
struct ArchitectureName
{
  Architecture architecture;
  const char * name;
};

constexpr ArchitectureName architectureNames[] = {
  { Architecture::ANUNet, "anunet" },
  { Architecture::UNetPlusPlus, "unetpp" },
  { Architecture::UNet, "unet" },
  { Architecture::R2UNet, "r2unet" },
  { Architecture::AttentionUNet, "attunet" },
  { Architecture::AttentionR2UNet, "r2attunet" },
};

std::string
validArchitectureNames()
{
  std::string names;
  for (const auto & entry : architectureNames)
  {
    names += names.empty() ? "" : ", ";
    names += entry.name;
  }
  return names;
}
} // namespace

std::string
toString(Architecture architecture)
{
  for (const auto & entry : architectureNames)
  {
    if (entry.architecture == architecture)
    {
      return entry.name;
    }
  }
  throw std::invalid_argument("unknown architecture value " + std::to_string(static_cast<int>(architecture)));
}

Architecture
architectureFromString(const std::string & name)
{
  for (const auto & entry : architectureNames)
  {
    if (name == entry.name)
    {
      return entry.architecture;
    }
  }
  throw std::invalid_argument("unknown architecture \"" + name + "\"; valid names: " + validArchitectureNames());
}

const std::vector<Architecture> &
allArchitectures()
{
  static const std::vector<Architecture> all{ Architecture::UNet,          Architecture::R2UNet,
                                              Architecture::AttentionUNet, Architecture::AttentionR2UNet,
                                              Architecture::UNetPlusPlus,  Architecture::ANUNet };
  return all;
}

bool
hasPruningLevels(Architecture architecture)
{
  return architecture == Architecture::ANUNet || architecture == Architecture::UNetPlusPlus;
}

void
NetworkOptions::validate() const
{
  const std::string what = "network options (" + toString(architecture) + "): ";
  if (inputChannels < 1)
  {
    throw std::invalid_argument(what + "inputChannels must be >= 1, got " + std::to_string(inputChannels));
  }
  if (classes < 1)
  {
    throw std::invalid_argument(what + "classes must be >= 1, got " + std::to_string(classes));
  }
  if (filters.size() != 5)
  {
    throw std::invalid_argument(what + "filters must list 5 widths (one per encoder level), got " +
                                std::to_string(filters.size()));
  }
  for (const int width : filters)
  {
    if (width < 1)
    {
      throw std::invalid_argument(what + "filter widths must be >= 1, got " + std::to_string(width));
    }
  }
  // Attention U-Nets use F_int = F_l / 2 (docs/reference.md §2), which needs widths of at least 2.
  if ((architecture == Architecture::AttentionUNet || architecture == Architecture::AttentionR2UNet) && filters[0] < 2)
  {
    throw std::invalid_argument(what + "attention U-Nets need filters[0] >= 2");
  }
  if ((architecture == Architecture::R2UNet || architecture == Architecture::AttentionR2UNet) && recurrence < 1)
  {
    throw std::invalid_argument(what + "recurrence must be >= 1, got " + std::to_string(recurrence));
  }
}

bool
NetworkOptions::operator==(const NetworkOptions & other) const
{
  return architecture == other.architecture && inputChannels == other.inputChannels && classes == other.classes &&
         filters == other.filters && deepSupervision == other.deepSupervision && recurrence == other.recurrence;
}

void
to_json(nlohmann::json & j, const NetworkOptions & options)
{
  j = nlohmann::json{ { "architecture", toString(options.architecture) },
                      { "input_channels", options.inputChannels },
                      { "classes", options.classes },
                      { "filters", options.filters },
                      { "deep_supervision", options.deepSupervision },
                      { "recurrence", options.recurrence } };
}

void
from_json(const nlohmann::json & j, NetworkOptions & options)
{
  json::requireObject(j, "network options");
  json::rejectUnknownKeys(
    j, { "architecture", "input_channels", "classes", "filters", "deep_supervision", "recurrence" }, "network options");
  if (j.contains("architecture"))
  {
    options.architecture = architectureFromString(j.at("architecture").get<std::string>());
  }
  json::readIfPresent(j, "input_channels", options.inputChannels);
  json::readIfPresent(j, "classes", options.classes);
  json::readIfPresent(j, "filters", options.filters);
  json::readIfPresent(j, "deep_supervision", options.deepSupervision);
  json::readIfPresent(j, "recurrence", options.recurrence);
}

namespace json
{
void
requireObject(const nlohmann::json & j, const std::string & what)
{
  if (!j.is_object())
  {
    throw std::invalid_argument(what + ": expected a JSON object, got " + std::string(j.type_name()));
  }
}

void
rejectUnknownKeys(const nlohmann::json & j, std::initializer_list<const char *> known, const std::string & what)
{
  for (const auto & item : j.items())
  {
    bool found = false;
    for (const char * key : known)
    {
      found = found || item.key() == key;
    }
    if (!found)
    {
      std::string list;
      for (const char * key : known)
      {
        list += list.empty() ? "" : ", ";
        list += key;
      }
      throw std::invalid_argument(what + ": unknown key \"" + item.key() + "\" (known: " + list + ")");
    }
  }
}
} // namespace json

} // namespace anunet
