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
#include "TrainerCheckpoint.h"

#include "Checkpoint.h"

#include <torch/serialize/output-archive.h>

namespace anunet
{

namespace
{
/** Archive entries the trainer adds to a checkpoint (besides the network and the metadata). */
constexpr const char * StateKey = "anunet_trainer_state";
constexpr const char * OptimizerKey = "anunet_optimizer";
constexpr const char * BestWeightsKey = "anunet_best_weights";
constexpr const char * TorchGeneratorKey = "anunet_torch_generator";
} // namespace

NamedTensors
namedState(torch::nn::Module & module)
{
  NamedTensors state;
  for (const auto & p : module.named_parameters(/*recurse=*/true))
  {
    state.emplace_back(p.key(), p.value());
  }
  for (const auto & b : module.named_buffers(/*recurse=*/true))
  {
    state.emplace_back(b.key(), b.value());
  }
  return state;
}

void
writeTrainerCheckpoint(const std::string &             path,
                       const Model::Impl &             model,
                       const std::string &             state,
                       const torch::optim::Optimizer & optimizer,
                       const NamedTensors &            bestWeights)
{
  writeCheckpoint(path, model, [&](torch::serialize::OutputArchive & archive) {
    archive.write(StateKey, c10::IValue(state));
    torch::serialize::OutputArchive optimizerState;
    optimizer.save(optimizerState);
    archive.write(OptimizerKey, optimizerState);
    if (!bestWeights.empty())
    {
      torch::serialize::OutputArchive weights;
      for (const auto & [name, tensor] : bestWeights)
      {
        weights.write(name, tensor);
      }
      archive.write(BestWeightsKey, weights);
    }
    archive.write(TorchGeneratorKey, at::detail::getDefaultCPUGenerator().get_state());
  });
}

TrainerCheckpoint
readTrainerCheckpoint(const std::string & path)
{
  TrainerCheckpoint checkpoint;
  checkpoint.optimizer = std::make_shared<torch::serialize::InputArchive>();
  torch::serialize::InputArchive best;
  bool                           hasBest = false;
  checkpoint.model = readCheckpoint(path, [&](torch::serialize::InputArchive & a) {
    c10::IValue text;
    if (!a.try_read(StateKey, text) || !text.isString())
    {
      throw std::runtime_error(path + ": not a trainer checkpoint (no training state; is it a best.pt or an "
                                      "exported model? resume from last.pt)");
    }
    checkpoint.state = text.toStringRef();
    if (!a.try_read(OptimizerKey, *checkpoint.optimizer))
    {
      throw std::runtime_error(path + ": the optimiser state is missing");
    }
    hasBest = a.try_read(BestWeightsKey, best);
    a.try_read(TorchGeneratorKey, checkpoint.generator);
  });
  if (hasBest)
  {
    for (const auto & [name, tensor] : namedState(*checkpoint.model->network))
    {
      torch::Tensor stored;
      if (!best.try_read(name, stored))
      {
        throw std::runtime_error(path + ": best weights lack tensor '" + name + "'");
      }
      checkpoint.bestWeights.emplace_back(name, stored);
    }
  }
  return checkpoint;
}

} // namespace anunet
