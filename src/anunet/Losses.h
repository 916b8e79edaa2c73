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
#ifndef anunet_Losses_h
#define anunet_Losses_h

#include <torch/types.h>

#include <functional>
#include <string>
#include <vector>

namespace anunet
{

/** \file
 * Segmentation losses, computed from LOGITS (the networks' forwardHeads()) for numerical stability.
 *
 * Conventions shared by every loss here:
 * - logits: N x C x H x W. C = 1 is a binary task (probability Y = sigmoid(z)); C >= 2 is a multi-class
 *   task (probabilities = softmax over dim 1, class 0 = background).
 * - target: either class indices, N x H x W of any integer type (0 = background; 0/1 for C = 1), or a
 *   floating tensor of the logits' shape holding target probabilities (for C = 1, the foreground
 *   probability Ybar). Index targets are turned into one-hot maps.
 * - A binary task is handled internally as the two-class task {background = 1 - Y, foreground = Y}, so
 *   that the cross-entropy-like terms see both classes and every formula is the same for C = 1 and C >= 2.
 * - Dice terms are averaged over the FOREGROUND classes only (class 1 for C = 1 and C = 2): the background
 *   covers ~95 % of an abdominal slice, and its near-1 Dice would hide the organ's.
 * - log-probabilities come from log_sigmoid / log_softmax, never log(sigmoid(z)), so every loss is
 *   finite with finite gradients for any finite logit (tested at +-30 and 0).
 * - Cross-entropy-like terms are means over all N*H*W pixels; each returns a 0-dimensional tensor.
 */

/** The paper's hybrid loss (Li et al. 2020; docs/reference.md §5), for one head:
 *
 *   printed:  1 - [ alpha * Ybar * log(Y) / |Y - 0.5|^gamma + (2 Y Ybar + s) / (Y^2 + Ybar^2 + s) ]
 *
 * The printed form is not usable literally: it is singular at Y = 0.5 (where every pixel starts, logit
 * 0), has no term for the background, and its gradient through 1/|Y - 0.5|^gamma pushes an uncertain
 * foreground pixel AWAY from 0.5 in whichever direction it already leans (at initialisation, towards the
 * wrong answer half of the time). This implementation reads it as
 *
 *   L = (1 - D) + alpha * mean_pixels[ - sum_k w(Y_k) * Ybar_k * log(Y_k) ]
 *   D = mean_{foreground k} (2 sum Y_k Ybar_k + s) / (sum Y_k^2 + sum Ybar_k^2 + s)   (sums over the batch)
 *   w(Y) = stopgrad[ (0.25 + eps) / (|Y - 0.5|^gamma + eps) ]
 *
 * - Sign: Ybar log Y <= 0, so "1 - alpha Ybar log Y" ADDS a cross-entropy penalty; the Dice ratio is
 *   subtracted from 1. Both parts are >= 0 and vanish only for a perfect, confident prediction.
 * - Background term: the sum over k runs over both classes {1 - Y, Y} of a binary task (all C classes
 *   otherwise), i.e. the term is the binary cross-entropy, not only its foreground half. Without it the
 *   only pressure against false positives is the Dice denominator, which is weak per pixel.
 * - |Y - 0.5|^gamma, gamma = 2: the weight w is large for uncertain pixels (Y near 0.5, typically at the
 *   organ's boundary) and 1 for confident ones, as the printed division intends; eps keeps it finite
 *   (w <= (0.25 + eps) / eps = 6 for eps = 0.05). |Y_k - 0.5| is the same for Y and 1 - Y, so the
 *   background term gets the same weight as the foreground one. The weight is a per-pixel weight
 *   (stop-gradient, like a class weight), which removes the harmful gradient described above; the
 *   numerator (0.25 + eps) only rescales alpha so that confident pixels count as plain cross-entropy
 *   (paper alpha = alpha * (0.25 + eps)).
 * - Dice: squared denominators as printed (the V-Net form), sums over all pixels of the whole batch
 *   ("batch Dice"), so that slices without foreground neither give 0/0 nor a saturated term; s = 1.
 * - Reduction: the cross-entropy part is a mean over pixels (independent of image size); the
 *   deep-supervision sum over heads is DeepSupervisionLoss's job.
 */
struct HybridLossOptions
{
  double alpha = 1.0;
  double gamma = 2.0;
  double epsilon = 0.05;
  double smooth = 1.0;
  /** false differentiates through w as well (only for tests of the formula's derivative). */
  bool detachWeight = true;
};

torch::Tensor
hybridLoss(const torch::Tensor & logits, const torch::Tensor & target, const HybridLossOptions & options = {});

/** The reference code's BCEDiceLoss (source A, losses.py), but on logits (no double sigmoid):
 * 0.5 * BCE + (1 - mean over samples and foreground classes of (2 sum Y Ybar + s) / (sum Y + sum Ybar + s)),
 * s = 1e-5, sums per sample. For C >= 2 the BCE is the categorical cross-entropy. */
torch::Tensor
bceDiceLoss(const torch::Tensor & logits, const torch::Tensor & target);

/** Soft Dice: 1 - mean over foreground classes of (2 sum Y Ybar + s) / (sum Y + sum Ybar + s), sums over
 * the whole batch (see hybridLoss for why), s = smooth. */
torch::Tensor
diceLoss(const torch::Tensor & logits, const torch::Tensor & target, double smooth = 1.0);

/** Focal loss (Lin et al. 2017): mean over pixels of - sum_k a_k Ybar_k (1 - Y_k)^gamma log Y_k, with
 * a_k = alpha for foreground classes and 1 - alpha for the background (the usual alpha_t of the binary
 * form, which is the two-class case of this one). */
torch::Tensor
focalLoss(const torch::Tensor & logits, const torch::Tensor & target, double alpha = 0.25, double gamma = 2.0);

/** Binary cross-entropy on logits (C = 1), categorical cross-entropy (C >= 2); mean over pixels. */
torch::Tensor
bceLoss(const torch::Tensor & logits, const torch::Tensor & target);

/** A loss of one head: (logits, target) -> 0-dimensional tensor. */
using LossFunction = std::function<torch::Tensor(const torch::Tensor &, const torch::Tensor &)>;

/** "hybrid", "bce-dice", "dice", "focal", "bce"; throws std::invalid_argument listing them otherwise. */
LossFunction
makeLoss(const std::string & name);

/** The names makeLoss() accepts. */
const std::vector<std::string> &
lossNames();

/** Deep supervision: sum_i weight_i * loss(heads[i], target).
 *
 * Default weights are equal and sum to 1 (the mean over heads, as the reference train_ds.py), so the
 * value is comparable between a network with four heads and one with a single output. */
class DeepSupervisionLoss
{
public:
  explicit DeepSupervisionLoss(LossFunction loss, std::vector<double> weights = {});

  /** Throws std::invalid_argument when heads is empty or weights were given for a different count. */
  torch::Tensor
  operator()(const std::vector<torch::Tensor> & heads, const torch::Tensor & target) const;

private:
  LossFunction        m_Loss;
  std::vector<double> m_Weights;
};

} // namespace anunet

#endif
