#!/usr/bin/env bash
#===- scripts/test.sh - Build and run the whole test suite ----------------===#
#
# Usage: bash scripts/test.sh [--sanitize]
#
# Builds Mnemo (installing what is missing) and runs every test: the lit
# suite (IR, passes, tools) and the gtest unit tests, through one lit run.
# With --sanitize, the same in ./build-sanitize, every library, tool and
# test built with AddressSanitizer and UndefinedBehaviorSanitizer
# (-DMNEMO_SANITIZE=address,undefined): any finding fails its test; the JIT
# then also verifies the IR after every pass (MNEMO_VERIFY_EACH=1). Exits
# non-zero if anything fails.
#
#===----------------------------------------------------------------------===#
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${MNEMO_BUILD_DIR:-$root/build}

if [ "${1:-}" = "--sanitize" ]; then
  build=${MNEMO_SANITIZE_BUILD_DIR:-$root/build-sanitize}
  export MNEMO_BUILD_DIR=$build
  export MNEMO_CMAKE_ARGS="-DMNEMO_SANITIZE=address,undefined"
  # LLVM's libraries are not instrumented: ASan's container-overflow
  # annotations need every side of a container instrumented.
  export ASAN_OPTIONS=detect_container_overflow=0:detect_leaks=1
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  # The JIT verifies the IR after every pass, not only after its pipelines.
  export MNEMO_VERIFY_EACH=1
elif [ $# -gt 0 ]; then
  echo "usage: bash scripts/test.sh [--sanitize]" >&2
  exit 2
fi

bash "$root/scripts/build.sh"
# -sv: one line per failure with its output, and lit's summary at the end.
LIT_OPTS="${LIT_OPTS:--sv}" ninja -C "$build" check-mnemo
