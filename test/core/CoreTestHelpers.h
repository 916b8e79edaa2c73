// Helpers shared by the torch-core tests.
#ifndef anunet_CoreTestHelpers_h
#define anunet_CoreTestHelpers_h

#include "anunet/NetworkOptions.h"

namespace anunet::test
{

/** A network of the given architecture with narrow filters (4..64), so that tests run in milliseconds. */
inline NetworkOptions
smallOptions(Architecture architecture, int inputChannels = 1, int classes = 1)
{
  NetworkOptions options;
  options.architecture = architecture;
  options.inputChannels = inputChannels;
  options.classes = classes;
  options.filters = { 4, 8, 16, 32, 64 };
  return options;
}

} // namespace anunet::test

#endif
