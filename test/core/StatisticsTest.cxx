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
#include "anunet/Statistics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <numeric>
#include <random>
#include <vector>

TEST(Quantile, InterpolatesBetweenOrderStatisticsAsNumpy)
{
  // numpy.percentile([7, 1, 3, 5], [0, 25, 50, 95, 100]) = [1, 2.5, 4, 6.7, 7]
  const std::vector<float> data{ 7, 1, 3, 5 };
  for (const auto & [fraction, expected] :
       std::vector<std::pair<double, double>>{ { 0.0, 1.0 }, { 0.25, 2.5 }, { 0.5, 4.0 }, { 0.95, 6.7 }, { 1.0, 7.0 } })
  {
    auto values = data;
    EXPECT_NEAR(anunet::quantile(values, fraction), expected, 1e-12) << fraction;
  }
  std::vector<double> one{ 3.5 };
  EXPECT_DOUBLE_EQ(anunet::quantile(one, 0.95), 3.5);
  std::vector<int> many(1001);
  std::iota(many.rbegin(), many.rend(), 0); // 1000 .. 0
  EXPECT_DOUBLE_EQ(anunet::quantile(many, 0.995), 995.0);
  std::vector<double> none;
  EXPECT_THROW(anunet::quantile(none, 0.5), std::invalid_argument);
  EXPECT_THROW(anunet::quantile(one, 1.5), std::invalid_argument);
}

// Counting values gives the quantiles of the values themselves, whatever order they come in (runs included).
TEST(ValueCounts, GivesTheQuantilesOfTheValuesCounted)
{
  std::mt19937                       engine(3);
  std::normal_distribution<float>    intensity(400.0F, 150.0F);
  std::uniform_int_distribution<int> background(0, 3);
  std::vector<float>                 values;
  anunet::ValueCounts                counts;
  for (int i = 0; i < 20000; ++i)
  {
    // Stored as 16-bit integers, as MR and CT are, with long runs of background zeros between.
    const int   run = background(engine) == 0 ? 50 : 1;
    const float value = run > 1 ? 0.0F : std::round(intensity(engine));
    for (int k = 0; k < run; ++k)
    {
      values.push_back(value);
      counts.add(value);
    }
  }
  values.push_back(0.25F); // and one value that no integer type holds
  counts.add(0.25F);
  ASSERT_FALSE(counts.full());
  EXPECT_EQ(counts.size(), values.size());
  for (const double fraction : { 0.0, 0.005, 0.25, 0.5, 0.995, 0.999, 1.0 })
  {
    auto copy = values;
    EXPECT_DOUBLE_EQ(counts.quantile(fraction), anunet::quantile(copy, fraction)) << fraction;
  }

  anunet::ValueCounts few(3);
  for (const float value : { 1.0F, 2.0F, 2.0F, 3.0F })
  {
    few.add(value);
  }
  EXPECT_FALSE(few.full());
  few.add(4.0F);
  EXPECT_TRUE(few.full());
  EXPECT_THROW(few.quantile(0.5), std::logic_error);
}
