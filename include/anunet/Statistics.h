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
#include <cstdint>
#include <stdexcept>
#include <unordered_map>
#include <utility>
#include <vector>

namespace anunet
{

/** Where the fraction-quantile of count sorted values lies: between order statistics below and below + 1, with
 * weight on the upper one (numpy.percentile's default, linear interpolation). */
struct QuantilePosition
{
  size_t below = 0;
  double weight = 0.0;
};

inline QuantilePosition
quantilePosition(double fraction, size_t count)
{
  if (count == 0 || !(fraction >= 0.0 && fraction <= 1.0))
  {
    throw std::invalid_argument("quantile: needs values and a fraction in [0, 1]");
  }
  const double     position = fraction * static_cast<double>(count - 1);
  QuantilePosition result;
  result.below = static_cast<size_t>(std::floor(position));
  result.weight = position - static_cast<double>(result.below);
  return result;
}

/** The quantile between two neighbouring order statistics. */
inline double
interpolateQuantile(double lower, double upper, const QuantilePosition & at)
{
  return at.weight <= 0.0 ? lower : lower + at.weight * (upper - lower);
}

/** The fraction-quantile (fraction in [0, 1]) of values with linear interpolation between order statistics,
 * as numpy.percentile's default: the one percentile of the module (intensity normalisation, HD95, the
 * overlays' display range). Reorders values; nth_element keeps it linear in their number. Throws
 * std::invalid_argument for no values or a fraction outside [0, 1]. */
template <typename T>
double
quantile(std::vector<T> & values, double fraction)
{
  const QuantilePosition at = quantilePosition(fraction, values.size());
  std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(at.below), values.end());
  const double lower = static_cast<double>(values[at.below]);
  if (at.weight <= 0.0 || at.below + 1 >= values.size())
  {
    return lower;
  }
  // After nth_element the next order statistic is the smallest of the elements above.
  const double upper =
    static_cast<double>(*std::min_element(values.begin() + static_cast<std::ptrdiff_t>(at.below) + 1, values.end()));
  return interpolateQuantile(lower, upper, at);
}

/** How often each value occurs, for the quantiles of a volume read slab by slab without holding it: quantile()
 * gives exactly what anunet::quantile() gives on all the values added (the same order statistics, the same
 * interpolation). Medical images hold few distinct values (CT and MR are stored as 16-bit integers), so the
 * counts stay small; past maximumDistinct distinct values, holding them would cost about what holding the
 * values does, and the counts give up (full()). */
class ValueCounts
{
public:
  explicit ValueCounts(size_t maximumDistinct = size_t{ 1 } << 20)
    : m_MaximumDistinct(maximumDistinct)
  {}

  void
  add(float value)
  {
    // Runs of one value (the background) cost a comparison each, not a hash lookup.
    if (m_Run > 0 && value == m_Last)
    {
      ++m_Run;
      return;
    }
    flush();
    m_Last = value;
    m_Run = 1;
  }

  /** True once more than maximumDistinct distinct values were added: quantile() then throws. */
  bool
  full()
  {
    flush();
    return m_Full;
  }

  /** The number of values added. */
  uint64_t
  size()
  {
    flush();
    return m_Total;
  }

  double
  quantile(double fraction)
  {
    if (full())
    {
      throw std::logic_error("ValueCounts::quantile: more distinct values than counted");
    }
    std::vector<std::pair<float, uint64_t>> sorted(m_Counts.begin(), m_Counts.end());
    std::sort(sorted.begin(), sorted.end());
    const QuantilePosition at = quantilePosition(fraction, static_cast<size_t>(m_Total));
    // The value of order statistic k (0-based): the first whose cumulative count exceeds k.
    auto orderStatistic = [&sorted](uint64_t k) {
      uint64_t seen = 0;
      for (const auto & [value, count] : sorted)
      {
        seen += count;
        if (seen > k)
        {
          return static_cast<double>(value);
        }
      }
      return static_cast<double>(sorted.back().first);
    };
    const double lower = orderStatistic(at.below);
    if (at.weight <= 0.0 || at.below + 1 >= m_Total)
    {
      return lower;
    }
    return interpolateQuantile(lower, orderStatistic(at.below + 1), at);
  }

private:
  void
  flush()
  {
    if (m_Run == 0)
    {
      return;
    }
    m_Total += m_Run;
    if (!m_Full)
    {
      m_Counts[m_Last] += m_Run;
      if (m_Counts.size() > m_MaximumDistinct)
      {
        m_Full = true;
        m_Counts.clear();
      }
    }
    m_Run = 0;
  }

  size_t                              m_MaximumDistinct;
  std::unordered_map<float, uint64_t> m_Counts;
  float                               m_Last = 0.0F;
  uint64_t                            m_Run = 0;
  uint64_t                            m_Total = 0;
  bool                                m_Full = false;
};

} // namespace anunet

#endif
