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
// Internal header of the torch core: the LibTorch settings that a training run changes for its duration.
#ifndef anunet_TrainingGuards_h
#define anunet_TrainingGuards_h

#include <ATen/Context.h>
#include <ATen/Parallel.h>
#include <ATen/autocast_mode.h>

#include <algorithm>
#include <thread>

namespace anunet
{

/** Sets LibTorch's process-wide settings for a run and restores the caller's afterwards. */
class GlobalSettingsGuard
{
public:
  explicit GlobalSettingsGuard(int threads)
    : m_Threads(at::get_num_threads())
    , m_Deterministic(at::globalContext().deterministicAlgorithms())
    , m_DeterministicWarnOnly(at::globalContext().deterministicAlgorithmsWarnOnly())
  {
    const int wanted = threads > 0 ? threads : static_cast<int>(std::max(1U, std::thread::hardware_concurrency()));
    at::set_num_threads(wanted);
    // Warn-only: an operator without a deterministic CPU kernel should not abort a training run.
    at::globalContext().setDeterministicAlgorithms(true, /*warn_only=*/true);
  }
  ~GlobalSettingsGuard()
  {
    at::set_num_threads(m_Threads);
    at::globalContext().setDeterministicAlgorithms(m_Deterministic, m_DeterministicWarnOnly);
  }
  GlobalSettingsGuard(const GlobalSettingsGuard &) = delete;
  GlobalSettingsGuard &
  operator=(const GlobalSettingsGuard &) = delete;

private:
  int  m_Threads;
  bool m_Deterministic;
  bool m_DeterministicWarnOnly;
};

/** Autocast to bfloat16 for one forward pass, on the CPU or on CUDA; its cache of cast weights is dropped at the
 * end, since the optimiser changes the weights before the next pass. */
class AutocastGuard
{
public:
  explicit AutocastGuard(c10::DeviceType device)
    : m_Cuda(device == c10::DeviceType::CUDA)
    , m_Dtype(m_Cuda ? at::autocast::get_autocast_gpu_dtype() : at::autocast::get_autocast_cpu_dtype())
  {
    if (m_Cuda)
    {
      at::autocast::set_autocast_gpu_dtype(at::kBFloat16);
      at::autocast::set_enabled(true);
    }
    else
    {
      at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
      at::autocast::set_cpu_enabled(true);
    }
    at::autocast::increment_nesting();
  }
  ~AutocastGuard()
  {
    if (at::autocast::decrement_nesting() == 0)
    {
      at::autocast::clear_cache();
    }
    if (m_Cuda)
    {
      at::autocast::set_enabled(false);
      at::autocast::set_autocast_gpu_dtype(m_Dtype);
    }
    else
    {
      at::autocast::set_cpu_enabled(false);
      at::autocast::set_autocast_cpu_dtype(m_Dtype);
    }
  }
  AutocastGuard(const AutocastGuard &) = delete;
  AutocastGuard &
  operator=(const AutocastGuard &) = delete;

private:
  bool           m_Cuda;
  at::ScalarType m_Dtype;
};

} // namespace anunet

#endif
