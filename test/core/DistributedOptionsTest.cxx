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
#include "anunet/Training.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>

namespace
{

/** Sets environment variables for one test and restores what was there. */
class Environment
{
public:
  Environment(std::initializer_list<std::pair<const char *, const char *>> values)
  {
    for (const char * name : { "MASTER_ADDR",
                               "MASTER_PORT",
                               "WORLD_SIZE",
                               "RANK",
                               "LOCAL_RANK",
                               "SLURM_NTASKS",
                               "SLURM_PROCID",
                               "SLURM_LOCALID",
                               "SLURM_JOB_NODELIST" })
    {
      const char * old = std::getenv(name);
      m_Saved[name] = old ? std::optional<std::string>(old) : std::nullopt;
      unsetenv(name);
    }
    for (const auto & [name, value] : values)
    {
      setenv(name, value, 1);
    }
  }
  ~Environment()
  {
    for (const auto & [name, value] : m_Saved)
    {
      value ? setenv(name.c_str(), value->c_str(), 1) : unsetenv(name.c_str());
    }
  }

private:
  std::map<std::string, std::optional<std::string>> m_Saved;
};

} // namespace

TEST(DistributedOptions, FirstHostOfSlurmNodeLists)
{
  using anunet::DistributedOptions;
  EXPECT_EQ(DistributedOptions::firstHost("localhost"), "localhost");
  EXPECT_EQ(DistributedOptions::firstHost("node7,node9"), "node7");
  EXPECT_EQ(DistributedOptions::firstHost("gpu[07-09,12],cpu1"), "gpu07");
  EXPECT_EQ(DistributedOptions::firstHost("cn[003,010-012]"), "cn003");
  EXPECT_EQ(DistributedOptions::firstHost("rack[2-4]-gpu,login"), "rack2-gpu");
  EXPECT_THROW(DistributedOptions::firstHost("node[abc]"), std::invalid_argument);
  EXPECT_THROW(DistributedOptions::firstHost(""), std::invalid_argument);
}

TEST(DistributedOptions, ReadsTorchrunsEnvironment)
{
  const Environment env{ { "MASTER_ADDR", "10.0.0.5" }, { "MASTER_PORT", "29555" },
                         { "WORLD_SIZE", "4" },         { "RANK", "3" },
                         { "LOCAL_RANK", "1" },         { "SLURM_NTASKS", "8" } };
  const auto        o = anunet::DistributedOptions::fromEnvironment();
  EXPECT_EQ(o.worldSize, 4);
  EXPECT_EQ(o.rank, 3);
  EXPECT_EQ(o.localRank, 1);
  EXPECT_EQ(o.masterAddress, "10.0.0.5");
  EXPECT_EQ(o.masterPort, 29555);
  EXPECT_TRUE(o.enabled());
}

TEST(DistributedOptions, ReadsASlurmStep)
{
  const Environment env{
    { "SLURM_NTASKS", "6" }, { "SLURM_PROCID", "5" }, { "SLURM_LOCALID", "2" }, { "SLURM_JOB_NODELIST", "gpu[12-14]" }
  };
  const auto o = anunet::DistributedOptions::fromEnvironment();
  EXPECT_EQ(o.worldSize, 6);
  EXPECT_EQ(o.rank, 5);
  EXPECT_EQ(o.localRank, 2);
  EXPECT_EQ(o.masterAddress, "gpu12");
  EXPECT_EQ(o.masterPort, 29500);
}

TEST(DistributedOptions, NamesTheMalformedVariable)
{
  auto message = [](std::initializer_list<std::pair<const char *, const char *>> values) {
    const Environment env(values);
    try
    {
      anunet::DistributedOptions::fromEnvironment();
    }
    catch (const std::invalid_argument & e)
    {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message({ { "WORLD_SIZE", "two" } }).find("WORLD_SIZE='two'"), std::string::npos);
  EXPECT_NE(message({ { "WORLD_SIZE", "2" }, { "RANK", "2" } }).find("RANK='2'"), std::string::npos);
  EXPECT_NE(message({ { "WORLD_SIZE", "2" }, { "MASTER_PORT", "70000" } }).find("MASTER_PORT"), std::string::npos);
  EXPECT_NE(message({ { "SLURM_NTASKS", "2" }, { "SLURM_JOB_NODELIST", "n[x]" } }).find("node list 'n[x]'"),
            std::string::npos);
}

TEST(DistributedOptions, WithoutAnEnvironmentItIsOneProcess)
{
  const Environment env{};
  EXPECT_FALSE(anunet::DistributedOptions::fromEnvironment().enabled());
}
