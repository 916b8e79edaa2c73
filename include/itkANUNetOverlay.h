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
#ifndef itkANUNetOverlay_h
#define itkANUNetOverlay_h

#include "itkImage.h"

#include <string>

namespace itk
{

/** Writes one axial slice as an RGB PNG, as in the paper's Fig. 8: the image in grey (scaled between
 * its 0.5th and 99.5th percentiles), the ground-truth outline in red and the prediction outline in blue
 * (magenta where they coincide). The slice is shown with the patient's anterior at the top and
 * enlarged by an integer factor. Throws itk::ExceptionObject on a bad slice index or geometry mismatch.
 * \ingroup ANUNet */
void
ANUNetWriteSegmentationOverlay(const Image<float, 3> *         image,
                               const Image<unsigned char, 3> * truth,
                               const Image<unsigned char, 3> * prediction,
                               unsigned int                    slice,
                               const std::string &             fileName,
                               unsigned int                    zoom = 2);

} // namespace itk

#endif
