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
// Internal header of the torch core: never included by public headers.
#ifndef anunet_SliceSampler_h
#define anunet_SliceSampler_h

#include "anunet/Training.h"

#include <torch/types.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace anunet
{

/** Throws std::invalid_argument naming the case when the volumes are empty, a volume is inconsistent
 * (SliceVolume::validate()), or two volumes disagree in channels or in-plane size. */
void
validateVolumes(const std::vector<SliceVolume> & volumes, const std::string & role);

/** validateVolumes() on both lists, and that every case suits the network of options: its channels, slices of
 * the training slices' size in multiples of SpatialMultiple, labels the network can output. Throws
 * std::invalid_argument naming the case. */
void
checkTrainingCases(const TrainingOptions &          options,
                   const std::vector<SliceVolume> & training,
                   const std::vector<SliceVolume> & validation);

/** Draws training batches of 2-D slices from whole cases.
 *
 * The slices of all cases are copied once into one S x C x H x W tensor, so a batch is a single
 * index_select. Each slot of a batch holds, with probability foregroundFraction, a slice drawn uniformly
 * from those that contain any foreground label, and otherwise a slice drawn uniformly from all slices (as
 * nnU-Net's oversample_foreground_percent). Foreground slices are therefore never under-sampled: their
 * share is foregroundFraction + (1 - foregroundFraction) * natural share (CHAOS MR T2 liver: 347 of 529
 * slices, so 0.83 with the default 0.5).
 *
 * The sampler owns its random engine (never torch's or the C library's global state): the same seed gives
 * the same batches, and saveState()/loadState() let a resumed run draw exactly what an uninterrupted
 * one would. Splits into training and validation are by case: the caller passes separate vectors. */
class SliceSampler
{
public:
  struct Batch
  {
    torch::Tensor        images; ///< N x C x H x W float
    torch::Tensor        labels; ///< N x H x W long (class indices)
    std::vector<int64_t> slices; ///< which slices (indices into the concatenation of the cases)
  };

  SliceSampler(const std::vector<SliceVolume> & volumes, double foregroundFraction, uint64_t seed);

  Batch
  next(int64_t batchSize);

  int64_t
  numberOfSlices() const
  {
    return m_Images.size(0);
  }
  int64_t
  numberOfForegroundSlices() const
  {
    return static_cast<int64_t>(m_Foreground.size());
  }

  /** The random engine's state as text (std::mt19937_64's stream format, portable across platforms). */
  std::string
  saveState() const;
  void
  loadState(const std::string & state);

private:
  torch::Tensor        m_Images; ///< S x C x H x W float
  torch::Tensor        m_Labels; ///< S x H x W uint8
  std::vector<int64_t> m_Foreground;
  double               m_ForegroundFraction;
  std::mt19937_64      m_Engine;
};

/** Portable random draws from a std::mt19937_64 (the standard distributions' outputs differ between
 * standard libraries, which would make a checkpoint resume differently on another platform). */
double
uniform01(std::mt19937_64 & engine);
int64_t
uniformIndex(std::mt19937_64 & engine, int64_t count);

} // namespace anunet

#endif
