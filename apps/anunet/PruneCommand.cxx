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
#include "Progress.h"
#include "TrainingConfig.h"

#include "itkANUNetImageReader.h"
#include "itkANUNetModel.h"

#include <algorithm>
#include <iostream>
#include <memory>

namespace anunet::cli
{
namespace
{

struct PruneArguments
{
  std::string model;
  std::string config;
  std::string dataRoot;
  std::string output;
  double      tolerance = 0.01;
  int         threads = 0;
};

/** The smallest level whose mean Dice is within tolerance of the best level's, as the paper prunes. */
int
chooseLevel(const std::vector<LevelChoice::Score> & scores, double tolerance)
{
  double best = 0.0;
  for (const auto & s : scores)
  {
    best = std::max(best, s.dice);
  }
  for (const auto & s : scores)
  {
    if (s.dice >= best - tolerance)
    {
      return s.level;
    }
  }
  return scores.back().level;
}

void
runPrune(const PruneArguments & args)
{
  auto model = itk::ANUNetModel::New();
  try
  {
    model->Load(args.model);
  }
  catch (const itk::ExceptionObject & e)
  {
    throw UsageError(e.GetDescription());
  }
  const Model & network = model->GetModel();
  if (network.isTorchScript())
  {
    throw UsageError("--model '" + args.model +
                     "': a TorchScript file computes one level only; prune the checkpoint it was exported from");
  }
  if (network.maximumLevel() == 0)
  {
    throw UsageError("--model '" + args.model + "': the " + toString(network.options().architecture) +
                     " network has no pruning levels");
  }
  const TrainingConfig config =
    readTrainingConfig(args.config, args.dataRoot.empty() ? defaultDataRoot() : args.dataRoot);
  if (config.validation.empty())
  {
    throw UsageError(args.config + ": data.validation names no case; the level is chosen on validation cases, never "
                                   "on test cases");
  }
  // The model's own label mapping scores it, whatever task the config names.
  const LabelMapping & mapping = network.preprocessing().labels;

  LevelChoice choice;
  choice.tolerance = args.tolerance;
  std::vector<LevelResult> rows(static_cast<size_t>(network.maximumLevel()));
  ProgressBar              bar("prune");
  for (size_t c = 0; c < config.validation.size(); ++c)
  {
    const CaseFiles & files = config.validation[c];
    choice.cases.push_back(files.name);
    const auto image = itk::ANUNetImageReader::ReadVolume(files.image);
    const auto truth = mapLabels(files.label, mapping);
    for (int level = 1; level <= network.maximumLevel(); ++level)
    {
      bar.update((static_cast<double>(c) + (level - 1.0) / network.maximumLevel()) / config.validation.size(),
                 "case " + files.name + " at L" + std::to_string(level));
      const LevelResult result = segmentAtLevel(model, image, truth, level, args.threads);
      LevelResult &     row = rows[static_cast<size_t>(level - 1)];
      // Averages over the cases, so that the table reads as the choice was made.
      const double share = 1.0 / static_cast<double>(config.validation.size());
      row.level = level;
      row.parameters = result.parameters;
      row.millisecondsPerSlice += share * result.millisecondsPerSlice;
      row.meanDice += share * result.meanDice;
      row.metrics.Dice += share * result.metrics.Dice;
      row.metrics.IoU += share * result.metrics.IoU;
      row.metrics.Precision += share * result.metrics.Precision;
      row.metrics.Recall += share * result.metrics.Recall;
      row.metrics.HausdorffDistance95 += share * result.metrics.HausdorffDistance95;
    }
  }
  bar.update(1.0);
  bar.finish();
  for (const auto & row : rows)
  {
    choice.scores.push_back({ row.level, row.meanDice, row.millisecondsPerSlice / 1000.0, row.parameters });
  }
  choice.level = chooseLevel(choice.scores, args.tolerance);

  // The loaded model itself records the choice (Model is a handle; nothing else holds this one).
  model->GetModel().setLevelChoice(choice);
  const std::string output = args.output.empty() ? args.model : args.output;
  network.save(output);

  std::cout << "Validation cases";
  for (const auto & name : choice.cases)
  {
    std::cout << ' ' << name;
  }
  std::cout << ", means over the cases (Dice and HD95 of class 1):\n\n"
            << levelTable(rows) << "\nchosen: L" << choice.level << ", the smallest level within "
            << formatNumber(args.tolerance, 3) << " of the best mean Dice; recorded in " << output
            << " (segment uses it unless --level is given)\n";
}

} // namespace

void
addPruneCommand(CLI::App & app)
{
  auto       args = std::make_shared<PruneArguments>();
  CLI::App * cmd = app.add_subcommand(
    "prune",
    "Evaluate a nested network at L1..L4 on a config's validation cases and record in the checkpoint the smallest "
    "level whose Dice is within --tolerance of the best");
  cmd->add_option("--model", args->model, "Checkpoint of a nested network (anunet, unetpp)")->required();
  cmd->add_option("--config", args->config, "Config whose data.validation cases choose the level")->required();
  cmd->add_option("--data-root", args->dataRoot, "Folder that relative image paths start from");
  cmd->add_option("--output", args->output, "Where the checkpoint with the choice goes (default: --model itself)");
  cmd->add_option("--tolerance", args->tolerance, "Dice below the best level's that a smaller level may lose")
    ->check(CLI::Range(0.0, 1.0))
    ->capture_default_str();
  cmd->add_option("--threads", args->threads, "LibTorch threads; 0 = all hardware threads")
    ->check(CLI::NonNegativeNumber);
  cmd->callback([args] { runPrune(*args); });
}

} // namespace anunet::cli
