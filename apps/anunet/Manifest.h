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
#ifndef anunet_cli_Manifest_h
#define anunet_cli_Manifest_h

// The case list of `anunet segment --manifest` and its division into shards (docs/reference.md §9).
#include <filesystem>
#include <istream>
#include <string>
#include <vector>

namespace anunet::cli
{

/** One data row of a manifest, its paths resolved against the manifest's folder. */
struct ManifestCase
{
  size_t      index = 0; ///< 0-based among the data rows: what shards divide
  size_t      line = 0;  ///< 1-based line in the file, for messages
  std::string id;
  std::string image;
  std::string truth;  ///< empty: no ground truth
  std::string output; ///< relative to the output folder
  std::string seriesUid;
};

struct Manifest
{
  std::string               path;
  std::vector<ManifestCase> cases;
};

/** The columns a manifest may have; "image" is required. */
const std::vector<std::string> &
manifestColumns();

/** Reads and checks a whole manifest before any case runs; throws UsageError naming the file, the line(s) and
 * the problem (a missing column, a malformed row, two rows with one case id or one output). Whether the images
 * exist is left to each case, so that one missing study does not stop the others. */
Manifest
readManifest(const std::string & path);

/** readManifest on text already open; name is used in messages, folder resolves relative paths. */
Manifest
parseManifest(std::istream & in, const std::string & name, const std::filesystem::path & folder);

/** Shard index/count of `--shard i/N`: numbered from 0 as Slurm's SLURM_ARRAY_TASK_ID of `--array=0-(N-1)`. */
struct Shard
{
  size_t index = 0;
  size_t count = 1;

  bool
  contains(const ManifestCase & c) const
  {
    return c.index % count == index;
  }

  /** "i/N" */
  std::string
  text() const;

  /** "shard-i-of-N" */
  std::string
  fileStem() const;
};

/** Parses "i/N" (decimal, 0 <= i < N); throws UsageError saying what is wrong. */
Shard
parseShard(const std::string & text);

} // namespace anunet::cli

#endif
