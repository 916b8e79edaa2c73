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
#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
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
  options.validate();
}

namespace
{
/** One slice (1 x C x H x W) blurred by a separable Gaussian of sigma pixels, edges replicated. */
at::Tensor
gaussianBlur(const at::Tensor & slice, double sigma)
{
  const auto         radius = static_cast<int64_t>(std::ceil(3 * sigma));
  std::vector<float> weights(static_cast<size_t>(2 * radius + 1));
  double             sum = 0;
  for (int64_t k = -radius; k <= radius; ++k)
  {
    sum += weights[static_cast<size_t>(k + radius)] = static_cast<float>(std::exp(-0.5 * k * k / (sigma * sigma)));
  }
  for (auto & w : weights)
  {
    w = static_cast<float>(w / sum);
  }
  const int64_t channels = slice.size(1);
  const int64_t taps = 2 * radius + 1;
  const auto    kernel =
    at::from_blob(weights.data(), { taps }, at::TensorOptions().dtype(at::kFloat)).to(slice.options());
  const auto                      across = kernel.view({ 1, 1, 1, taps }).expand({ channels, 1, 1, taps }).contiguous();
  const auto                      down = kernel.view({ 1, 1, taps, 1 }).expand({ channels, 1, taps, 1 }).contiguous();
  const auto                      padded = at::replication_pad2d(slice, { radius, radius, radius, radius });
  const std::vector<int64_t>      one{ 1, 1 };
  const std::vector<int64_t>      none{ 0, 0 };
  const c10::optional<at::Tensor> noBias;
  const auto                      blurred = at::conv2d(padded, across, noBias, one, none, one, channels);
  return at::conv2d(blurred, down, noBias, one, none, one, channels);
}

/** One slice down-sampled by factor (nearest) and back to its size (bilinear): a coarser acquisition. */
at::Tensor
lowerResolution(const at::Tensor & slice, double factor)
{
  const int64_t h = slice.size(2);
  const int64_t w = slice.size(3);
  const auto    coarse = at::upsample_nearest2d(
    slice, { std::max<int64_t>(1, std::lround(h / factor)), std::max<int64_t>(1, std::lround(w / factor)) });
  return at::upsample_bilinear2d(coarse, { h, w }, /*align_corners=*/false);
}

/** Applies change to the slices i of images where active[i], one at a time. */
template <typename TChange>
at::Tensor
perSlice(const at::Tensor & images, const std::vector<double> & values, double identity, TChange change)
{
  std::vector<at::Tensor> slices;
  bool                    any = false;
  for (int64_t i = 0; i < images.size(0); ++i)
  {
    const auto slice = images.narrow(0, i, 1);
    const bool active = values[static_cast<size_t>(i)] != identity;
    slices.push_back(active ? change(slice, values[static_cast<size_t>(i)]) : slice);
    any = any || active;
  }
  return any ? at::cat(slices, 0) : images;
}
} // namespace

void
Augmenter::changeIntensities(at::Tensor & images)
{
  const AugmentationOptions & o = m_Options;
  const int64_t               n = images.size(0);
  // Per slice: whether the change applies, then its strength; both drawn for every slice so that the stream
  // does not depend on the outcomes.
  const auto draw = [this, n](double magnitude, double probability, double identity, auto strength) {
    std::vector<double> values(static_cast<size_t>(n), identity);
    if (magnitude > 0)
    {
      for (auto & value : values)
      {
        const bool   active = uniform01(m_Engine) < probability;
        const double u = uniform01(m_Engine);
        value = active ? strength(u) : identity;
      }
    }
    return values;
  };
  const auto noise = draw(o.noise, o.noiseProbability, 0.0, [&o](double u) { return u * o.noise; });
  const auto blur = draw(o.blur, o.blurProbability, 0.0, [&o](double u) { return 0.5 + u * (o.blur - 0.5); });
  const auto contrast =
    draw(o.contrast, o.contrastProbability, 1.0, [&o](double u) { return 1 + o.contrast * (2 * u - 1); });
  const auto coarser =
    draw(o.lowResolution, o.lowResolutionProbability, 1.0, [&o](double u) { return 1 + u * o.lowResolution; });
  const auto gamma =
    draw(o.gamma, o.gammaProbability, 1.0, [&o](double u) { return std::exp((2 * u - 1) * std::log1p(o.gamma)); });
  const uint64_t noiseSeed = o.noise > 0 ? m_Engine() : 0;

  const auto perSliceTensor = [&images, n](const std::vector<double> & values) {
    std::vector<float> v(values.begin(), values.end());
    return at::from_blob(v.data(), { n, 1, 1, 1 }, at::TensorOptions().dtype(at::kFloat)).clone().to(images.options());
  };
  const std::vector<int64_t> sliceDims{ 1, 2, 3 };
  auto                       out = images;
  if (o.noise > 0)
  {
    // LibTorch's generator, seeded from the augmenter's engine: as reproducible as the engine, and fast.
    const auto generator = at::detail::createCPUGenerator(noiseSeed);
    const auto normal = at::randn(out.sizes(), generator, at::TensorOptions().dtype(at::kFloat)).to(out.options());
    out = out + normal * perSliceTensor(noise);
  }
  out = perSlice(out, blur, 0.0, gaussianBlur);
  if (o.contrast > 0)
  {
    const auto mean = out.mean(sliceDims, /*keepdim=*/true);
    out =
      at::clamp((out - mean) * perSliceTensor(contrast) + mean, out.amin(sliceDims, true), out.amax(sliceDims, true));
  }
  out = perSlice(out, coarser, 1.0, lowerResolution);
  if (o.gamma > 0)
  {
    const auto low = out.amin(sliceDims, true);
    const auto range = (out.amax(sliceDims, true) - low).clamp_min(1e-8);
    out = low + range * ((out - low) / range).clamp(0, 1).pow(perSliceTensor(gamma));
  }
  images = out;
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
  if (m_Options.changesIntensityAfterGeometry())
  {
    changeIntensities(out);
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
