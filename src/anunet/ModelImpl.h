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
// Internal header of the torch core: what stands behind the torch-free anunet::Model.
#ifndef anunet_ModelImpl_h
#define anunet_ModelImpl_h

#include "anunet/Model.h"

#include "InferenceForm.h"
#include "SegmentationNetwork.h"

#include <c10/core/Device.h>

#include <memory>

namespace torch::jit
{
struct Module;
} // namespace torch::jit

namespace anunet
{

struct Model::Impl
{
  NetworkOptions  options;
  Preprocessing   preprocessing;
  TrainingSummary training;
  LevelChoice     levelChoice;
  /** The network built by makeNetwork(); null when a TorchScript module is run instead. */
  SegmentationNetwork network;
  /** What run() computes with: network's inference forms, made on first use. Cleared when network's device
   * changes; nothing else changes network once a Model holds it. */
  InferenceForms inference;
  /** A loaded TorchScript module (Model::load of a traced/scripted file); its forward returns probabilities. */
  std::shared_ptr<torch::jit::Module> script;
  /** Pruning level the TorchScript module computes (0 = full network or unknown). */
  int scriptLevel = 0;
  /** Output channels of the TorchScript module (from metadata or a probe). */
  int scriptOutputChannels = 1;
  /** Intra-op threads for run(); 0 = hardware threads. */
  int         threads = 0;
  c10::Device device = c10::Device(c10::DeviceType::CPU);
};

} // namespace anunet

#endif
