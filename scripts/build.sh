#!/usr/bin/env bash
#===- scripts/build.sh - Install what is missing, configure and build -----===#
#
# Usage: bash scripts/build.sh [TARGET...]
#
# Installs the Debian packages Mnemo needs (only those missing), configures
# the build in ./build (override with MNEMO_BUILD_DIR; extra CMake options
# in MNEMO_CMAKE_ARGS, used when the directory is first configured) and
# builds everything, or the ninja targets given, with ninja. Safe to rerun:
# each step is skipped when already done.
#
#===----------------------------------------------------------------------===#
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${MNEMO_BUILD_DIR:-$root/build}
jobs=${MNEMO_JOBS:-2}

packages=(
  cmake ninja-build g++ python3
  clang-19 lld-19 llvm-19-dev llvm-19-tools libmlir-19-dev mlir-19-tools
  libgtest-dev libbenchmark-dev pkg-config
  # ocl-icd-opencl-dev: oneDNN's CMake package finds OpenCL (a Recommends,
  # which --no-install-recommends skips).
  libomp-19-dev libopenblas-dev libdnnl-dev ocl-icd-opencl-dev
  nlohmann-json3-dev libcli11-dev
)
# Sanitizer and fuzzer builds (scripts/test.sh --sanitize, scripts/fuzz.sh)
# link clang's runtime libraries.
if [[ "${MNEMO_CMAKE_ARGS:-}" == *MNEMO_SANITIZE* ||
  "${MNEMO_CMAKE_ARGS:-}" == *MNEMO_FUZZ* ]]; then
  packages+=(libclang-rt-19-dev)
fi

missing=()
for pkg in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed"; then
    missing+=("$pkg")
  fi
done
if ((${#missing[@]})); then
  echo "mnemo: installing ${missing[*]}" >&2
  sudo=()
  if [ "$(id -u)" -ne 0 ]; then sudo=(sudo); fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

llvm=/usr/lib/llvm-19
if [ ! -f "$build/build.ninja" ]; then
  cmake -G Ninja -S "$root" -B "$build" \
    -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_C_COMPILER="$llvm/bin/clang" \
    -DCMAKE_CXX_COMPILER="$llvm/bin/clang++" \
    -DLLVM_USE_LINKER=lld \
    -DMLIR_DIR="$llvm/lib/cmake/mlir" \
    -DLLVM_EXTERNAL_LIT="$llvm/build/utils/lit/lit.py" \
    ${MNEMO_CMAKE_ARGS:-}
fi
ninja -C "$build" -j "$jobs" "$@"
