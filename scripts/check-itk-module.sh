#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Copyright NumFOCUS
#
# Builds ITKANUNet as an external ITK module, through ITK's own module machinery (ITKModuleExternal.cmake,
# itk_module_impl, itk_module_test), against Debian's installed ITK 5.2, and runs its tests.
# Debian's ITK installs neither ITKModuleExternal.cmake nor the module macros; Debian's own source package of
# that ITK has them. So this fetches the source package (once, into a cache folder outside the tree), unpacks
# only its CMake/ folder, and points the build at it. Nothing of ITK is copied into the repository.
#
# Usage: scripts/check-itk-module.sh [build-dir] [ctest arguments...]
#   default ctest arguments: -L 'regression|ANUNet' (ANUNet: the tests ITK's machinery adds, e.g. the Doxygen group)
# Environment: ANUNET_CACHE (default ~/.cache/anunet) holds the source package.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=$(realpath -m "${1:-$here/build-itk-module}")
shift $(( $# > 0 ? 1 : 0 ))
ctest_args=("$@")
((${#ctest_args[@]})) || ctest_args=(-L 'regression|ANUNet')
cache=${ANUNET_CACHE:-$HOME/.cache/anunet}

itk_version=$(dpkg-query -W -f='${Version}' libinsighttoolkit5-dev 2>/dev/null) || {
  echo "check-itk-module: Debian's libinsighttoolkit5-dev is not installed; run scripts/setup.sh first" >&2
  exit 1
}
upstream=${itk_version%%-*}
itk_cmake=$cache/InsightToolkit-$upstream/CMake
# The macros, and the two scripts they run for the header test and the Doxygen-group test.
itk_files=(CMake Utilities/Maintenance/BuildHeaderTest.py Utilities/Doxygen/mcdoc.py)
if [ ! -f "$itk_cmake/ITKModuleExternal.cmake" ] || [ ! -f "$cache/InsightToolkit-$upstream/Utilities/Doxygen/mcdoc.py" ]; then
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  # The source of the same Debian repository the binary packages come from.
  if ! grep -rqs '^Types:.*deb-src\|^deb-src ' /etc/apt/sources.list /etc/apt/sources.list.d/; then
    echo "check-itk-module: adding a deb-src entry for Debian's main repository"
    printf 'Types: deb-src\nURIs: http://deb.debian.org/debian\nSuites: bookworm bookworm-updates\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' |
      "${sudo_cmd[@]}" tee /etc/apt/sources.list.d/anunet-deb-src.sources >/dev/null
    "${sudo_cmd[@]}" apt-get update -q >/dev/null
  fi
  mkdir -p "$cache"
  (cd "$cache" && apt-get source --download-only "insighttoolkit5=$itk_version") || {
    echo "check-itk-module: could not download the source of insighttoolkit5 $itk_version (is deb-src reachable?)" >&2
    exit 1
  }
  echo "check-itk-module: unpacking ${itk_files[*]} of InsightToolkit-$upstream into $cache"
  tar -xJf "$cache/insighttoolkit5_$upstream.orig.tar.xz" -C "$cache" --no-same-owner \
    "${itk_files[@]/#/InsightToolkit-$upstream/}"
  # Only those files are needed; the 283 MB archive is not.
  rm -f "$cache"/insighttoolkit5_*
fi

export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/ccache}
# Paths relative to the repository, so that this build shares compiler-cache entries with build/.
export CCACHE_BASEDIR=$here
cmake -S "$here" -B "$build" -G Ninja \
  -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_CXX_COMPILER_LAUNCHER=ccache \
  -DPython3_EXECUTABLE=/usr/bin/python3 \
  -DANUNET_ITK_CMAKE_DIR="$itk_cmake"
jobs=$(( $(nproc) < 4 ? $(nproc) : 4 ))
cmake --build "$build" -j "$jobs"

# What ITK's machinery generated: the module's description for find_package(ITK COMPONENTS ANUNet).
for f in "$build/lib/cmake/ITK-5.2/Modules/ANUNet.cmake" "$build/lib/cmake/ITK-5.2/Modules/Targets/ANUNetTargets.cmake"; do
  [ -s "$f" ] || { echo "check-itk-module: ITK's machinery did not write $f" >&2; exit 1; }
done
(cd "$build" && ctest "${ctest_args[@]}" --output-on-failure -j 2 --timeout 600)

# An ITK that has the module, without touching /usr: a prefix holding links to Debian's installed ITK (its CMake
# package, headers and libraries) into which the module is installed, as `cmake --install` into ITK's own prefix
# would. examples/downstream then finds it with find_package(ITK COMPONENTS ANUNet), builds and segments a real
# DICOM series with the model the tool test trained.
itk=$build/itk-with-anunet
rm -rf "$itk"
mkdir -p "$itk/lib/cmake/ITK-5.2/Modules" "$itk/include/ITK-5.2" "$itk/bin"
# ITKConfig.cmake and ITKTargets.cmake locate the prefix from their own (real) path, so they are copied.
cp /usr/lib/cmake/ITK-5.2/*.cmake /usr/lib/cmake/ITK-5.2/*.in "$itk/lib/cmake/ITK-5.2/"
ln -s /usr/lib/cmake/ITK-5.2/Modules/*.cmake "$itk/lib/cmake/ITK-5.2/Modules/"
ln -s /usr/include/ITK-5.2/* "$itk/include/ITK-5.2/"
ln -s /usr/lib/libITK*.so* /usr/lib/libitk*.so* "$itk/lib/"
ln -s /usr/bin/itkTestDriver "$itk/bin/"
model=$build/Testing/Temporary/tool/train/last.pt
[ -f "$model" ] || { echo "check-itk-module: $model missing: the tool tests did not run" >&2; exit 1; }
data=$build/ExternalData/data
cmake -DBUILD="$build" -DSOURCE="$here/examples/downstream" -DWORK="$build/Testing/Temporary/downstream-itk" \
  -DITK_PREFIX="$itk" -DRUN_ARGS="$data/dcmqi-ct/ct-3slice|$model|$build/Testing/Temporary/dcmqi-liver.nii.gz|$data/dcmqi-ct/liver_seg.nrrd" \
  -P "$here/test/downstream/RunDownstream.cmake"
echo "check-itk-module: passed (ITK's module machinery, its tests, find_package(ITK COMPONENTS ANUNet))"
