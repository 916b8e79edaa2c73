# SPDX-License-Identifier: Apache-2.0
# Copyright NumFOCUS
# LibTorch inside the module: a private dependency of the torch core's shared library (anunet_link_torch), and the
# code that the module's CMake package runs in a consumer (ANUNet_EXPORT_CODE_*, as ITK's remote modules do for
# their third-party libraries), which checks that the LibTorch the module was built against is still there.
# Consumers link the core and so LibTorch, but never see a LibTorch header or need LibTorch's CMake package.
include_guard(GLOBAL)

get_filename_component(ANUNET_TORCH_LIBRARY_DIR "${TORCH_LIBRARY}" DIRECTORY)
set(ANUNET_TORCH_VERSION "${Torch_VERSION}")

function(anunet_link_torch target)
  target_link_libraries(${target} PRIVATE ${TORCH_LIBRARIES})
  # An installed core finds a LibTorch outside the system's library path (a CUDA LibTorch, say) through its RUNPATH.
  set_target_properties(${target} PROPERTIES INSTALL_RPATH_USE_LINK_PATH ON)
endfunction()

# A CUDA LibTorch (its TorchConfig.cmake lists TORCH_CUDA_LIBRARIES; Debian's is CPU-only): the GPU tests are built,
# with the CTest label REQUIRES_GPU, and data-parallel training on CUDA can use NCCL.
if(TORCH_CUDA_LIBRARIES)
  set(ANUNET_TORCH_HAS_CUDA ON)
else()
  set(ANUNET_TORCH_HAS_CUDA OFF)
endif()
option(ANUNET_USE_NCCL "With a CUDA LibTorch built with NCCL: NCCL for data-parallel training on CUDA (else Gloo)"
  ${ANUNET_TORCH_HAS_CUDA})

set(_anunet_torch_check "
# LibTorch ${ANUNET_TORCH_VERSION}, a private dependency of the ANUNet core's shared library.
set(ANUNet_TORCH_VERSION \"${ANUNET_TORCH_VERSION}\")
set(ANUNet_TORCH_LIBRARY_DIR \"${ANUNET_TORCH_LIBRARY_DIR}\")
if(NOT EXISTS \"${TORCH_LIBRARY}\")
  message(FATAL_ERROR \"ANUNet was built against LibTorch ${ANUNET_TORCH_VERSION} (${TORCH_LIBRARY}), which is no longer there: install it again or rebuild ANUNet.\")
endif()
")
set(ANUNet_EXPORT_CODE_INSTALL "${ANUNet_EXPORT_CODE_INSTALL}${_anunet_torch_check}")
set(ANUNet_EXPORT_CODE_BUILD "${ANUNet_EXPORT_CODE_BUILD}${_anunet_torch_check}")
