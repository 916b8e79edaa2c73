#ifndef anunet_cli_MetricsJson_h
#define anunet_cli_MetricsJson_h

#include "itkSegmentationMetricsImageFilter.h"

#include <nlohmann/json.hpp>

namespace anunet::cli
{

/** Every measure of one label, as `anunet evaluate --json`, the demo's metrics.json and Python report them.
 * nlohmann::json writes an infinite distance (a measure against an empty mask) as null. */
nlohmann::json
metricsToJson(const itk::SegmentationMetrics & m);

} // namespace anunet::cli

#endif
