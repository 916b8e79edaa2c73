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
#ifndef anunet_cli_BatchSegmentation_h
#define anunet_cli_BatchSegmentation_h

// `anunet segment --manifest`: many images, one model, resumable and divisible into shards (docs/reference.md
// §9). The output folder's layout is defined here, for `anunet summarize` to read.
#include "Manifest.h"
#include "Segmentation.h"

#include <filesystem>
#include <string>

namespace anunet::cli
{

struct BatchArguments
{
  std::string                    model;
  std::string                    manifest;
  std::string                    outputDir;
  std::string                    shard = "0/1";
  workflow::SegmentationSettings settings;
};

/** Segments the cases of one shard. A case that fails is recorded and the others go on; throws at the end when
 * any failed, so that the exit status says so. */
void
runBatchSegmentation(const BatchArguments & args);

/** DIR/results: the records of a run, kept apart from the outputs. */
std::filesystem::path
resultsFolder(const std::filesystem::path & outputDir);

/** DIR/results/cases/<case>.json: one case's record, written atomically once the case is done (or failed). */
std::filesystem::path
caseRecordPath(const std::filesystem::path & outputDir, const std::string & caseId);

/** DIR/results/<shard-i-of-N>.json: what a shard was given (every case id of the manifest, its own cases), so that
 * the summary can name the cases that have no record. */
std::filesystem::path
shardRecordPath(const std::filesystem::path & outputDir, const Shard & shard);

} // namespace anunet::cli

#endif
