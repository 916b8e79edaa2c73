# SPDX-License-Identifier: Apache-2.0
# Copyright NumFOCUS
# The module's description for ITK's module system, and for both branches of the build (cmake/ANUNetModuleInfo.cmake
# reads the same lists). The lists name exactly the ITK modules whose headers the code includes:
#   DEPENDS          the public headers (include/itk*.h/.hxx)
#   PRIVATE_DEPENDS  the library's sources (src/itk*.cxx)
#   TEST_DEPENDS     the tests and examples, plus the ImageIO modules whose factories read and write the test
#                    images (NIfTI, NRRD, PNG, MetaImage; DICOM through GDCM). The tool and the Python module read
#                    and write the same formats.
# (The README is not the DESCRIPTION, as in ITK's template: its semicolons would split the argument list.)
set(DOCUMENTATION "ANU-Net, the attention-based nested U-Net of Li et al. (2020), and the five networks it was \
compared with, in LibTorch, as ITK filters for segmentation, training and segmentation metrics.")

itk_module(ANUNet
  DEPENDS
    ITKCommon
    ITKConnectedComponents
    ITKDistanceMap
    ITKThresholding
  PRIVATE_DEPENDS
    ITKIOImageBase
    ITKIOGDCM
    ITKZLIB
    ITKKWSys
  TEST_DEPENDS
    ITKGoogleTest
    ITKImageFilterBase
    ITKImageGrid
    ITKImageIntensity
    ITKIOImageBase
    ITKIOGDCM
    ITKIONIFTI
    ITKIONRRD
    ITKIOPNG
    ITKIOMeta
  DESCRIPTION
    "${DOCUMENTATION}"
  EXCLUDE_FROM_DEFAULT
  ENABLE_SHARED
)
