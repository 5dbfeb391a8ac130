#!/usr/bin/env bash
#===- scripts/demo.sh - Build Mnemo and run the main job ------------------===#
#
# Usage: bash scripts/demo.sh
#
# Builds Mnemo (installing what is missing), then
# 1. compiles the example MemoryFormer attention block in examples/ with the
#    `mnemo-optimize` pipeline: the Q, K and V Memory Layers are fused into
#    one lookup;
# 2. JIT-compiles a Memory Layer (d = h = 512, K = 64, tau = 8) for this CPU
#    and measures it against dense f32 BLAS, for a 2048-token prompt and for
#    one decoded token.
#
#===----------------------------------------------------------------------===#
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${MNEMO_BUILD_DIR:-$root/build}

bash "$root/scripts/build.sh"
echo "== mnemo-opt --mnemo-optimize examples/memoryformer_qkv.mlir" >&2
"$build/bin/mnemo-opt" --mnemo-optimize "$root/examples/memoryformer_qkv.mlir"
for tokens in 2048 1; do
  echo "== mnemoc bench layer --tokens $tokens --hidden 512 --tables 64 --out 512" >&2
  "$build/bin/mnemoc" bench layer --tokens "$tokens" --hidden 512 --tables 64 \
    --out 512
done
