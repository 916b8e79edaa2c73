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
// Helpers shared by the torch-core tests.
#ifndef anunet_CoreTestHelpers_h
#define anunet_CoreTestHelpers_h

#include "anunet/NetworkOptions.h"
#include "anunet/Training.h"

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace anunet::test
{

/** A network of the given architecture with narrow filters (4..64), so that tests run in milliseconds. */
inline NetworkOptions
smallOptions(Architecture architecture, int inputChannels = 1, int classes = 1)
{
  NetworkOptions options;
  options.architecture = architecture;
  options.inputChannels = inputChannels;
  options.classes = classes;
  options.filters = { 4, 8, 16, 32, 64 };
  return options;
}

constexpr int64_t Size = 32;

/** Bright discs of random centre and radius on noise; about one slice in four has no disc. */
inline anunet::SliceVolume
discCase(const std::string & name, int64_t slices, uint32_t seed, int classes = 1)
{
  std::mt19937                           engine(seed);
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  std::normal_distribution<float>        noise(0.0f, 0.15f);
  anunet::SliceVolume                    v;
  v.name = name;
  v.slices = slices;
  v.height = Size;
  v.width = Size;
  v.image.resize(static_cast<size_t>(slices * Size * Size));
  v.labels.resize(v.image.size());
  for (int64_t s = 0; s < slices; ++s)
  {
    const bool   empty = uniform(engine) < 0.25;
    const double cx = 8 + 16 * uniform(engine);
    const double cy = 8 + 16 * uniform(engine);
    const double r = 4 + 5 * uniform(engine);
    // Multi-class: the disc's left half is class 1, its right half class 2 (brighter).
    for (int64_t y = 0; y < Size; ++y)
    {
      for (int64_t x = 0; x < Size; ++x)
      {
        const size_t i = static_cast<size_t>((s * Size + y) * Size + x);
        const bool   inside = !empty && (x - cx) * (x - cx) + (y - cy) * (y - cy) <= r * r;
        uint8_t      label = inside ? 1 : 0;
        if (inside && classes > 2 && x > cx)
        {
          label = 2;
        }
        v.labels[i] = label;
        v.image[i] = (label == 0 ? 0.1f : label == 1 ? 0.8f : 1.4f) + noise(engine);
      }
    }
  }
  return v;
}

inline std::vector<anunet::SliceVolume>
discCases(const std::string & prefix, int count, int64_t slices, uint32_t seed, int classes = 1)
{
  std::vector<anunet::SliceVolume> cases;
  for (int i = 0; i < count; ++i)
  {
    cases.push_back(discCase(prefix + std::to_string(i), slices, seed + static_cast<uint32_t>(i), classes));
  }
  return cases;
}

inline anunet::TrainingOptions
tinyOptions(const std::string & directory)
{
  anunet::TrainingOptions o;
  o.network.filters = { 4, 8, 16, 32, 64 };
  o.loss = "bce-dice";
  o.learningRate = 1e-2;
  o.epochs = 2;
  o.iterationsPerEpoch = 4;
  o.batchSize = 4;
  o.seed = 7;
  o.threads = 1; // tiny networks: a second thread only adds synchronisation
  o.outputDirectory = directory;
  return o;
}

} // namespace anunet::test

#endif
