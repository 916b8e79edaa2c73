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
// `anunet models`: the architectures with parameters and GFLOP per pruning level (docs/reference.md
// §2 and §3), as a table or as JSON. The numbers come from networks built for the purpose.
#include "Commands.h"

#include "anunet/Catalog.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>
#include <iostream>
#include <memory>

namespace
{
struct ModelsArguments
{
  bool json = false;
  int  size = 256;
  int  inputChannels = 1;
  int  classes = 1;
};

void
printModels(const ModelsArguments & arguments)
{
  if (arguments.size < anunet::SpatialMultiple || arguments.size % anunet::SpatialMultiple != 0)
  {
    throw anunet::cli::UsageError("--size must be a positive multiple of " + std::to_string(anunet::SpatialMultiple) +
                                  ", got " + std::to_string(arguments.size));
  }
  anunet::NetworkOptions base;
  base.inputChannels = arguments.inputChannels;
  base.classes = arguments.classes;
  const auto        rows = anunet::describeArchitectures(arguments.size, base);
  const std::string gflopsKey = "gflops_" + std::to_string(arguments.size);
  if (arguments.json)
  {
    auto list = nlohmann::ordered_json::array();
    for (const auto & row : rows)
    {
      list.push_back({ { "architecture", anunet::toString(row.architecture) },
                       { "name", row.displayName },
                       { "level", row.level > 0 ? nlohmann::ordered_json(row.level) : nlohmann::ordered_json(nullptr) },
                       { "parameters", row.parameters },
                       { gflopsKey, std::round(row.gflops * 1000.0) / 1000.0 },
                       { "input_channels", arguments.inputChannels },
                       { "classes", arguments.classes },
                       { "filters", base.filters } });
    }
    std::cout << list.dump(2) << '\n';
    return;
  }
  std::printf("%-12s %-22s %5s %12s %12s\n", "architecture", "name", "level", "parameters", gflopsKey.c_str());
  for (const auto & row : rows)
  {
    const std::string level = row.level > 0 ? std::to_string(row.level) : "-";
    std::printf("%-12s %-22s %5s %12lld %12.3f\n",
                anunet::toString(row.architecture).c_str(),
                row.displayName.c_str(),
                level.c_str(),
                static_cast<long long>(row.parameters),
                row.gflops);
  }
  std::printf("GFLOP: 2 x multiply-adds of every convolution for one 1 x %d x %d x %d forward, one head.\n",
              arguments.inputChannels,
              arguments.size,
              arguments.size);
}
} // namespace

void
anunet::cli::addModelsCommand(CLI::App & app)
{
  auto   arguments = std::make_shared<ModelsArguments>();
  auto * command = app.add_subcommand("models", "List the architectures with parameters and GFLOP per pruning level");
  command->add_flag("--json", arguments->json, "Print a JSON array instead of a table");
  command->add_option("--size", arguments->size, "In-plane input size for the GFLOP column (multiple of 16)")
    ->capture_default_str();
  command->add_option("--input-channels", arguments->inputChannels, "Input channels")
    ->check(CLI::PositiveNumber)
    ->capture_default_str();
  command->add_option("--classes", arguments->classes, "Output classes (1 = binary sigmoid)")
    ->check(CLI::PositiveNumber)
    ->capture_default_str();
  command->callback([arguments] { printModels(*arguments); });
}
