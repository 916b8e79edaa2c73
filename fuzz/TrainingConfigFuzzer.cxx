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
// Config files: parseTrainingConfig() on any text either returns a config or throws an InputError that names
// the file. Anything else (another exception, a crash, a sanitizer report, a hang) is a finding.
#include "InputError.h"
#include "TrainingConfig.h"

#include <cstdint>
#include <cstdlib>
#include <cstdio>
#include <string>

extern "C" int
LLVMFuzzerTestOneInput(const uint8_t * data, size_t size)
{
  const std::string text(reinterpret_cast<const char *>(data), size);
  try
  {
    const auto config = anunet::workflow::parseTrainingConfig(text, "fuzz.yaml", "/data");
    // Cases expand from the data patterns; every one has both files.
    for (const auto * cases : { &config.training, &config.validation, &config.test })
    {
      for (const auto & c : *cases)
      {
        if (c.image.empty() || c.label.empty())
        {
          std::fprintf(stderr, "case '%s' without an image or a label path\n", c.name.c_str());
          std::abort();
        }
      }
    }
  }
  catch (const anunet::workflow::InputError & e)
  {
    if (std::string(e.what()).rfind("fuzz.yaml: ", 0) != 0)
    {
      std::fprintf(stderr, "InputError that does not name the file: %s\n", e.what());
      std::abort();
    }
  }
  return 0;
}
