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
#include "TaskPresets.h"

#include "InputError.h"

#include <array>

namespace anunet::workflow
{

namespace
{
struct Preset
{
  const char *             name;
  const char *             labels;
  std::vector<std::string> classNames;
};
} // namespace

LabelMapping
labelMappingForTask(const std::string & task)
{
  // CHAOS's label values: 1 liver, 2 right kidney, 3 left kidney, 4 spleen (data README). The kidney task
  // merges both kidneys into one class, as the paper segments them. Each binary task declares the other organs
  // background, so that any other value in a label image (a 0/255 mask, another dataset's numbering) is an
  // error rather than silently background.
  static const std::array<Preset, 4> presets{ {
    { "liver", "labels=1;background=2,3,4", { "liver" } },
    { "kidney", "labels=2+3;background=1,4", { "kidney" } },
    { "spleen", "labels=4;background=1,2,3", { "spleen" } },
    { "chaos-all", "labels=1,2,3,4", { "liver", "right-kidney", "left-kidney", "spleen" } },
  } };
  for (const auto & preset : presets)
  {
    if (task == preset.name)
    {
      LabelMapping mapping = LabelMapping::parse(preset.labels);
      mapping.names = preset.classNames;
      return mapping;
    }
  }
  if (task.rfind("labels=", 0) != 0)
  {
    throw InputError("unknown task \"" + task +
                     "\"; valid: liver, kidney, spleen, chaos-all, labels=1,2+3,4[;background=5,6 or ;background=*]");
  }
  try
  {
    return LabelMapping::parse(task);
  }
  catch (const std::invalid_argument & e)
  {
    throw InputError(e.what());
  }
}

} // namespace anunet::workflow
