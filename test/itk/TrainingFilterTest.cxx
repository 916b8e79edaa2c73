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
// itk::ANUNetTrainingFilter on a real CHAOS MR T2 case, driven through its ITK-style setters (what ITK Python
// sees), with an observer per epoch; and the model and metrics accessors that stand in for structs in Python.
#include "ITKTestHelpers.h"
#include "itkANUNetTrainingFilter.h"
#include "itkImageFileReader.h"
#include "itkANUNetSegmentationMetricsImageFilter.h"

#include <gtest/gtest.h>

#include <filesystem>

namespace
{
namespace fs = std::filesystem;
using Volume = itk::Image<float, 3>;
using LabelVolume = itk::Image<unsigned char, 3>;
using TrainingFilter = itk::ANUNetTrainingFilter<Volume, LabelVolume>;

std::string
dataPath(const std::string & relative)
{
  return std::string(ANUNET_DATA_ROOT) + "/" + relative;
}
} // namespace

TEST(ANUNetTrainingFilter, TrainsThroughItkStyleSettersAndReportsEachEpoch)
{
  const fs::path out = fs::path(ANUNET_TEST_TEMP) / "TrainingFilter";
  fs::remove_all(out);
  auto image = itk::ReadImage<Volume>(dataPath("chaos-mr-t2/case01_t2.nii.gz"));
  auto labels = itk::ReadImage<LabelVolume>(dataPath("chaos-mr-t2/case01_labels.nii.gz"));

  auto filter = TrainingFilter::New();
  filter->AddCase(image, labels, "01");
  filter->AddCase(image, labels, "01-validation", true);
  filter->SetArchitecture("unetpp");
  // CHAOS's labels: the liver is 1; the kidneys and the spleen (2, 3, 4) are background for this task.
  filter->SetLabels("labels=1;background=2,3,4");
  filter->SetNumberOfBaseFilters(4);
  filter->SetNetworkSize(32, 32);
  filter->SetNumberOfEpochs(2);
  filter->SetIterationsPerEpoch(2);
  filter->SetBatchSize(2);
  filter->SetLearningRate(0.01);
  filter->SetSeed(5);
  filter->SetNumberOfThreads(2);
  filter->SetOutputDirectory(out.string());
  EXPECT_EQ(filter->GetArchitecture(), "unetpp");
  EXPECT_EQ(filter->GetOptions().network.filters, (std::vector<int>{ 4, 8, 16, 32, 64 }));
  EXPECT_EQ(filter->GetOptions().preprocessing.width, 32);
  EXPECT_EQ(filter->GetNumberOfEpochs(), 2);
  EXPECT_EQ(filter->GetLoss(), "hybrid");
  EXPECT_EQ(filter->GetLabels(), "labels=1;background=2,3,4");
  EXPECT_NE(anunet::test::errorOf([&] { filter->SetLabels("labels=1;background=1"); }).find("background=1"),
            std::string::npos);
  EXPECT_NE(anunet::test::errorOf([&] { filter->SetArchitecture("vnet"); }).find("vnet"), std::string::npos);

  unsigned int epochs = 0;
  filter->AddObserver(itk::IterationEvent(), [&](const itk::EventObject &) { ++epochs; });
  filter->Update();

  EXPECT_EQ(epochs, 2u);
  ASSERT_EQ(filter->GetNumberOfTrainedEpochs(), 2u);
  EXPECT_GT(filter->GetEpochLoss(1), 0.0);
  EXPECT_GE(filter->GetEpochValidationDice(1), 0.0);
  EXPECT_LE(filter->GetEpochValidationDice(1), 1.0);
  EXPECT_THROW(filter->GetEpochLoss(2), itk::ExceptionObject);
  EXPECT_TRUE(fs::is_regular_file(out / "last.pt"));

  const itk::ANUNetModel * model = filter->GetOutput();
  EXPECT_EQ(model->GetArchitecture(), "unetpp");
  EXPECT_EQ(model->GetMaximumLevel(), 4);
  EXPECT_LT(model->GetNumberOfParameters(1), model->GetNumberOfParameters(4));
  EXPECT_EQ(model->GetNumberOfParameters(0), model->GetModel().parameterCount(0));
  EXPECT_THROW(itk::ANUNetModel::New()->GetArchitecture(), itk::ExceptionObject);

  // A three-class mapping needs four network outputs (softmax with background): said before any training.
  auto options = filter->GetOptions();
  options.preprocessing.labels = anunet::LabelMapping::parse("labels=1,2+3,4");
  filter->SetOptions(options);
  const std::string message = anunet::test::errorOf([&] { filter->Update(); });
  EXPECT_NE(message.find("needs 4 output(s)"), std::string::npos) << message;
}

TEST(ANUNetSegmentationMetrics, PerMeasureGettersEqualTheStruct)
{
  auto truth = itk::ReadImage<LabelVolume>(dataPath("chaos-mr-t2/case33_labels.nii.gz"));
  auto metrics = itk::ANUNetSegmentationMetricsImageFilter<LabelVolume>::New();
  metrics->SetPredictionImage(truth);
  metrics->SetGroundTruthImage(truth);
  metrics->Update();
  ASSERT_EQ(metrics->GetNumberOfEvaluatedLabels(), metrics->GetLabels().size());
  for (unsigned int i = 0; i < metrics->GetNumberOfEvaluatedLabels(); ++i)
  {
    const auto label = metrics->GetEvaluatedLabel(i);
    EXPECT_EQ(label, metrics->GetLabels()[i]);
    EXPECT_EQ(metrics->GetDice(label), metrics->GetMetrics(label).Dice);
    EXPECT_EQ(metrics->GetRecall(label), metrics->GetMetrics(label).Recall);
    EXPECT_EQ(metrics->GetHausdorffDistance95(label), metrics->GetMetrics(label).HausdorffDistance95);
    EXPECT_EQ(metrics->GetDice(label), 1.0);
    EXPECT_EQ(metrics->GetHausdorffDistance95(label), 0.0);
  }
  EXPECT_THROW(metrics->GetEvaluatedLabel(metrics->GetNumberOfEvaluatedLabels()), itk::ExceptionObject);
  EXPECT_THROW(metrics->GetDice(200), itk::ExceptionObject);
}
