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
// Debian's ITK 5.2 generated its itk_compiler_detection.h with g++ only, so that it stops any other compiler with
// "#error Unsupported compiler". Clang 14 is GCC-compatible and takes everything ITK needs from that branch. The
// clang build (scripts/sanitize.sh) includes this header first in every C++ file (-include): it reads ITK's
// header once as if compiled by g++ 12, the compiler Debian built ITK with, and the header's guard keeps ITK's
// own includes of it from reading it again. ITKANUNet's sources are unchanged.
#ifndef anunet_ClangITKCompilerDetection_h
#define anunet_ClangITKCompilerDetection_h

#if defined(__clang__) && __has_include(<ITK-5.2/itk_compiler_detection.h>)
#  pragma push_macro("__clang__")
#  pragma push_macro("__GNUC__")
#  pragma push_macro("__GNUC_MINOR__")
#  pragma push_macro("__GNUC_PATCHLEVEL__")
#  undef __clang__
#  undef __GNUC__
#  undef __GNUC_MINOR__
#  undef __GNUC_PATCHLEVEL__
#  define __GNUC__ 12
#  define __GNUC_MINOR__ 2
#  define __GNUC_PATCHLEVEL__ 0
#  include <ITK-5.2/itk_compiler_detection.h>
#  pragma pop_macro("__GNUC_PATCHLEVEL__")
#  pragma pop_macro("__GNUC_MINOR__")
#  pragma pop_macro("__GNUC__")
#  pragma pop_macro("__clang__")
#endif

#endif
