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
#include "TrainingConfig.h"

#include "InputError.h"

#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

namespace anunet::workflow
{
namespace
{

class ConfigReader
{
public:
  explicit ConfigReader(std::string path)
    : m_Path(std::move(path))
  {}

  [[noreturn]] void
  fail(const std::string & key, const std::string & problem) const
  {
    throw InputError(m_Path + ": " + key + ": " + problem);
  }

  /** Rejects keys that the reader does not know, so that typos do not silently fall back to defaults. */
  void
  checkKeys(const YAML::Node & node, const std::string & section, const std::set<std::string> & known) const
  {
    if (!node.IsMap())
    {
      fail(section.empty() ? "top level" : section, "expected a mapping");
    }
    for (const auto & item : node)
    {
      const auto key = item.first.as<std::string>();
      if (known.count(key) == 0)
      {
        std::ostringstream valid;
        for (const auto & k : known)
        {
          valid << ' ' << k;
        }
        fail(section.empty() ? key : section + "." + key, "unknown key (valid:" + valid.str() + ")");
      }
    }
  }

  template <typename T>
  void
  read(const YAML::Node & node, const std::string & key, const std::string & section, T & value) const
  {
    if (!node[key])
    {
      return;
    }
    try
    {
      value = node[key].as<T>();
    }
    catch (const YAML::Exception &)
    {
      fail(qualified(section, key), "has the wrong type");
    }
  }

  /** A value given by name (an enum's), converted by fromString, whose message names the valid ones. */
  template <typename T>
  void
  readName(const YAML::Node &  node,
           const std::string & key,
           const std::string & section,
           T &                 value,
           T (*fromString)(const std::string &)) const
  {
    if (!node[key])
    {
      return;
    }
    std::string name;
    read(node, key, section, name);
    try
    {
      value = fromString(name);
    }
    catch (const std::invalid_argument & e)
    {
      fail(qualified(section, key), e.what());
    }
  }

private:
  static std::string
  qualified(const std::string & section, const std::string & key)
  {
    return section.empty() ? key : section + "." + key;
  }

