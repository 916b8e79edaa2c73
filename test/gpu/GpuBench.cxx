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
// Time per slice of ANU-Net L1..L4 on a CUDA device through Model::run (host to device, the pass, and back),
// batch 1 and 32, float32 and bfloat16, at 256^2 and the paper's full widths. One JSON object per line.
// Usage: ANUNetGpuBench [device] (default cuda).
#include "anunet/Benchmark.h"
#include "anunet/Model.h"

#include <exception>
#include <iostream>
#include <string>

int
main(int argc, char ** argv)
{
  try
  {
    const std::string      device = argc > 1 ? argv[1] : "cuda";
    anunet::NetworkOptions options; // the paper's widths, 32..512
    auto                   model = anunet::Model::create(options, 1);
    model.setDevice(device);
    anunet::benchmark::TimingPolicy policy;
    policy.warmups = 3;
    policy.minimumRuns = 10;
    policy.maximumRuns = 50;
    policy.budgetSeconds = 5.0;
    constexpr int size = 256;
    for (const auto precision : { anunet::Precision::Float32, anunet::Precision::BFloat16 })
    {
      for (const int batch : { 1, 32 })
      {
        for (int level = 1; level <= model.maximumLevel(); ++level)
        {
          const auto rate = anunet::benchmark::forwardRate(model, level, size, batch, policy, precision);
          std::cout << "{\"device\":\"" << model.device() << "\",\"architecture\":\"anunet\",\"level\":" << level
                    << ",\"size\":" << size << ",\"batch\":" << batch << ",\"dtype\":\"" << anunet::toString(precision)
                    << "\",\"min_s\":" << rate.timing.minimumSeconds << ",\"median_s\":" << rate.timing.medianSeconds
                    << ",\"ms_per_slice\":" << 1e3 * rate.timing.minimumSeconds / batch
                    << ",\"gflops\":" << rate.gflops() << "}" << std::endl;
        }
      }
    }
    return 0;
  }
  catch (const std::exception & e)
  {
    std::cerr << "ANUNetGpuBench: " << e.what() << "\n";
    return 1;
  }
}
