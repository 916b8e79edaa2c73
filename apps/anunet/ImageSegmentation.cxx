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
#include "ImageSegmentation.h"

#include "Commands.h"

#include <algorithm>
#include <cctype>
#include <iostream>

namespace anunet::cli
{

void
requireSingleFileFormat(const std::string & path, const std::string & what)
{
  std::string lower = path;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  for (const std::string twoFile : { ".mhd", ".nhdr", ".hdr" })
  {
    if (lower.size() >= twoFile.size() && lower.compare(lower.size() - twoFile.size(), twoFile.size(), twoFile) == 0)
    {
      throw UsageError(what + ": " + twoFile +
                       " keeps the pixels in a second file; use a single-file format such as .nii.gz, .nrrd or .mha");
    }
  }
}

InputVolume
InputVolume::open(const std::string & path, const std::string & seriesUid)
{
  InputVolume input;
  if (itk::ANUNetImageReader::IsDirectory(path) || !itk::ANUNetImageReader::StreamsCheaply(path))
  {
    input.image = itk::ANUNetImageReader::ReadVolume(path, seriesUid);
  }
  else
  {
    input.reader = itk::ANUNetImageReader::OpenVolumeFile(path);
    input.image = input.reader->GetOutput();
  }
  return input;
}

itk::ANUNetModel::Pointer
loadSegmentationModel(const std::string & path, const SegmentationSettings & settings)
{
  auto model = itk::ANUNetModel::New();
  model->Load(path);
  if (settings.mirror && !model->GetModel().training().flips)
  {
    // Measured on the cross-validation (docs/results/postprocessing.md): it can halve the Dice.
    std::cerr << "anunet segment: warning: --mirror on a model trained without flips; its organs' sides are "
                 "learned, and averaging in mirrored views can lower the Dice badly\n";
  }
  if (!settings.probability && model->GetModel().outputChannels() > 255)
  {
    throw UsageError("the model has more classes than an 8-bit label image holds; use --probability");
  }
  return model;
}

} // namespace anunet::cli
