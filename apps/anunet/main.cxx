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
#include "App.h"

#include "anunet/Model.h"

#include <exception>
#include <iostream>

int
main(int argc, char ** argv)
{
  // The tool owns its process: keep LibTorch's tensors in the heap and OpenBLAS off LibTorch's cores.
  anunet::configureCpuRuntime();
  CLI::App app;
  anunet::cli::setUpApp(app);

  try
  {
    app.parse(argc, argv);
  }
  catch (const CLI::ParseError & e)
  {
    return app.exit(e);
  }
  catch (const anunet::cli::ExitError & e)
  {
    std::cerr << "anunet: " << e.what() << '\n';
    return e.status();
  }
  catch (const std::exception & e)
  {
    // Subcommand callbacks run inside parse(); their errors land here.
    std::cerr << "anunet: error: " << e.what() << '\n';
    return 1;
  }
  return 0;
}
