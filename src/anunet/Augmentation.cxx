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
#include "anunet/Augmentation.h"

#include "anunet/SliceSampler.h"

#include <ATen/ATen.h>

#include <cmath>
#include <sstream>
#include <stdexcept>
#include <vector>

namespace anunet
{

Augmenter::Augmenter(AugmentationOptions options, uint64_t seed)
  : m_Options(options)
  , m_Engine(seed)
{
  if (options.rotationDegrees < 0 || options.scaling < 0 || options.scaling >= 1 || options.intensityScale < 0 ||
      options.intensityScale >= 1 || options.intensityShift < 0)
  {
    throw std::invalid_argument("augmentation: rotation, scaling and intensity ranges must be >= 0, "
                                "scaling and intensity scale < 1");
  }
}

void
Augmenter::apply(torch::Tensor & images, torch::Tensor & labels)
{
  if (!m_Options.enabled)
  {
    return;
  }
  if (images.dim() != 4 || labels.dim() != 3 || labels.size(0) != images.size(0) || labels.size(1) != images.size(2) ||
      labels.size(2) != images.size(3))
  {
    throw std::invalid_argument("augmentation: expected N x C x H x W images and N x H x W labels");
  }
  const int64_t n = images.size(0);
  const double  h = static_cast<double>(images.size(2));
  const double  w = static_cast<double>(images.size(3));
  const double  pi = std::acos(-1.0);

  // Every parameter is drawn for every slice, whatever the options, so the stream stays aligned.
  std::vector<float> theta(static_cast<size_t>(n * 6));
  std::vector<float> gain(static_cast<size_t>(n));
  std::vector<float> offset(static_cast<size_t>(n));
  bool               geometric = false;
  auto               symmetric = [this](double range) { return range * (2 * uniform01(m_Engine) - 1); };
  for (int64_t i = 0; i < n; ++i)
  {
    const bool   flip = uniform01(m_Engine) < 0.5 && m_Options.flips;
    const double angle = symmetric(m_Options.rotationDegrees) * pi / 180;
    const double zoom = 1 + symmetric(m_Options.scaling);
    gain[i] = static_cast<float>(1 + symmetric(m_Options.intensityScale));
    offset[i] = static_cast<float>(symmetric(m_Options.intensityShift));

    // affine_grid maps each output position to the input position it reads, in coordinates normalised
    // to [-1, 1] per axis. In pixel units that map is R(-angle) / zoom, then the flip; normalising with
    // D = diag(w / 2, h / 2) gives D^-1 A D, which keeps non-square slices unsheared.
    const double c = std::cos(angle) / zoom;
    const double s = std::sin(angle) / zoom;
    const double f = flip ? -1.0 : 1.0;
    float *      t = theta.data() + 6 * i;
    t[0] = static_cast<float>(c * f);
    t[1] = static_cast<float>(-s * h / w);
    t[2] = 0;
    t[3] = static_cast<float>(s * w / h * f);
    t[4] = static_cast<float>(c);
    t[5] = 0;
    geometric = geometric || flip || angle != 0 || zoom != 1;
  }

  const auto scalar = at::TensorOptions().dtype(at::kFloat);
  auto       out = images;
  if (m_Options.intensityScale > 0 || m_Options.intensityShift > 0)
  {
    const auto g = at::from_blob(gain.data(), { n, 1, 1, 1 }, scalar).to(images.options());
    const auto o = at::from_blob(offset.data(), { n, 1, 1, 1 }, scalar).to(images.options());
    out = at::addcmul(o, out, g);
  }
  if (geometric)
  {
    const auto affine = at::from_blob(theta.data(), { n, 2, 3 }, scalar).to(images.options());
    const auto grid = at::affine_grid_generator(affine, images.sizes(), /*align_corners=*/false);
    // grid_sampler modes: interpolation 0 = bilinear, 1 = nearest; padding 0 = zeros.
    out = at::grid_sampler(out, grid, 0, 0, false);
    const auto labelsAsImage = labels.unsqueeze(1).to(images.options());
    labels = at::grid_sampler(labelsAsImage, grid, 1, 0, false).squeeze(1).round().to(labels.scalar_type());
  }
  images = out;
}

std::string
Augmenter::saveState() const
{
  std::ostringstream s;
  s << m_Engine;
  return s.str();
}

void
Augmenter::loadState(const std::string & state)
{
  std::istringstream s(state);
  s >> m_Engine;
  if (s.fail())
  {
    throw std::runtime_error("augmentation: unreadable random-engine state");
  }
}

} // namespace anunet
