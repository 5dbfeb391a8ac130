#!/usr/bin/env bash
#===- scripts/test.sh - Build and run the whole test suite ----------------===#
#
# Usage: bash scripts/test.sh
#
# Builds Mnemo (installing what is missing) and runs every test: the lit
# suite (IR, passes, tools) and the gtest unit tests, through one lit run.
# Exits non-zero if anything fails.
#
#===----------------------------------------------------------------------===#
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${MNEMO_BUILD_DIR:-$root/build}

bash "$root/scripts/build.sh"
# -sv: one line per failure with its output, and lit's summary at the end.
LIT_OPTS="${LIT_OPTS:--sv}" ninja -C "$build" check-mnemo
