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
