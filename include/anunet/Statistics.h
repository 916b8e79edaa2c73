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
#ifndef anunet_Statistics_h
#define anunet_Statistics_h

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

namespace anunet
{

/** The fraction-quantile (fraction in [0, 1]) of values with linear interpolation between order statistics,
 * as numpy.percentile's default: the one percentile of the module (intensity normalisation, HD95, the
 * overlays' display range). Reorders values; nth_element keeps it linear in their number. Throws
 * std::invalid_argument for no values or a fraction outside [0, 1]. */
template <typename T>
double
quantile(std::vector<T> & values, double fraction)
{
  if (values.empty() || !(fraction >= 0.0 && fraction <= 1.0))
  {
    throw std::invalid_argument("quantile: needs values and a fraction in [0, 1]");
  }
  const double position = fraction * static_cast<double>(values.size() - 1);
  const auto   below = static_cast<size_t>(std::floor(position));
  const double weight = position - static_cast<double>(below);
  std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(below), values.end());
  const double lower = static_cast<double>(values[below]);
  if (weight <= 0.0 || below + 1 >= values.size())
  {
    return lower;
  }
  // After nth_element the next order statistic is the smallest of the elements above.
  const double upper =
    static_cast<double>(*std::min_element(values.begin() + static_cast<std::ptrdiff_t>(below) + 1, values.end()));
  return lower + weight * (upper - lower);
}

} // namespace anunet

#endif
