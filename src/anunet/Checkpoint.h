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
// Internal header of the torch core: checkpoint files and TorchScript export/import.
//
// A checkpoint is one torch::serialize archive: the network's state in the nested archive "network"
// (parameters and buffers, so BN running statistics too, as torch::nn::Module::save writes them), a string entry
// "anunet_metadata" holding JSON {"format": "itkanunet-checkpoint", "version": 1, "network": ...,
// "preprocessing": ..., "training": ...}, and whatever the trainer adds (optimiser state, ...).
#ifndef anunet_Checkpoint_h
#define anunet_Checkpoint_h

#include "ModelImpl.h"

#include <torch/serialize/input-archive.h>
#include <torch/serialize/output-archive.h>

#include <functional>
#include <memory>
#include <string>

namespace anunet
{

constexpr const char * CheckpointFormat = "itkanunet-checkpoint";
constexpr const char * TorchScriptFormat = "itkanunet-torchscript";
constexpr int          CheckpointVersion = 1;
/** Archive entry of the network's state (a nested archive as torch::nn::Module::save writes it). */
constexpr const char * NetworkKey = "network";
/** Archive entry of the metadata JSON in a checkpoint. */
constexpr const char * MetadataKey = "anunet_metadata";
/** Extra file of the metadata JSON in an exported TorchScript module. */
constexpr const char * TorchScriptMetadataFile = "anunet_metadata.json";

/** Writes model (which must hold a network, not a TorchScript module) to path atomically
 * (anunet/AtomicFile.h). writeExtra may add entries (e.g. optimiser state). Throws
 * std::runtime_error naming the file on failure. */
void
writeCheckpoint(const std::string &                                            path,
                const Model::Impl &                                            model,
                const std::function<void(torch::serialize::OutputArchive &)> & writeExtra = {});

/** Reads a checkpoint written by writeCheckpoint(); readExtra may read the trainer's entries. Throws
 * std::runtime_error naming the file and the problem: missing, truncated/corrupt, not a checkpoint,
 * unsupported version, metadata or weights that do not match (naming the tensor). */
std::shared_ptr<Model::Impl>
readCheckpoint(const std::string & path, const std::function<void(torch::serialize::InputArchive &)> & readExtra = {});

/** The metadata checks of readCheckpoint() (format = CheckpointFormat) and of loadModelFile() for an exported
 * TorchScript module (TorchScriptFormat) on metadata JSON text alone, without weights or code: the model's
 * options, preprocessing and training summary, without network or script. Throws std::runtime_error naming
 * path, as those loads do. Separate so that fuzz/ can reach the parser without building an archive. */
std::shared_ptr<Model::Impl>
readMetadataText(const std::string & text, const std::string & format, const std::string & path);

/** Reads a checkpoint or a TorchScript module (exported by writeTorchScript() or saved from Python). */
std::shared_ptr<Model::Impl>
loadModelFile(const std::string & path);

/** Writes a TorchScript module computing probabilities of model's network at level (traced with
 * the network's weights as module parameters), with the metadata JSON as an extra file. */
void
writeTorchScript(const std::string & path, const Model::Impl & model, int level);

/** Runs a TorchScript model's forward on input (already on the model's device). */
torch::Tensor
runTorchScript(const Model::Impl & model, const torch::Tensor & input);

/** Parameters of a TorchScript model. */
int64_t
torchScriptParameterCount(const Model::Impl & model);

/** Moves a TorchScript model to a device. */
void
moveTorchScript(Model::Impl & model, const c10::Device & device);

/** A deep copy of the model's TorchScript module (its own parameters). */
std::shared_ptr<torch::jit::Module>
cloneTorchScript(const Model::Impl & model);

/** The metadata JSON text of a model (format = checkpoint or TorchScript format). */
std::string
metadataJson(const Model::Impl & model, const char * format, int level = 0);

} // namespace anunet

#endif
