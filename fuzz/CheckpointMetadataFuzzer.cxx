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
// Checkpoint metadata: the JSON that readCheckpoint() and loadModelFile() check before any weight is read. Any
// text either gives a model description or a std::runtime_error naming the file; a description, written again
// by metadataJson(), reads back the same.
#include "anunet/Checkpoint.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>

namespace
{
[[noreturn]] void
fail(const char * what, const std::string & detail)
{
  std::fprintf(stderr, "%s: %s\n", what, detail.c_str());
  std::abort();
}

void
check(const std::string & text, const char * format)
{
  std::shared_ptr<anunet::Model::Impl> impl;
  try
  {
    impl = anunet::readMetadataText(text, format, "fuzz.pt");
  }
  catch (const std::runtime_error & e)
  {
    if (std::string(e.what()).rfind("fuzz.pt: ", 0) != 0)
    {
      fail("error that does not name the file", e.what());
    }
    return;
  }
  const std::string                    written = anunet::metadataJson(*impl, format, impl->scriptLevel);
  std::shared_ptr<anunet::Model::Impl> again;
  try
  {
    again = anunet::readMetadataText(written, format, "fuzz.pt");
  }
  catch (const std::exception & e)
  {
    fail("accepted metadata, written again, does not read back", std::string(e.what()) + "\n" + written);
  }
  if (!(again->options == impl->options) || anunet::metadataJson(*again, format, again->scriptLevel) != written)
  {
    fail("accepted metadata, written again, reads back different", written);
  }
}
} // namespace

extern "C" int
LLVMFuzzerTestOneInput(const uint8_t * data, size_t size)
{
  const std::string text(reinterpret_cast<const char *>(data), size);
  check(text, anunet::CheckpointFormat);
  check(text, anunet::TorchScriptFormat);
  return 0;
}
