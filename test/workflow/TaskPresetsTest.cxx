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
#include "InputError.h"
#include "TaskPresets.h"

#include <gtest/gtest.h>

using anunet::workflow::labelMappingForTask;

TEST(TaskPresets, NameTheChaosOrgans)
{
  EXPECT_EQ(labelMappingForTask("liver").classes, (std::vector<std::vector<int>>{ { 1 } }));
  EXPECT_EQ(labelMappingForTask("liver").names, (std::vector<std::string>{ "liver" }));
  const auto kidney = labelMappingForTask("kidney");
  EXPECT_EQ(kidney.classes, (std::vector<std::vector<int>>{ { 2, 3 } }));
  EXPECT_EQ(kidney.classOf(3), 1);
  EXPECT_EQ(labelMappingForTask("spleen").classOf(4), 1);
  const auto all = labelMappingForTask("chaos-all");
  EXPECT_EQ(all.names, (std::vector<std::string>{ "liver", "right-kidney", "left-kidney", "spleen" }));
  EXPECT_EQ(all.networkOutputs(), 5);
  EXPECT_EQ(all.classOf(3), 3);
  // The binary tasks name the other CHAOS organs as background, so that only other values are an error.
  EXPECT_EQ(labelMappingForTask("liver").background, (std::vector<int>{ 2, 3, 4 }));
  EXPECT_EQ(kidney.background, (std::vector<int>{ 1, 4 }));
  EXPECT_TRUE(kidney.isNamed(4));
  EXPECT_FALSE(kidney.isNamed(5));
  EXPECT_FALSE(labelMappingForTask("spleen").isNamed(255));
}

TEST(TaskPresets, PassLabelListsToTheCore)
{
  EXPECT_EQ(labelMappingForTask("labels=1,2+3"), anunet::LabelMapping::parse("labels=1,2+3"));
  EXPECT_TRUE(labelMappingForTask("labels=1;background=*").otherValuesAreBackground);
  EXPECT_THROW(labelMappingForTask("labels=1;background=1"), anunet::workflow::InputError);
}

TEST(TaskPresets, RejectUnknownTasksNamingThem)
{
  try
  {
    labelMappingForTask("lungs");
    FAIL() << "no error for an unknown task";
  }
  catch (const anunet::workflow::InputError & e)
  {
    EXPECT_NE(std::string(e.what()).find("\"lungs\""), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("chaos-all"), std::string::npos) << e.what();
  }
  EXPECT_THROW(labelMappingForTask("labels=1,1"), anunet::workflow::InputError);
}
