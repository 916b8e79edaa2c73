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
// Internal header of the torch core: counting the floating-point work of a forward pass.
#ifndef anunet_FlopCounter_h
#define anunet_FlopCounter_h

#include "SegmentationNetwork.h"

#include <cstdint>

namespace anunet
{

/** Convolution work of one forward pass, as docs/reference.md §3 counts it: 2 x multiply-adds of every
 * Conv2d and ConvTranspose2d (Hout.Wout.Cout.Cin.k^2, resp. Hin.Win.Cin.Cout.k^2 for transposed ones), nothing
 * else (BN, activations, pooling, upsampling, concatenation and bias adds are left out). */
struct FlopCount
{
  double  flops = 0.0;
  int64_t convolutions = 0; ///< convolution calls seen
};

/** Runs network at level on a 1 x C x height x width input (eval mode, no gradients) and counts the
 * convolutions that actually execute, from the input and weight shapes LibTorch's RecordFunction reports
 * for each aten::convolution. */
FlopCount
measureForwardFlops(SegmentationNetworkImpl & network, int level, int64_t height, int64_t width);

/** The same count for height x width (multiples of 16), computed on a 16 x 16 input and scaled by
 * height.width / 256. Exact, not an estimate: every convolution output of these networks is H/2^d x W/2^d
 * for its depth d, so each term is proportional to H.W. */
FlopCount
forwardFlops(SegmentationNetworkImpl & network, int level, int64_t height, int64_t width);

} // namespace anunet

#endif
