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
// What the CPU offers, as Linux reports it in /proc/cpuinfo (the kernel leaves out features it does not
// enable, such as AVX-512 state it does not save): the benchmark's machine facts and the bfloat16 check.
#ifndef anunet_CpuInfo_h
#define anunet_CpuInfo_h

#include <set>
#include <string>

namespace anunet
{

struct CpuInfo
{
  std::string           model;             ///< "model name" of the first processor
  std::set<std::string> flags;             ///< "flags" of the first processor
  int                   physicalCores = 0; ///< distinct (physical id, core id) pairs
};

/** Read once per process; empty fields where /proc/cpuinfo is absent. */
const CpuInfo &
cpuInfo();

} // namespace anunet

#endif
