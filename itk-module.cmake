# The module's description for ITK's module system (used when built inside an ITK source tree).
get_filename_component(MY_CURRENT_DIR "${CMAKE_CURRENT_LIST_FILE}" PATH)
file(READ "${MY_CURRENT_DIR}/README.md" DOCUMENTATION)

itk_module(ANUNet
  DEPENDS
    ITKCommon
    ITKIOImageBase
    ITKImageGrid
    ITKImageFunction
    ITKImageIntensity
    ITKDistanceMap
  PRIVATE_DEPENDS
    ITKIOGDCM
    ITKIONIFTI
    ITKIOPNG
  TEST_DEPENDS
    ITKTestKernel
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
