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
#ifndef anunet_workflow_TaskPresets_h
#define anunet_workflow_TaskPresets_h

#include "anunet/Preprocessing.h"

#include <string>

namespace anunet::workflow
{

/** The label mapping of a config's task: a named task of the CHAOS data (liver, kidney, spleen, chaos-all), or
 * any "labels=1,2+3,4" (LabelMapping::parse). Throws InputError naming the task and the valid names. */
LabelMapping
labelMappingForTask(const std::string & task);

} // namespace anunet::workflow

#endif
