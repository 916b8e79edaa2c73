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
// The model-file loader: Model::load() on any bytes (a checkpoint, a TorchScript export, a foreign TorchScript
// module probed for its channels, or none of them) either gives a model or throws a std::runtime_error naming
// the file.
#include "anunet/Model.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <string>
#include <unistd.h>

namespace
{
std::string modelPath;
}

extern "C" int
LLVMFuzzerInitialize(int *, char ***)
{
  const char * folder = std::getenv("TMPDIR");
  modelPath = std::string(folder ? folder : "/tmp") + "/anunet-fuzz-model-" + std::to_string(::getpid()) + ".pt";
  std::atexit([] { std::remove(modelPath.c_str()); });
  return 0;
}

extern "C" int
LLVMFuzzerTestOneInput(const uint8_t * data, size_t size)
{
  {
    std::ofstream file(modelPath, std::ios::binary | std::ios::trunc);
    file.write(reinterpret_cast<const char *>(data), static_cast<std::streamsize>(size));
    if (!file)
    {
      std::perror(modelPath.c_str());
      std::abort();
    }
  }
  try
  {
    (void)anunet::Model::load(modelPath);
  }
  catch (const std::runtime_error & e)
  {
    if (std::string(e.what()).rfind(modelPath + ": ", 0) != 0)
    {
      std::fprintf(stderr, "error that does not name the file: %s\n", e.what());
      std::abort();
    }
  }
  return 0;
}
