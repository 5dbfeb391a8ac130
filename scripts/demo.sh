#!/usr/bin/env bash
#===- scripts/demo.sh - Build Mnemo and run the main job ------------------===#
#
# Usage: bash scripts/demo.sh
#
# Builds Mnemo (installing what is missing), then compiles the example
# MemoryFormer attention block in examples/ with the `mnemo-optimize`
# pipeline: the Q, K and V Memory Layers are fused into one lookup.
#
#===----------------------------------------------------------------------===#
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${MNEMO_BUILD_DIR:-$root/build}

bash "$root/scripts/build.sh"
echo "== mnemo-opt --mnemo-optimize examples/memoryformer_qkv.mlir" >&2
"$build/bin/mnemo-opt" --mnemo-optimize "$root/examples/memoryformer_qkv.mlir"
