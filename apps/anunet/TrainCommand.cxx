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
#include "Progress.h"
#include "StopSignals.h"
#include "TrainingBars.h"

#include "itkProcessObject.h"

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <iostream>
#include <memory>

namespace anunet::cli
{
namespace
{

struct TrainArguments
{
  std::string config;
  std::string out;
  std::string dataRoot;
  std::string architecture;
  std::string task;
  std::string resume;
  int         epochs = -1;
  int64_t     iterationsPerEpoch = -1;
  int         batchSize = -1;
  double      learningRate = -1.0;
  int64_t     seed = -1;
  int         threads = -1;
  std::string device;
  int         size = -1;
  bool        distributed = false;
  bool        localBatchNorm = false;
  double      distributedTimeout = -1.0;
};

/** Command-line flags win over the config file. */
void
applyOverrides(const TrainArguments & args, TrainingConfig & config)
{
  auto & o = config.options;
  if (!args.architecture.empty())
  {
    o.network.architecture = architectureFromString(args.architecture);
  }
  if (!args.task.empty())
  {
    config.task = args.task;
  }
  if (args.epochs > 0)
  {
    o.epochs = args.epochs;
  }
  if (args.iterationsPerEpoch >= 0)
  {
    o.iterationsPerEpoch = args.iterationsPerEpoch;
  }
  if (args.batchSize > 0)
  {
    o.batchSize = args.batchSize;
  }
  if (args.learningRate > 0)
  {
    o.learningRate = args.learningRate;
  }
  if (args.seed >= 0)
  {
    o.seed = static_cast<uint64_t>(args.seed);
  }
  if (args.threads >= 0)
  {
    o.threads = args.threads;
  }
  if (!args.device.empty())
  {
    try
    {
      Model::checkDevice(args.device);
    }
    catch (const std::exception & e)
    {
      throw UsageError("--device " + args.device + ": " + e.what());
    }
    o.device = args.device;
  }
  if (args.size > 0)
  {
    if (args.size % SpatialMultiple != 0)
    {
      throw UsageError(
        "--size " + std::to_string(args.size) + ": the networks need a multiple of " + std::to_string(SpatialMultiple) +
        " (for example " +
        std::to_string(std::max(1, (args.size + SpatialMultiple / 2) / SpatialMultiple) * SpatialMultiple) + ")");
    }
    o.preprocessing.width = o.preprocessing.height = args.size;
  }
  if (!args.resume.empty())
  {
    o.resumeFrom = args.resume;
  }
  if (args.distributed)
  {
    try
    {
      enableDistributedTraining(config, args.distributedTimeout, args.localBatchNorm);
    }
    catch (const std::invalid_argument & e)
    {
      throw UsageError(std::string("--distributed: ") + e.what());
    }
  }
}

void
runTrain(const TrainArguments & args)
{
  TrainingConfig config = readTrainingConfig(args.config, args.dataRoot.empty() ? defaultDataRoot() : args.dataRoot);
  applyOverrides(args, config);
  finalizeTrainingConfig(config, args.out);
  TrainingRun run;
  {
    const StopSignals signals;
    try
    {
      // In a distributed run the other ranks train silently; rank 0 speaks (and writes) for all.
      TrainingBars bars(config.options.distributed.rank == 0);
      run = runTraining(config, bars.observer([&signals] { return signals.received() != 0; }));
    }
    catch (const itk::ProcessAborted & e)
    {
      if (signals.received() == 0)
      {
        throw;
      }
      const char * name = signals.received() == SIGINT ? "SIGINT" : "SIGTERM";
      throw ExitError(128 + signals.received(),
                      std::string("stopped by ") + name + ". " + e.GetDescription() +
                        "; to continue, run the same command with --resume " +
                        (std::filesystem::path(args.out) / "last.pt").string());
    }
  }
  if (config.options.distributed.rank != 0)
  {
    return; // rank 0 reports for all
  }
  const auto &      summary = run.model->GetModel().training();
  const std::string best = (std::filesystem::path(args.out) / "best.pt").string();
  if (summary.bestValidationDice < 0.0)
  {
    std::cout << "trained " << summary.bestEpoch << " epochs without validation cases; checkpoint " << best << '\n';
  }
  else
  {
    std::cout << "best validation Dice " << formatNumber(summary.bestValidationDice, 4) << " at epoch "
              << summary.bestEpoch << "; checkpoint " << best << '\n';
  }
}

} // namespace

void
addTrainCommand(CLI::App & app)
{
  auto   args = std::make_shared<TrainArguments>();
  auto * cmd = app.add_subcommand("train", "Train a network on image/label volumes described by a config file");
  cmd->add_option("--config", args->config, "YAML or JSON config (see data/configs)")->required();
  cmd->add_option("--out", args->out, "Output folder: best.pt, last.pt, log.jsonl, curves.svg")->required();
  cmd->add_option("--data-root", args->dataRoot, "Folder that relative image paths start from");
  cmd->add_option("--architecture", args->architecture, "anunet|unetpp|unet|r2unet|attunet|r2attunet");
  cmd->add_option("--task", args->task, "liver|kidney|spleen|chaos-all|labels=1,2+3,...");
  cmd->add_option("--resume", args->resume, "Continue from a last.pt");
  cmd->add_option("--epochs", args->epochs, "Epochs")->check(CLI::PositiveNumber);
  cmd->add_option("--iterations-per-epoch", args->iterationsPerEpoch, "Optimiser steps per epoch (0: one pass)")
    ->check(CLI::NonNegativeNumber);
  cmd->add_option("--batch-size", args->batchSize, "Slices per step")->check(CLI::PositiveNumber);
  cmd->add_option("--lr", args->learningRate, "Learning rate")->check(CLI::PositiveNumber);
  cmd->add_option("--seed", args->seed, "Random seed")->check(CLI::NonNegativeNumber);
  cmd->add_option("--threads", args->threads, "LibTorch threads (0: all cores)")->check(CLI::NonNegativeNumber);
  cmd->add_option("--device",
                  args->device,
                  "cpu or cuda[:k] (default: the config's, else cpu); with --distributed, cuda puts each rank of a "
                  "host on GPU LOCAL_RANK");
  cmd->add_option("--size", args->size, "Network in-plane size (square)")->check(CLI::PositiveNumber);
  cmd->add_flag("--distributed",
                args->distributed,
                "Data-parallel training with the other ranks named by the environment (torchrun's MASTER_ADDR, "
                "MASTER_PORT, WORLD_SIZE, RANK, or a Slurm step's); --batch-size is the global batch");
  cmd
    ->add_option("--distributed-timeout",
                 args->distributedTimeout,
                 "Seconds a rank waits for the others before it fails (default 300)")
    ->check(CLI::PositiveNumber);
  cmd->add_flag("--local-batch-norm",
                args->localBatchNorm,
                "With --distributed: each rank normalises with its own share's statistics (fewer collectives; "
                "no longer the step one process would take)");
  cmd->callback([args] { runTrain(*args); });
}

} // namespace anunet::cli
