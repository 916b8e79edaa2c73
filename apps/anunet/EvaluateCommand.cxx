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
// `anunet evaluate`: Dice, IoU, precision, recall, specificity, volume difference and surface distances of a
// predicted label image against a ground truth, as a table or JSON. The work is done by
// itk::ANUNetSegmentationMetricsImageFilter; this file only reads, dispatches on dimension and prints.
#include "Commands.h"
#include "MetricsJson.h"

#include "itkImageFileReader.h"
#include "itkImageIOBase.h"
#include "itkImageIOFactory.h"
#include "itkImageRegionConstIterator.h"
#include "itkANUNetSegmentationMetricsImageFilter.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <iomanip>
#include <iostream>
#include <memory>
#include <set>
#include <sstream>

namespace
{

struct EvaluateArguments
{
  std::string prediction;
  std::string truth;
  int         label = -1; // -1: every non-zero label present in either image
  bool        json = false;
  bool        perSlice = false;
};

// Labels are read as short: enough for unsigned char and 16-bit label maps below 32768.
using LabelPixel = short;

/** Reads a file's header and returns its number of dimensions; fails with the file's name. */
unsigned int
ImageDimension(const std::string & path)
{
  if (!std::filesystem::exists(path))
  {
    throw anunet::cli::UsageError("cannot read '" + path + "': no such file or folder");
  }
  if (std::filesystem::is_directory(path))
  {
    throw anunet::cli::UsageError("cannot read '" + path + "': it is a folder; give a label image file");
  }
  itk::ImageIOBase::Pointer io =
    itk::ImageIOFactory::CreateImageIO(path.c_str(), itk::ImageIOFactory::FileModeEnum::ReadMode);
  if (!io)
  {
    throw anunet::cli::UsageError("cannot read '" + path + "': no ITK image reader recognises this file");
  }
  io->SetFileName(path);
  try
  {
    io->ReadImageInformation();
  }
  catch (const itk::ExceptionObject & e)
  {
    throw anunet::cli::UsageError("cannot read '" + path + "': " + e.GetDescription());
  }
  const auto component = io->GetComponentType();
  if (component == itk::IOComponentEnum::FLOAT || component == itk::IOComponentEnum::DOUBLE)
  {
    std::cerr << "anunet evaluate: warning: '" << path
              << "' stores floating-point pixels; they are truncated to integer labels\n";
  }
  return io->GetNumberOfDimensions();
}

template <typename TImage>
typename TImage::Pointer
ReadLabels(const std::string & path)
{
  auto reader = itk::ImageFileReader<TImage>::New();
  reader->SetFileName(path);
  try
  {
    reader->Update();
  }
  catch (const itk::ExceptionObject & e)
  {
    throw anunet::cli::UsageError("cannot read '" + path + "': " + e.GetDescription());
  }
  return reader->GetOutput();
}

void
PrintTableHeader(std::ostream & os, const std::string & firstColumn)
{
  os << std::left << std::setw(7) << firstColumn << std::right << std::setw(8) << "dice" << std::setw(8) << "iou"
     << std::setw(10) << "precision" << std::setw(8) << "recall" << std::setw(12) << "specificity" << std::setw(10)
     << "vol.diff" << std::setw(10) << "HD mm" << std::setw(10) << "HD95 mm" << std::setw(10) << "ASSD mm"
     << std::setw(10) << "TP" << std::setw(10) << "FP" << std::setw(10) << "FN" << std::setw(12) << "TN" << '\n';
}

void
PrintTableRow(std::ostream & os, const std::string & firstColumn, const itk::ANUNetSegmentationMetrics & m)
{
  os << std::left << std::setw(7) << firstColumn << std::right << std::fixed << std::setprecision(4) << std::setw(8)
     << m.Dice << std::setw(8) << m.IoU << std::setw(10) << m.Precision << std::setw(8) << m.Recall << std::setw(12)
     << m.Specificity << std::setw(10) << std::setprecision(3) << m.RelativeVolumeDifference << std::setw(10)
     << std::setprecision(2) << m.HausdorffDistance << std::setw(10) << m.HausdorffDistance95 << std::setw(10)
     << m.AverageSymmetricSurfaceDistance << std::setw(10) << m.TruePositives << std::setw(10) << m.FalsePositives
     << std::setw(10) << m.FalseNegatives << std::setw(12) << m.TrueNegatives << '\n';
}

template <unsigned int VDimension>
void
Evaluate(const EvaluateArguments & args)
{
  using ImageType = itk::Image<LabelPixel, VDimension>;
  const auto prediction = ReadLabels<ImageType>(args.prediction);
  const auto truth = ReadLabels<ImageType>(args.truth);
  if (args.label >= 0)
  {
    // Two empty masks score a perfect Dice: a label neither image holds (a typo) would pass unnoticed.
    std::set<long> present;
    for (const ImageType * image : { prediction.GetPointer(), truth.GetPointer() })
    {
      for (itk::ImageRegionConstIterator<ImageType> it(image, image->GetBufferedRegion()); !it.IsAtEnd(); ++it)
      {
        present.insert(static_cast<long>(it.Get()));
      }
    }
    if (present.count(args.label) == 0)
    {
      std::ostringstream labels;
      for (const long label : present)
      {
        labels << (labels.tellp() > 0 ? ", " : "") << label;
      }
      throw anunet::cli::UsageError("--label " + std::to_string(args.label) + ": neither '" + args.prediction +
                                    "' nor '" + args.truth + "' holds it (their labels: " + labels.str() + ")");
    }
  }

  auto filter = itk::ANUNetSegmentationMetricsImageFilter<ImageType>::New();
  filter->SetPredictionImage(prediction);
  filter->SetGroundTruthImage(truth);
  if (args.label >= 0)
  {
    filter->SetLabel(static_cast<LabelPixel>(args.label));
  }
  if (args.perSlice && VDimension < 3)
  {
    throw anunet::cli::UsageError("--per-slice needs 3-D images; '" + args.prediction + "' is 2-D");
  }
  filter->SetPerSlice(args.perSlice);
  try
  {
    filter->Update();
  }
  catch (const itk::ExceptionObject & e)
  {
    throw anunet::cli::UsageError("prediction '" + args.prediction + "' against ground truth '" + args.truth +
                                  "': " + e.GetDescription());
  }

  if (args.json)
  {
    nlohmann::json labels = nlohmann::json::object();
    for (const auto label : filter->GetLabels())
    {
      nlohmann::json entry = anunet::cli::metricsToJson(filter->GetMetrics(label));
      if (args.perSlice)
      {
        nlohmann::json slices = nlohmann::json::array();
        for (const auto & slice : filter->GetSliceMetrics(label))
        {
          slices.push_back(anunet::cli::metricsToJson(slice));
        }
        entry["slices"] = std::move(slices);
      }
      labels[std::to_string(label)] = std::move(entry);
    }
    nlohmann::json output = { { "prediction", args.prediction },
                              { "truth", args.truth },
                              { "spacing",
                                std::vector<double>(truth->GetSpacing().Begin(), truth->GetSpacing().End()) },
                              { "labels", labels } };
    if (filter->GetLabels().size() == 1)
    {
      // One label: its measures also at the top level, so that `.dice` works without knowing the label.
      const auto label = filter->GetLabels().front();
      output["label"] = label;
      output.update(anunet::cli::metricsToJson(filter->GetMetrics(label)));
    }
    std::cout << output.dump(2) << '\n';
    return;
  }

  std::cout << "prediction: " << args.prediction << "\nground truth: " << args.truth << "\nspacing:";
  for (unsigned int d = 0; d < VDimension; ++d)
  {
    std::cout << ' ' << truth->GetSpacing()[d];
  }
  std::cout << " mm (vol.diff = (|A|-|G|)/|G|; distances: inf = one mask empty)\n\n";
  PrintTableHeader(std::cout, "label");
  for (const auto label : filter->GetLabels())
  {
    PrintTableRow(std::cout, std::to_string(label), filter->GetMetrics(label));
  }
  if (args.perSlice)
  {
    for (const auto label : filter->GetLabels())
    {
      std::cout << "\nlabel " << label << " per slice (index along the last axis)\n";
      PrintTableHeader(std::cout, "slice");
      const auto & slices = filter->GetSliceMetrics(label);
      const auto   first = prediction->GetLargestPossibleRegion().GetIndex(VDimension - 1);
      for (size_t k = 0; k < slices.size(); ++k)
      {
        PrintTableRow(std::cout, std::to_string(first + static_cast<itk::IndexValueType>(k)), slices[k]);
      }
    }
  }
}

} // namespace

