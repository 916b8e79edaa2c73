# SPDX-License-Identifier: Apache-2.0
# Copyright NumFOCUS
# The CMake package of the plain-CMake branch: after `cmake --install`, another project writes
#   find_package(ANUNet REQUIRED)            # finds ITK too, if the project has not already
#   target_link_libraries(app PRIVATE ANUNet::ANUNet)
# (An ITK with the module built in, or an external-module build installed into ITK's prefix, gives the same
# through find_package(ITK COMPONENTS ANUNet) and ${ITK_LIBRARIES} instead.)
include(CMakePackageConfigHelpers)
set(ANUNET_INSTALL_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/ANUNet)

install(EXPORT ANUNetTargets NAMESPACE ANUNet:: DESTINATION ${ANUNET_INSTALL_CMAKE_DIR})
# Programs of the build tree can use it in place, too.
export(EXPORT ANUNetTargets NAMESPACE ANUNet:: FILE ${PROJECT_BINARY_DIR}/ANUNetTargets.cmake)

set(ANUNET_CONFIG_ITK_MODULES ${ANUNet_DEPENDS})
set(ANUNET_CONFIG_EXPORT_CODE "${ANUNet_EXPORT_CODE_INSTALL}")
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/ANUNetConfig.cmake.in
  ${PROJECT_BINARY_DIR}/ANUNetConfig.cmake INSTALL_DESTINATION ${ANUNET_INSTALL_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/ANUNetConfigVersion.cmake COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/ANUNetConfig.cmake ${PROJECT_BINARY_DIR}/ANUNetConfigVersion.cmake
  DESTINATION ${ANUNET_INSTALL_CMAKE_DIR})
