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
// Writes the model_file fuzzer's seeds with the core's public API: the smallest networks that exercise each
// loader branch (a checkpoint; exported TorchScript at the full network and at a pruning level).
//
//   make_model_seeds FOLDER      (fuzz/README.md)
#include "anunet/Model.h"

#include <cstdio>
#include <exception>
#include <string>

int
main(int argc, char ** argv)
{
  if (argc != 2)
  {
    std::fprintf(stderr, "usage: %s FOLDER\n", argv[0]);
    return 2;
  }
  const std::string folder = argv[1];
  try
  {
    anunet::NetworkOptions unet;
    unet.architecture = anunet::Architecture::UNet;
    unet.filters = { 1, 1, 1, 1, 1 };
    anunet::Model::create(unet, 1).save(folder + "/unet-checkpoint.pt");

    anunet::NetworkOptions nested;
    nested.architecture = anunet::Architecture::ANUNet;
    nested.classes = 2;
    nested.filters = { 2, 2, 2, 2, 2 };
    const auto model = anunet::Model::create(nested, 2);
    model.save(folder + "/anunet-checkpoint.pt");
    model.exportTorchScript(folder + "/anunet-level1.torchscript.pt", 1);
    anunet::NetworkOptions attention = nested;
    attention.architecture = anunet::Architecture::AttentionR2UNet;
    attention.recurrence = 1;
    anunet::Model::create(attention, 3).exportTorchScript(folder + "/r2attunet.torchscript.pt", 0);
  }
  catch (const std::exception & e)
  {
    std::fprintf(stderr, "make_model_seeds: %s\n", e.what());
    return 1;
  }
  return 0;
}
