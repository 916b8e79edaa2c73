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
// The batch manifest and --shard: the first line of an input is a --shard value, the rest a manifest CSV.
// Each either parses or throws a UsageError (an InputError); what parses keeps the promises of Manifest.h.
#include "Manifest.h"

#include "Commands.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <sstream>
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
checkShard(const std::string & text)
{
  anunet::cli::Shard shard;
  try
  {
    shard = anunet::cli::parseShard(text);
  }
  catch (const anunet::cli::UsageError &)
  {
    return;
  }
  if (shard.count == 0 || shard.index >= shard.count)
  {
    fail("shard out of range accepted", text);
  }
  const auto again = anunet::cli::parseShard(shard.text());
  if (again.index != shard.index || again.count != shard.count)
  {
    fail("shard text does not read back", text);
  }
}

void
checkManifest(const std::string & text)
{
  std::istringstream    in(text);
  anunet::cli::Manifest manifest;
  try
  {
    manifest = anunet::cli::parseManifest(in, "fuzz.csv", "/data");
  }
  catch (const anunet::cli::UsageError &)
  {
    return;
  }
  std::set<std::string> ids, outputs;
  for (size_t i = 0; i < manifest.cases.size(); ++i)
  {
    const auto & c = manifest.cases[i];
    if (c.index != i || c.image.empty() || c.id.empty() || c.output.empty())
    {
      fail("case without index, image, id or output", c.id);
    }
    if (!ids.insert(c.id).second || !outputs.insert(c.output).second)
    {
      fail("two cases with one id or one output", c.id + " " + c.output);
    }
  }
}
} // namespace

extern "C" int
LLVMFuzzerTestOneInput(const uint8_t * data, size_t size)
{
  const std::string text(reinterpret_cast<const char *>(data), size);
  const auto        end = text.find('\n');
  checkShard(text.substr(0, end));
  checkManifest(end == std::string::npos ? std::string() : text.substr(end + 1));
  return 0;
}
