# SPDX-License-Identifier: Apache-2.0
# Copyright NumFOCUS
# Reads the module's description, itk-module.cmake, so that both branches of the build (ITK's module machinery
# and plain CMake) take the ITK modules they need from that one file:
#   ANUNet_DEPENDS, ANUNet_PRIVATE_DEPENDS, ANUNet_TEST_DEPENDS  as declared there;
#   ANUNet_ALL_ITK_MODULES                                       their union, what find_package(ITK) must load;
#   ANUNet_IO_MODULES                                            the ImageIO modules of TEST_DEPENDS.
function(anunet_read_module_info file)
  # itk_module() is ITK's macro inside an ITK tree; here a reader of its arguments stands in for it.
  set(_doing "")
  set(_depends "")
  set(_private "")
  set(_test "")
  file(READ "${file}" _text)
  # Only the itk_module( ... ) call is needed, not the DOCUMENTATION string set before it.
  string(REGEX MATCH "itk_module\\(ANUNet[^)]*\\)" _call "${_text}")
  if(NOT _call)
    message(FATAL_ERROR "${file}: no itk_module(ANUNet ...) call")
  endif()
  string(REGEX REPLACE "^itk_module\\(ANUNet|\\)$" "" _args "${_call}")
  string(REGEX REPLACE "[ \t\r\n]+" ";" _args "${_args}")
  foreach(arg IN LISTS _args)
    if(arg MATCHES "^(DEPENDS|PRIVATE_DEPENDS|TEST_DEPENDS|COMPILE_DEPENDS|DESCRIPTION|FACTORY_NAMES)$")
      set(_doing "${arg}")
    elseif(arg MATCHES "^(EXCLUDE_FROM_DEFAULT|ENABLE_SHARED)$" OR arg STREQUAL "")
      set(_doing "")
    elseif(_doing STREQUAL "DEPENDS")
      list(APPEND _depends ${arg})
    elseif(_doing STREQUAL "PRIVATE_DEPENDS")
      list(APPEND _private ${arg})
    elseif(_doing STREQUAL "TEST_DEPENDS")
      list(APPEND _test ${arg})
    endif()
  endforeach()
  set(_all ${_depends} ${_private} ${_test})
  list(REMOVE_DUPLICATES _all)
  set(ANUNet_DEPENDS ${_depends} PARENT_SCOPE)
  set(ANUNet_PRIVATE_DEPENDS ${_private} PARENT_SCOPE)
  set(ANUNet_TEST_DEPENDS ${_test} PARENT_SCOPE)
  set(ANUNet_ALL_ITK_MODULES ${_all} PARENT_SCOPE)
  set(_io ${_test})
  list(FILTER _io INCLUDE REGEX "^ITKIO")
  set(ANUNet_IO_MODULES ${_io} PARENT_SCOPE)
endfunction()

# Makes the directory's executables register the ImageIO factories of the given ITK modules (ITK's UseITK,
# restricted to these modules so that what is registered is exactly what is linked).
macro(anunet_use_itk_modules)
  itk_module_config(ANUNetUse ${ARGN})
  set(ITK_FACTORY_LIST ${ANUNetUse_FACTORY_LIST})
  set(ITK_FACTORY_NAMES ${ANUNetUse_FACTORY_NAMES})
  foreach(_factory IN LISTS ANUNetUse_FACTORY_LIST)
    set(ITK_${_factory} ${ANUNetUse_${_factory}})
  endforeach()
  set(ITK_LIBRARIES ${ANUNetUse_LIBRARIES})
  set(ITK_INCLUDE_DIRS ${ANUNetUse_INCLUDE_DIRS})
  include(${ITK_USE_FILE})
endmacro()
