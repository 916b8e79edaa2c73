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
#ifndef anunet_cli_App_h
#define anunet_cli_App_h

#include "Commands.h"

namespace anunet::cli
{

/** The tool's options and subcommands on app, as main() parses them; fuzz/ parses fuzzed arguments with the
 * same app, so that what it checks is the tool's own command line. */
inline void
setUpApp(CLI::App & app)
{
  app.description("anunet: ANU-Net (attention-based nested U-Net) segmentation in ITK pipelines");
  app.require_subcommand(1);
  app.set_version_flag("--version", "anunet 0.1.0");

  addModelsCommand(app);
  addTrainCommand(app);
  addSegmentCommand(app);
  addSummarizeCommand(app);
  addEvaluateCommand(app);
  addDemoCommand(app);
  addPruneCommand(app);
  addBenchCommand(app);
}

} // namespace anunet::cli

#endif
