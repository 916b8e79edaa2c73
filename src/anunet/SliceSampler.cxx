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
#include "anunet/SliceSampler.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>
#include <stdexcept>

namespace anunet
{

void
SliceVolume::validate() const
{
  const std::string where = "case '" + name + "': ";
  if (slices <= 0 || channels <= 0 || height <= 0 || width <= 0)
  {
    throw std::invalid_argument(where + "sizes must be positive, got " + std::to_string(slices) + " slices x " +
                                std::to_string(channels) + " channels x " + std::to_string(height) + " x " +
                                std::to_string(width));
  }
  const auto voxels = static_cast<size_t>(slices * height * width);
  if (image.size() != voxels * static_cast<size_t>(channels))
  {
    throw std::invalid_argument(where + "image holds " + std::to_string(image.size()) + " values, expected " +
                                std::to_string(voxels * channels) + " (slices x channels x height x width)");
  }
  if (labels.size() != voxels)
  {
    throw std::invalid_argument(where + "labels hold " + std::to_string(labels.size()) + " values, expected " +
                                std::to_string(voxels) + " (slices x height x width)");
  }
  const auto bad = std::find_if(image.begin(), image.end(), [](float v) { return !std::isfinite(v); });
  if (bad != image.end())
  {
    const auto offset = static_cast<int64_t>(bad - image.begin());
    const auto sliceSize = channels * height * width;
    throw std::invalid_argument(where + "image value " + std::to_string(*bad) + " (not finite) in slice " +
                                std::to_string(offset / sliceSize));
  }
}

void
validateVolumes(const std::vector<SliceVolume> & volumes, const std::string & role)
{
  if (volumes.empty())
  {
    throw std::invalid_argument("no " + role + " cases given");
  }
  for (const auto & volume : volumes)
  {
    volume.validate();
    const auto & first = volumes.front();
    if (volume.channels != first.channels || volume.height != first.height || volume.width != first.width)
    {
      throw std::invalid_argument("case '" + volume.name + "' (" + role + "): " + std::to_string(volume.channels) +
                                  " x " + std::to_string(volume.height) + " x " + std::to_string(volume.width) +
                                  " slices differ from case '" + first.name + "' (" + std::to_string(first.channels) +
                                  " x " + std::to_string(first.height) + " x " + std::to_string(first.width) + ")");
    }
  }
}

void
checkTrainingCases(const TrainingOptions &          options,
                   const std::vector<SliceVolume> & training,
                   const std::vector<SliceVolume> & validation)
{
  validateVolumes(training, "training");
  if (!validation.empty())
  {
    validateVolumes(validation, "validation");
  }
  const auto & reference = training.front();
  const int    classes = std::max(2, options.network.classes);
  auto         check = [&](const SliceVolume & v, const char * role) {
    const std::string where = "case '" + v.name + "' (" + role + "): ";
    if (v.channels != options.network.inputChannels)
    {
      throw std::invalid_argument(where + std::to_string(v.channels) + " image channels, the network takes " +
                                  std::to_string(options.network.inputChannels));
    }
    if (v.height != reference.height || v.width != reference.width)
    {
      throw std::invalid_argument(where + "slices of " + std::to_string(v.height) + " x " + std::to_string(v.width) +
                                  ", the training slices are " + std::to_string(reference.height) + " x " +
                                  std::to_string(reference.width));
    }
    if (v.height % SpatialMultiple != 0 || v.width % SpatialMultiple != 0)
    {
      throw std::invalid_argument(where + "slices of " + std::to_string(v.height) + " x " + std::to_string(v.width) +
                                  "; the network needs multiples of " + std::to_string(SpatialMultiple));
    }
    const auto high = *std::max_element(v.labels.begin(), v.labels.end());
    if (high >= classes)
    {
      throw std::invalid_argument(where + "label value " + std::to_string(high) + ", but the network has " +
                                  std::to_string(options.network.classes) + " output class(es): labels must be " +
                                  "class indices 0.." + std::to_string(classes - 1));
    }
  };
  for (const auto & v : training)
  {
    check(v, "training");
  }
  for (const auto & v : validation)
  {
    check(v, "validation");
  }
}

double
uniform01(std::mt19937_64 & engine)
{
  // The top 53 bits as a double in [0, 1): exact, and the same on every platform.
  return static_cast<double>(engine() >> 11) * 0x1.0p-53;
}

int64_t
uniformIndex(std::mt19937_64 & engine, int64_t count)
{
  // Rejection removes the modulo bias; it almost never loops for the counts used here.
  const uint64_t n = static_cast<uint64_t>(count);
  const uint64_t limit = std::numeric_limits<uint64_t>::max() - std::numeric_limits<uint64_t>::max() % n;
  uint64_t       draw = engine();
  while (draw >= limit)
  {
    draw = engine();
  }
  return static_cast<int64_t>(draw % n);
}

SliceSampler::SliceSampler(const std::vector<SliceVolume> & volumes, double foregroundFraction, uint64_t seed)
  : m_ForegroundFraction(foregroundFraction)
  , m_Engine(seed)
{
  validateVolumes(volumes, "training");
  if (!(foregroundFraction >= 0.0 && foregroundFraction <= 1.0))
  {
    throw std::invalid_argument("foreground fraction must lie in [0, 1], got " + std::to_string(foregroundFraction));
  }
  const auto & first = volumes.front();
  int64_t      total = 0;
  for (const auto & volume : volumes)
  {
    total += volume.slices;
  }
  m_Images = at::empty({ total, first.channels, first.height, first.width }, at::kFloat);
  m_Labels = at::empty({ total, first.height, first.width }, at::kByte);
  const int64_t sliceLabels = first.height * first.width;
  const int64_t sliceValues = sliceLabels * first.channels;
  int64_t       slice = 0;
  for (const auto & volume : volumes)
  {
    std::copy(volume.image.begin(), volume.image.end(), m_Images.data_ptr<float>() + slice * sliceValues);
    std::copy(volume.labels.begin(), volume.labels.end(), m_Labels.data_ptr<uint8_t>() + slice * sliceLabels);
    for (int64_t s = 0; s < volume.slices; ++s, ++slice)
    {
      const auto begin = volume.labels.begin() + s * sliceLabels;
      const bool any = std::any_of(begin, begin + sliceLabels, [](uint8_t v) { return v != 0; });
      if (any)
      {
        m_Foreground.push_back(slice);
      }
    }
  }
}

SliceSampler::Batch
SliceSampler::next(int64_t batchSize)
{
  if (batchSize <= 0)
  {
    throw std::invalid_argument("batch size must be positive, got " + std::to_string(batchSize));
  }
  Batch batch;
  batch.slices.reserve(static_cast<size_t>(batchSize));
  for (int64_t i = 0; i < batchSize; ++i)
  {
    // The coin is drawn even without foreground slices, so the stream does not depend on the data.
    const bool forced = uniform01(m_Engine) < m_ForegroundFraction && !m_Foreground.empty();
    if (forced)
    {
      batch.slices.push_back(m_Foreground[uniformIndex(m_Engine, numberOfForegroundSlices())]);
    }
    else
    {
      batch.slices.push_back(uniformIndex(m_Engine, numberOfSlices()));
    }
  }
  const auto index = at::tensor(batch.slices, at::kLong);
  batch.images = m_Images.index_select(0, index);
  batch.labels = m_Labels.index_select(0, index).to(at::kLong);
  return batch;
}

std::string
SliceSampler::saveState() const
{
  std::ostringstream s;
  s << m_Engine;
  return s.str();
}

void
SliceSampler::loadState(const std::string & state)
{
  std::istringstream s(state);
  s >> m_Engine;
  if (s.fail())
  {
    throw std::runtime_error("slice sampler: unreadable random-engine state");
  }
}

} // namespace anunet
