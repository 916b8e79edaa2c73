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
// Internal header of the torch core: the trainer's checkpoint, last.pt — a checkpoint (Checkpoint.h) with the
// entries that let a run continue exactly.
#ifndef anunet_TrainerCheckpoint_h
#define anunet_TrainerCheckpoint_h

#include "ModelImpl.h"

#include <torch/optim/optimizer.h>
#include <torch/serialize/input-archive.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace anunet
{

using NamedTensors = std::vector<std::pair<std::string, torch::Tensor>>;

/** The network's parameters and buffers by name (the buffers hold batch norm's running statistics). */
NamedTensors
namedState(torch::nn::Module & module);

/** Writes last.pt atomically: model, state (ResumeState::toJson), the optimiser's state, the best epoch's
 * weights (none before the first best epoch) and LibTorch's default CPU generator. */
void
writeTrainerCheckpoint(const std::string &             path,
                       const Model::Impl &             model,
                       const std::string &             state,
                       const torch::optim::Optimizer & optimizer,
                       const NamedTensors &            bestWeights);

/** A last.pt as read back; the optimiser's archive is loaded by the caller's optimiser. */
struct TrainerCheckpoint
{
  std::shared_ptr<Model::Impl>                    model;
  std::string                                     state;
  std::shared_ptr<torch::serialize::InputArchive> optimizer;
  NamedTensors                                    bestWeights; ///< empty when none were stored
  torch::Tensor                                   generator;   ///< undefined when none was stored
};

/** Reads what writeTrainerCheckpoint wrote. Throws std::runtime_error naming the file and what is missing (a
 * best.pt or an export has no trainer state; best weights must hold every tensor of the network). */
TrainerCheckpoint
readTrainerCheckpoint(const std::string & path);

} // namespace anunet

#endif
