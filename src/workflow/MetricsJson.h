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
#ifndef anunet_workflow_MetricsJson_h
#define anunet_workflow_MetricsJson_h

#include "itkANUNetSegmentationMetricsImageFilter.h"

#include <nlohmann/json.hpp>

namespace anunet::workflow
{

/** Every measure of one label, as `anunet evaluate --json`, the demo's metrics.json and Python report them.
 * nlohmann::json writes an infinite distance (a measure against an empty mask) as null. */
nlohmann::json
metricsToJson(const itk::ANUNetSegmentationMetrics & m);

} // namespace anunet::workflow

#endif
