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
#ifndef anunet_cli_ImageSegmentation_h
#define anunet_cli_ImageSegmentation_h

// What the single-image and the manifest forms of `anunet segment` share: loading and checking the model, the
// output format check, and the descriptions their log lines print.
#include "Segmentation.h"

#include "itkANUNetImageReader.h"

#include "itkImageRegionConstIterator.h"

#include <functional>
#include <sstream>
#include <string>
#include <vector>

namespace anunet::cli
{

/** Refuses formats whose pixels live in a second file named inside the header: the atomic rename of the
 * header alone would break it. what names the path in the message (e.g. "--output 'x.mhd'"). */
void
requireSingleFileFormat(const std::string & path, const std::string & what);

/** Loads the model and checks it against the settings (warns about --mirror on a model trained without flips;
 * refuses labels for more classes than 8 bits hold). */
itk::ANUNetModel::Pointer
loadSegmentationModel(const std::string & path, const workflow::SegmentationSettings & settings);

/** A volume as `anunet segment` reads it: a file that streams cleanly (uncompressed MetaImage or NRRD;
 * ANUNetImageReader::StreamsCheaply()) is opened for streaming, its header read and checked, and the network then
 * pulls slabs of it, so that its memory does not grow with the number of slices. Other files and DICOM
 * directories are read whole (the series reader checks the spacing of every slice only when it reads them all). */
struct InputVolume
{
  using VolumeType = itk::ANUNetImageReader::VolumeType;
  itk::ImageFileReader<VolumeType>::Pointer reader; ///< set for a file
  VolumeType::Pointer                       image;  ///< the reader's output (its information only), or the volume

  static InputVolume
  open(const std::string & path, const std::string & seriesUid);
};

/** Slices per piece of a streamed volume: 32 MiB of a 512 x 512 float input, whatever the number of slices. */
constexpr unsigned int StreamedSlices = 32;

/** runSegmentation() or, for a file, runStreamedSegmentation(). */
template <typename TOutputImage>
typename TOutputImage::Pointer
segmentVolume(const InputVolume &                    input,
              const itk::ANUNetModel *               model,
              const workflow::SegmentationSettings & settings,
              const std::function<void(float)> &     progress = {})
{
  if (input.reader)
  {
    return workflow::runStreamedSegmentation<TOutputImage>(
      input.image.GetPointer(), model, settings, StreamedSlices, progress);
  }
  return workflow::runSegmentation<TOutputImage>(input.image.GetPointer(), model, settings, progress);
}

/** "256 x 256 x 46 voxels of 1.25 x 1.25 x 7.7 mm". */
template <typename TImage>
std::string
describeImage(const TImage * image)
{
  std::ostringstream text;
  const auto         size = image->GetLargestPossibleRegion().GetSize();
  for (unsigned int d = 0; d < TImage::ImageDimension; ++d)
  {
    text << (d > 0 ? " x " : "") << size[d];
  }
  text << " voxels of " << image->GetSpacing()[0];
  for (unsigned int d = 1; d < TImage::ImageDimension; ++d)
  {
    text << " x " << image->GetSpacing()[d];
  }
  text << " mm";
  return text.str();
}

template <typename TImage>
size_t
countLabelled(const TImage * labels)
{
  size_t count = 0;
  for (itk::ImageRegionConstIterator<TImage> it(labels, labels->GetBufferedRegion()); !it.IsAtEnd(); ++it)
  {
    count += it.Get() != 0 ? 1 : 0;
  }
  return count;
}

} // namespace anunet::cli

#endif
