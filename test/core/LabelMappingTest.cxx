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

// The label mapping's syntax, its JSON (and that of checkpoints written before it named its background) and
// the count of values it does not name.

#include "anunet/Json.h"
#include "anunet/Preprocessing.h"

#include <gtest/gtest.h>

using anunet::LabelMapping;

namespace
{
bool
contains(const std::string & text, const std::string & part)
{
  return text.find(part) != std::string::npos;
}
} // namespace

TEST(LabelMapping, NamesItsClassesAndBackground)
{
  const auto liver = LabelMapping::parse("labels=1;background=2,3,4");
  EXPECT_EQ(liver.classes, (std::vector<std::vector<int>>{ { 1 } }));
  EXPECT_EQ(liver.background, (std::vector<int>{ 2, 3, 4 }));
  EXPECT_FALSE(liver.otherValuesAreBackground);
  for (const int value : { 0, 1, 2, 3, 4 })
  {
    EXPECT_TRUE(liver.isNamed(value)) << value;
  }
  EXPECT_FALSE(liver.isNamed(5));
  EXPECT_FALSE(liver.isNamed(255));
  EXPECT_EQ(liver.classOf(1), 1);
  EXPECT_EQ(liver.classOf(3), 0);

  const auto plain = LabelMapping::parse("labels=2+3");
  EXPECT_TRUE(plain.isNamed(0));
  EXPECT_TRUE(plain.isNamed(3));
  EXPECT_FALSE(plain.isNamed(1));

  const auto any = LabelMapping::parse("labels=1,2+3;background=*");
  EXPECT_TRUE(any.otherValuesAreBackground);
  EXPECT_TRUE(any.isNamed(77));
  EXPECT_EQ(any.classOf(77), 0);
}

TEST(LabelMapping, WritesWhatItParses)
{
  for (const char * text : { "labels=1", "labels=1,2+3,4", "labels=1;background=2,3,4", "labels=2+3;background=*" })
  {
    EXPECT_EQ(LabelMapping::parse(text).toString(), text);
  }
  // Background 0 is accepted (it is background anyway) and not repeated.
  EXPECT_EQ(LabelMapping::parse("labels=1;background=0,2").toString(), "labels=1;background=2");
}

TEST(LabelMapping, RejectsContradictionsNamingTheText)
{
  for (const char * text : { "labels=1;background=1",
                             "labels=1;background=2,2",
                             "labels=1;background=",
                             "labels=1;background=x",
                             "labels=1;foreground=2",
                             "labels=;background=2" })
  {
    try
    {
      LabelMapping::parse(text);
      ADD_FAILURE() << "no error for " << text;
    }
    catch (const std::invalid_argument & e)
    {
      EXPECT_TRUE(contains(e.what(), text)) << e.what();
    }
  }
}

TEST(LabelMapping, JsonKeepsTheBackgroundAndReadsOldCheckpointsAsTheyWereTrained)
{
  const auto     kidney = LabelMapping::parse("labels=2+3;background=1,4");
  nlohmann::json j = kidney;
  EXPECT_EQ(j.get<LabelMapping>(), kidney);
  EXPECT_EQ(j.at("background"), (std::vector<int>{ 1, 4 }));

  const auto any = LabelMapping::parse("labels=1;background=*");
  EXPECT_EQ(nlohmann::json(any).get<LabelMapping>(), any);

  // Before the background was recorded, every value no class named was background.
  const auto legacy = nlohmann::json::parse(R"({"classes": [[1]], "names": ["liver"]})").get<LabelMapping>();
  EXPECT_TRUE(legacy.otherValuesAreBackground);
  EXPECT_TRUE(legacy.isNamed(9));
  const auto strict =
    nlohmann::json::parse(R"({"classes": [[1]], "names": ["liver"], "background": []})").get<LabelMapping>();
  EXPECT_FALSE(strict.otherValuesAreBackground);
  EXPECT_FALSE(strict.isNamed(9));
}

TEST(UnnamedLabels, CountsEachValueAndSaysHowToNameIt)
{
  const auto            liver = LabelMapping::parse("labels=1;background=2,3,4");
  anunet::UnnamedLabels unnamed(liver);
  for (const int value : { 0, 1, 2, 3, 4, 0, 1 })
  {
    unnamed.count(value);
  }
  EXPECT_TRUE(unnamed.empty());
  EXPECT_EQ(unnamed.message(), "");
  unnamed.count(255);
  unnamed.count(9);
  unnamed.count(255);
  EXPECT_FALSE(unnamed.empty());
  const std::string message = unnamed.message();
  EXPECT_TRUE(contains(message, "labels=1;background=2,3,4 does not name: 9 (1 voxel), 255 (2 voxels)")) << message;
  EXPECT_TRUE(contains(message, "labels=1;background=2,3,4,9,255")) << message;
  EXPECT_TRUE(contains(message, "labels=1;background=*")) << message;
}
