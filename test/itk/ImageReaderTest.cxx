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
// Tests of itk::ANUNetImageReader on the real files of ../shared/data and on broken inputs made here.
#include "ITKTestHelpers.h"
#include "itkANUNetImageReader.h"
#include "itkImageFileWriter.h"
#include "itkRGBPixel.h"
#include "itkImageRegionConstIterator.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>

namespace
{
using anunet::test::errorOf;
namespace fs = std::filesystem;
using Reader = itk::ANUNetImageReader;

using anunet::test::dataPath;

/** A fresh, empty folder for one test (tests may run in parallel processes). */
fs::path
scratch(const std::string & name)
{
  const fs::path folder = fs::path(ANUNET_TEST_TEMP) / "ImageReaderTest" / name;
  fs::remove_all(folder);
  fs::create_directories(folder);
  return folder;
}

std::pair<float, float>
range(const Reader::VolumeType * image)
{
  float low = std::numeric_limits<float>::max();
  float high = std::numeric_limits<float>::lowest();
  for (itk::ImageRegionConstIterator<Reader::VolumeType> it(image, image->GetBufferedRegion()); !it.IsAtEnd(); ++it)
  {
    low = std::min(low, it.Get());
    high = std::max(high, it.Get());
  }
  return { low, high };
}
} // namespace

TEST(ANUNetImageReader, ReadsNiftiWithItsGeometry)
{
  const std::string path = dataPath("chaos-mr-t2/case01_t2.nii.gz");
  EXPECT_EQ(Reader::ReadDimension(path), 3u);
  const auto image = Reader::ReadVolume(path);
  const auto size = image->GetLargestPossibleRegion().GetSize();
  EXPECT_EQ(size[0], 256u);
  EXPECT_EQ(size[1], 256u);
  EXPECT_EQ(size[2], 37u);
  EXPECT_NEAR(image->GetSpacing()[0], 1.25, 1e-4);
  EXPECT_NEAR(image->GetSpacing()[2], 7.7, 1e-4);
  // LAS-stored NIfTI: ITK's direction is diag(1, -1, 1) (data README).
  EXPECT_NEAR(image->GetDirection()[0][0], 1.0, 1e-6);
  EXPECT_NEAR(image->GetDirection()[1][1], -1.0, 1e-6);
  EXPECT_NEAR(image->GetDirection()[2][2], 1.0, 1e-6);
  EXPECT_NEAR(image->GetOrigin()[0], -192.654, 1e-3);
}

TEST(ANUNetImageReader, ReadsDicomSeriesInHounsfieldUnits)
{
  const std::string folder = dataPath("ircad-1.01-ct/dicom/PATIENT_DICOM");
  EXPECT_TRUE(Reader::IsDirectory(folder));
  EXPECT_EQ(Reader::ReadDimension(folder), 3u);
  EXPECT_EQ(Reader::GetDicomSeriesIdentifiers(folder).size(), 1u);
  const auto image = Reader::ReadVolume(folder);
  const auto size = image->GetLargestPossibleRegion().GetSize();
  EXPECT_EQ(size[0], 512u);
  EXPECT_EQ(size[1], 512u);
  EXPECT_EQ(size[2], 5u);
  EXPECT_NEAR(image->GetSpacing()[0], 0.57, 1e-4);
  EXPECT_NEAR(image->GetSpacing()[2], 1.6, 1e-4);
  EXPECT_NEAR(image->GetOrigin()[2], 116.8, 1e-3);
  const auto [low, high] = range(image);
  EXPECT_GE(low, -1024.0f);
  EXPECT_LE(high, 1023.0f);
  EXPECT_LT(low, -500.0f); // air around the body: HU, not raw stored values

  // dcmqi: RescaleIntercept -1024; slices sorted by position, so the origin is the lowest z.
  const auto ct = Reader::ReadVolume(dataPath("dcmqi-ct/ct-3slice"));
  EXPECT_EQ(ct->GetLargestPossibleRegion().GetSize()[2], 3u);
  EXPECT_NEAR(ct->GetOrigin()[0], -235.2, 1e-3);
  EXPECT_NEAR(ct->GetOrigin()[2], -128.69, 1e-3);
  EXPECT_NEAR(ct->GetSpacing()[2], 1.0, 1e-3);
  EXPECT_GE(range(ct).first, -3024.0f);
}

TEST(ANUNetImageReader, ReadsPngSlices)
{
  const std::string path = dataPath("chaos-ct-dicom/ct_set3/Ground/liver_GT_026.png");
  EXPECT_EQ(Reader::ReadDimension(path), 2u);
  const auto slice = Reader::ReadSlice(path);
  EXPECT_EQ(slice->GetLargestPossibleRegion().GetSize()[0], 512u);
  EXPECT_EQ(slice->GetLargestPossibleRegion().GetSize()[1], 512u);
  // Read as a volume it is one slice thick.
  EXPECT_EQ(Reader::ReadVolume(path)->GetLargestPossibleRegion().GetSize()[2], 1u);
  // A real volume is not a slice.
  const std::string volume = dataPath("chaos-mr-t2/case01_t2.nii.gz");
  EXPECT_NE(errorOf([&] { Reader::ReadSlice(volume); }).find("not a 2-D slice"), std::string::npos);
}

