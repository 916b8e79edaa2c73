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
#ifndef anunet_Preprocessing_h
#define anunet_Preprocessing_h

#include "anunet/ANUNetCoreExport.h"

#include <map>
#include <string>
#include <vector>

namespace anunet
{

/** How image intensities are mapped before they reach the network.
 *
 * Recorded in every checkpoint, so that inference applies exactly what training used. The ITK layer
 * (itk::ANUNetPreprocessor) is the only code that applies it. */
struct ANUNetCore_EXPORT IntensityNormalization
{
  enum class Method
  {
    None,       ///< intensities passed through
    Window,     ///< clamp to [windowMinimum, windowMaximum], scale to [0, 1] (CT, HU window)
    Percentile, ///< per volume: clamp to the [percentileLow, percentileHigh] percentiles, scale to [0, 1] (MRI)
    ZScore      ///< per volume: (x - mean) / std over the volume
  };
  Method method = Method::Window;
  double windowMinimum = -200.0;
  double windowMaximum = 200.0;
  double percentileLow = 0.5;
  double percentileHigh = 99.5;

  bool
  operator==(const IntensityNormalization & other) const;
};

ANUNetCore_EXPORT std::string
                  toString(IntensityNormalization::Method method);
ANUNetCore_EXPORT IntensityNormalization::Method
                  normalizationMethodFromString(const std::string & name);

/** Which source label values form each output class, and which are background.
 *
 * classes[k] lists the source labels merged into class k + 1 (class 0 is background): {{2, 3}} is one class
 * made of labels 2 and 3, {{1}, {2, 3}, {4}} three classes. Value 0 is background; so are the values in
 * background (the other organs of a dataset that labels several) and, when otherValuesAreBackground is set,
 * every value no class names. Any other value is one the mapping does not name: training and evaluation
 * refuse it (UnnamedLabels) rather than guess, since a label image of another dataset or coding (0/255
 * masks, another organ numbering) would otherwise train a network on the wrong target without a word.
 * Named tasks of particular datasets (CHAOS's "liver") are the configs' business (workflow/TaskPresets.h). */
struct ANUNetCore_EXPORT LabelMapping
{
  std::vector<std::vector<int>> classes{ { 1 } };
  std::vector<std::string>      names{ "foreground" };
  std::vector<int>              background;
  bool                          otherValuesAreBackground = false;

  /** Output channels a network needs for this mapping: 1 (a sigmoid) for one class, else one per class plus
   * the background (a softmax). */
  int
  networkOutputs() const
  {
    return classes.size() == 1 ? 1 : static_cast<int>(classes.size()) + 1;
  }

  /** Class index (0 = background) of a source label value. */
  int
  classOf(int sourceLabel) const;

  /** Whether the mapping says what sourceLabel is: 0, a class's value, a background value, or any value when
   * otherValuesAreBackground. */
  bool
  isNamed(int sourceLabel) const;

  /** Parses "labels=1,2+3,4" (comma: classes, plus: merged), optionally followed by ";background=5,6" (values
   * that are background) or ";background=*" (every value no class names); the classes are named "labels-1",
   * "labels-2+3", .... Throws std::invalid_argument naming the text. */
  static LabelMapping
  parse(const std::string & labels);

  /** The mapping in parse()'s syntax (the class names aside). */
  std::string
  toString() const;

  bool
  operator==(const LabelMapping & other) const;
};

/** Counts the source label values a mapping does not name (LabelMapping::isNamed), so that one error can list
 * them all with their voxel counts. */
class ANUNetCore_EXPORT UnnamedLabels
{
public:
  explicit UnnamedLabels(const LabelMapping & mapping)
    : m_Mapping(mapping)
  {}

  /** Records value if the mapping does not name it. */
  void
  count(int value)
  {
    if (!m_Mapping.isNamed(value))
    {
      ++m_Counts[value];
    }
  }

  bool
  empty() const
  {
    return m_Counts.empty();
  }

  /** Empty when every value was named; else what was found and the two remedies, for example "label values
   * the task labels=1 does not name: 9 (1,204 voxels); add them to a class, or declare them background with
   * labels=1;background=9 (or labels=1;background=* for every value no class names)". */
  std::string
  message() const;

private:
  const LabelMapping &       m_Mapping;
  std::map<int, std::size_t> m_Counts;
};

/** Everything done to an image between the reader and the network, and back. */
struct ANUNetCore_EXPORT Preprocessing
{
  IntensityNormalization intensity;
  /** In-plane network size (x, y); slices are resampled to it (linear for images, nearest for labels). */
  int width = 256;
  int height = 256;
  /** Axis (0, 1 or 2) along which 3-D volumes are cut into 2-D slices. */
  int          sliceAxis = 2;
  LabelMapping labels;

  bool
  operator==(const Preprocessing & other) const;
};

} // namespace anunet

#endif
