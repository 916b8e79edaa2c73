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
#include "anunet/Model.h"

#include <climits>
#include <mutex>

#include <dlfcn.h>
#if defined(__GLIBC__)
#  include <malloc.h>
#endif

namespace anunet
{
namespace
{

/** OpenBLAS's own thread count, if this process has OpenBLAS loaded (LibTorch links it on Debian). */
void
setOpenBlasThreads(int threads)
{
  using SetThreads = void (*)(int);
  auto set = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
  if (set == nullptr)
  {
    // Loaded privately (as under a Python module): found only through its own handle.
    if (void * library = dlopen("libopenblas.so.0", RTLD_LAZY | RTLD_NOLOAD))
    {
      set = reinterpret_cast<SetThreads>(dlsym(library, "openblas_set_num_threads"));
      dlclose(library);
    }
  }
  if (set != nullptr)
  {
    set(threads);
  }
}

} // namespace

void
configureCpuRuntime()
{
  static std::once_flag once;
  std::call_once(once, [] {
#if defined(__GLIBC__)
    // glibc serves every block above 128 KiB-32 MiB (dynamic threshold) with a fresh mmap and unmaps it on
    // free, so each tensor LibTorch allocates is first-touched through page faults: 3-10x slower operators on
    // the project's VMs (docs/reference.md §4). Keeping large blocks in the heap and never trimming it
    // makes freed tensor memory reusable at once, as a caching allocator would.
    mallopt(M_MMAP_THRESHOLD, INT_MAX);
    mallopt(M_TRIM_THRESHOLD, INT_MAX);
#endif
    // LibTorch parallelises with OpenMP but leaves OpenBLAS (used by ConvTranspose2d's GEMMs) at one thread
    // per core. OpenBLAS's idle workers spin, taking the cores from the OpenMP threads: an ANU-Net training
    // step (half width, 4 x 128^2) took 0.73 s with them and 0.41 s without (benchmarks/README.md).
    setOpenBlasThreads(1);
  });
}

} // namespace anunet
