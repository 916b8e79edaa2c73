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

#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

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

/** The integer item holds, as T. nlohmann's get<int>() of a double casts it unchecked, undefined behaviour for
 * 1e98 (found by fuzz/open/checkpoint_metadata): here a double must be a whole number, and every value must fit
 * T, or std::invalid_argument names what and the value. */
template <typename T, typename BasicJson>
T
integer(const BasicJson & item, const std::string & what)
{
  static_assert(std::is_integral_v<T> && !std::is_same_v<T, bool>);
  using Limits = std::numeric_limits<T>;
  if (item.is_number_unsigned())
  {
    const auto v = item.template get<uint64_t>();
    if (v <= static_cast<uint64_t>(Limits::max()))
    {
      return static_cast<T>(v);
    }
  }
  else if (item.is_number_integer())
  {
    const auto v = item.template get<int64_t>();
    if ((Limits::is_signed || v >= 0) && v >= static_cast<int64_t>(Limits::min()) &&
        (v < 0 || static_cast<uint64_t>(v) <= static_cast<uint64_t>(Limits::max())))
    {
      return static_cast<T>(v);
    }
  }
  else if (item.is_number_float())
  {
    // 2^digits is exact in a double and one past T's largest value, so the comparison cannot round past it.
    const double v = item.template get<double>();
    const double bound = std::ldexp(1.0, Limits::digits);
    if (std::isfinite(v) && v == std::floor(v) && v < bound && (Limits::is_signed ? v >= -bound : v >= 0))
    {
      return static_cast<T>(v);
    }
  }
  throw std::invalid_argument(what + ": expected an integer from " + std::to_string(Limits::min()) + " to " +
                              std::to_string(Limits::max()) + ", got " + item.dump());
}

template <typename T>
struct IsVector : std::false_type
{};
template <typename T>
struct IsVector<std::vector<T>> : std::true_type
{};

/** item as T: integers through integer(), lists (of lists) of them element by element, anything else by
 * nlohmann's get<T>(). what names the item in errors. */
template <typename T>
T
readValue(const nlohmann::json & item, const std::string & what)
{
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>)
  {
    return integer<T>(item, what);
  }
  else if constexpr (IsVector<T>::value)
  {
    if (!item.is_array())
    {
      throw std::invalid_argument(what + ": expected a list, got " + item.dump());
    }
    T values;
    for (size_t i = 0; i < item.size(); ++i)
    {
      values.push_back(readValue<typename T::value_type>(item[i], what + "[" + std::to_string(i) + "]"));
    }
    return values;
  }
  else
  {
    return item.get<T>();
  }
}

/** Reads j[key] into value if present (readValue). */
template <typename T>
void
readIfPresent(const nlohmann::json & j, const char * key, T & value)
{
  if (j.contains(key))
  {
    value = readValue<T>(j.at(key), key);
  }
}
} // namespace json

} // namespace anunet

#endif
