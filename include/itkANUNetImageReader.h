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
#ifndef itkANUNetImageReader_h
#define itkANUNetImageReader_h

#include "ANUNetExport.h"
#include "itkImage.h"
#include "itkImageFileReader.h"

#include <string>
#include <vector>

namespace itk
{

/** \class ANUNetImageReader
 * \brief Reads what the ANU-Net front ends accept: any single-channel image file ITK reads, or a DICOM
 * series directory, as float pixels on the file's own grid (origin, spacing and direction kept).
 *
 * A DICOM directory is split into series with GDCMSeriesFileNames (series details on, so series that
 * share a SeriesInstanceUID but differ in geometry are kept apart) and read with ImageSeriesReader and
 * GDCMImageIO, which applies the rescale slope and intercept (CT values come out in HU).
 *
 * Every failure throws an ExceptionObject whose description names the path and the problem: a missing
 * path, a file no ITK reader recognises, a directory without DICOM series, a directory with several
 * series when none is selected (the series identifiers are listed), a series with missing slices or uneven
 * spacing, a multi-channel pixel, an image whose dimension is not the one asked for (a 4-D time series, a
 * 3-D volume read as a 2-D slice), a truncated file, or NaN or infinite voxels in a NIfTI file (its reader
 * would turn them into 0).
 *
 * \ingroup ANUNet
 */
class ANUNet_EXPORT ANUNetImageReader
{
public:
  using VolumeType = Image<float, 3>;
  using SliceType = Image<float, 2>;

  /** True when path names a directory (read as a DICOM series). */
  static bool
  IsDirectory(const std::string & path);

  /** Dimension of the image at path without reading its pixels: 3 for a DICOM directory, what the
   * header says for a file (trailing dimensions of size 1 beyond the third are not counted; a one-slice volume
   * is 3, so that its segmentation keeps its position and direction, and a single DICOM file is 2). */
  static unsigned int
  ReadDimension(const std::string & path);

  /** A 3-D volume from a file or a DICOM directory. seriesIdentifier selects one series of a directory
   * holding several (a full identifier as listed by GetDicomSeriesIdentifiers(), or a unique prefix of
   * one, such as the SeriesInstanceUID); empty requires the directory to hold exactly one series. A 2-D
   * file is read as a volume of one slice. */
  static VolumeType::Pointer
  ReadVolume(const std::string & path, const std::string & seriesIdentifier = "");

  /** A reader of the 3-D volume in a file (not a DICOM directory), with the checks of ReadVolume() done on the
   * header and on the file's bytes (read through once, in constant memory), and its output information
   * updated, but no pixel kept: a pipeline then pulls the slabs it needs, so that the volume is never held
   * whole where the format's ITK reader streams well (StreamsCheaply()). */
  static ImageFileReader<VolumeType>::Pointer
  OpenVolumeFile(const std::string & path);
  /** Whether slabs of the file at path can be read cheaply and cleanly: true for uncompressed MetaImage and NRRD;
   * false for compressed data (each slab would inflate the file from its start again) and for NIfTI, whose ITK 5.2
   * reader leaks a file handle on every streamed read. Those are better read whole. */
  static bool
  StreamsCheaply(const std::string & path);
  /** A 2-D image (e.g. a PNG slice); a 3-D file is accepted only when it holds a single slice. */
  static SliceType::Pointer
  ReadSlice(const std::string & path);

  /** The series identifiers of a DICOM directory, as GDCMSeriesFileNames reports them (with details). */
  static std::vector<std::string>
  GetDicomSeriesIdentifiers(const std::string & directory);

  /** The sorted file names of one series of a DICOM directory (selection rules as in ReadVolume()). */
  static std::vector<std::string>
  GetDicomSeriesFileNames(const std::string & directory, const std::string & seriesIdentifier = "");
};

} // namespace itk

#endif