TEST(ANUNetImageReader, MissingAndCorruptFilesAreNamed)
{
  const fs::path    folder = scratch("corrupt");
  const std::string missing = (folder / "no-such-image.nii.gz").string();
  std::string       message = errorOf([&] { Reader::ReadVolume(missing); });
  EXPECT_NE(message.find(missing), std::string::npos) << message;
  EXPECT_NE(message.find("does not exist"), std::string::npos) << message;

  const std::string garbage = (folder / "garbage.nii.gz").string();
  std::ofstream(garbage) << "this is not an image";
  message = errorOf([&] { Reader::ReadVolume(garbage); });
  EXPECT_NE(message.find(garbage), std::string::npos) << message;

  // A real NIfTI cut short: the header reads, the pixels do not.
  const std::string truncated = (folder / "truncated.nii.gz").string();
  {
    std::ifstream in(dataPath("chaos-mr-t2/case01_t2.nii.gz"), std::ios::binary);
    std::string   bytes(20000, '\0');
    in.read(&bytes[0], static_cast<std::streamsize>(bytes.size()));
    std::ofstream(truncated, std::ios::binary) << bytes;
  }
  message = errorOf([&] { Reader::ReadVolume(truncated); });
  EXPECT_NE(message.find(truncated), std::string::npos) << message;
}

TEST(ANUNetImageReader, DicomFolderWithoutSeries)
{
  const fs::path folder = scratch("empty");
  std::ofstream(folder / "notes.txt") << "no DICOM here";
  const std::string message = errorOf([&] { Reader::ReadVolume(folder.string()); });
  EXPECT_NE(message.find("no DICOM series"), std::string::npos) << message;
  EXPECT_NE(message.find(folder.string()), std::string::npos) << message;
}

TEST(ANUNetImageReader, SeveralSeriesNeedASelection)
{
  // Links to two series in one folder.
  const fs::path folder = scratch("two-series");
  for (const auto & entry : fs::directory_iterator(dataPath("ircad-1.01-ct/dicom/PATIENT_DICOM")))
  {
    fs::create_symlink(fs::canonical(entry.path()), folder / ("ircad-" + entry.path().filename().string()));
  }
  for (const auto & entry : fs::directory_iterator(dataPath("dcmqi-ct/ct-3slice")))
  {
    fs::create_symlink(fs::canonical(entry.path()), folder / ("dcmqi-" + entry.path().filename().string()));
  }
  const std::vector<std::string> identifiers = Reader::GetDicomSeriesIdentifiers(folder.string());
  ASSERT_EQ(identifiers.size(), 2u);

  const std::string message = errorOf([&] { Reader::ReadVolume(folder.string()); });
  EXPECT_NE(message.find("2 DICOM series"), std::string::npos) << message;
  for (const auto & identifier : identifiers)
  {
    EXPECT_NE(message.find(identifier), std::string::npos) << message;
  }

  // Selecting one by its identifier reads just that series.
  std::vector<size_t> slices;
  for (const auto & identifier : identifiers)
  {
    slices.push_back(Reader::ReadVolume(folder.string(), identifier)->GetLargestPossibleRegion().GetSize()[2]);
  }
  std::sort(slices.begin(), slices.end());
  EXPECT_EQ(slices, (std::vector<size_t>{ 3, 5 }));

  const std::string unknown = errorOf([&] { Reader::ReadVolume(folder.string(), "9.9.9"); });
  EXPECT_NE(unknown.find("matches none"), std::string::npos) << unknown;
}

TEST(ANUNetImageReader, WrongDimensionOrChannelsAreErrors)
{
  const fs::path folder = scratch("dimensions");

  using Image4D = itk::Image<float, 4>;
  auto              series = Image4D::New();
  Image4D::SizeType size{ { 4, 4, 3, 2 } };
  series->SetRegions(Image4D::RegionType(size));
  series->Allocate();
  series->FillBuffer(1.0f);
  const std::string fourD = (folder / "timeseries.nii.gz").string();
  itk::WriteImage(series, fourD);
  std::string message = errorOf([&] { Reader::ReadVolume(fourD); });
  EXPECT_NE(message.find("4-D"), std::string::npos) << message;
  EXPECT_NE(message.find(fourD), std::string::npos) << message;

  using RGBImage = itk::Image<itk::RGBPixel<unsigned char>, 2>;
  auto               rgb = RGBImage::New();
  RGBImage::SizeType rgbSize{ { 8, 8 } };
  rgb->SetRegions(RGBImage::RegionType(rgbSize));
  rgb->Allocate();
  const std::string colour = (folder / "colour.png").string();
  itk::WriteImage(rgb, colour);
  message = errorOf([&] { Reader::ReadSlice(colour); });
  EXPECT_NE(message.find("3 components"), std::string::npos) << message;
}
