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
#ifndef anunet_workflow_InputError_h
#define anunet_workflow_InputError_h

#include <stdexcept>

namespace anunet::workflow
{

/** Input the user can correct (a config, a path, an option), with a message that names it. The tool prints it
 * and exits 1; Python raises ValueError (std::invalid_argument's translation). */
class InputError : public std::invalid_argument
{
public:
  using std::invalid_argument::invalid_argument;
};

/** A file or folder that does not exist: Python raises FileNotFoundError. */
class MissingFileError : public InputError
{
public:
  using InputError::InputError;
};

} // namespace anunet::workflow

#endif
