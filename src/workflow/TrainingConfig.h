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
#ifndef anunet_workflow_TrainingConfig_h
#define anunet_workflow_TrainingConfig_h

#include "anunet/Training.h"

#include <string>
#include <vector>

namespace anunet::workflow
{

/** An image and its ground truth. */
struct CaseFiles
{
  std::string name;
  std::string image;
  std::string label;
};

/** A training run as a config file describes it (YAML, or JSON which is YAML too). */
struct TrainingConfig
{
  TrainingOptions        options;
  std::string            task = "liver";
  std::vector<CaseFiles> training;
  std::vector<CaseFiles> validation;
  std::vector<CaseFiles> test;   ///< held-out cases, never seen in training (used by `anunet demo`)
  std::string            source; ///< the config file (or the name given for its text), for messages
};

/** Reads a config; unknown keys, wrong types and bad values are InputErrors naming the file and the key, a
 * missing file a MissingFileError. Relative image paths are resolved against dataRoot. */
TrainingConfig
readTrainingConfig(const std::string & path, const std::string & dataRoot);

/** The same from a config's text; name stands for the file in the messages. */
TrainingConfig
parseTrainingConfig(const std::string & text, const std::string & name, const std::string & dataRoot);

/** The data root compiled into the tool (the build tree's ExternalData/data), or $ANUNET_DATA_ROOT. */
std::string
defaultDataRoot();

} // namespace anunet::workflow

#endif
