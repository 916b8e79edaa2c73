#ifndef anunet_cli_CurvePlot_h
#define anunet_cli_CurvePlot_h

#include "anunet/Training.h"

#include <string>
#include <vector>

namespace anunet::cli
{

/** Writes the training curves (loss and validation Dice per epoch) as an SVG file.
 *
 * A few dozen lines of SVG are simpler to keep than a plotting dependency: Debian has no small, well-kept
 * C++ plotting library, and calling matplotlib would make the tool depend on Python. */
void
writeCurvesSvg(const std::vector<EpochRecord> & history, const std::string & title, const std::string & path);

} // namespace anunet::cli

#endif
