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
#include "MetricsJson.h"

namespace anunet::workflow
{

nlohmann::json
metricsToJson(const itk::ANUNetSegmentationMetrics & m)
{
  return { { "dice", m.Dice },
           { "iou", m.IoU },
           { "precision", m.Precision },
           { "recall", m.Recall },
           { "specificity", m.Specificity },
           { "relative_volume_difference", m.RelativeVolumeDifference },
           { "volume_difference_mm3", m.VolumeDifference },
           { "prediction_volume_mm3", m.PredictionVolume },
           { "truth_volume_mm3", m.GroundTruthVolume },
           { "hausdorff_mm", m.HausdorffDistance },
           { "hd95_mm", m.HausdorffDistance95 },
           { "assd_mm", m.AverageSymmetricSurfaceDistance },
           { "tp", m.TruePositives },
           { "fp", m.FalsePositives },
           { "fn", m.FalseNegatives },
           { "tn", m.TrueNegatives } };
}

} // namespace anunet::workflow
