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
#include "Checkpoint.h"

#include "anunet/AtomicFile.h"

#include "Json.h"

#include <c10/core/InferenceMode.h>
#include <torch/csrc/jit/frontend/tracer.h>
#include <torch/csrc/jit/serialization/import.h>
#include <torch/script.h>

#include <cstring>
#include <ostream>
#include <streambuf>
#include <cstdio>
#include <filesystem>
#include <set>
#include <sstream>
#include <stdexcept>

namespace anunet
{

namespace
{
std::string
firstLine(const std::string & text)
{
  const auto end = text.find('\n');
  return end == std::string::npos ? text : text.substr(0, end);
}

std::string
shapeText(const torch::Tensor & tensor)
{
  std::ostringstream text;
  text << tensor.sizes();
  return text.str();
}

void
requireFile(const std::string & path)
{
  std::error_code error;
  if (!std::filesystem::exists(path, error))
  {
    throw std::runtime_error(path + ": file not found");
  }
  if (!std::filesystem::is_regular_file(path, error))
  {
    throw std::runtime_error(path + ": not a regular file");
  }
}

/** A stream that appends to a string: LibTorch serialises into memory, and the file is written here. */
class StringSink : public std::streambuf
{
public:
  explicit StringSink(std::string & bytes)
    : m_Bytes(bytes)
  {}

protected:
  int_type
  overflow(int_type c) override
  {
    if (!traits_type::eq_int_type(c, traits_type::eof()))
    {
      m_Bytes.push_back(traits_type::to_char_type(c));
    }
    return traits_type::not_eof(c);
  }
  std::streamsize
  xsputn(const char * data, std::streamsize count) override
  {
    m_Bytes.append(data, static_cast<size_t>(count));
    return count;
  }

private:
  std::string & m_Bytes;
};

/** Serialises into memory, writes a temporary file, then renames it over path, so that a reader never sees
 * half a file and a failed write (a full disk) leaves the previous file as it was. LibTorch does not write the
 * file itself: its stream writer throws from a destructor when a write fails, which ends the process
 * (PyTorchStreamWriter in 1.13, "unexpected pos"; seen here with a full disk). */
void
writeAtomically(const std::string & path, const std::function<void(std::ostream &)> & serialise)
{
  std::string bytes;
  {
    StringSink   sink(bytes);
    std::ostream stream(&sink);
    try
    {
      serialise(stream);
    }
    catch (const std::exception & e)
    {
      throw std::runtime_error(path + ": cannot write: " + firstLine(e.what()));
    }
  }
  writeFileAtomically(path, bytes);
}

} // namespace

namespace
{

/** The reverse of torch::nn::Module::save, but strict: every parameter and buffer must be in the archive
 * with the network's shape (the stock Module::load would silently take a tensor of another shape), and the
 * archive must hold nothing else (e.g. heads of a deep-supervision network under metadata without it). */
void
readModuleState(torch::serialize::InputArchive & archive,
                torch::nn::Module &              module,
                const std::string &              prefix,
                const std::string &              path)
{
  torch::NoGradGuard    noGrad;
  std::set<std::string> expected{ "training" }; // every archive carries the jit module's own flag
  for (const auto & item : module.named_parameters(/*recurse=*/false))
  {
    expected.insert(item.key());
  }
  for (const auto & item : module.named_buffers(/*recurse=*/false))
  {
    expected.insert(item.key());
  }
  for (const auto & child : module.named_children())
  {
    expected.insert(child.key());
  }
  for (const auto & key : archive.keys())
  {
    if (expected.count(key) == 0)
    {
      throw std::runtime_error(path +
                               ": weights do not match the network in its metadata: the file has an "
                               "unexpected entry '" +
                               prefix + key + "'");
    }
  }
  const auto readTensor = [&](const std::string & name, torch::Tensor & target, bool isBuffer) {
    torch::Tensor stored;
    if (!archive.try_read(name, stored, isBuffer) || !stored.defined())
    {
      throw std::runtime_error(path + ": weights do not match the network in its metadata: tensor '" + prefix + name +
                               "' is missing");
    }
    if (stored.sizes() != target.sizes())
    {
      throw std::runtime_error(path + ": weights do not match the network in its metadata: tensor '" + prefix + name +
                               "' has shape " + shapeText(stored) + " in the file, the network expects " +
                               shapeText(target));
    }
    target.copy_(stored);
  };
  for (auto & item : module.named_parameters(/*recurse=*/false))
  {
    readTensor(item.key(), item.value(), false);
  }
  for (auto & item : module.named_buffers(/*recurse=*/false))
  {
    readTensor(item.key(), item.value(), true);
  }
  for (const auto & child : module.named_children())
  {
    torch::serialize::InputArchive childArchive;
    if (!archive.try_read(child.key(), childArchive))
    {
      throw std::runtime_error(path + ": weights do not match the network in its metadata: module '" + prefix +
                               child.key() + "' is missing");
    }
    readModuleState(childArchive, *child.value(), prefix + child.key() + ".", path);
  }
}

/** Options, preprocessing and training summary from a metadata JSON object; errors name the file. */
void
readMetadata(const nlohmann::json & metadata, Model::Impl & impl, const std::string & path)
{
  try
  {
    impl.options = metadata.at("network").get<NetworkOptions>();
    impl.options.validate();
    if (metadata.contains("preprocessing"))
    {
      impl.preprocessing = metadata.at("preprocessing").get<Preprocessing>();
    }
    if (metadata.contains("training"))
    {
      impl.training = metadata.at("training").get<TrainingSummary>();
    }
    if (metadata.contains("level_choice"))
    {
      impl.levelChoice = metadata.at("level_choice").get<LevelChoice>();
    }
  }
  catch (const std::exception & e)
  {
    throw std::runtime_error(path + ": invalid metadata: " + firstLine(e.what()));
  }
}

nlohmann::json
parseMetadata(const std::string & text, const std::string & path)
{
  try
  {
    auto metadata = nlohmann::json::parse(text);
    if (!metadata.is_object())
    {
      throw std::invalid_argument("not a JSON object");
    }
    return metadata;
  }
  catch (const std::exception & e)
  {
    throw std::runtime_error(path + ": corrupt metadata (" + firstLine(e.what()) + ")");
  }
}

void
checkVersion(const nlohmann::json & metadata, const std::string & path)
{
  const auto version = metadata.find("version");
  if (version == metadata.end() || !version->is_number_integer())
  {
    throw std::runtime_error(path + ": metadata has no integer \"version\"");
  }
  // A version above INT64_MAX is stored unsigned; read as int64_t it would pass for a negative one.
  const bool supported = version->is_number_unsigned()
                           ? version->get<uint64_t>() >= 1 && version->get<uint64_t>() <= CheckpointVersion
                           : version->get<int64_t>() >= 1 && version->get<int64_t>() <= CheckpointVersion;
  if (!supported)
  {
    throw std::runtime_error(path + ": unsupported checkpoint version " + version->dump() +
                             " (this build reads version " + std::to_string(CheckpointVersion) + ")");
  }
}

/** Builds a jit module tree mirroring module (same names, same tensors, shared storage), so that a trace
 * with it as `self` records parameters as attributes instead of constants. */
void
mirrorModule(const torch::nn::Module &                            module,
             torch::jit::Module &                                 mirror,
             const std::shared_ptr<torch::jit::CompilationUnit> & unit,
             const std::string &                                  qualifiedName)
{
  for (const auto & item : module.named_parameters(/*recurse=*/false))
  {
    mirror.register_parameter(item.key(), item.value(), /*is_buffer=*/false);
  }
  for (const auto & item : module.named_buffers(/*recurse=*/false))
  {
    mirror.register_buffer(item.key(), item.value());
  }
  for (const auto & child : module.named_children())
  {
    const std::string  childName = qualifiedName + "." + child.key();
    torch::jit::Module childMirror(childName, unit, /*shouldMangle=*/true);
    mirrorModule(*child.value(), childMirror, unit, childName);
    mirror.register_module(child.key(), childMirror);
  }
}
} // namespace

std::shared_ptr<Model::Impl>
readMetadataText(const std::string & text, const std::string & format, const std::string & path)
{
  const auto metadata = parseMetadata(text, path);
  // find(), not value(): value() throws nlohmann's type_error for a "format" that is not a string.
  std::string found;
  if (const auto entry = metadata.find("format"); entry != metadata.end())
  {
    found = entry->is_string() ? entry->get<std::string>() : entry->dump();
  }
  if (found != format)
  {
    throw std::runtime_error(
      format == TorchScriptFormat
        ? path + ": TorchScript metadata has format \"" + found + "\", expected \"" + format + "\""
        : path + ": not an ITKANUNet checkpoint (format \"" + found + "\", expected \"" + format + "\")");
  }
  checkVersion(metadata, path);
  auto impl = std::make_shared<Model::Impl>();
  readMetadata(metadata, *impl, path);
  if (format == TorchScriptFormat)
  {
    if (const auto level = metadata.find("level"); level != metadata.end())
    {
      if (!level->is_number_integer() || level->get<int64_t>() < 0 || level->get<int64_t>() > 4)
      {
        throw std::runtime_error(path + ": invalid metadata: \"level\" must be a pruning level 0..4, got " +
                                 level->dump());
      }
      impl->scriptLevel = level->get<int>();
    }
    impl->scriptOutputChannels = impl->options.classes;
  }
  return impl;
}

std::string
metadataJson(const Model::Impl & model, const char * format, int level)
{
  nlohmann::json metadata{ { "format", format },
                           { "version", CheckpointVersion },
                           { "network", model.options },
                           { "preprocessing", model.preprocessing },
                           { "training", model.training } };
  if (model.levelChoice.level > 0)
  {
    metadata["level_choice"] = model.levelChoice;
  }
  if (std::string(format) == TorchScriptFormat)
  {
    metadata["level"] = level;
  }
  return metadata.dump();
}

void
writeCheckpoint(const std::string &                                            path,
                const Model::Impl &                                            model,
                const std::function<void(torch::serialize::OutputArchive &)> & writeExtra)
{
  if (!model.network)
  {
    throw std::runtime_error(path + ": cannot write a checkpoint of a TorchScript model");
  }
  torch::serialize::OutputArchive archive;
  // The network in its own nested archive, so that the reader can insist on exactly its entries while the
  // trainer adds its own at the top level.
  torch::serialize::OutputArchive weights;
  model.network->save(weights);
  archive.write(NetworkKey, weights);
  archive.write(MetadataKey, c10::IValue(metadataJson(model, CheckpointFormat)));
  if (writeExtra)
  {
    writeExtra(archive);
  }
  writeAtomically(path, [&](std::ostream & stream) { archive.save_to(stream); });
}

std::shared_ptr<Model::Impl>
readCheckpoint(const std::string & path, const std::function<void(torch::serialize::InputArchive &)> & readExtra)
{
  requireFile(path);
  torch::serialize::InputArchive archive;
  try
  {
    archive.load_from(path, torch::Device(torch::kCPU));
  }
  catch (const std::exception & e)
  {
    throw std::runtime_error(
      path + ": not a readable checkpoint (truncated or corrupt, or not a LibTorch archive): " + firstLine(e.what()));
  }
  c10::IValue text;
  if (!archive.try_read(MetadataKey, text) || !text.isString())
  {
    throw std::runtime_error(path + ": not an ITKANUNet checkpoint (no \"" + MetadataKey + "\" entry)");
  }
  auto impl = readMetadataText(text.toStringRef(), CheckpointFormat, path);
  impl->network = makeNetwork(impl->options);
  if (impl->levelChoice.level < 0 || impl->levelChoice.level > impl->network->maximumLevel())
  {
    throw std::runtime_error(path + ": invalid metadata: the chosen pruning level " +
                             std::to_string(impl->levelChoice.level) + " does not exist in this network");
  }
  torch::serialize::InputArchive weights;
  if (!archive.try_read(NetworkKey, weights))
  {
    throw std::runtime_error(path + ": checkpoint has metadata but no \"" + NetworkKey + "\" weights entry");
  }
  readModuleState(weights, *impl->network, "", path);
  if (readExtra)
  {
    readExtra(archive);
  }
  return impl;
}

std::shared_ptr<Model::Impl>
loadModelFile(const std::string & path)
{
  requireFile(path);
  torch::jit::ExtraFilesMap extra{ { TorchScriptMetadataFile, "" } };
  torch::jit::Module        module;
  try
  {
    module = torch::jit::load(path, torch::Device(torch::kCPU), extra);
  }
  catch (const std::exception & e)
  {
    throw std::runtime_error(
      path + ": not a readable checkpoint or TorchScript file (truncated or corrupt?): " + firstLine(e.what()));
  }
  if (!module.find_method("forward"))
  {
    // An archive without code: a checkpoint (readCheckpoint says so if it is not one of ours).
    return readCheckpoint(path);
  }

  module.eval();
  const std::string & text = extra[TorchScriptMetadataFile];
  if (!text.empty())
  {
    auto impl = readMetadataText(text, TorchScriptFormat, path);
    impl->script = std::make_shared<torch::jit::Module>(module);
    return impl;
  }

  auto impl = std::make_shared<Model::Impl>();
  impl->script = std::make_shared<torch::jit::Module>(module);

  // A foreign module (e.g. torch.jit.save from Python): find its input channels by probing, and its outputs
  // from what it returns. The architecture field keeps its default and means nothing here.
  c10::InferenceMode guard;
  std::string        lastError;
  for (int channels = 1; channels <= 4; ++channels)
  {
    c10::IValue output;
    try
    {
      // Two slices: a module taking unbatched input (a Conv3d reads N x C x H x W as C x D x H x W) is caught.
      output = impl->script->forward({ torch::zeros({ 2, channels, 32, 32 }) });
    }
    catch (const std::exception & e)
    {
      // Interpreter errors are c10::Error or torch::jit::JITException: either means "not this channel count".
      lastError = firstLine(e.what());
      continue;
    }
    if (!output.isTensor() || output.toTensor().dim() != 4 || output.toTensor().size(0) != 2)
    {
      throw std::runtime_error(path + ": TorchScript forward does not return an N x C x H x W tensor for an input "
                                      "of N slices");
    }
    impl->options.inputChannels = channels;
    impl->scriptOutputChannels = static_cast<int>(output.toTensor().size(1));
    impl->options.classes = impl->scriptOutputChannels;
    return impl;
  }
  throw std::runtime_error(path +
                           ": TorchScript module without ITKANUNet metadata, and no input of 1..4 channels "
                           "at 32 x 32 runs through it: " +
                           lastError);
}

void
writeTorchScript(const std::string & path, const Model::Impl & model, int level)
{
  auto & network = *model.network;
  network.checkLevel(level);
  const bool wasTraining = network.is_training();
  network.eval();

  auto               unit = std::make_shared<torch::jit::CompilationUnit>();
  const std::string  rootName = "__torch__.anunet." + toString(model.options.architecture);
  torch::jit::Module self(rootName, unit, /*shouldMangle=*/true);
  mirrorModule(network, self, unit, rootName);

  const auto example = torch::rand({ 1, model.options.inputChannels, 32, 32 }, network.parameters()[0].options());
  std::shared_ptr<torch::jit::tracer::TracingState> state;
  try
  {
    torch::NoGradGuard noGrad;
    state =
      torch::jit::tracer::trace(
        { example },
        [&](torch::jit::Stack inputs) -> torch::jit::Stack { return { network.forward(inputs[0].toTensor(), level) }; },
        [](const torch::autograd::Variable &) { return std::string(); },
        /*strict=*/true,
        /*force_outplace=*/false,
        &self)
        .first;
  }
  catch (...)
  {
    if (wasTraining)
    {
      network.train();
    }
    throw;
  }
  if (wasTraining)
  {
    network.train();
  }
  auto * forward = unit->create_function(c10::QualifiedName(*self.type()->name(), "forward"), state->graph);
  self.type()->addMethod(forward);

  const torch::jit::ExtraFilesMap extra{ { TorchScriptMetadataFile, metadataJson(model, TorchScriptFormat, level) } };
  writeAtomically(path, [&](std::ostream & stream) { self.save(stream, extra); });
}

torch::Tensor
runTorchScript(const Model::Impl & model, const torch::Tensor & input)
{
  auto output = model.script->forward({ input });
  if (!output.isTensor())
  {
    throw std::runtime_error("TorchScript model: forward did not return a tensor");
  }
  return output.toTensor();
}

int64_t
torchScriptParameterCount(const Model::Impl & model)
{
  int64_t count = 0;
  for (const auto & parameter : model.script->parameters(/*recurse=*/true))
  {
    count += parameter.numel();
  }
  return count;
}

void
moveTorchScript(Model::Impl & model, const c10::Device & device)
{
  model.script->to(device);
}

std::shared_ptr<torch::jit::Module>
cloneTorchScript(const Model::Impl & model)
{
  return std::make_shared<torch::jit::Module>(model.script->clone());
}

} // namespace anunet