void
anunet::cli::addEvaluateCommand(CLI::App & app)
{
  auto       args = std::make_shared<EvaluateArguments>();
  CLI::App * cmd = app.add_subcommand(
    "evaluate",
    "Dice, IoU, precision, recall, specificity, volume difference, Hausdorff distance and HD95 of a label image "
    "against a ground truth (same grid). With one label the JSON also has its measures at the top level; "
    "infinite distances (one mask empty) are written as null");
  cmd->add_option("--prediction", args->prediction, "Predicted label image (any format ITK reads)")->required();
  cmd->add_option("--truth", args->truth, "Ground-truth label image on the same grid")->required();
  cmd->add_option("--label", args->label, "Evaluate only this label (default: every non-zero label in either image)")
    ->check(CLI::Range(0, 32767));
  cmd->add_flag("--json", args->json, "Print a JSON object instead of a table");
  cmd->add_flag("--per-slice", args->perSlice, "Also report every slice along the last axis (3-D images)");
  cmd->callback([args]() {
    const unsigned int dimension = std::max(ImageDimension(args->prediction), ImageDimension(args->truth));
    if (dimension == 2)
    {
      Evaluate<2>(*args);
    }
    else if (dimension == 3)
    {
      Evaluate<3>(*args);
    }
    else
    {
      throw UsageError("'" + args->prediction + "' and '" + args->truth +
                       "': only 2-D and 3-D images are supported, not " + std::to_string(dimension) + "-D");
    }
  });
}
