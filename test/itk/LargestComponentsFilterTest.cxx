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
// Tests of itk::ANUNetLargestComponentsImageFilter: counts per label and from a label mapping on synthetic
// images, and on a real CHAOS label volume with stray islands added.
#include "itkANUNetLargestComponentsImageFilter.h"

#include "ITKTestHelpers.h"

#include "itkImageDuplicator.h"
#include "itkImageFileReader.h"
#include "itkImageRegionConstIterator.h"
#include "itkImageRegionIterator.h"

#include <gtest/gtest.h>

namespace
{
using LabelImage = itk::Image<unsigned char, 3>;
using ComponentsFilter = itk::ANUNetLargestComponentsImageFilter<LabelImage>;

/** Voxels of each value 0..255. */
std::array<size_t, 256>
histogram(const LabelImage * image)
{
  std::array<size_t, 256> counts{};
  for (itk::ImageRegionConstIterator<LabelImage> it(image, image->GetBufferedRegion()); !it.IsAtEnd(); ++it)
  {
    ++counts[it.Get()];
  }
  return counts;
}

/** Label 1: a 4 x 4 x 4 block and a 2 x 2 x 2 one apart from it; label 2: a 3 x 3 x 3 block and a single voxel. */
LabelImage::Pointer
twoLabelsWithIslands()
{
  return anunet::test::makeImage<LabelImage>({ { 20, 20, 10 } }, [](const LabelImage::IndexType & i) {
    const auto inside = [&](int x0, int y0, int z0, int edge) {
      return i[0] >= x0 && i[0] < x0 + edge && i[1] >= y0 && i[1] < y0 + edge && i[2] >= z0 && i[2] < z0 + edge;
    };
    if (inside(1, 1, 1, 4) || inside(10, 10, 5, 2))
    {
      return 1;
    }
    if (inside(14, 2, 2, 3) || inside(2, 15, 8, 1))
    {
      return 2;
    }
    return 0;
  });
}

TEST(ANUNetLargestComponents, KeepsTheLargestComponentOfEachLabel)
{
  auto filter = ComponentsFilter::New();
  filter->SetInput(twoLabelsWithIslands());
  filter->Update();
  const auto counts = histogram(filter->GetOutput());
  EXPECT_EQ(counts[1], 64U);
  EXPECT_EQ(counts[2], 27U);
  EXPECT_EQ(filter->GetRemovedPixels().at(1), 8U);
  EXPECT_EQ(filter->GetRemovedPixels().at(2), 1U);
  EXPECT_EQ(counts[0], 20U * 20U * 10U - 64U - 27U);
}

TEST(ANUNetLargestComponents, CountsPerLabelAndFromALabelMapping)
{
  auto filter = ComponentsFilter::New();
  filter->SetInput(twoLabelsWithIslands());
  filter->SetNumberOfComponents(2, 2);
  filter->Update();
  EXPECT_EQ(histogram(filter->GetOutput())[1], 64U);
  EXPECT_EQ(histogram(filter->GetOutput())[2], 28U);

  // Class 1 is one source label, class 2 merges two (as the CHAOS kidneys): 1 and 2 components.
  anunet::LabelMapping mapping;
  mapping.classes = { { 7 }, { 2, 3 } };
  mapping.names = { "a", "b" };
  filter->SetNumberOfComponents(2, 1);
  filter->SetComponentsFromLabelMapping(mapping);
  EXPECT_EQ(filter->GetNumberOfComponents(1), 1U);
  EXPECT_EQ(filter->GetNumberOfComponents(2), 2U);
  filter->Update();
  EXPECT_EQ(histogram(filter->GetOutput())[2], 28U);

  // 0 keeps every component.
  filter->SetNumberOfComponents(1, 0);
  filter->Update();
  EXPECT_EQ(histogram(filter->GetOutput())[1], 72U);

  // A diagonal neighbour joins a component only when fully connected.
  auto diagonal = anunet::test::makeImage<LabelImage>({ { 6, 6, 3 } }, [](const LabelImage::IndexType & i) {
    return (i[0] <= 1 && i[1] <= 1 && i[2] == 0) || (i[0] == 2 && i[1] == 2 && i[2] == 0) ? 1 : 0;
  });
  auto corners = ComponentsFilter::New();
  corners->SetInput(diagonal);
  corners->Update();
  EXPECT_EQ(histogram(corners->GetOutput())[1], 4U);
  corners->FullyConnectedOn();
  corners->Update();
  EXPECT_EQ(histogram(corners->GetOutput())[1], 5U);
}

TEST(ANUNetLargestComponents, RemovesIslandsFromARealKidneyMaskAndNothingElse)
{
  auto reader = itk::ImageFileReader<LabelImage>::New();
  reader->SetFileName(anunet::test::dataPath("chaos-mr-t2/case01_labels.nii.gz"));
  reader->Update();
  // The kidneys as one class (labels 2 and 3 -> 1), as the kidney task trains them.
  auto truth = anunet::test::makeImage<LabelImage>(reader->GetOutput()->GetLargestPossibleRegion().GetSize(),
                                                   [&](const LabelImage::IndexType & i) {
                                                     const auto v = reader->GetOutput()->GetPixel(i);
                                                     return v == 2 || v == 3 ? 1 : 0;
                                                   });
  truth->CopyInformation(reader->GetOutput());
  auto withIslands = itk::ImageDuplicator<LabelImage>::New();
  withIslands->SetInputImage(truth);
  withIslands->Update();
  auto noisy = withIslands->GetOutput();
  // Three small islands in corners of the volume, far from both kidneys.
  size_t added = 0;
  for (const LabelImage::IndexType corner : { LabelImage::IndexType{ { 2, 2, 1 } },
                                              LabelImage::IndexType{ { 250, 3, 10 } },
                                              LabelImage::IndexType{ { 5, 248, 20 } } })
  {
    for (int dx = 0; dx < 3; ++dx)
    {
      for (int dy = 0; dy < 3; ++dy)
      {
        auto index = corner;
        index[0] += dx;
        index[1] += dy;
        ASSERT_EQ(truth->GetPixel(index), 0);
        noisy->SetPixel(index, 1);
        ++added;
      }
    }
  }
  anunet::LabelMapping kidneys;
  kidneys.classes = { { 2, 3 } };
  // The ground truth may hold islands of its own (labels resampled across 7.7 mm slices): the islands added
  // must go, and nothing else may change.
  auto clean = ComponentsFilter::New();
  clean->SetInput(truth);
  clean->SetComponentsFromLabelMapping(kidneys);
  clean->Update();
  const size_t kidneyVoxels = histogram(truth)[1];
  EXPECT_LT(clean->GetRemovedPixels().at(1), kidneyVoxels / 100);

  auto filter = ComponentsFilter::New();
  filter->SetInput(noisy);
  filter->SetComponentsFromLabelMapping(kidneys);
  filter->Update();
  EXPECT_EQ(filter->GetRemovedPixels().at(1), added + clean->GetRemovedPixels().at(1));
  itk::ImageRegionConstIterator<LabelImage> expected(clean->GetOutput(), truth->GetBufferedRegion());
  size_t                                    differ = 0;
  for (itk::ImageRegionConstIterator<LabelImage> it(filter->GetOutput(), truth->GetBufferedRegion()); !it.IsAtEnd();
       ++it, ++expected)
  {
    differ += it.Get() != expected.Get() ? 1 : 0;
  }
  EXPECT_EQ(differ, 0U);
  EXPECT_EQ(filter->GetOutput()->GetSpacing(), truth->GetSpacing());
  EXPECT_EQ(filter->GetOutput()->GetDirection(), truth->GetDirection());

  // With one component, one of the two kidneys goes.
  filter->SetNumberOfComponents(1, 1);
  filter->Update();
  EXPECT_GT(filter->GetRemovedPixels().at(1), added + kidneyVoxels / 4);
}

} // namespace
