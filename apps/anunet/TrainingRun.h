#ifndef anunet_cli_TrainingRun_h
#define anunet_cli_TrainingRun_h

#include "TrainingConfig.h"

#include "itkANUNetModel.h"

#include <string>
#include <vector>

namespace anunet::cli
{

struct TrainingRun
{
  itk::ANUNetModel::Pointer model; ///< the best epoch's model
  std::vector<EpochRecord>  history;
};

/** Completes a config for a run: the task's label mapping and class count, the output folder. */
void
finalizeTrainingConfig(TrainingConfig & config, const std::string & outputDirectory);

/** Reads the config's cases, trains with a progress bar on stderr, and writes best.pt, last.pt, log.jsonl
 * and curves.svg into config.options.outputDirectory. Shared by `anunet train` and `anunet demo`. */
TrainingRun
runTraining(const TrainingConfig & config);

} // namespace anunet::cli

#endif
