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
#include "BatchSegmentation.h"
#include "Commands.h"
#include "ImageSegmentation.h"
#include "OutputFiles.h"
#include "Progress.h"
#include "Segmentation.h"

#include "itkANUNetImageReader.h"
#include "itkANUNetModel.h"
#include "itkImageIOFactory.h"

#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <memory>

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
  // The manifest form (BatchSegmentation.h).
  std::string manifest;
  std::string outputDir;
  std::string shard = "0/1";
};

void
requireOutputFile(const std::string & path)
{
  requireSingleFileFormat(path, "--output '" + path + "'");
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (!parent.empty() && !std::filesystem::is_directory(parent))
  {
    throw UsageError("--output '" + path + "': the folder '" + parent.string() + "' does not exist");
  }
  // Found before the segmentation runs, not when its result is moved into place.
  if (std::filesystem::is_directory(path))
  {
    throw UsageError("--output '" + path + "' is an existing folder; give the path of an image file");
  }
  if (access(parent.empty() ? "." : parent.c_str(), W_OK) != 0)
  {
    throw UsageError("--output '" + path + "': the folder '" + (parent.empty() ? "." : parent.string()) +
                     "' is not writable");
  }
  // Otherwise the writer's error names the hidden temporary file, not the output.
  if (itk::ImageIOFactory::CreateImageIO(path.c_str(), itk::ImageIOFactory::IOFileModeEnum::WriteMode).IsNull())
  {
    throw UsageError("--output '" + path +
                     "': no ITK image writer for this file name extension (use .nii.gz, "
                     ".nrrd, .mha, or .png for a 2-D image)");
  }
}

/** Runs the segmentation (run: progress callback -> output image), writes it and prints the log line. */
template <typename TOutputImage, typename TInputImage, typename TRun>
void
segment(const SegmentArguments & args, const TInputImage * image, TRun && run)
{
  ProgressBar                    bar("segment");
  typename TOutputImage::Pointer output;
  try
  {
    output = run([&bar](float progress) { bar.update(progress); });
  }
  catch (const itk::ExceptionObject & e)
  {
    // Either file can be the cause (the model's channels or levels, the image's intensities).
    throw std::runtime_error(args.input + " with the model " + args.model + ": " + e.GetDescription());
  }
  bar.finish();
  writeImageFile(output.GetPointer(), args.output);

  std::cout << "segment: " << args.input << " (" << describeImage(image) << ") -> " << args.output;
  if (!args.settings.probability)
  {
    std::cout << ": " << countLabelled(output.GetPointer()) << " labelled voxels";
  }
  std::cout << '\n';
}

/** Labels or probabilities of a slice, or of a volume (streamed from a file). */
template <typename TOutputPixel>
void
segmentInput(const SegmentArguments &            args,
             const itk::ANUNetModel *            model,
             const InputVolume *                 volume,
             itk::ANUNetImageReader::SliceType * slice)
{
  if (slice != nullptr)
  {
    using Output = itk::Image<TOutputPixel, 2>;
    segment<Output>(args, slice, [&](const std::function<void(float)> & progress) {
      return runSegmentation<Output>(slice, model, args.settings, progress);
    });
    return;
  }
  using Output = itk::Image<TOutputPixel, 3>;
  segment<Output>(args, volume->image.GetPointer(), [&](const std::function<void(float)> & progress) {
    return segmentVolume<Output>(*volume, model, args.settings, progress);
  });
}

void
segmentEither(const SegmentArguments &            args,
              const itk::ANUNetModel *            model,
              const InputVolume *                 volume,
              itk::ANUNetImageReader::SliceType * slice)
{
  if (args.settings.probability)
  {
    segmentInput<float>(args, model, volume, slice);
  }
  else
  {
    segmentInput<unsigned char>(args, model, volume, slice);
  }
}

void
runSegment(const SegmentArguments & args)
{
  try
  {
    Model::checkDevice(args.settings.device); // before any case is read: the option is wrong, not a file
  }
  catch (const std::exception & e)
  {
    throw UsageError(std::string("--device ") + args.settings.device + ": " + e.what());
  }
  try
  {
    Model::checkPrecision(precisionFromString(args.settings.precision), args.settings.device);
  }
  catch (const std::invalid_argument & e)
  {
    throw UsageError("--precision " + args.settings.precision + ": " + e.what());
  }
  if (!args.manifest.empty())
  {
    if (args.outputDir.empty())
    {
      throw UsageError("--manifest needs --output-dir, the folder for the outputs and the records of the cases");
    }
    if (!args.seriesUid.empty())
    {
      throw UsageError("--series-uid names a series of one DICOM folder; with --manifest, give each case's in a "
                       "series_uid column");
    }
    BatchArguments batch;
    batch.model = args.model;
    batch.manifest = args.manifest;
    batch.outputDir = args.outputDir;
    batch.shard = args.shard;
    batch.settings = args.settings;
    runBatchSegmentation(batch);
    return;
  }
  if (args.input.empty() || args.output.empty())
  {
    throw UsageError(std::string(args.input.empty() ? "--input" : "--output") +
                     " is required (or --manifest and --output-dir, to segment the images a CSV file lists)");
  }
  requireOutputFile(args.output);
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
    auto model = loadSegmentationModel(args.model, args.settings);
    if (itk::ANUNetImageReader::ReadDimension(args.input) == 2)
    {
      auto slice = itk::ANUNetImageReader::ReadSlice(args.input);
      segmentEither(args, model, nullptr, slice);
    }
    else
    {
      const InputVolume volume = InputVolume::open(args.input, args.seriesUid);
      segmentEither(args, model, &volume, nullptr);
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
    "Segment an image or a DICOM series with a trained model (--input, --output), or every case of a CSV "
    "manifest (--manifest, --output-dir, optionally one --shard of them); outputs (labels, or probabilities with "
    "--probability) are on the inputs' grids and are written only when complete");
  cmd->add_option("--model", args->model, "Checkpoint or TorchScript file")->required();
  auto * input = cmd->add_option("--input", args->input, "A DICOM directory or any image file ITK reads (2-D or 3-D)");
  auto * output = cmd->add_option("--output", args->output, "Output image (.nii.gz, .nrrd, .mha, .png for 2-D, ...)");
  auto * manifest = cmd->add_option("--manifest",
                                    args->manifest,
                                    "CSV of cases: columns image (required), truth, case, output, series_uid; "
                                    "relative paths are relative to its folder (docs/reference.md section 9)");
  manifest->excludes(input)->excludes(output);
  cmd
    ->add_option("--output-dir",
                 args->outputDir,
                 "With --manifest: the folder of the outputs, results/ (a record per case) and the summary")
    ->needs(manifest);
  cmd
    ->add_option("--shard",
                 args->shard,
                 "With --manifest: segment only the cases whose 0-based row index % N == i; i counts from 0 as "
                 "Slurm's $SLURM_ARRAY_TASK_ID of --array=0-(N-1) (default 0/1: every case)")
    ->needs(manifest);
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
  cmd
    ->add_option("--precision",
                 args->settings.precision,
                 "float32 (default) or bfloat16: about twice as fast on CPUs with avx512_bf16 or amx_bf16, labels "
                 "differing at a few boundary voxels")
    ->check(CLI::IsMember({ "float32", "bfloat16" }));
  cmd->callback([args]() { runSegment(*args); });
}

} // namespace anunet::cli
