#!/usr/bin/env bash
#===- scripts/demo.sh - Build Mnemo and run the main job ------------------===#
#
# Usage: bash scripts/demo.sh
#
# Builds Mnemo (installing what is missing), then runs a model end to end:
# 1. `mnemoc init`: a MemoryFormer with the tiny preset of SPEC §2 (d = 512,
#    6 layers, 8 heads, K = 64 tables of tau = 8 bits; random f16 weights);
# 2. `mnemoc stats`: its FLOPs, table bytes and bytes read per token;
# 3. `mnemoc compile --emit lib`: its kernels ahead of time, with a C header;
# 4. `mnemoc run`: a prompt and 16 greedily decoded tokens, on kernels
#    compiled for this CPU at load time;
# 5. `mnemoc bench`: prefill and decoding speed against a dense Transformer
#    of the same shape, in the same run;
# 6. `mnemoc bench layer`: one Memory Layer against dense f32 BLAS.
#
#===----------------------------------------------------------------------===#
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${MNEMO_BUILD_DIR:-$root/build}
mnemoc=$build/bin/mnemoc
work=$build/demo

bash "$root/scripts/build.sh"
step() { echo "== $*" >&2; }

step "mnemoc init --family memoryformer --preset tiny -o $work/tiny-mf"
"$mnemoc" init --family memoryformer --preset tiny --force -o "$work/tiny-mf"
step "mnemoc stats $work/tiny-mf"
"$mnemoc" stats "$work/tiny-mf"
step "mnemoc compile $work/tiny-mf --emit lib -o $work/tiny_mf_kernels.a"
"$mnemoc" compile "$work/tiny-mf" --emit lib --symbol tiny_mf_kernels \
  -o "$work/tiny_mf_kernels.a"
ls -l "$work/tiny_mf_kernels.a" "$work/tiny_mf_kernels.h" >&2
step "mnemoc run $work/tiny-mf --tokens 464,5734,310,1364 --max-new-tokens 16"
"$mnemoc" run "$work/tiny-mf" --tokens 464,5734,310,1364 --max-new-tokens 16
step "mnemoc bench $work/tiny-mf --rounds 3"
"$mnemoc" bench "$work/tiny-mf" --rounds 3
step "mnemoc bench layer --tokens 2048 --hidden 512 --tables 64 --out 512"
"$mnemoc" bench layer --tokens 2048 --hidden 512 --tables 64 --out 512
