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
#ifndef anunet_Catalog_h
#define anunet_Catalog_h

#include "anunet/ANUNetCoreExport.h"
#include "anunet/NetworkOptions.h"

#include <cstdint>
#include <string>
#include <vector>

namespace anunet
{

/** Size and cost of one architecture at one pruning level, computed from a network built for the purpose. */
struct ANUNetCore_EXPORT ArchitectureSummary
{
  Architecture architecture = Architecture::ANUNet;
  std::string  displayName; ///< e.g. "ANU-Net L3", "Attention U-Net"
  /** Pruning level 1..4 for nested networks; 0 for the others (one output). */
  int level = 0;
  /** Trainable parameters used at this level (nested networks: level 4 counts every head, lower levels
   * their one head; docs/reference.md §2). */
  int64_t parameters = 0;
  /** GFLOP of one forward on 1 x C x size x size (2 x convolution multiply-adds, one head; §3). */
  double gflops = 0.0;
  int    size = 256; ///< the size gflops refers to
};

/** One row per architecture and level, in the order of allArchitectures(); base supplies input channels,
 * classes, filters and recurrence (its architecture field is ignored). size must be a multiple of 16.
 * Builds each network once (a few seconds for the paper's widths). */
ANUNetCore_EXPORT std::vector<ArchitectureSummary>
                  describeArchitectures(int size = 256, const NetworkOptions & base = NetworkOptions());

/** Human-readable name of an architecture ("ANU-Net", "UNet++", ...). */
ANUNetCore_EXPORT std::string
                  displayName(Architecture architecture);

} // namespace anunet

#endif
