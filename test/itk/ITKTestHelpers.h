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
// Helpers shared by the ITK-layer tests.
#ifndef anunet_ITKTestHelpers_h
#define anunet_ITKTestHelpers_h

#include "itkImageRegionIteratorWithIndex.h"
#include "itkMacro.h"

#include <gtest/gtest.h>

#include <functional>
#include <string>

namespace anunet::test
{

/** A file of the shared data (the build tree's ExternalData, or ../shared/data), by its path below the root. */
inline std::string
dataPath(const std::string & relative)
{
  return std::string(ANUNET_DATA_ROOT) + "/" + relative;
}

/** An image of the given size whose pixel at index i is value(i). */
template <typename TImage>
typename TImage::Pointer
makeImage(const typename TImage::SizeType &                                 size,
          const std::function<double(const typename TImage::IndexType &)> & value)
{
  auto image = TImage::New();
  image->SetRegions(typename TImage::RegionType(size));
  image->Allocate();
  for (itk::ImageRegionIteratorWithIndex<TImage> it(image, image->GetBufferedRegion()); !it.IsAtEnd(); ++it)
  {
    it.Set(static_cast<typename TImage::PixelType>(value(it.GetIndex())));
  }
  return image;
}

/** The description of the itk::ExceptionObject that call throws (fails the test if none). */
template <typename TCall>
std::string
errorOf(TCall call)
{
  try
  {
    call();
  }
  catch (const itk::ExceptionObject & e)
  {
    return e.GetDescription();
  }
  ADD_FAILURE() << "no exception";
  return {};
}

} // namespace anunet::test

#endif
