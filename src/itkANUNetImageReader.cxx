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
#include "itkMetaDataObject.h"
#include "itk_zlib.h"
#include "itksys/SystemTools.hxx"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <fstream>
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

/** Number of dimensions once trailing dimensions of size 1 are dropped: at least 3 for a volume file, so
 * that a one-slice volume keeps its position and direction along the slice axis; at least 2 for a single
 * DICOM file, which is a slice. */
unsigned int
EffectiveDimension(const ImageIOBase & io)
{
  const bool         dicomFile = std::string(io.GetNameOfClass()) == "GDCMImageIO";
  const unsigned int least = io.GetNumberOfDimensions() >= 3 && !dicomFile ? 3 : 2;
  unsigned int       dimension = io.GetNumberOfDimensions();
  while (dimension > least && io.GetDimensions(dimension - 1) == 1)
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

template <typename T>
T
FromBytes(const unsigned char * bytes, bool swap)
{
  unsigned char ordered[sizeof(T)];
  for (size_t i = 0; i < sizeof(T); ++i)
  {
    ordered[i] = bytes[swap ? sizeof(T) - 1 - i : i];
  }
  T value;
  std::memcpy(&value, ordered, sizeof(T));
  return value;
}

/** Whether path ends with suffix (lower case), ignoring the case of path. */
bool
EndsWith(const std::string & path, const std::string & suffix)
{
  if (path.size() < suffix.size())
  {
    return false;
  }
  return std::equal(suffix.rbegin(), suffix.rend(), path.rbegin(), [](char expected, char actual) {
    return expected == static_cast<char>(std::tolower(static_cast<unsigned char>(actual)));
  });
}

/** Reads a file once more, inflating it if it is gzip-compressed (gzread passes plain files through), so that
 * what ITK's readers let through silently is an error: a .gz stream that ends early (the NIfTI reader returns
 * whatever it inflated), a single-file NIfTI whose voxel data end early, and NaN or infinite voxels in a
 * floating-point NIfTI (nifti1_io turns them into 0 while reading, so the networks would see a different
 * image than the file holds). Cheap next to the read itself. */
void
CheckFileData(const std::string & path, const ImageIOBase & io)
{
  const bool compressed = EndsWith(path, ".gz");
  const bool nifti =
    std::string(io.GetNameOfClass()) == "NiftiImageIO" && (EndsWith(path, ".nii") || EndsWith(path, ".nii.gz"));
  if (!compressed && !nifti)
  {
    return;
  }
  gzFile file = gzopen(path.c_str(), "rb");
  if (file == nullptr)
  {
    Fail("cannot open '" + path + "'");
  }
  std::vector<unsigned char> buffer(1 << 20);
  // The NIfTI-1 or NIfTI-2 header: its size says which (and the byte order), then the voxels' offset and type.
  uint64_t dataOffset = 0;
  int      datatype = 0;
  bool     swap = false;
  size_t   total = 0;
  if (nifti)
  {
    const int read = gzread(file, buffer.data(), 540);
    total = read > 0 ? static_cast<size_t>(read) : 0;
    const auto size = total >= 4 ? FromBytes<int32_t>(buffer.data(), false) : 0;
    swap = size == 0x5C010000 || size == 0x1C020000;
    const auto headerSize = total >= 4 ? FromBytes<int32_t>(buffer.data(), swap) : 0;
    if (headerSize == 348 && total >= 112)
    {
      datatype = FromBytes<int16_t>(buffer.data() + 70, swap);
      dataOffset = static_cast<uint64_t>(std::max(352.0f, FromBytes<float>(buffer.data() + 108, swap)));
    }
    else if (headerSize == 540 && total >= 176)
    {
      datatype = FromBytes<int16_t>(buffer.data() + 12, swap);
      dataOffset = static_cast<uint64_t>(std::max<int64_t>(544, FromBytes<int64_t>(buffer.data() + 168, swap)));
    }
  }
  const uint64_t             dataEnd = dataOffset + io.GetImageSizeInBytes();
  const size_t               valueSize = datatype == 16 ? 4 : datatype == 64 ? 8 : 0; // NIFTI_TYPE_FLOAT32, FLOAT64
  size_t                     nonFinite = 0;
  std::vector<unsigned char> pending; // the start of a value that the previous read cut off
  // data[0] is byte `at` of the file: scans the values of [at, at + count) that lie in the voxel data.
  auto scan = [&](const unsigned char * data, size_t count, uint64_t at) {
    const uint64_t begin = std::max<uint64_t>(at, dataOffset);
    const uint64_t end = std::min<uint64_t>(at + count, dataEnd);
    if (valueSize == 0 || begin >= end)
    {
      return;
    }
    pending.insert(pending.end(), data + (begin - at), data + (end - at));
    const size_t whole = pending.size() / valueSize * valueSize;
    for (size_t i = 0; i < whole; i += valueSize)
    {
      const double value =
        valueSize == 4 ? FromBytes<float>(pending.data() + i, swap) : FromBytes<double>(pending.data() + i, swap);
      nonFinite += std::isfinite(value) ? 0 : 1;
    }
    pending.erase(pending.begin(), pending.begin() + static_cast<std::ptrdiff_t>(whole));
  };
  scan(buffer.data(), total, 0);
  int read = 0;
  while ((read = gzread(file, buffer.data(), static_cast<unsigned int>(buffer.size()))) > 0)
  {
    scan(buffer.data(), static_cast<size_t>(read), total);
    total += static_cast<size_t>(read);
  }
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
  if (dataOffset > 0 && total < dataEnd)
  {
    Fail("'" + path + "' is truncated: its header describes " + std::to_string(io.GetImageSizeInBytes()) +
         " bytes of voxels from byte " + std::to_string(dataOffset) + ", but the " +
         (compressed ? "inflated file has " : "file has ") + std::to_string(total) + " bytes");
  }
  if (nonFinite > 0)
  {
    Fail("'" + path + "' holds " + std::to_string(nonFinite) + " NaN or infinite voxels (of " +
         std::to_string(io.GetImageSizeInPixels()) + "); the networks need finite intensities");
  }
}

/** A reader of path through io, after CheckFileData(); nothing read yet. */
template <typename TImage>
typename ImageFileReader<TImage>::Pointer
OpenFile(const std::string & path, ImageIOBase * io)
{
  CheckFileData(path, *io);
  auto reader = ImageFileReader<TImage>::New();
  reader->SetFileName(path);
  reader->SetImageIO(io);
  return reader;
}

template <typename TImage>
typename TImage::Pointer
ReadFile(const std::string & path, ImageIOBase * io)
{
  auto reader = OpenFile<TImage>(path, io);
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

/** The header of a file read as a volume: at most 3 dimensions. */
ImageIOBase::Pointer
ReadVolumeHeader(const std::string & path)
{
  ImageIOBase::Pointer io = ReadHeader(path);
  if (EffectiveDimension(*io) > 3)
  {
    Fail("'" + path + "' is a " + std::to_string(EffectiveDimension(*io)) + "-D image (size " + DescribeSize(*io) +
         "); ANU-Net segments 2-D slices and 3-D volumes, extract one volume first");
  }
  return io;
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
    return ReadFile<VolumeType>(path, ReadVolumeHeader(path));
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
  // ImageSeriesReader only warns, and stacks the slices at the spacing of the first two: slice positions
  // elsewhere would be wrong. Deviations from rounding in the position strings stay far below 1%.
  double deviation = 0.0;
  if (ExposeMetaData<double>(volume->GetMetaDataDictionary(), "ITK_non_uniform_sampling_deviation", deviation) &&
      deviation > 0.01 * volume->GetSpacing()[2])
  {
    std::ostringstream message;
    message << "the DICOM series in '" << path << "' has missing slices or uneven spacing: its " << files.size()
            << " slice positions deviate by up to " << deviation << " mm from the spacing of the first two ("
            << volume->GetSpacing()[2] << " mm); resample it to a regular grid first";
    Fail(message.str());
  }
  volume->DisconnectPipeline();
  return volume;
}

auto
ANUNetImageReader::OpenVolumeFile(const std::string & path) -> ImageFileReader<VolumeType>::Pointer
{
  if (IsDirectory(path))
  {
    Fail("'" + path + "' is a directory: a DICOM series is read whole (ReadVolume())");
  }
  auto reader = OpenFile<VolumeType>(path, ReadVolumeHeader(path));
  try
  {
    reader->UpdateOutputInformation();
  }
  catch (const ExceptionObject & e)
  {
    Fail("cannot read '" + path + "': " + e.GetDescription());
  }
  return reader;
}

bool
ANUNetImageReader::StreamsCheaply(const std::string & path)
{
  // ITK 5.2's NIfTI reader leaks its file handle (znzopen) on every streamed read of a region, which
  // LeakSanitizer found: a manifest of many cases would run out of file descriptors. NIfTI is read whole.
  for (const char * nifti : { ".nii", ".nii.gz", ".hdr", ".img", ".img.gz" })
  {
    if (EndsWith(path, nifti))
    {
      return false;
    }
  }
  std::ifstream file(path, std::ios::binary);
  std::string   head(4096, '\0');
  file.read(head.data(), static_cast<std::streamsize>(head.size()));
  head.resize(static_cast<size_t>(std::max<std::streamsize>(0, file.gcount())));
  if (head.size() >= 2 && static_cast<unsigned char>(head[0]) == 0x1f && static_cast<unsigned char>(head[1]) == 0x8b)
  {
    return false; // gzip
  }
  // MetaImage's and NRRD's text headers say how their data are encoded.
  for (const char * compressed : { "CompressedData = True", "encoding: gz", "encoding: bz" })
  {
    if (head.find(compressed) != std::string::npos)
    {
      return false;
    }
  }
  return true;
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
