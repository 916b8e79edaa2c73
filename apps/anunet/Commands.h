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
#ifndef anunet_cli_Commands_h
#define anunet_cli_Commands_h

#include "InputError.h"

#include <CLI/CLI.hpp>

#include <stdexcept>
#include <string>

namespace anunet::cli
{

// The tool is a front end of the workflow layer: its configs, runs and output files are the tool's own.
using namespace anunet::workflow;

/** An error the user can act on: printed as "anunet: error: <message>", exit status 1. */
using UsageError = workflow::InputError;

/** Ends the tool with its own exit status: 128 + the signal for a command stopped by SIGINT or SIGTERM, as
 * shells and Slurm report such an end. */
class ExitError : public std::runtime_error
{
public:
  ExitError(int status, const std::string & message)
    : std::runtime_error(message)
    , m_Status(status)
  {}
  int
  status() const
  {
    return m_Status;
  }

private:
  int m_Status;
};

// Each subcommand lives in its own file and registers itself here.
void
addModelsCommand(CLI::App & app);
void
addTrainCommand(CLI::App & app);
void
addSegmentCommand(CLI::App & app);
void
addSummarizeCommand(CLI::App & app);
void
addEvaluateCommand(CLI::App & app);
void
addDemoCommand(CLI::App & app);
void
addPruneCommand(CLI::App & app);
void
addBenchCommand(CLI::App & app);

} // namespace anunet::cli

#endif
