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

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>

namespace anunet::cli
{

std::string
temporaryNameFor(const std::string & path)
{
  const std::filesystem::path p(path);
  const std::string           name = p.filename().string();
  // Keep every extension (".nii.gz"), so ITK selects the same ImageIO for the temporary file.
  const auto        dot = name.find('.', 1);
  const std::string stem = dot == std::string::npos ? name : name.substr(0, dot);
  const std::string extensions = dot == std::string::npos ? "" : name.substr(dot);
  const std::string temporary = "." + stem + ".partial-" + std::to_string(getpid()) + extensions;
  return (p.parent_path() / temporary).string();
}

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
syncFile(const std::string & temporary, const std::string & path)
{
  const int descriptor = ::open(temporary.c_str(), O_RDONLY | O_CLOEXEC);
  const int error = descriptor < 0 ? errno : (::fsync(descriptor) != 0 ? errno : 0);
  if (descriptor >= 0)
  {
    ::close(descriptor);
  }
  if (error != 0)
  {
    std::error_code ignored;
    std::filesystem::remove(temporary, ignored);
    throw std::runtime_error(path + ": cannot write: " + std::strerror(error));
  }
}

void
commitFile(const std::string & temporary, const std::string & path)
{
  std::error_code error;
  if (!std::filesystem::is_regular_file(temporary, error))
  {
    // Some ImageIOs (NIfTI through znzlib) report no error when they cannot create the file.
    throw std::runtime_error(path + ": the file could not be written" + writableFolderProblem(path));
  }
  std::filesystem::rename(temporary, path, error);
  if (error)
  {
    std::error_code ignored;
    std::filesystem::remove(temporary, ignored);
    throw std::runtime_error(path + ": cannot move the finished file into place: " + error.message());
  }
}

void
writeTextFile(const std::string & text, const std::string & path)
{
  if (const std::string problem = writableFolderProblem(path); !problem.empty())
  {
    throw std::runtime_error(path + ": cannot write" + problem);
  }
  const std::string temporary = temporaryNameFor(path);
  {
    std::ofstream out(temporary, std::ios::binary);
    out << text;
    out.close(); // a full disk may show only when the last buffer goes out
    if (!out)
    {
      std::error_code ignored;
      std::filesystem::remove(temporary, ignored);
      throw std::runtime_error(path + ": cannot write (is the disk full?)");
    }
  }
  syncFile(temporary, path);
  commitFile(temporary, path);
}

} // namespace anunet::cli
