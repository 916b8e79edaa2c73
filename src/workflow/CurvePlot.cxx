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
#include "CurvePlot.h"

#include "OutputFiles.h"

#include <algorithm>
#include <sstream>
#include <stdexcept>

namespace anunet::workflow
{
namespace
{

constexpr double plotLeft = 60, plotTop = 40, plotWidth = 520, plotHeight = 260;

/** Polyline of values mapped to the plot box, x from the epoch numbers, y linearly in [low, high]. */
std::string
polyline(const std::vector<EpochRecord> & history,
         double (*value)(const EpochRecord &),
         double              low,
         double              high,
         const std::string & colour)
{
  const double       lastEpoch = std::max(1, history.back().epoch);
  std::ostringstream points;
  for (const auto & r : history)
  {
    const double v = value(r);
    if (v < low - 1e-12)
    {
      continue; // -1 marks "no validation"
    }
    const double x = plotLeft + plotWidth * r.epoch / lastEpoch;
    const double y = plotTop + plotHeight * (1.0 - (v - low) / std::max(1e-12, high - low));
    points << x << ',' << y << ' ';
  }
  return "<polyline fill=\"none\" stroke-width=\"2\" stroke=\"" + colour + "\" points=\"" + points.str() + "\"/>\n";
}

} // namespace

void
writeCurvesSvg(const std::vector<EpochRecord> & history, const std::string & title, const std::string & path)
{
  if (history.empty())
  {
    return;
  }
  double maxLoss = 0.0;
  for (const auto & r : history)
  {
    maxLoss = std::max(maxLoss, r.loss);
  }
  maxLoss = std::max(maxLoss, 1e-6);

  std::ostringstream svg;
  svg << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"660\" height=\"360\" font-family=\"sans-serif\" "
         "font-size=\"12\">\n"
      << "<rect width=\"660\" height=\"360\" fill=\"white\"/>\n"
      << "<text x=\"330\" y=\"22\" text-anchor=\"middle\" font-size=\"14\">" << title << "</text>\n"
      << "<rect x=\"" << plotLeft << "\" y=\"" << plotTop << "\" width=\"" << plotWidth << "\" height=\"" << plotHeight
      << "\" fill=\"none\" stroke=\"#888\"/>\n";
  for (int tick = 0; tick <= 4; ++tick)
  {
    const double y = plotTop + plotHeight * (1.0 - tick / 4.0);
    svg << "<line x1=\"" << plotLeft << "\" x2=\"" << plotLeft + plotWidth << "\" y1=\"" << y << "\" y2=\"" << y
        << "\" stroke=\"#eee\"/>\n"
        << "<text x=\"" << plotLeft - 6 << "\" y=\"" << y + 4 << "\" text-anchor=\"end\" fill=\"#1f77b4\">"
        << tick / 4.0 << "</text>\n"
        << "<text x=\"" << plotLeft + plotWidth + 6 << "\" y=\"" << y + 4 << "\" fill=\"#d62728\">"
        << maxLoss * tick / 4.0 << "</text>\n";
  }
  svg << "<text x=\"" << plotLeft + plotWidth / 2 << "\" y=\"" << plotTop + plotHeight + 30
      << "\" text-anchor=\"middle\">epoch (last: " << history.back().epoch << ")</text>\n"
      << polyline(
           history, [](const EpochRecord & r) { return r.validationDice; }, 0.0, 1.0, "#1f77b4")
      << polyline(
           history, [](const EpochRecord & r) { return r.loss; }, 0.0, maxLoss, "#d62728")
      << "<text x=\"" << plotLeft + 10 << "\" y=\"" << plotTop + plotHeight + 50
      << "\" fill=\"#1f77b4\">validation Dice (left axis)</text>\n"
      << "<text x=\"" << plotLeft + 260 << "\" y=\"" << plotTop + plotHeight + 50
      << "\" fill=\"#d62728\">training loss (right axis)</text>\n"
      << "</svg>\n";

  writeTextFile(svg.str(), path);
}

} // namespace anunet::workflow
