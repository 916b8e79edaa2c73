# SPDX-License-Identifier: Apache-2.0
# Copyright NumFOCUS
# Real images are referenced by content (ITK's ExternalData convention): data/**/*.sha512 hold the
# SHA-512 of each file, and CMake's ExternalData module links them into the build tree from an object
# store laid out as SHA512/<hash>. The images are under non-commercial licences and are never committed.
include(ExternalData)

set(_anunet_default_store "${PROJECT_SOURCE_DIR}/../shared/ExternalData")
if(NOT ExternalData_OBJECT_STORES AND EXISTS "${_anunet_default_store}/SHA512")
  get_filename_component(_anunet_default_store "${_anunet_default_store}" REALPATH)
  set(ExternalData_OBJECT_STORES "${_anunet_default_store}" CACHE STRING
    "Local ExternalData object stores (folders holding SHA512/<hash>)")
endif()
set(ExternalData_SOURCE_ROOT "${PROJECT_SOURCE_DIR}")
set(ExternalData_BINARY_ROOT "${PROJECT_BINARY_DIR}/ExternalData")
# The CHAOS and 3D-IRCADb terms forbid redistribution, so there is no public store to download from:
# users obtain the images from the challenges (README.md, "Data") and point ExternalData_OBJECT_STORES
# at a store made with scripts/make-object-store.sh.
set(ExternalData_URL_TEMPLATES "" CACHE STRING "ExternalData URL templates")
set(ITK_FORBID_DOWNLOADS ON CACHE BOOL "ITK's public data stores hold none of these images")

# Some stores (the shared one here among them) hold, instead of each object or a symlink to it, a small text
# file with the object's relative path. ExternalData would link that text file, so resolve such pointers into
# a store of real symlinks in the build tree and use that one.
function(anunet_resolve_object_stores stores out)
  set(resolved "${PROJECT_BINARY_DIR}/ExternalDataStore")
  file(GLOB_RECURSE links RELATIVE "${PROJECT_SOURCE_DIR}" "${PROJECT_SOURCE_DIR}/data/*.sha512")
  set(pointers 0)
  foreach(link IN LISTS links)
    file(READ "${PROJECT_SOURCE_DIR}/${link}" hash)
    string(STRIP "${hash}" hash)
    foreach(store IN LISTS stores)
      set(object "${store}/SHA512/${hash}")
      if(NOT EXISTS "${object}")
        continue()
      endif()
      set(target "${object}")
      file(SIZE "${object}" bytes)
      if(bytes LESS 1024)
        file(STRINGS "${object}" pointer LIMIT_COUNT 1)
        get_filename_component(directory "${object}" DIRECTORY)
        if(pointer AND NOT pointer MATCHES "[\n\r\t]" AND EXISTS "${directory}/${pointer}"
           AND NOT IS_DIRECTORY "${directory}/${pointer}")
          get_filename_component(target "${directory}/${pointer}" REALPATH)
          math(EXPR pointers "${pointers} + 1")
        endif()
      endif()
      file(MAKE_DIRECTORY "${resolved}/SHA512")
      file(CREATE_LINK "${target}" "${resolved}/SHA512/${hash}" SYMBOLIC)
      break()
    endforeach()
  endforeach()
  if(pointers GREATER 0)
    message(STATUS "ANUNet: resolved ${pointers} path-pointer objects into ${resolved}")
    set(${out} "${resolved}" PARENT_SCOPE)
  else()
    set(${out} "${stores}" PARENT_SCOPE)
  endif()
endfunction()

if(ExternalData_OBJECT_STORES)
  anunet_resolve_object_stores("${ExternalData_OBJECT_STORES}" ExternalData_OBJECT_STORES)
  set(ANUNET_HAVE_DATA ON)
  message(STATUS "ANUNet: test data from ${ExternalData_OBJECT_STORES}")
else()
  set(ANUNET_HAVE_DATA OFF)
  message(WARNING "ANUNet: no ExternalData object store found (looked for ${_anunet_default_store}); "
    "tests on real images are skipped. Configure with -DExternalData_OBJECT_STORES=/path/to/ExternalData.")
endif()

# Where the build tree's links to the images are, for the tool's demo and the tests.
set(ANUNET_DATA_ROOT "${ExternalData_BINARY_ROOT}/data")

# Links every image the tests, the examples and `anunet demo` use into ANUNET_DATA_ROOT, in ITK's data group
# ITKData (the group of itk_add_test's DATA{} arguments), whose target ITKModuleExternal or
# anunet_finish_data() adds once every test has named its data.
function(anunet_link_data)
  if(NOT ANUNET_HAVE_DATA)
    return()
  endif()
  ExternalData_Expand_Arguments(ITKData _anunet_data_files
    "DATA{${PROJECT_SOURCE_DIR}/data/chaos-mr-t2/,REGEX:case[0-9]+_(t2|labels)\\.nii\\.gz}"
    "DATA{${PROJECT_SOURCE_DIR}/data/ircad-1.01-ct/ircad1.01_ct.nii.gz}"
    "DATA{${PROJECT_SOURCE_DIR}/data/ircad-1.01-ct/ircad1.01_liver.nii.gz}"
    "DATA{${PROJECT_SOURCE_DIR}/data/ircad-1.01-ct/dicom/PATIENT_DICOM/,REGEX:image_[0-9]+}"
    "DATA{${PROJECT_SOURCE_DIR}/data/ircad-1.01-ct/dicom/MASKS_DICOM_liver/,REGEX:image_[0-9]+}"
    "DATA{${PROJECT_SOURCE_DIR}/data/dcmqi-ct/ct-3slice/,REGEX:.*\\.dcm}"
    "DATA{${PROJECT_SOURCE_DIR}/data/dcmqi-ct/liver_seg.nrrd}"
    "DATA{${PROJECT_SOURCE_DIR}/data/chaos-ct-dicom/ct_set3/DICOM_anon/,REGEX:.*\\.dcm}"
    "DATA{${PROJECT_SOURCE_DIR}/data/chaos-ct-dicom/ct_set3/Ground/,REGEX:.*\\.png}")
endfunction()

# The data target of the plain-CMake branch (ITKModuleExternal adds the same one in the other).
function(anunet_finish_data)
  if(ANUNET_HAVE_DATA AND NOT TARGET ITKData)
    ExternalData_Add_Target(ITKData)
  endif()
endfunction()
