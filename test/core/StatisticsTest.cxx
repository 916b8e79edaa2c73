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

#include <numeric>

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
