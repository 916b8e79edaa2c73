#include "Commands.h"

void
anunet::cli::addModelsCommand(CLI::App & app)
{
  app.add_subcommand("models", "List the architectures with parameters and GFLOP per pruning level");
}
