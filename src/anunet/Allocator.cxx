#include "anunet/Model.h"

#include <climits>
#include <mutex>

#if defined(__GLIBC__)
#  include <malloc.h>
#endif

namespace anunet
{

void
configureAllocator()
{
  // glibc serves every block above 128 KiB-32 MiB (dynamic threshold) with a fresh mmap and unmaps it on free,
  // so each tensor LibTorch allocates is first-touched through page faults: 3-10x slower operators on the
  // project's VMs (ANUNET_FACTS.md section 4). Keeping large blocks in the heap and never trimming it makes
  // freed tensor memory reusable at once, as a caching allocator would. Done once; users need not set
  // MALLOC_MMAP_THRESHOLD_ themselves.
  static std::once_flag once;
  std::call_once(once, [] {
#if defined(__GLIBC__)
    mallopt(M_MMAP_THRESHOLD, INT_MAX);
    mallopt(M_TRIM_THRESHOLD, INT_MAX);
#endif
  });
}

} // namespace anunet
