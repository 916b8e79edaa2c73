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
#ifndef anunet_Augmentation_h
#define anunet_Augmentation_h

#include "anunet/Training.h"

#include <torch/types.h>

#include <random>
#include <string>

namespace anunet
{

/** Random, batched data augmentation of training slices.
 *
 * Per slice: a left-right flip (probability 1/2), a rotation uniform in [-r, r] degrees, an isotropic
 * zoom uniform in [1 - s, 1 + s], then an intensity scale (1 + u) and shift v. The geometric part is one
 * affine_grid + grid_sample for the whole batch (bilinear for images, nearest for labels, zeros outside:
 * background), rotating in pixel units so non-square slices are not sheared. Intensities are changed
 * first, so that the zero padding stays at the background value of normalised images. After the geometry come
 * the optional changes of AugmentationOptions that nnU-Net applies (noise, blur, contrast, a coarser sampling,
 * gamma), each per slice with its probability; they never touch the labels.
 *
 * Seeded, with its own engine; saveState()/loadState() make a resumed run augment as an uninterrupted one. */
class Augmenter
{
public:
  Augmenter(AugmentationOptions options, uint64_t seed);

  /** images: N x C x H x W float; labels: N x H x W integer. Both are replaced by augmented tensors
   * (the inputs are not modified); a no-op when options.enabled is false. */
  void
  apply(torch::Tensor & images, torch::Tensor & labels);

  std::string
  saveState() const;
  void
  loadState(const std::string & state);

  const AugmentationOptions &
  options() const
  {
    return m_Options;
  }

private:
  void
  changeIntensities(torch::Tensor & images);

  AugmentationOptions m_Options;
  std::mt19937_64     m_Engine;
};

} // namespace anunet

#endif
