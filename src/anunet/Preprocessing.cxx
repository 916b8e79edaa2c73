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
  LabelMapping mapping;
  if (task.rfind("labels=", 0) == 0)
  {
    const std::string list = task.substr(7);
    if (list.empty())
    {
      throw std::invalid_argument("label task \"" + task + "\": no labels after \"labels=\"");
    }
    mapping.classes.clear();
    mapping.names.clear();
    for (const auto & group : split(list, ','))
    {
      std::vector<int> labels;
      for (const auto & label : split(group, '+'))
      {
        labels.push_back(parseLabel(label, task));
      }
      mapping.classes.push_back(labels);
      std::string name = "labels";
      for (const int label : labels)
      {
        name += (name.size() == 6 ? "-" : "+") + std::to_string(label);
      }
      mapping.names.push_back(name);
    }
    std::set<int> seen;
    for (const auto & labels : mapping.classes)
    {
      for (const int label : labels)
      {
        if (label == 0)
        {
          throw std::invalid_argument("label task \"" + task + "\": label 0 is the background and cannot form a class");
        }
        if (!seen.insert(label).second)
        {
          throw std::invalid_argument("label task \"" + task + "\": label " + std::to_string(label) +
                                      " appears more than once");
        }
      }
    }
  }
  else
  {
    throw std::invalid_argument("label task \"" + task + "\": expected labels=L,L+L,... (for example labels=1,2+3,4)");
  }
  return mapping;
}

bool
LabelMapping::operator==(const LabelMapping & other) const
{
  return classes == other.classes && names == other.names;
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
  j = nlohmann::json{ { "classes", labels.classes }, { "names", labels.names } };
}

void
from_json(const nlohmann::json & j, LabelMapping & labels)
{
  json::requireObject(j, "label mapping");
  json::rejectUnknownKeys(j, { "classes", "names" }, "label mapping");
  json::readIfPresent(j, "classes", labels.classes);
  json::readIfPresent(j, "names", labels.names);
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
