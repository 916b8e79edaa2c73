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
// SegmentStudy: a study (DICOM series folder, or any image file ITK reads) -> CT intensity window -> ANU-Net
// -> label image on the study's grid, and Dice / IoU / precision / recall against a ground truth. Built by
// examples/downstream/CMakeLists.txt against an installed ANUNet; nothing here sees a LibTorch header.
//
//   SegmentStudy <study> <model.pt> <output.nii.gz> <groundTruth> [windowMinimum windowMaximum]
#include "itkANUNetSegmentationImageFilter.h"
#include "itkGDCMImageIO.h"
#include "itkGDCMSeriesFileNames.h"
#include "itkImageFileReader.h"
#include "itkImageFileWriter.h"
#include "itkImageSeriesReader.h"
#include "itkIntensityWindowingImageFilter.h"
#include "itkANUNetSegmentationMetricsImageFilter.h"
#include "itksys/SystemTools.hxx"

#include <cstdlib>
#include <iostream>

using ImageType = itk::Image<float, 3>;
using LabelType = itk::Image<unsigned char, 3>;

namespace
{
ImageType::Pointer
readStudy(const std::string & path)
{
  if (!itksys::SystemTools::FileIsDirectory(path))
  {
    return itk::ReadImage<ImageType>(path);
  }
  auto names = itk::GDCMSeriesFileNames::New();
  names->SetDirectory(path);
  if (names->GetSeriesUIDs().empty())
  {
    itkGenericExceptionMacro("no DICOM series in " << path);
  }
  auto reader = itk::ImageSeriesReader<ImageType>::New();
  reader->SetImageIO(itk::GDCMImageIO::New());
  reader->SetFileNames(names->GetFileNames(names->GetSeriesUIDs().front()));
  reader->Update();
  return reader->GetOutput();
}
} // namespace

int
main(int argc, char * argv[])
{
  if (argc != 5 && argc != 7)
  {
    std::cerr << "Usage: " << argv[0] << " <study> <model.pt> <output.nii.gz> <groundTruth> [windowMin windowMax]\n";
    return EXIT_FAILURE;
  }
  try
  {
    auto window = itk::IntensityWindowingImageFilter<ImageType, ImageType>::New();
    window->SetInput(readStudy(argv[1]));
    window->SetWindowMinimum(argc == 7 ? std::stof(argv[5]) : -200.0F);
    window->SetWindowMaximum(argc == 7 ? std::stof(argv[6]) : 200.0F);
    window->SetOutputMinimum(0.0F);
    window->SetOutputMaximum(1.0F);

    // The window is applied above, so the network takes its input as it comes.
    auto model = itk::ANUNetModel::New();
    model->Load(argv[2]);
    anunet::Preprocessing preprocessing = model->GetModel().preprocessing();
    preprocessing.intensity.method = anunet::IntensityNormalization::Method::None;
    model->GetModel().setPreprocessing(preprocessing);

    auto segment = itk::ANUNetSegmentationImageFilter<ImageType, LabelType>::New();
    segment->SetInput(window->GetOutput());
    segment->SetModelInput(model);
    segment->SetNumberOfThreads(2);
    itk::WriteImage(segment->GetOutput(), argv[3], true);

    auto metrics = itk::ANUNetSegmentationMetricsImageFilter<LabelType>::New();
    metrics->SetPredictionImage(segment->GetOutput());
    metrics->SetGroundTruthImage(itk::ReadImage<LabelType>(argv[4]));
    metrics->SetLabel(1);
    metrics->SetCoordinateTolerance(1e-3); // NRRD/NIfTI keep positions in less precision than DICOM
    metrics->SetDirectionTolerance(1e-3);
    metrics->Update();
    const auto & m = metrics->GetMetrics(1);
    std::cout << "Dice " << m.Dice << ", IoU " << m.IoU << ", precision " << m.Precision << ", recall " << m.Recall
              << '\n';
  }
  catch (const std::exception & e)
  {
    std::cerr << "SegmentStudy: " << e.what() << '\n';
    return EXIT_FAILURE;
  }
  return EXIT_SUCCESS;
}
