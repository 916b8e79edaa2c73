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
// Segmentation filters in several threads of one process, sharing a model or using different ones.
#include "ITKTestHelpers.h"

#include "itkANUNetImageReader.h"
#include "itkANUNetSegmentationImageFilter.h"
#include "itkImageRegionConstIterator.h"

#include <gtest/gtest.h>

#include <future>
#include <string>
#include <vector>

namespace
{

using VolumeType = itk::ANUNetImageReader::VolumeType;
using LabelImage = itk::Image<unsigned char, 3>;

itk::ANUNetModel::Pointer
committedModel(const std::string & name)
{
  auto model = itk::ANUNetModel::New();
  model->Load(std::string(ANUNET_SOURCE_DIR) + "/data/models/" + name);
  return model;
}

LabelImage::Pointer
segment(const VolumeType * image, itk::ANUNetModel * model, int threads)
{
  auto filter = itk::ANUNetSegmentationImageFilter<VolumeType, LabelImage>::New();
  filter->SetInput(image);
  filter->SetModelInput(model);
  filter->SetNumberOfThreads(threads);
  filter->Update();
  LabelImage::Pointer labels = filter->GetOutput();
  labels->DisconnectPipeline();
  return labels;
}

size_t
differingVoxels(const LabelImage * a, const LabelImage * b)
{
  EXPECT_EQ(a->GetLargestPossibleRegion(), b->GetLargestPossibleRegion());
  size_t                                    differing = 0;
  itk::ImageRegionConstIterator<LabelImage> j(b, b->GetBufferedRegion());
  for (itk::ImageRegionConstIterator<LabelImage> i(a, a->GetBufferedRegion()); !i.IsAtEnd(); ++i, ++j)
  {
    differing += i.Get() != j.Get() ? 1 : 0;
  }
  return differing;
}

struct Job
{
  const VolumeType *  image;
  itk::ANUNetModel *  model;
  int                 threads;
  LabelImage::Pointer alone; ///< the result of the job run by itself
};

} // namespace

TEST(ANUNetConcurrency, FiltersInThreadsEqualOneAtATime)
{
  auto       mr = committedModel("chaos-t2-liver-small.pt");
  auto       ct = committedModel("ircad-ct-liver-small.pt");
  const auto case32 = itk::ANUNetImageReader::ReadVolume(anunet::test::dataPath("chaos-mr-t2/case32_t2.nii.gz"));
  const auto case33 = itk::ANUNetImageReader::ReadVolume(anunet::test::dataPath("chaos-mr-t2/case33_t2.nii.gz"));
  const auto dicom = itk::ANUNetImageReader::ReadVolume(anunet::test::dataPath("chaos-ct-dicom/ct_set3/DICOM_anon"));
  const int  mrThreads = mr->GetModel().numberOfThreads();

  // Two threads on one shared model, then two on different models; each job once alone first. The thread
  // counts differ between the jobs, as they would between two users of one process.
  std::vector<std::vector<Job>> rounds{ { { case32, mr, 1 }, { case33, mr, 2 } },
                                        { { case33, mr, 2 }, { dicom, ct, 1 } } };
  for (auto & round : rounds)
  {
    for (auto & job : round)
    {
      job.alone = segment(job.image, job.model, job.threads);
    }
  }
  for (int repeat = 0; repeat < 2; ++repeat)
  {
    for (size_t r = 0; r < rounds.size(); ++r)
    {
      std::vector<std::future<LabelImage::Pointer>> running;
      for (const auto & job : rounds[r])
      {
        running.push_back(
          std::async(std::launch::async, [&job] { return segment(job.image, job.model, job.threads); }));
      }
      for (size_t j = 0; j < running.size(); ++j)
      {
        const LabelImage::Pointer together = running[j].get();
        // The same code at the same thread count: concurrency must not change a single voxel.
        EXPECT_EQ(differingVoxels(together, rounds[r][j].alone), 0U) << "round " << r << ", job " << j;
      }
    }
  }
  // A filter's thread count is its call's, never the shared model's.
  EXPECT_EQ(mr->GetModel().numberOfThreads(), mrThreads);
}
