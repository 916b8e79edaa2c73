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
#include "anunet/Preprocessing.h"

#include "Json.h"

#include <algorithm>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>

namespace anunet
{

bool
IntensityNormalization::operator==(const IntensityNormalization & other) const
{
  return method == other.method && windowMinimum == other.windowMinimum && windowMaximum == other.windowMaximum &&
         percentileLow == other.percentileLow && percentileHigh == other.percentileHigh;
}

std::string
toString(IntensityNormalization::Method method)
{
  switch (method)
  {
    case IntensityNormalization::Method::None:
      return "none";
    case IntensityNormalization::Method::Window:
      return "window";
    case IntensityNormalization::Method::Percentile:
      return "percentile";
    case IntensityNormalization::Method::ZScore:
      return "zscore";
  }
  throw std::invalid_argument("unknown normalization method value " + std::to_string(static_cast<int>(method)));
}

IntensityNormalization::Method
normalizationMethodFromString(const std::string & name)
{
  for (const auto method : { IntensityNormalization::Method::None,
                             IntensityNormalization::Method::Window,
                             IntensityNormalization::Method::Percentile,
                             IntensityNormalization::Method::ZScore })
  {
    if (name == toString(method))
    {
      return method;
    }
  }
  throw std::invalid_argument("unknown intensity normalization \"" + name +
                              "\"; valid names: none, window, percentile, zscore");
}

int
LabelMapping::classOf(int sourceLabel) const
{
  for (size_t k = 0; k < classes.size(); ++k)
  {
    for (const int label : classes[k])
    {
      if (label == sourceLabel)
      {
        return static_cast<int>(k) + 1;
      }
    }
  }
  return 0;
}

bool
LabelMapping::isNamed(int sourceLabel) const
{
  return sourceLabel == 0 || otherValuesAreBackground || classOf(sourceLabel) != 0 ||
         std::find(background.begin(), background.end(), sourceLabel) != background.end();
}

namespace
{
int
parseLabel(const std::string & text, const std::string & task)
{
  size_t used = 0;
  int    value = 0;
  try
  {
    value = std::stoi(text, &used);
  }
  catch (const std::exception &)
  {
    used = 0;
  }
  if (text.empty() || used != text.size() || value < 0)
  {
    throw std::invalid_argument("label task \"" + task + "\": \"" + text + "\" is not a non-negative label value");
  }
  return value;
}

std::vector<std::string>
split(const std::string & text, char separator)
{
  std::vector<std::string> parts;
  std::string              part;
  std::istringstream       stream(text);
  while (std::getline(stream, part, separator))
  {
    parts.push_back(part);
  }
  if (!text.empty() && text.back() == separator)
  {
    parts.emplace_back();
  }
  return parts;
}
} // namespace

LabelMapping
LabelMapping::parse(const std::string & task)
{
  if (task.rfind("labels=", 0) != 0)
  {
    throw std::invalid_argument("label task \"" + task +
                                "\": expected labels=L,L+L,...[;background=L,L,...] (for example labels=1,2+3,4)");
  }
  const size_t      semicolon = task.find(';');
  const std::string list = task.substr(7, semicolon == std::string::npos ? std::string::npos : semicolon - 7);
  if (list.empty())
  {
    throw std::invalid_argument("label task \"" + task + "\": no labels after \"labels=\"");
  }
  LabelMapping mapping;
  mapping.classes.clear();
  mapping.names.clear();
  std::set<int> seen;
  for (const auto & group : split(list, ','))
  {
    std::vector<int> labels;
    std::string      name = "labels";
    for (const auto & text : split(group, '+'))
    {
      const int label = parseLabel(text, task);
      if (label == 0)
      {
        throw std::invalid_argument("label task \"" + task + "\": label 0 is the background and cannot form a class");
      }
      if (!seen.insert(label).second)
      {
        throw std::invalid_argument("label task \"" + task + "\": label " + std::to_string(label) +
                                    " appears more than once");
      }
      labels.push_back(label);
      name += (labels.size() == 1 ? "-" : "+") + std::to_string(label);
    }
    mapping.classes.push_back(labels);
    mapping.names.push_back(name);
  }
  if (semicolon != std::string::npos)
  {
    const std::string rest = task.substr(semicolon + 1);
    if (rest.rfind("background=", 0) != 0 || rest.size() == 11)
    {
      throw std::invalid_argument("label task \"" + task +
                                  "\": expected \";background=L,L,...\" or \";background=*\" after the classes");
    }
    if (rest.substr(11) == "*")
    {
      mapping.otherValuesAreBackground = true;
      return mapping;
    }
    for (const auto & text : split(rest.substr(11), ','))
    {
      const int label = parseLabel(text, task);
      if (label == 0)
      {
        continue; // 0 is background anyway; saying so is harmless
      }
      if (!seen.insert(label).second)
      {
        throw std::invalid_argument("label task \"" + task + "\": label " + std::to_string(label) +
                                    " is both a class and background, or listed twice");
      }
      mapping.background.push_back(label);
    }
  }
  return mapping;
}

namespace
{
std::string
joined(const std::vector<int> & values, char separator)
{
  std::string text;
  for (const int value : values)
  {
    text += (text.empty() ? "" : std::string(1, separator)) + std::to_string(value);
  }
  return text;
}
} // namespace

std::string
LabelMapping::toString() const
{
  std::string text = "labels=";
  for (size_t k = 0; k < classes.size(); ++k)
  {
    text += (k == 0 ? "" : ",") + joined(classes[k], '+');
  }
  if (otherValuesAreBackground)
  {
    text += ";background=*";
  }
  else if (!background.empty())
  {
    text += ";background=" + joined(background, ',');
  }
  return text;
}

bool
LabelMapping::operator==(const LabelMapping & other) const
{
  return classes == other.classes && names == other.names && background == other.background &&
         otherValuesAreBackground == other.otherValuesAreBackground;
}

std::string
UnnamedLabels::message() const
{
  if (m_Counts.empty())
  {
    return {};
  }
  std::string found;
  for (const auto & [value, voxels] : m_Counts)
  {
    found += (found.empty() ? "" : ", ") + std::to_string(value) + " (" + std::to_string(voxels) +
             (voxels == 1 ? " voxel)" : " voxels)");
  }
  LabelMapping declared = m_Mapping;
  declared.otherValuesAreBackground = false;
  LabelMapping widened = declared;
  for (const auto & [value, voxels] : m_Counts)
  {
    declared.background.push_back(value);
  }
  widened.background.clear();
  widened.otherValuesAreBackground = true;
  return "label values the task " + m_Mapping.toString() + " does not name: " + found +
         "; add them to a class, or declare them background with " + declared.toString() + " (or " +
         widened.toString() + " for every value no class names)";
}

bool
Preprocessing::operator==(const Preprocessing & other) const
{
  return intensity == other.intensity && width == other.width && height == other.height &&
         sliceAxis == other.sliceAxis && labels == other.labels;
}

void
to_json(nlohmann::json & j, const IntensityNormalization & intensity)
{
  j = nlohmann::json{ { "method", toString(intensity.method) },
                      { "window_minimum", intensity.windowMinimum },
                      { "window_maximum", intensity.windowMaximum },
                      { "percentile_low", intensity.percentileLow },
                      { "percentile_high", intensity.percentileHigh } };
}

void
from_json(const nlohmann::json & j, IntensityNormalization & intensity)
{
  json::requireObject(j, "intensity normalization");
  json::rejectUnknownKeys(j,
                          { "method", "window_minimum", "window_maximum", "percentile_low", "percentile_high" },
                          "intensity normalization");
  if (j.contains("method"))
  {
    intensity.method = normalizationMethodFromString(j.at("method").get<std::string>());
  }
  json::readIfPresent(j, "window_minimum", intensity.windowMinimum);
  json::readIfPresent(j, "window_maximum", intensity.windowMaximum);
  json::readIfPresent(j, "percentile_low", intensity.percentileLow);
  json::readIfPresent(j, "percentile_high", intensity.percentileHigh);
}

void
to_json(nlohmann::json & j, const LabelMapping & labels)
{
  j = nlohmann::json{ { "classes", labels.classes },
                      { "names", labels.names },
                      { "background", labels.background },
                      { "other_values_background", labels.otherValuesAreBackground } };
}

void
from_json(const nlohmann::json & j, LabelMapping & labels)
{
  json::requireObject(j, "label mapping");
  json::rejectUnknownKeys(j, { "classes", "names", "background", "other_values_background" }, "label mapping");
  json::readIfPresent(j, "classes", labels.classes);
  json::readIfPresent(j, "names", labels.names);
  json::readIfPresent(j, "background", labels.background);
  // Checkpoints written before the mapping named its background took every unnamed value as background.
  labels.otherValuesAreBackground = !j.contains("background") && !j.contains("other_values_background");
  json::readIfPresent(j, "other_values_background", labels.otherValuesAreBackground);
  if (labels.names.size() != labels.classes.size())
  {
    throw std::invalid_argument("label mapping: " + std::to_string(labels.classes.size()) + " classes but " +
                                std::to_string(labels.names.size()) + " names");
  }
}

void
to_json(nlohmann::json & j, const Preprocessing & preprocessing)
{
  j = nlohmann::json{ { "intensity", preprocessing.intensity },
                      { "width", preprocessing.width },
                      { "height", preprocessing.height },
                      { "slice_axis", preprocessing.sliceAxis },
                      { "labels", preprocessing.labels } };
}

void
from_json(const nlohmann::json & j, Preprocessing & preprocessing)
{
  json::requireObject(j, "preprocessing");
  json::rejectUnknownKeys(j, { "intensity", "width", "height", "slice_axis", "labels" }, "preprocessing");
  json::readIfPresent(j, "intensity", preprocessing.intensity);
  json::readIfPresent(j, "width", preprocessing.width);
  json::readIfPresent(j, "height", preprocessing.height);
  json::readIfPresent(j, "slice_axis", preprocessing.sliceAxis);
  json::readIfPresent(j, "labels", preprocessing.labels);
}

} // namespace anunet
