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
#include "itkANUNetOverlay.h"

#include "anunet/Statistics.h"

#include "itkImageFileWriter.h"
#include "itkRGBPixel.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace itk
{
namespace
{

using MaskType = Image<unsigned char, 3>;

/** True where the mask is set and a 4-neighbour in the slice is not (or lies outside the image). */
bool
onOutline(const MaskType * mask, const MaskType::IndexType & index)
{
  if (mask == nullptr || mask->GetPixel(index) == 0)
  {
    return false;
  }
  const auto region = mask->GetLargestPossibleRegion();
  for (int axis = 0; axis < 2; ++axis)
  {
    for (int step : { -1, 1 })
    {
      auto neighbour = index;
      neighbour[axis] += step;
      if (!region.IsInside(neighbour) || mask->GetPixel(neighbour) == 0)
      {
        return true;
      }
    }
  }
  return false;
}

} // namespace

void
ANUNetWriteSegmentationOverlay(const Image<float, 3> * image,
                               const MaskType *        truth,
                               const MaskType *        prediction,
                               unsigned int            slice,
                               const std::string &     fileName,
                               unsigned int            zoom)
{
  const auto region = image->GetLargestPossibleRegion();
  const auto size = region.GetSize();
  if (slice >= size[2])
  {
    itkGenericExceptionMacro("Overlay " << fileName << ": slice " << slice << " is outside the image (" << size[2]
                                        << " slices)");
  }
  for (const MaskType * mask : { truth, prediction })
  {
    if (mask != nullptr && mask->GetLargestPossibleRegion().GetSize() != size)
    {
      itkGenericExceptionMacro("Overlay " << fileName << ": mask size " << mask->GetLargestPossibleRegion().GetSize()
                                          << " differs from the image size " << size);
    }
  }

  std::vector<float> values;
  values.reserve(size[0] * size[1]);
  MaskType::IndexType index{ { 0, 0, static_cast<IndexValueType>(slice) } };
  for (index[1] = 0; index[1] < static_cast<IndexValueType>(size[1]); ++index[1])
  {
    for (index[0] = 0; index[0] < static_cast<IndexValueType>(size[0]); ++index[0])
    {
      values.push_back(image->GetPixel(index));
    }
  }
  auto percentile = [&values](double q) {
    auto copy = values;
    return static_cast<float>(anunet::quantile(copy, q));
  };
  const float low = percentile(0.005);
  const float high = std::max(percentile(0.995), low + 1e-6f);

  using RGBImageType = Image<RGBPixel<unsigned char>, 2>;
  auto                   rgb = RGBImageType::New();
  RGBImageType::SizeType outSize{ { size[0] * zoom, size[1] * zoom } };
  rgb->SetRegions(outSize);
  rgb->Allocate();
  // Anterior at the top: flip rows when the row index runs toward anterior (negative y direction in LPS).
  const bool flipRows = image->GetDirection()[1][1] < 0.0;

  for (index[1] = 0; index[1] < static_cast<IndexValueType>(size[1]); ++index[1])
  {
    for (index[0] = 0; index[0] < static_cast<IndexValueType>(size[0]); ++index[0])
    {
      const float             grey = std::clamp((image->GetPixel(index) - low) / (high - low), 0.0f, 1.0f) * 255.0f;
      RGBPixel<unsigned char> pixel;
      pixel.Fill(static_cast<unsigned char>(std::lround(grey)));
      const bool red = onOutline(truth, index);
      const bool blue = onOutline(prediction, index);
      if (red || blue)
      {
        pixel[0] = red ? 255 : 0;
        pixel[1] = 0;
        pixel[2] = blue ? 255 : 0;
      }
      const auto row = flipRows ? static_cast<IndexValueType>(size[1]) - 1 - index[1] : index[1];
      for (unsigned int dy = 0; dy < zoom; ++dy)
      {
        for (unsigned int dx = 0; dx < zoom; ++dx)
        {
          rgb->SetPixel({ { index[0] * zoom + dx, row * zoom + dy } }, pixel);
        }
      }
    }
  }
  auto writer = ImageFileWriter<RGBImageType>::New();
  writer->SetInput(rgb);
  writer->SetFileName(fileName);
  writer->Update();
}

} // namespace itk
