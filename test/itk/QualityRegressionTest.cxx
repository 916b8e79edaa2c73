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
// Quality regression through the ITK filters: every case of test/quality/cases.json is segmented by its
// committed model and compared with the committed baseline label image and the metrics recorded in
// test/quality/metrics.json (test/quality/README.md gives the tolerances and why). The tool and the Python
// module run the same cases in test/quality.
#include "ITKTestHelpers.h"

#include "itkANUNetImageReader.h"
#include "itkANUNetModel.h"
#include "itkANUNetSegmentationImageFilter.h"
#include "itkImageFileReader.h"
#include "itkImageRegionConstIterator.h"
#include "itkImageRegionIterator.h"
#include "itkANUNetSegmentationMetricsImageFilter.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>

namespace
{
using VolumeType = itk::ANUNetImageReader::VolumeType;
using LabelImage = itk::Image<unsigned char, 3>;
using Json = nlohmann::json;

Json
readJson(const std::string & relative)
{
  std::ifstream in(std::string(ANUNET_SOURCE_DIR) + "/" + relative);
  return Json::parse(in);
}

/** A label image on grid's geometry with 1 where source's value is one of labels. */
template <typename TImage>
LabelImage::Pointer
maskOf(const TImage * source, const std::vector<int> & labels, const VolumeType * grid)
{
  auto mask = LabelImage::New();
  mask->CopyInformation(grid);
  mask->SetRegions(grid->GetLargestPossibleRegion());
  mask->Allocate();
  itk::ImageRegionConstIterator<TImage> in(source, source->GetLargestPossibleRegion());
  for (itk::ImageRegionIterator<LabelImage> out(mask, mask->GetBufferedRegion()); !out.IsAtEnd(); ++out, ++in)
  {
    const auto value = static_cast<int>(std::lround(in.Get()));
    out.Set(std::find(labels.begin(), labels.end(), value) != labels.end() ? 1 : 0);
  }
  return mask;
}

/** The ground truth: one label file on the image's grid, or PNG slices in the volume's slice order. */
LabelImage::Pointer
readTruth(const Json & c, const VolumeType * image)
{
  const auto files = c.at("truth").get<std::vector<std::string>>();
  const auto labels = c.at("truth_labels").get<std::vector<int>>();
  if (files.size() == 1)
  {
    auto reader = itk::ImageFileReader<VolumeType>::New();
    reader->SetFileName(anunet::test::dataPath(files[0]));
    reader->Update();
    EXPECT_EQ(reader->GetOutput()->GetLargestPossibleRegion().GetSize(), image->GetLargestPossibleRegion().GetSize());
    return maskOf(reader->GetOutput(), labels, image);
  }
  auto stacked = VolumeType::New();
  stacked->CopyInformation(image);
  stacked->SetRegions(image->GetLargestPossibleRegion());
  stacked->Allocate();
  EXPECT_EQ(files.size(), image->GetLargestPossibleRegion().GetSize()[2]);
  itk::ImageRegionIterator<VolumeType> out(stacked, stacked->GetBufferedRegion());
  for (const auto & file : files)
  {
    auto slice = itk::ANUNetImageReader::ReadSlice(anunet::test::dataPath(file));
    for (itk::ImageRegionConstIterator<itk::ANUNetImageReader::SliceType> in(slice, slice->GetBufferedRegion());
         !in.IsAtEnd();
         ++in, ++out)
    {
      out.Set(in.Get());
    }
  }
  return maskOf(stacked.GetPointer(), labels, image);
}

TEST(ANUNetQuality, CommittedModelsMatchTheirBaselinesOnRealImages)
{
  const Json   cases = readJson("test/quality/cases.json");
  const Json   recorded = readJson("test/quality/metrics.json").at("cases");
  const double voxelTolerance = cases.at("tolerance").at("differing_voxel_fraction").get<double>();
  const double metricTolerance = cases.at("tolerance").at("metric").get<double>();
  ASSERT_GE(cases.at("cases").size(), 4U);
  for (const auto & c : cases.at("cases"))
  {
    const std::string name = c.at("name").get<std::string>();
    SCOPED_TRACE(name);
    auto model = itk::ANUNetModel::New();
    model->Load(std::string(ANUNET_SOURCE_DIR) + "/" + c.at("model").get<std::string>());
    const auto image = itk::ANUNetImageReader::ReadVolume(anunet::test::dataPath(c.at("image").get<std::string>()));

    auto filter = itk::ANUNetSegmentationImageFilter<VolumeType, LabelImage>::New();
    filter->SetInput(image);
    filter->SetModelInput(model);
    filter->SetNumberOfThreads(2);
    filter->Update();
    const LabelImage * labels = filter->GetOutput();

    if (!c.at("baseline").is_null())
    {
      auto baseline = itk::ImageFileReader<LabelImage>::New();
      baseline->SetFileName(std::string(ANUNET_SOURCE_DIR) + "/" + c.at("baseline").get<std::string>());
      baseline->Update();
      ASSERT_EQ(baseline->GetOutput()->GetLargestPossibleRegion(), labels->GetLargestPossibleRegion());
      size_t                                    differing = 0;
      itk::ImageRegionConstIterator<LabelImage> expected(baseline->GetOutput(), labels->GetBufferedRegion());
      for (itk::ImageRegionConstIterator<LabelImage> it(labels, labels->GetBufferedRegion()); !it.IsAtEnd();
           ++it, ++expected)
      {
        differing += it.Get() != expected.Get() ? 1 : 0;
      }
      const double fraction =
        static_cast<double>(differing) / static_cast<double>(labels->GetBufferedRegion().GetNumberOfPixels());
      EXPECT_LE(fraction, voxelTolerance) << differing << " voxels differ from the baseline";
    }

    auto metrics = itk::ANUNetSegmentationMetricsImageFilter<LabelImage>::New();
    metrics->SetPredictionImage(labels);
    metrics->SetGroundTruthImage(readTruth(c, image));
    metrics->SetLabel(1);
    metrics->SetComputeSurfaceDistances(false);
    metrics->Update();
    const auto & m = metrics->GetMetrics(1);
    const Json & r = recorded.at(name);
    EXPECT_NEAR(m.Dice, r.at("dice").get<double>(), metricTolerance);
    EXPECT_NEAR(m.IoU, r.at("iou").get<double>(), metricTolerance);
    EXPECT_NEAR(m.Precision, r.at("precision").get<double>(), metricTolerance);
    EXPECT_NEAR(m.Recall, r.at("recall").get<double>(), metricTolerance);
  }
}

} // namespace
