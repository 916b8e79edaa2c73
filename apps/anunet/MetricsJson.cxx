#include "MetricsJson.h"

namespace anunet::cli
{

nlohmann::json
metricsToJson(const itk::SegmentationMetrics & m)
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

} // namespace anunet::cli
