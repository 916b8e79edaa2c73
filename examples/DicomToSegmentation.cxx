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
// DicomToSegmentation: a CT DICOM series in, a liver (or any trained structure) label image out, as an ITK
// pipeline: GDCM series reader -> intensity window -> ANU-Net segmentation -> NIfTI writer, and Dice, IoU,
// precision, recall and HD95 against a ground truth when one is given.
//
//   DicomToSegmentation <dicomDirectory> <model.pt> <output.nii.gz> [groundTruth|- [level [threads]]]
//
// groundTruth is a label image file or a DICOM mask series (any value > 0 is foreground); "-" for none.
// threads: LibTorch threads (default 0 = all hardware threads).
#include "itkANUNetImageReader.h"
#include "itkANUNetModel.h"
#include "itkANUNetSegmentationImageFilter.h"
#include "itkBinaryThresholdImageFilter.h"
#include "itkGDCMImageIO.h"
#include "itkGDCMSeriesFileNames.h"
#include "itkImageFileWriter.h"
#include "itkImageSeriesReader.h"
#include "itkIntensityWindowingImageFilter.h"
#include "itkANUNetSegmentationMetricsImageFilter.h"

#include <cstdlib>
#include <iostream>
#include <string>

int
main(int argc, char * argv[])
{
  if (argc < 4 || argc > 7)
  {
    std::cerr << "Usage: " << argv[0]
              << " <dicomDirectory> <model.pt> <output.nii.gz> [groundTruth|- [level [threads]]]\n";
    return EXIT_FAILURE;
  }
  const std::string dicomDirectory = argv[1];
  const std::string modelFile = argv[2];
  const std::string outputFile = argv[3];
  const std::string groundTruthPath = argc > 4 && std::string(argv[4]) != "-" ? argv[4] : "";
  const int         level = argc > 5 ? std::atoi(argv[5]) : 0;
  const int         threads = argc > 6 ? std::atoi(argv[6]) : 0;

  using ImageType = itk::Image<float, 3>;
  using LabelImageType = itk::Image<unsigned char, 3>;
  // An application's choice, made once at start: LibTorch's CPU settings that the library leaves alone.
  anunet::configureCpuRuntime();
  try
  {
    // 1. The DICOM series (HU after GDCM applies the rescale slope and intercept).
    auto names = itk::GDCMSeriesFileNames::New();
    names->SetUseSeriesDetails(true);
    names->SetDirectory(dicomDirectory);
    const std::vector<std::string> & series = names->GetSeriesUIDs();
    if (series.empty())
    {
      std::cerr << "No DICOM series in " << dicomDirectory << '\n';
      return EXIT_FAILURE;
    }
    if (series.size() > 1)
    {
      std::cerr << dicomDirectory << " holds " << series.size() << " series; using " << series.front() << '\n';
    }
    auto reader = itk::ImageSeriesReader<ImageType>::New();
    reader->SetImageIO(itk::GDCMImageIO::New());
    reader->SetFileNames(names->GetFileNames(series.front()));

    // 2. The model. Its checkpoint records the intensity window it was trained with; apply that window with
    //    ITK's filter here, and tell the model that its input is already normalised, so that the window is not
    //    applied a second time inside the segmentation filter.
    auto model = itk::ANUNetModel::New();
    model->Load(modelFile);
    anunet::Preprocessing preprocessing = model->GetModel().preprocessing();
    double                windowMinimum = -200.0;
    double                windowMaximum = 200.0;
    if (preprocessing.intensity.method == anunet::IntensityNormalization::Method::Window)
    {
      windowMinimum = preprocessing.intensity.windowMinimum;
      windowMaximum = preprocessing.intensity.windowMaximum;
    }
    else
    {
      std::cerr << "The model records '" << anunet::toString(preprocessing.intensity.method)
                << "' normalisation, not a CT window; windowing [-200, 200] HU as for liver CT\n";
    }
    preprocessing.intensity.method = anunet::IntensityNormalization::Method::None;
    model->GetModel().setPreprocessing(preprocessing);
    model->Modified();

    auto window = itk::IntensityWindowingImageFilter<ImageType, ImageType>::New();
    window->SetInput(reader->GetOutput());
    window->SetWindowMinimum(windowMinimum);
    window->SetWindowMaximum(windowMaximum);
    window->SetOutputMinimum(0.0f);
    window->SetOutputMaximum(1.0f);

    // 3. Segmentation on the input's grid.
    auto segmentation = itk::ANUNetSegmentationImageFilter<ImageType, LabelImageType>::New();
    segmentation->SetInput(window->GetOutput());
    segmentation->SetModelInput(model);
    segmentation->SetLevel(level);
    segmentation->SetNumberOfThreads(threads);

    // 4. NIfTI out.
    auto writer = itk::ImageFileWriter<LabelImageType>::New();
    writer->SetInput(segmentation->GetOutput());
    writer->SetFileName(outputFile);
    writer->UseCompressionOn();
    writer->Update();
    const auto size = segmentation->GetOutput()->GetLargestPossibleRegion().GetSize();
    std::cout << "Segmented " << series.front() << ": " << size[0] << " x " << size[1] << " x " << size[2]
              << " voxels, window [" << windowMinimum << ", " << windowMaximum << "], level " << level << " -> "
              << outputFile << '\n';

    // 5. Agreement with the ground truth.
    if (!groundTruthPath.empty())
    {
      auto truth = itk::BinaryThresholdImageFilter<ImageType, LabelImageType>::New();
      truth->SetInput(itk::ANUNetImageReader::ReadVolume(groundTruthPath));
      truth->SetLowerThreshold(0.5f);
      truth->SetInsideValue(1);
      truth->SetOutsideValue(0);

      auto metrics = itk::ANUNetSegmentationMetricsImageFilter<LabelImageType>::New();
      metrics->SetPredictionImage(segmentation->GetOutput());
      metrics->SetGroundTruthImage(truth->GetOutput());
      metrics->SetLabel(1);
      // Ground truth often comes in another format (NRRD, NIfTI) that stores positions in less precision than
      // DICOM; ITK's default tolerance (1e-6 of a voxel) would reject the same grid.
      metrics->SetCoordinateTolerance(1e-3);
      metrics->SetDirectionTolerance(1e-3);
      metrics->Update();
      const itk::ANUNetSegmentationMetrics & liver = metrics->GetMetrics(1);
      std::cout << "Dice: " << liver.Dice << '\n';
      std::cout << "IoU: " << liver.IoU << '\n';
      std::cout << "Precision: " << liver.Precision << ", recall: " << liver.Recall << '\n';
      std::cout << "HD95: " << liver.HausdorffDistance95 << " mm\n";
    }
  }
  catch (const itk::ExceptionObject & e)
  {
    std::cerr << "Error: " << e.GetDescription() << '\n';
    return EXIT_FAILURE;
  }
  return EXIT_SUCCESS;
}
