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
#ifndef anunet_workflow_OutputFiles_h
#define anunet_workflow_OutputFiles_h

#include "InputError.h"

#include "anunet/AtomicFile.h"

#include "itkImageFileReader.h"
#include "itkImageFileWriter.h"
#include "itkImageIOFactory.h"

#include <algorithm>
#include <filesystem>
#include <string>

namespace anunet::workflow
{

/** Empty when path's folder exists and is writable, else " (the folder ... does not exist)" or "... is not
 * writable)", to append to an error message. */
std::string
writableFolderProblem(const std::string & path);

/** Writes text to path atomically (anunet/AtomicFile.h), with a message naming a missing or read-only folder. */
void
writeTextFile(const std::string & text, const std::string & path);

/** Writes an image (compressed where the format allows) to path atomically: ITK writes the temporary, which is
 * read back before it takes the final name. */
template <typename TImage>
void
writeImageFile(const TImage * image, const std::string & path)
{
  if (const std::string problem = writableFolderProblem(path); !problem.empty())
  {
    throw std::runtime_error(path + ": cannot write" + problem);
  }
  // Otherwise the writer's error names the hidden temporary file, not the output.
  if (itk::ImageIOFactory::CreateImageIO(path.c_str(), itk::ImageIOFactory::IOFileModeEnum::WriteMode).IsNull())
  {
    throw InputError(path + ": no ITK image writer for this file name extension (use .nii.gz, .nrrd or .mha)");
  }
  const std::string temporary = temporaryNameFor(path);
  const auto        discard = [&temporary] {
    std::error_code ignored;
    std::filesystem::remove(temporary, ignored);
  };
  try
  {
    auto writer = itk::ImageFileWriter<TImage>::New();
    writer->SetInput(image);
    writer->SetFileName(temporary);
    writer->UseCompressionOn();
    writer->Update();
  }
  catch (...)
  {
    discard();
    throw;
  }
  // ITK's NIfTI writer (znzlib) ignores failed writes, so that a full disk would pass a truncated file off as a
  // result: the file is read back before it takes the final name, a slab of the slowest axis at a time, so that
  // the check does not hold a second copy of a large volume.
  bool complete = false;
  try
  {
    auto reader = itk::ImageFileReader<TImage>::New();
    reader->SetFileName(temporary);
    reader->UpdateOutputInformation();
    const auto whole = reader->GetOutput()->GetLargestPossibleRegion();
    complete = whole.GetSize() == image->GetLargestPossibleRegion().GetSize();
    constexpr unsigned int       slowest = TImage::ImageDimension - 1;
    constexpr itk::SizeValueType slabSlices = 32;
    for (itk::SizeValueType done = 0; complete && done < whole.GetSize(slowest); done += slabSlices)
    {
      auto slab = whole;
      slab.SetIndex(slowest, whole.GetIndex(slowest) + static_cast<itk::IndexValueType>(done));
      slab.SetSize(slowest, std::min(slabSlices, whole.GetSize(slowest) - done));
      reader->GetOutput()->SetRequestedRegion(slab);
      reader->Update();
    }
  }
  catch (const itk::ExceptionObject &)
  {
    complete = false;
  }
  if (!complete)
  {
    discard();
    throw std::runtime_error(path + ": cannot write: the file came out incomplete (is the disk full?)");
  }
  commitTemporaryFile(temporary, path);
}

} // namespace anunet::workflow

#endif
