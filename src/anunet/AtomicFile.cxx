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
#include "anunet/AtomicFile.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>

namespace anunet
{

namespace
{
constexpr const char * PartialMark = ".partial-";

[[noreturn]] void
fail(const std::string & path, const std::string & temporary, const std::string & problem)
{
  std::error_code ignored;
  std::filesystem::remove(temporary, ignored);
  throw std::runtime_error(path + ": cannot write: " + problem);
}

/** fsync of an open descriptor, then close; errno of the first failure, 0 on success. */
int
syncAndClose(int descriptor)
{
  // Durable before the rename makes it the result: a crash never leaves a complete name on empty blocks.
  const int error = ::fsync(descriptor) != 0 ? errno : 0;
  return ::close(descriptor) != 0 && error == 0 ? errno : error;
}

void
rename(const std::string & temporary, const std::string & path)
{
  std::error_code error;
  std::filesystem::rename(temporary, path, error);
  if (error)
  {
    fail(path, temporary, "cannot move the finished file into place: " + error.message());
  }
}
} // namespace

std::string
temporaryNameFor(const std::string & path)
{
  const std::filesystem::path p(path);
  const std::string           name = p.filename().string();
  const auto                  dot = name.find('.', 1);
  const std::string           stem = dot == std::string::npos ? name : name.substr(0, dot);
  const std::string           extensions = dot == std::string::npos ? "" : name.substr(dot);
  return (p.parent_path() / ("." + stem + PartialMark + std::to_string(::getpid()) + extensions)).string();
}

void
writeFileAtomically(const std::string & path, const std::string & bytes)
{
  const std::string temporary = temporaryNameFor(path);
  const int         descriptor = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (descriptor < 0)
  {
    fail(path, temporary, std::strerror(errno));
  }
  size_t done = 0;
  while (done < bytes.size())
  {
    const ssize_t written = ::write(descriptor, bytes.data() + done, bytes.size() - done);
    if (written < 0 && errno == EINTR)
    {
      continue;
    }
    if (written <= 0)
    {
      const int error = written < 0 ? errno : EIO;
      ::close(descriptor);
      fail(path, temporary, std::strerror(error));
    }
    done += static_cast<size_t>(written);
  }
  if (const int error = syncAndClose(descriptor); error != 0)
  {
    fail(path, temporary, std::strerror(error));
  }
  rename(temporary, path);
}

void
commitTemporaryFile(const std::string & temporary, const std::string & path)
{
  const int descriptor = ::open(temporary.c_str(), O_RDONLY | O_CLOEXEC);
  if (descriptor < 0)
  {
    // Some ImageIOs (NIfTI through znzlib) report no error when they cannot create the file.
    fail(path, temporary, std::string("the file was not written (") + std::strerror(errno) + ")");
  }
  if (const int error = syncAndClose(descriptor); error != 0)
  {
    fail(path, temporary, std::strerror(error));
  }
  rename(temporary, path);
}

void
removeStaleTemporaryFiles(const std::string & folder)
{
  std::error_code error;
  for (const auto & entry : std::filesystem::directory_iterator(folder, error))
  {
    const std::string name = entry.path().filename().string();
    const size_t      mark = name.find(PartialMark);
    if (name.empty() || name.front() != '.' || mark == std::string::npos)
    {
      continue;
    }
    const size_t digits = mark + std::strlen(PartialMark);
    const size_t end = name.find_first_not_of("0123456789", digits);
    if (end == digits || (end != std::string::npos && name[end] != '.') ||
        (end == std::string::npos ? name.size() : end) - digits > 9)
    {
      continue;
    }
    const long pid = std::stol(name.substr(digits, end - digits));
    if (pid != ::getpid() && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH)
    {
      std::filesystem::remove(entry.path(), error);
    }
  }
}

} // namespace anunet