  std::string m_Path;
};

/** training.augmentation given as a mapping: augmentation on, with these of its settings. */
void
readAugmentation(const ConfigReader & reader, const YAML::Node & node, AugmentationOptions & a)
{
  const std::string                                   section = "training.augmentation";
  const std::vector<std::pair<std::string, double *>> numbers{
    { "rotation", &a.rotationDegrees },
    { "scaling", &a.scaling },
    { "intensity_scale", &a.intensityScale },
    { "intensity_shift", &a.intensityShift },
    { "noise", &a.noise },
    { "noise_probability", &a.noiseProbability },
    { "blur", &a.blur },
    { "blur_probability", &a.blurProbability },
    { "contrast", &a.contrast },
    { "contrast_probability", &a.contrastProbability },
    { "low_resolution", &a.lowResolution },
    { "low_resolution_probability", &a.lowResolutionProbability },
    { "gamma", &a.gamma },
    { "gamma_probability", &a.gammaProbability },
  };
  std::set<std::string> known{ "flips" };
  for (const auto & number : numbers)
  {
    known.insert(number.first);
  }
  reader.checkKeys(node, section, known);
  a.enabled = true;
  reader.read(node, "flips", section, a.flips);
  for (const auto & [key, value] : numbers)
  {
    reader.read(node, key, section, *value);
  }
}

std::string
substituteId(std::string pattern, const std::string & id)
{
  const std::string placeholder = "{id}";
  // The search goes on after the id just put in: an id that contains "{id}" itself must not be expanded again
  // (that never ended; fuzz/regressions/training_config/id-contains-placeholder.yaml).
  for (auto pos = pattern.find(placeholder); pos != std::string::npos; pos = pattern.find(placeholder, pos + id.size()))
  {
    pattern.replace(pos, placeholder.size(), id);
  }
  return pattern;
}

std::vector<CaseFiles>
expandCases(const std::vector<std::string> & ids,
            const std::string &              imagePattern,
            const std::string &              labelPattern,
            const std::string &              dataRoot)
{
  namespace fs = std::filesystem;
  std::vector<CaseFiles> cases;
  for (const auto & id : ids)
  {
    auto resolve = [&](const std::string & pattern) {
      const fs::path p = substituteId(pattern, id);
      return (p.is_absolute() ? p : fs::path(dataRoot) / p).string();
    };
    cases.push_back({ id, resolve(imagePattern), resolve(labelPattern) });
  }
  return cases;
}

TrainingConfig
parseConfigDocument(const YAML::Node & root, const std::string & path, const std::string & dataRoot)
{
  const ConfigReader reader(path);
  reader.checkKeys(root, "", { "architecture", "task", "data", "preprocessing", "network", "training" });

  TrainingConfig config;
  config.source = path;
  auto & options = config.options;

  reader.readName(root, "architecture", "", options.network.architecture, architectureFromString);
  reader.read(root, "task", "", config.task);

  if (const auto data = root["data"])
  {
    reader.checkKeys(data, "data", { "image", "label", "train", "validation", "test" });
    std::string              image, label;
    std::vector<std::string> train, validation, test;
    reader.read(data, "image", "data", image);
    reader.read(data, "label", "data", label);
    reader.read(data, "train", "data", train);
    reader.read(data, "validation", "data", validation);
    reader.read(data, "test", "data", test);
    if (image.empty() || label.empty())
    {
      reader.fail("data", "needs both 'image' and 'label' patterns (use {id} for the case id)");
    }
    config.training = expandCases(train, image, label, dataRoot);
    config.validation = expandCases(validation, image, label, dataRoot);
    config.test = expandCases(test, image, label, dataRoot);
  }

  if (const auto pre = root["preprocessing"])
  {
    reader.checkKeys(
      pre, "preprocessing", { "intensity", "window", "percentile_low", "percentile_high", "size", "slice_axis" });
    auto & p = options.preprocessing;
    reader.readName(pre, "intensity", "preprocessing", p.intensity.method, normalizationMethodFromString);
    std::vector<double> window{ p.intensity.windowMinimum, p.intensity.windowMaximum };
    reader.read(pre, "window", "preprocessing", window);
    if (window.size() != 2 || !(window[0] < window[1]))
    {
      reader.fail("preprocessing.window", "expected [minimum, maximum] with minimum < maximum");
    }
    p.intensity.windowMinimum = window[0];
    p.intensity.windowMaximum = window[1];
    reader.read(pre, "percentile_low", "preprocessing", p.intensity.percentileLow);
    reader.read(pre, "percentile_high", "preprocessing", p.intensity.percentileHigh);
    std::vector<int> size{ p.width, p.height };
    reader.read(pre, "size", "preprocessing", size);
    if (size.size() != 2 || size[0] <= 0 || size[1] <= 0)
    {
      reader.fail("preprocessing.size", "expected [width, height]");
    }
    p.width = size[0];
    p.height = size[1];
    reader.read(pre, "slice_axis", "preprocessing", p.sliceAxis);
  }

  if (const auto net = root["network"])
  {
    reader.checkKeys(net, "network", { "filters", "deep_supervision", "recurrence" });
    reader.read(net, "filters", "network", options.network.filters);
    reader.read(net, "deep_supervision", "network", options.network.deepSupervision);
    reader.read(net, "recurrence", "network", options.network.recurrence);
  }

  if (const auto tr = root["training"])
  {
    reader.checkKeys(tr,
                     "training",
                     { "loss",
                       "head_weights",
                       "optimizer",
                       "learning_rate",
                       "weight_decay",
                       "momentum",
                       "schedule",
                       "epochs",
                       "iterations_per_epoch",
                       "batch_size",
                       "foreground_fraction",
                       "early_stopping",
                       "augmentation",
                       "seed",
                       "threads",
                       "device",
                       "precision" });
    reader.read(tr, "loss", "training", options.loss);
    reader.read(tr, "head_weights", "training", options.headWeights);
    reader.readName(tr, "optimizer", "training", options.optimizer, optimizerFromString);
    reader.read(tr, "learning_rate", "training", options.learningRate);
    reader.read(tr, "weight_decay", "training", options.weightDecay);
    reader.read(tr, "momentum", "training", options.momentum);
    reader.readName(tr, "schedule", "training", options.schedule, scheduleFromString);
    reader.readName(tr, "precision", "training", options.precision, precisionFromString);
    reader.read(tr, "epochs", "training", options.epochs);
    reader.read(tr, "iterations_per_epoch", "training", options.iterationsPerEpoch);
    reader.read(tr, "batch_size", "training", options.batchSize);
    reader.read(tr, "foreground_fraction", "training", options.foregroundFraction);
    reader.read(tr, "early_stopping", "training", options.earlyStoppingPatience);
    if (tr["augmentation"] && tr["augmentation"].IsMap())
    {
      readAugmentation(reader, tr["augmentation"], options.augmentation);
    }
    else
    {
      reader.read(tr, "augmentation", "training", options.augmentation.enabled);
    }
    reader.read(tr, "seed", "training", options.seed);
    reader.read(tr, "threads", "training", options.threads);
    reader.read(tr, "device", "training", options.device);
  }
  return config;
}

/** yaml-cpp quotes the offending bytes of a binary file; bytes outside printable ASCII become \xNN, so that the
 * message stays valid UTF-8 (Python cannot decode it otherwise, and raises with an empty message). */
std::string
printable(const std::string & text)
{
  std::string result;
  for (const unsigned char c : text)
  {
    if (c >= 0x20 && c < 0x7f)
    {
      result += static_cast<char>(c);
    }
    else
    {
      constexpr char digits[] = "0123456789abcdef";
      result += "\\x";
      result += digits[c >> 4];
      result += digits[c & 0xf];
    }
  }
  return result;
}

} // namespace

std::string
defaultDataRoot()
{
  if (const char * env = std::getenv("ANUNET_DATA_ROOT"))
  {
    return env;
  }
  return ANUNET_DATA_ROOT;
}

TrainingConfig
readTrainingConfig(const std::string & path, const std::string & dataRoot)
{
  if (!std::filesystem::exists(path))
  {
    throw MissingFileError(path + ": config file not found");
  }
  if (std::filesystem::is_directory(path))
  {
    throw InputError(path + ": is a folder; give a config file");
  }
  std::error_code error;
  if (!dataRoot.empty() && std::filesystem::exists(dataRoot, error) && !std::filesystem::is_directory(dataRoot, error))
  {
    throw InputError(dataRoot + ": the data root (against which the config's image paths are read) is a file, not "
                                "a folder");
  }
  std::ifstream      file(path, std::ios::binary);
  std::ostringstream text;
  text << file.rdbuf();
  if (!file)
  {
    throw InputError(path + ": cannot read the config file");
  }
  return parseTrainingConfig(text.str(), path, dataRoot);
}

TrainingConfig
parseTrainingConfig(const std::string & text, const std::string & name, const std::string & dataRoot)
{
  try
  {
    return parseConfigDocument(YAML::Load(text), name, dataRoot);
  }
  catch (const YAML::Exception & e)
  {
    // Malformed YAML, and conversions yaml-cpp refuses where the reader does not expect them (a mapping as a key).
    throw InputError(name + ": not valid YAML/JSON: " + printable(e.what()));
  }
}

} // namespace anunet::workflow
