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
#include "Commands.h"
#include "OutputFiles.h"
#include "Progress.h"
#include "Segmentation.h"

#include "itkANUNetImageReader.h"
#include "itkANUNetModel.h"
#include "itkImageRegionConstIterator.h"

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <memory>
#include <sstream>

namespace anunet::cli
{
namespace
{

struct SegmentArguments
{
  std::string          model;
  std::string          input;
  std::string          output;
  std::string          seriesUid;
  SegmentationSettings settings;
};

/** Formats whose pixels live in a second file named inside the header: renaming the header alone would break it. */
void
requireSingleFileFormat(const std::string & path)
{
  std::string lower = path;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  for (const std::string twoFile : { ".mhd", ".nhdr", ".hdr" })
  {
    if (lower.size() >= twoFile.size() && lower.compare(lower.size() - twoFile.size(), twoFile.size(), twoFile) == 0)
    {
      throw UsageError("--output '" + path + "': " + twoFile +
                       " keeps the pixels in a second file; use a single-file format such as .nii.gz, .nrrd or .mha");
    }
  }
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (!parent.empty() && !std::filesystem::is_directory(parent))
  {
    throw UsageError("--output '" + path + "': the folder '" + parent.string() + "' does not exist");
  }
}

template <typename TImage>
std::string
describe(const TImage * image)
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

template <unsigned int VDimension, typename TOutputPixel>
void
segment(const SegmentArguments & args, const itk::ANUNetModel * model, itk::Image<float, VDimension> * image)
{
  using InputImageType = itk::Image<float, VDimension>;
  using OutputImageType = itk::Image<TOutputPixel, VDimension>;
  ProgressBar                       bar("segment");
  typename OutputImageType::Pointer output;
  try
  {
    output =
      runSegmentation<OutputImageType>(image, model, args.settings, [&bar](float progress) { bar.update(progress); });
  }
  catch (const itk::ExceptionObject & e)
  {
    throw std::runtime_error(args.input + ": " + e.GetDescription());
  }
  bar.finish();
  writeImageFile(output.GetPointer(), args.output);

  std::cout << "segment: " << args.input << " (" << describe(image) << ") -> " << args.output;
  if (!args.settings.probability)
  {
    size_t foreground = 0;
    for (itk::ImageRegionConstIterator<OutputImageType> it(output, output->GetBufferedRegion()); !it.IsAtEnd(); ++it)
    {
      foreground += it.Get() != 0 ? 1 : 0;
    }
    std::cout << ": " << foreground << " labelled voxels";
  }
  std::cout << '\n';
}

template <unsigned int VDimension>
void
segmentImage(const SegmentArguments & args, const itk::ANUNetModel * model, itk::Image<float, VDimension> * image)
{
  if (args.settings.probability)
  {
    segment<VDimension, float>(args, model, image);
  }
  else
  {
    segment<VDimension, unsigned char>(args, model, image);
  }
}

void
runSegment(const SegmentArguments & args)
{
  requireSingleFileFormat(args.output);
  if (args.settings.largestComponents && args.settings.probability)
  {
    throw UsageError("--largest-component applies to labels; it cannot be combined with --probability");
  }
  const bool directory = itk::ANUNetImageReader::IsDirectory(args.input);
  if (!args.seriesUid.empty() && !directory)
  {
    throw UsageError("--series-uid selects a series of a DICOM directory, but '" + args.input + "' is a file");
  }
  try
  {
    // The model first: a wrong model file is reported before a large volume is read.
    auto model = itk::ANUNetModel::New();
    model->Load(args.model);
    if (args.settings.mirror && !model->GetModel().training().flips)
    {
      // Measured on the cross-validation (docs/results/postprocessing.md): it can halve the Dice.
      std::cerr << "anunet segment: warning: --mirror on a model trained without flips; its organs' sides are "
                   "learned, and averaging in mirrored views can lower the Dice badly\n";
    }
    if (!args.settings.probability && model->GetModel().outputChannels() > 255)
    {
      throw UsageError("the model has more classes than an 8-bit label image holds; use --probability");
    }
    if (itk::ANUNetImageReader::ReadDimension(args.input) == 2)
    {
      auto slice = itk::ANUNetImageReader::ReadSlice(args.input);
      segmentImage<2>(args, model, slice);
    }
    else
    {
      auto volume = itk::ANUNetImageReader::ReadVolume(args.input, args.seriesUid);
      segmentImage<3>(args, model, volume);
    }
  }
  catch (const itk::ExceptionObject & e)
  {
    // The description names the file and the problem; ITK's source location is noise for a user.
    throw std::runtime_error(e.GetDescription());
  }
}

} // namespace

void
addSegmentCommand(CLI::App & app)
{
  auto       args = std::make_shared<SegmentArguments>();
  CLI::App * cmd = app.add_subcommand(
    "segment",
    "Segment an image or a DICOM series with a trained model; the output (labels, or probabilities with "
    "--probability) is on the input's grid and is written only when complete");
  cmd->add_option("--model", args->model, "Checkpoint or TorchScript file")->required();
  cmd->add_option("--input", args->input, "A DICOM directory or any image file ITK reads (2-D or 3-D)")->required();
  cmd->add_option("--output", args->output, "Output image (.nii.gz, .nrrd, .mha, .png for 2-D, ...)")->required();
  cmd
    ->add_option("--level",
                 args->settings.level,
                 "Pruning level 1..4 of a nested network; 0 = full network (default: the level `anunet prune` "
                 "recorded in the model, else 0)")
    ->check(CLI::Range(0, 4));
  cmd->add_flag(
    "--probability", args->settings.probability, "Write the foreground probability (float) instead of labels");
  cmd
    ->add_option(
      "--threshold", args->settings.threshold, "Foreground probability above which a pixel is labelled (binary)")
    ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--threads", args->settings.threads, "LibTorch threads; 0 = all hardware threads")
    ->check(CLI::NonNegativeNumber);
  cmd->add_option("--batch", args->settings.batch, "Slices per network run")->check(CLI::PositiveNumber);
  cmd->add_flag("--mirror",
                args->settings.mirror,
                "Test-time mirroring: average the probabilities of each slice and its in-plane flips (4x the work)");
  cmd->add_flag("--largest-component",
                args->settings.largestComponents,
                "Keep only the largest connected component of each class (two for a class of two labels, such as "
                "the kidneys)");
  cmd->add_option("--series-uid",
                  args->seriesUid,
                  "The series to read from a DICOM directory holding several (identifier or a unique prefix)");
  cmd->add_option("--device", args->settings.device, "cpu or cuda[:k]");
  cmd->callback([args]() { runSegment(*args); });
}

} // namespace anunet::cli
