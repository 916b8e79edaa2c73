# SPDX-License-Identifier: Apache-2.0
# Copyright NumFOCUS
# The few ITK module macros that src/ and test/ use, for an installed ITK that ships none of them (Debian's ITK
# installs no ITKModuleMacros.cmake). They keep ITK's names and meaning, so that the same src/CMakeLists.txt and
# test/CMakeLists.txt build the module here and under ITK's own machinery (ITKModuleExternal, or an ITK source
# tree). Written for this module only; ITK's originals do more (wrapping, header tests, KWStyle).
include_guard(GLOBAL)
include(GenerateExportHeader)
include(GoogleTest)

set(itk-module ANUNet)
set(itk-module-test ANUNet-Test)
set(ANUNet_INSTALL_INCLUDE_DIR ${CMAKE_INSTALL_INCLUDEDIR}/ANUNet)
set(ANUNet_INSTALL_LIBRARY_DIR ${CMAKE_INSTALL_LIBDIR})
set(ANUNet-targets ANUNetTargets)
set(ITK_TEST_OUTPUT_DIR "${PROJECT_BINARY_DIR}/Testing/Temporary")
if(NOT CMAKE_RUNTIME_OUTPUT_DIRECTORY)
  set(CMAKE_RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/bin)
endif()
# Installed programs find the module's libraries next to them.
if(NOT CMAKE_INSTALL_RPATH)
  set(CMAKE_INSTALL_RPATH "$ORIGIN/../${CMAKE_INSTALL_LIBDIR}")
endif()
if(NOT CMAKE_LIBRARY_OUTPUT_DIRECTORY)
  set(CMAKE_LIBRARY_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/lib)
endif()

# Installs and exports a target of the module (ITK: the module's Targets file).
macro(itk_module_target _name)
  set_target_properties(${_name} PROPERTIES VERSION ${PROJECT_VERSION} SOVERSION ${PROJECT_VERSION_MAJOR})
  if(NOT "${ARGN}" STREQUAL "NO_INSTALL")
    install(TARGETS ${_name} EXPORT ${ANUNet-targets}
      RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
      LIBRARY DESTINATION ${ANUNet_INSTALL_LIBRARY_DIR}
      ARCHIVE DESTINATION ${ANUNet_INSTALL_LIBRARY_DIR})
  endif()
endmacro()

# The module's library: shared, linked to the ITK modules of itk-module.cmake (DEPENDS publicly, PRIVATE_DEPENDS
# privately), with the <name>_EXPORT header that ITK generates for an ENABLE_SHARED module.
macro(itk_module_add_library _name)
  add_library(${_name} SHARED ${ARGN})
  itk_module_config(_ANUNetPublic ${ANUNet_DEPENDS})
  itk_module_config(_ANUNetPrivate ${ANUNet_PRIVATE_DEPENDS})
  target_link_libraries(${_name} PUBLIC ${_ANUNetPublic_LIBRARIES} PRIVATE ${_ANUNetPrivate_LIBRARIES})
  target_include_directories(${_name} PUBLIC
    $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
    $<BUILD_INTERFACE:${PROJECT_BINARY_DIR}/include>
    $<INSTALL_INTERFACE:${ANUNet_INSTALL_INCLUDE_DIR}>)
  target_include_directories(${_name} SYSTEM PUBLIC ${_ANUNetPublic_INCLUDE_DIRS})
  generate_export_header(${_name}
    EXPORT_FILE_NAME ${PROJECT_BINARY_DIR}/include/${_name}Export.h
    EXPORT_MACRO_NAME ${_name}_EXPORT
    NO_EXPORT_MACRO_NAME ${_name}_HIDDEN
    STATIC_DEFINE ITK_STATIC)
  install(FILES ${PROJECT_BINARY_DIR}/include/${_name}Export.h DESTINATION ${ANUNet_INSTALL_INCLUDE_DIR})
  install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/ DESTINATION ${ANUNet_INSTALL_INCLUDE_DIR}
    FILES_MATCHING PATTERN "*.h" PATTERN "*.hxx")
  itk_module_target(${_name})
endmacro()

# What the module's tests link: the module and the ITK modules of TEST_DEPENDS.
macro(itk_module_test)
  itk_module_config(_ANUNetTest ${ANUNet_TEST_DEPENDS})
  set(ANUNet-Test_LIBRARIES ANUNet ANUNetCore ${_ANUNetTest_LIBRARIES})
endmacro()

# A GoogleTest executable <KIT>GTestDriver whose tests CTest discovers.
function(CreateGoogleTestDriver KIT KIT_LIBS KitTests)
  set(exe "${KIT}GTestDriver")
  add_executable(${exe} ${KitTests})
  target_link_libraries(${exe} ${KIT_LIBS} GTest::gtest GTest::gtest_main)
  gtest_discover_tests(${exe} DISCOVERY_TIMEOUT 60)
endfunction()

# A test whose DATA{} arguments ExternalData resolves, in ITK's data group.
function(itk_add_test)
  ExternalData_add_test(ITKData ${ARGN})
endfunction()
