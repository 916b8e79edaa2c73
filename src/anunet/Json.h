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
// Internal header of the torch core: JSON forms of the public option structs, shared by checkpoints and
// configs. Keys are snake_case; a missing key keeps the struct's default, an unknown key is an error
// (a typo in a config must not be silently ignored).
#ifndef anunet_Json_h
#define anunet_Json_h

#include "anunet/Model.h"
#include "anunet/NetworkOptions.h"
#include "anunet/Preprocessing.h"
#include "anunet/Training.h"

#include <nlohmann/json.hpp>

#include <initializer_list>
#include <string>

namespace anunet
{

void
to_json(nlohmann::json & j, const NetworkOptions & options);
void
from_json(const nlohmann::json & j, NetworkOptions & options);

void
to_json(nlohmann::json & j, const IntensityNormalization & intensity);
void
from_json(const nlohmann::json & j, IntensityNormalization & intensity);

void
to_json(nlohmann::json & j, const LabelMapping & labels);
void
from_json(const nlohmann::json & j, LabelMapping & labels);

void
to_json(nlohmann::json & j, const Preprocessing & preprocessing);
void
from_json(const nlohmann::json & j, Preprocessing & preprocessing);

void
to_json(nlohmann::json & j, const TrainingSummary & summary);
void
from_json(const nlohmann::json & j, TrainingSummary & summary);
void
to_json(nlohmann::json & j, const LevelChoice & choice);
/** In insertion order, so that per_case_dice keeps the cases' order. */
void
to_json(nlohmann::ordered_json & j, const EpochRecord & record);
void
from_json(const nlohmann::ordered_json & j, EpochRecord & record);
void
from_json(const nlohmann::json & j, LevelChoice & choice);

namespace json
{
/** Throws std::invalid_argument("<what>: expected a JSON object ...") unless j is an object. */
void
requireObject(const nlohmann::json & j, const std::string & what);

/** Throws std::invalid_argument naming the first key of j that is not in known. */
void
rejectUnknownKeys(const nlohmann::json & j, std::initializer_list<const char *> known, const std::string & what);

template <typename T>
void
readIfPresent(const nlohmann::json & j, const char * key, T & value)
{
  if (j.contains(key))
  {
    value = j.at(key).get<T>();
  }
}
} // namespace json

} // namespace anunet

#endif
