# SPDX-License-Identifier: Apache-2.0
# Copyright NumFOCUS
# Installs the module into a fresh prefix, configures and builds examples/downstream against it as another project
# would, checks that no LibTorch header directory reaches that project's compile commands, and runs it.
# cmake -DBUILD=<module build tree> -DSOURCE=<examples/downstream> -DWORK=<scratch> -DRUN_ARGS=<a|b|...> -P ...
# With -DITK_PREFIX=<prefix of an ITK>, the module is installed there and the project finds it as
# find_package(ITK COMPONENTS ANUNet) (scripts/check-itk-module.sh makes such a prefix).
cmake_policy(SET CMP0009 NEW)
foreach(var BUILD SOURCE WORK RUN_ARGS)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "RunDownstream.cmake: -D${var}=... is required")
  endif()
endforeach()

function(run_step what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "${what} failed (${status}):\n${out}\n${err}")
  endif()
  set(step_output "${out}" PARENT_SCOPE)
endfunction()

file(REMOVE_RECURSE ${WORK}/build)
if(ITK_PREFIX)
  set(prefix ${ITK_PREFIX})
  set(find_args -DANUNET_FROM_ITK=ON -DITK_DIR=${prefix}/lib/cmake/ITK-5.2)
else()
  set(prefix ${WORK}/prefix)
  file(REMOVE_RECURSE ${prefix})
  set(find_args -DCMAKE_PREFIX_PATH=${prefix})
endif()
run_step("install" ${CMAKE_COMMAND} --install ${BUILD} --prefix ${prefix})
run_step("configure" ${CMAKE_COMMAND} -S ${SOURCE} -B ${WORK}/build -G Ninja -DCMAKE_BUILD_TYPE=Release
  ${find_args} -DCMAKE_EXPORT_COMPILE_COMMANDS=ON)
run_step("build" ${CMAKE_COMMAND} --build ${WORK}/build)

file(READ ${WORK}/build/compile_commands.json commands)
foreach(forbidden "/torch/csrc" "include/torch" "ATen" "c10/")
  string(FIND "${commands}" "${forbidden}" at)
  if(NOT at EQUAL -1)
    message(FATAL_ERROR "a LibTorch header directory (${forbidden}) is on the downstream include path:\n${commands}")
  endif()
endforeach()
# Nor does any of its headers include one.
file(GLOB_RECURSE installed_headers ${prefix}/include/*.h ${prefix}/include/*.hxx)
foreach(header IN LISTS installed_headers)
  if(IS_SYMLINK ${header})
    continue() # ITK's own headers, linked into an ITK prefix
  endif()
  file(STRINGS ${header} torch_includes REGEX "#include [<\"](torch|ATen|c10)/")
  if(torch_includes)
    message(FATAL_ERROR "${header} includes a LibTorch header: ${torch_includes}")
  endif()
endforeach()

string(REPLACE "|" ";" run_args "${RUN_ARGS}")
run_step("run" ${WORK}/build/SegmentStudy ${run_args})
message("${step_output}")
