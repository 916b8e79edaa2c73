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
// The tool's command line: fuzzed arguments (one per line of the input) parsed by the tool's own CLI11 app, with
// nothing run: the main app's parse-complete callback, which CLI11 calls after every option is read, checked
// and stored and before any subcommand's callback, ends the parse. (Removing the subcommands' callbacks instead
// would free what their options store into: each command's arguments live in its callback.) Parsing either
// gets there or throws CLI11's ParseError (which app.exit() then formats, as main() does) or a UsageError.
#include "App.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

namespace
{
/** Thrown by the parse-complete callback: parsing is over, nothing is to run. */
struct Parsed
{};
} // namespace

extern "C" int
LLVMFuzzerTestOneInput(const uint8_t * data, size_t size)
{
  std::vector<std::string> arguments{ "anunet" };
  std::istringstream       in(std::string(reinterpret_cast<const char *>(data), size));
  for (std::string line; std::getline(in, line);)
  {
    arguments.push_back(line);
  }
  std::vector<char *> argv;
  for (auto & a : arguments)
  {
    argv.push_back(a.data());
  }
  argv.push_back(nullptr);

  CLI::App app;
  anunet::cli::setUpApp(app);
  app.parse_complete_callback([] { throw Parsed(); });
  try
  {
    app.parse(static_cast<int>(arguments.size()), argv.data());
    std::fprintf(stderr, "the parse ran past the parse-complete callback\n");
    std::abort();
  }
  catch (const Parsed &)
  {}
  catch (const CLI::ParseError & e)
  {
    std::ostringstream out, err;
    (void)app.exit(e, out, err);
  }
  catch (const anunet::cli::UsageError &)
  {}
  return 0;
}
