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
#include "Commands.h"
#include "LevelEvaluation.h"
#include "MetricsJson.h"
#include "OutputFiles.h"
#include "Progress.h"
#include "TrainingBars.h"

#include "itkANUNetImageReader.h"
#include "itkANUNetOverlay.h"
#include "itkImageRegionConstIteratorWithIndex.h"
#include "itkImageRegionIterator.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <memory>
#include <sstream>

namespace anunet::cli
{
namespace
{

namespace fs = std::filesystem;
using VolumeType = itk::ANUNetImageReader::VolumeType;

struct DemoArguments
{
  std::string out = "anunet-demo";
  std::string config;
  std::string dataRoot;
  int         threads = 0;
};

/** A newcomer's first error is usually a missing data store: say exactly what to do. */
void
checkData(const TrainingConfig & config, const std::string & dataRoot)
{
  std::vector<CaseFiles> all = config.training;
  all.insert(all.end(), config.validation.begin(), config.validation.end());
  all.insert(all.end(), config.test.begin(), config.test.end());
  for (const auto & c : all)
  {
    for (const auto & file : { c.image, c.label })
    {
      if (!fs::exists(file))
      {
        throw UsageError(
          "the demo's images are not there (" + file + ", data root " + dataRoot +
          ").\nThe images are resolved from the ExternalData object store when the project is built: configure with "
          "-DExternalData_OBJECT_STORES=/path/to/ExternalData (by default ../shared/ExternalData next to the "
          "source), run `cmake --build build --target ANUNetData`, or pass --data-root to a folder laid out like "
          "data/ (chaos-mr-t2/caseNN_t2.nii.gz ...). README.md, section Data, says where to get the images.");
      }
    }
  }
}

/** Slices where the ground truth is largest, and at the quartiles of its extent: what a reader checks first. */
std::vector<unsigned int>
overlaySlices(const MaskType * truth)
{
  const auto                                       size = truth->GetLargestPossibleRegion().GetSize();
  std::vector<size_t>                              area(size[2], 0);
  itk::ImageRegionConstIteratorWithIndex<MaskType> it(truth, truth->GetLargestPossibleRegion());
  for (; !it.IsAtEnd(); ++it)
  {
    area[it.GetIndex()[2]] += it.Get() != 0;
  }
  std::vector<unsigned int> present;
  for (unsigned int z = 0; z < size[2]; ++z)
  {
    if (area[z] > 0)
    {
      present.push_back(z);
    }
  }
  if (present.empty())
  {
    return { static_cast<unsigned int>(size[2] / 2) };
  }
  const auto largest = static_cast<unsigned int>(std::max_element(area.begin(), area.end()) - area.begin());
  std::vector<unsigned int> slices{ present[present.size() / 4], largest, present[present.size() * 3 / 4] };
  std::sort(slices.begin(), slices.end());
  slices.erase(std::unique(slices.begin(), slices.end()), slices.end());
  return slices;
}

void
runDemo(const DemoArguments & args)
{
  const auto        start = std::chrono::steady_clock::now();
  const std::string dataRoot = args.dataRoot.empty() ? defaultDataRoot() : args.dataRoot;
  const std::string configPath =
    args.config.empty() ? (fs::path(ANUNET_SOURCE_DIR) / "data" / "configs" / "demo.yaml").string() : args.config;
  TrainingConfig config = readTrainingConfig(configPath, dataRoot);
  if (config.test.empty())
  {
    throw UsageError(configPath + ": data.test names no held-out case for the demo to segment");
  }
  checkData(config, dataRoot);
  fs::create_directories(args.out);
  finalizeTrainingConfig(config, (fs::path(args.out) / "training").string());
  if (args.threads > 0)
  {
    config.options.threads = args.threads;
  }

  std::cerr << "anunet demo: training " << toString(config.options.network.architecture) << " for the " << config.task
            << " on " << config.training.size() << " CHAOS MR T2 cases, validating on " << config.validation.size()
            << "\n";
  TrainingRun run;
  {
    TrainingBars bars(true);
    run = runTraining(config, bars.observer());
  }
  fs::copy_file(fs::path(config.options.outputDirectory) / "curves.svg",
                fs::path(args.out) / "training_curves.svg",
                fs::copy_options::overwrite_existing);

  const CaseFiles & unseen = config.test.front();
  auto              image = itk::ANUNetImageReader::ReadVolume(unseen.image);
  auto              truth = mapLabels(unseen.label, config.options.preprocessing.labels);

  std::vector<LevelResult> results;
  const int                maxLevel = run.model->GetModel().maximumLevel();
  ProgressBar              bar("segment");
  for (int level = 1; level <= std::max(1, maxLevel); ++level)
  {
    bar.update(static_cast<double>(level - 1) / std::max(1, maxLevel),
               "case " + unseen.name + " at L" + std::to_string(level));
    results.push_back(segmentAtLevel(run.model, image, truth, maxLevel > 0 ? level : 0, config.options.threads));
  }
  bar.update(1.0, "case " + unseen.name);
  bar.finish();

  const LevelResult & full = results.back();
  const std::string   segName = "case" + unseen.name + "_" + config.task + "_seg.nii.gz";
  writeImageFile(full.segmentation.GetPointer(), (fs::path(args.out) / segName).string());
  std::vector<std::string> overlays;
  for (unsigned int z : overlaySlices(truth))
  {
    std::ostringstream name;
    name << "overlay_case" << unseen.name << "_slice" << std::setw(2) << std::setfill('0') << z << ".png";
    const std::string temporary = temporaryNameFor((fs::path(args.out) / name.str()).string());
    itk::ANUNetWriteSegmentationOverlay(image, truth, full.segmentation, z, temporary);
    commitTemporaryFile(temporary, (fs::path(args.out) / name.str()).string());
    overlays.push_back(name.str());
  }

  const double   minutes = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() / 60.0;
  const auto &   summary = run.model->GetModel().training();
  nlohmann::json levels = nlohmann::json::array();
  for (const auto & r : results)
  {
    auto entry = metricsToJson(r.metrics);
    entry["level"] = r.level;
    entry["parameters"] = r.parameters;
    entry["ms_per_slice"] = r.millisecondsPerSlice;
    levels.push_back(entry);
  }
  nlohmann::json metrics = { { "case", unseen.name },
                             { "task", config.task },
                             { "architecture", toString(config.options.network.architecture) },
                             { "segmentation", segName },
                             { "metrics", metricsToJson(full.metrics) },
                             { "levels", levels },
                             { "best_validation_dice", summary.bestValidationDice },
                             { "best_epoch", summary.bestEpoch },
                             { "epochs", run.history.size() },
                             { "minutes", minutes } };
  writeTextFile(metrics.dump(2) + "\n", (fs::path(args.out) / "metrics.json").string());

  std::ostringstream report;
  report << "# ITKANUNet demo\n\n"
         << toString(config.options.network.architecture) << " trained for the " << config.task << " on "
         << config.training.size() << " CHAOS MR T2 cases (" << run.history.size() << " epochs, best validation Dice "
         << formatNumber(summary.bestValidationDice, 4) << " at epoch " << summary.bestEpoch
         << "), evaluated in 3-D on the unseen case " << unseen.name << " on its own grid.\n\n"
         << "## Pruning levels (as the paper's Table 6)\n\n"
         << levelTable(results) << "\nTimes are wall-clock per slice on this machine with "
         << (config.options.threads > 0 ? std::to_string(config.options.threads) : std::string("all"))
         << " threads, including preprocessing and resampling back to the input grid.\n\n"
         << "## Files\n\n- `" << segName << "`: the L" << full.level << " segmentation (NIfTI, input grid)\n"
         << "- `training_curves.svg`: loss and validation Dice per epoch\n";
  for (const auto & o : overlays)
  {
    report << "- `" << o << "`: grey image, ground truth in red, prediction in blue\n";
  }
  report << "- `metrics.json`, `training/` (best.pt, last.pt, log.jsonl)\n\nTotal time: " << formatNumber(minutes, 1)
         << " min.\n";
  writeTextFile(report.str(), (fs::path(args.out) / "report.md").string());

  std::cout << "\nUnseen case " << unseen.name << " (" << config.task << "), 3-D metrics on the input grid:\n\n"
            << levelTable(results) << "\nDice " << formatNumber(full.metrics.Dice, 4) << " at L" << full.level
            << "; outputs in " << args.out << " (" << formatNumber(minutes, 1) << " min)\n";
}

} // namespace

void
addDemoCommand(CLI::App & app)
{
  auto   args = std::make_shared<DemoArguments>();
  auto * cmd = app.add_subcommand(
    "demo", "Train ANU-Net on CHAOS MR T2 cases, segment an unseen case at L1..L4 and evaluate it (~10 min)");
  cmd->add_option("--out", args->out, "Output folder")->capture_default_str();
  cmd->add_option("--config", args->config, "Demo config (default data/configs/demo.yaml)");
  cmd->add_option("--data-root", args->dataRoot, "Folder holding chaos-mr-t2/ (default: the build's ExternalData)");
  cmd->add_option("--threads", args->threads, "LibTorch threads (0: the config's)");
  cmd->callback([args] { runDemo(*args); });
}

} // namespace anunet::cli
