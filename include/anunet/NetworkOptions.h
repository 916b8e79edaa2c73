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
#ifndef anunet_NetworkOptions_h
#define anunet_NetworkOptions_h

#include "anunet/ANUNetCoreExport.h"

#include <string>
#include <vector>

namespace anunet
{

/** The six networks of the paper's comparison (Li et al. 2020, Table 3). */
enum class Architecture
{
  ANUNet,         ///< "anunet": nested U-Net with an attention gate at every nested node
  UNetPlusPlus,   ///< "unetpp": nested U-Net (Zhou et al.), bilinear upsampling, no gates
  UNet,           ///< "unet"
  R2UNet,         ///< "r2unet": recurrent-residual U-Net (Alom et al.)
  AttentionUNet,  ///< "attunet": U-Net with attention gates (Oktay et al.)
  AttentionR2UNet ///< "r2attunet"
};

/** Lower-case name used on the command line, in configs and in checkpoints. */
ANUNetCore_EXPORT std::string
                  toString(Architecture architecture);

/** Inverse of toString(); throws std::invalid_argument listing the valid names. */
ANUNetCore_EXPORT Architecture
architectureFromString(const std::string & name);

/** All architectures, in the order of the paper's comparison table. */
ANUNetCore_EXPORT const std::vector<Architecture> &
                        allArchitectures();

/** True for the nested networks (ANU-Net, UNet++), which have deep-supervision heads and pruning levels 1..4. */
ANUNetCore_EXPORT bool
hasPruningLevels(Architecture architecture);

/** Everything needed to rebuild a network; stored in every checkpoint. */
struct ANUNetCore_EXPORT NetworkOptions
{
  Architecture architecture = Architecture::ANUNet;
  int          inputChannels = 1;
  /** 1: one sigmoid channel (binary task); C >= 2: C softmax channels, class 0 is background. */
  int classes = 1;
  /** Widths of the five encoder levels; the paper uses 32, 64, 128, 256, 512. */
  std::vector<int> filters{ 32, 64, 128, 256, 512 };
  /** Nested networks only: one head on each X(0,j), j = 1..4 (the paper's deep supervision). */
  bool deepSupervision = true;
  /** Recurrent networks only: number of recurrent steps t of each recurrent convolution. */
  int recurrence = 2;

  /** Throws std::invalid_argument naming the first inconsistent field. */
  void
  validate() const;

  bool
  operator==(const NetworkOptions & other) const;
  bool
  operator!=(const NetworkOptions & other) const
  {
    return !(*this == other);
  }
};

/** Spatial sizes given to a network must be multiples of this (four 2x2 poolings). */
constexpr int SpatialMultiple = 16;

} // namespace anunet

#endif
