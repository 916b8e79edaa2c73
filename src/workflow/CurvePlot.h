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
#ifndef anunet_workflow_CurvePlot_h
#define anunet_workflow_CurvePlot_h

#include "anunet/Training.h"

#include <string>
#include <vector>

namespace anunet::workflow
{

/** Writes the training curves (loss and validation Dice per epoch) as an SVG file.
 *
 * A few dozen lines of SVG are simpler to keep than a plotting dependency: Debian has no small, well-kept
 * C++ plotting library, and calling matplotlib would make the tool depend on Python. */
void
writeCurvesSvg(const std::vector<EpochRecord> & history, const std::string & title, const std::string & path);

} // namespace anunet::workflow

#endif
