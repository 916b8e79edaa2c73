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
#include "OutputFiles.h"

#include <unistd.h>

#include <stdexcept>

namespace anunet::workflow
{

std::string
writableFolderProblem(const std::string & path)
{
  std::filesystem::path folder = std::filesystem::path(path).parent_path();
  if (folder.empty())
  {
    folder = ".";
  }
  std::error_code error;
  if (!std::filesystem::is_directory(folder, error))
  {
    return " (the folder " + folder.string() + " does not exist)";
  }
  if (access(folder.c_str(), W_OK) != 0)
  {
    return " (the folder " + folder.string() + " is not writable)";
  }
  return {};
}

void
writeTextFile(const std::string & text, const std::string & path)
{
  if (const std::string problem = writableFolderProblem(path); !problem.empty())
  {
    throw std::runtime_error(path + ": cannot write" + problem);
  }
  writeFileAtomically(path, text);
}

} // namespace anunet::workflow
