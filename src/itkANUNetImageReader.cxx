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
#include "itkANUNetImageReader.h"

#include "itkGDCMImageIO.h"
#include "itkGDCMSeriesFileNames.h"
#include "itkImageFileReader.h"
#include "itkImageIOFactory.h"
#include "itkImageSeriesReader.h"
#include "itk_zlib.h"
#include "itksys/SystemTools.hxx"

#include <algorithm>
#include <cctype>
#include <sstream>
#include <vector>

namespace itk
{
namespace
{
[[noreturn]] void
Fail(const std::string & message)
{
  throw ExceptionObject(__FILE__, __LINE__, message, "ANUNetImageReader");
}

void
RequireExists(const std::string & path)
{
  if (path.empty())
  {
    Fail("no input path given");
  }
  if (!itksys::SystemTools::FileExists(path))
  {
    Fail("'" + path + "' does not exist");
  }
}

/** The header of an image file, checked to be a single-channel image ITK can read. */
ImageIOBase::Pointer
ReadHeader(const std::string & path)
{
  RequireExists(path);
  ImageIOBase::Pointer io = ImageIOFactory::CreateImageIO(path.c_str(), ImageIOFactory::IOFileModeEnum::ReadMode);
  if (io.IsNull())
  {
    Fail("no ITK image reader recognises '" + path + "' (corrupt file or unsupported format)");
  }
  io->SetFileName(path);
  try
  {
    io->ReadImageInformation();
  }
  catch (const ExceptionObject & e)
  {
    Fail("cannot read the header of '" + path + "': " + e.GetDescription());
  }
  if (io->GetNumberOfComponents() != 1)
  {
    std::ostringstream message;
    message << "'" << path << "' has " << io->GetNumberOfComponents() << " components per pixel ("
            << ImageIOBase::GetPixelTypeAsString(io->GetPixelType())
            << "); the networks take single-channel images, convert it to greyscale first";
    Fail(message.str());
  }
  return io;
}

/** Number of dimensions once trailing dimensions of size 1 are dropped (at least 2). */
unsigned int
EffectiveDimension(const ImageIOBase & io)
{
  unsigned int dimension = io.GetNumberOfDimensions();
  while (dimension > 2 && io.GetDimensions(dimension - 1) == 1)
  {
    --dimension;
  }
  return dimension;
}

std::string
DescribeSize(const ImageIOBase & io)
{
  std::ostringstream size;
  for (unsigned int d = 0; d < io.GetNumberOfDimensions(); ++d)
  {
    size << (d > 0 ? " x " : "") << io.GetDimensions(d);
  }
  return size.str();
}

/** ITK's NIfTI reader accepts a .gz file that ends early and returns whatever it inflated, so a cut-off
 * download would become a silently wrong image. Inflating the stream once more finds it (cheap next to the
 * read itself). */
void
RequireCompleteGzip(const std::string & path)
{
  std::string lower = path;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  if (lower.size() < 3 || lower.compare(lower.size() - 3, 3, ".gz") != 0)
  {
    return;
  }
  gzFile file = gzopen(path.c_str(), "rb");
  if (file == nullptr)
  {
    Fail("cannot open '" + path + "'");
  }
  std::vector<char> buffer(1 << 20);
  int               read = 0;
  while ((read = gzread(file, buffer.data(), static_cast<unsigned int>(buffer.size()))) > 0)
  {}
  int               code = Z_OK;
  const std::string problem = read < 0 ? gzerror(file, &code) : "";
  const int         closed = gzclose(file);
  if (read < 0)
  {
    Fail("'" + path + "' is corrupt (" + problem + ")");
  }
  if (closed == Z_BUF_ERROR)
  {
    Fail("'" + path + "' is truncated: its compressed data end early");
  }
}

template <typename TImage>
typename TImage::Pointer
ReadFile(const std::string & path, ImageIOBase * io)
{
  RequireCompleteGzip(path);
  auto reader = ImageFileReader<TImage>::New();
  reader->SetFileName(path);
  reader->SetImageIO(io);
  try
  {
    reader->Update();
  }
  catch (const ExceptionObject & e)
  {
    Fail("cannot read '" + path + "': " + e.GetDescription());
  }
  typename TImage::Pointer image = reader->GetOutput();
  image->DisconnectPipeline();
  return image;
}

GDCMSeriesFileNames::Pointer
ScanDirectory(const std::string & directory)
{
  RequireExists(directory);
  auto names = GDCMSeriesFileNames::New();
  names->SetUseSeriesDetails(true);
  names->SetDirectory(directory);
  return names;
}

std::string
SelectSeries(GDCMSeriesFileNames & names, const std::string & directory, const std::string & wanted)
{
  const std::vector<std::string> identifiers = names.GetSeriesUIDs();
  if (identifiers.empty())
  {
    Fail("no DICOM series found in directory '" + directory + "'");
  }
  if (wanted.empty() && identifiers.size() == 1)
  {
    return identifiers.front();
  }
  std::vector<std::string> matches;
  if (!wanted.empty())
  {
    for (const auto & identifier : identifiers)
    {
      if (identifier == wanted)
      {
        return identifier;
      }
      if (identifier.compare(0, wanted.size(), wanted) == 0)
      {
        matches.push_back(identifier);
      }
    }
    if (matches.size() == 1)
    {
      return matches.front();
    }
  }
  std::ostringstream message;
  message << "directory '" << directory << "' holds " << identifiers.size() << " DICOM series";
  if (wanted.empty())
  {
    message << "; select one by its identifier:";
  }
  else
  {
    message << ", and '" << wanted << "' " << (matches.empty() ? "matches none" : "matches several") << " of them:";
  }
  for (const auto & identifier : identifiers)
  {
    message << "\n  " << identifier << " (" << names.GetFileNames(identifier).size() << " files)";
  }
  Fail(message.str());
}
} // namespace

bool
ANUNetImageReader::IsDirectory(const std::string & path)
{
  return !path.empty() && itksys::SystemTools::FileIsDirectory(path);
}

unsigned int
ANUNetImageReader::ReadDimension(const std::string & path)
{
  if (IsDirectory(path))
  {
    return 3;
  }
  return EffectiveDimension(*ReadHeader(path));
}

std::vector<std::string>
ANUNetImageReader::GetDicomSeriesIdentifiers(const std::string & directory)
{
  return ScanDirectory(directory)->GetSeriesUIDs();
}

std::vector<std::string>
ANUNetImageReader::GetDicomSeriesFileNames(const std::string & directory, const std::string & seriesIdentifier)
{
  auto names = ScanDirectory(directory);
  return names->GetFileNames(SelectSeries(*names, directory, seriesIdentifier));
}

auto
ANUNetImageReader::ReadVolume(const std::string & path, const std::string & seriesIdentifier) -> VolumeType::Pointer
{
  if (!IsDirectory(path))
  {
    ImageIOBase::Pointer io = ReadHeader(path);
    if (EffectiveDimension(*io) > 3)
    {
      Fail("'" + path + "' is a " + std::to_string(EffectiveDimension(*io)) + "-D image (size " + DescribeSize(*io) +
           "); ANU-Net segments 2-D slices and 3-D volumes, extract one volume first");
    }
    return ReadFile<VolumeType>(path, io);
  }

  const std::vector<std::string> files = GetDicomSeriesFileNames(path, seriesIdentifier);
  auto                           reader = ImageSeriesReader<VolumeType>::New();
  reader->SetImageIO(GDCMImageIO::New());
  reader->SetFileNames(files);
  try
  {
    reader->Update();
  }
  catch (const ExceptionObject & e)
  {
    Fail("cannot read the DICOM series in '" + path + "': " + e.GetDescription());
  }
  VolumeType::Pointer volume = reader->GetOutput();
  volume->DisconnectPipeline();
  return volume;
}

auto
ANUNetImageReader::ReadSlice(const std::string & path) -> SliceType::Pointer
{
  if (IsDirectory(path))
  {
    Fail("'" + path + "' is a directory (a DICOM series is a 3-D volume); a 2-D image file is needed");
  }
  ImageIOBase::Pointer io = ReadHeader(path);
  if (EffectiveDimension(*io) != 2)
  {
    Fail("'" + path + "' is a " + std::to_string(EffectiveDimension(*io)) + "-D image (size " + DescribeSize(*io) +
         "), not a 2-D slice");
  }
  return ReadFile<SliceType>(path, io);
}

} // namespace itk
