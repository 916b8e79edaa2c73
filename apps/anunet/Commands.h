#ifndef anunet_cli_Commands_h
#define anunet_cli_Commands_h

#include <CLI/CLI.hpp>

#include <stdexcept>
#include <string>

namespace anunet::cli
{

/** An error the user can act on: printed as "anunet <command>: <message>", exit status 1. */
class UsageError : public std::runtime_error
{
public:
  using std::runtime_error::runtime_error;
};

// Each subcommand lives in its own file and registers itself here.
void
addModelsCommand(CLI::App & app);
void
addTrainCommand(CLI::App & app);
void
addSegmentCommand(CLI::App & app);
void
addEvaluateCommand(CLI::App & app);
void
addDemoCommand(CLI::App & app);

} // namespace anunet::cli

#endif
