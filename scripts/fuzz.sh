#!/usr/bin/env bash
#===- scripts/fuzz.sh - Build and run the libFuzzer targets ---------------===#
#
# Usage: bash scripts/fuzz.sh [SECONDS] [TARGET...]
#
# Builds the fuzz targets (fuzz/: SafeTensors, Config, Npy, MLIR) in
# ./build-fuzz, instrumented for libFuzzer with AddressSanitizer and
# UndefinedBehaviorSanitizer, and runs each for SECONDS (default 600), two
# at a time. Each starts from its seed corpus, fuzz/corpus/<target>, and
# keeps what it finds in build-fuzz/corpus/<target>. A crash, leak, hang or
# sanitizer report leaves its input in build-fuzz/findings/<target>/ and
# makes the script fail; make each finding a regression test. The last
# lines of each run's log (executions, coverage) are printed at the end.
#
#===----------------------------------------------------------------------===#
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${MNEMO_FUZZ_BUILD_DIR:-$root/build-fuzz}
seconds=${1:-600}
shift || true
targets=("$@")
if ((${#targets[@]} == 0)); then targets=(SafeTensors Config Npy MLIR); fi

MNEMO_BUILD_DIR="$build" \
  MNEMO_CMAKE_ARGS="-DMNEMO_FUZZ=ON -DMNEMO_BUILD_TESTS=OFF" \
  bash "$root/scripts/build.sh" "${targets[@]/#/mnemo-fuzz-}"

corpus_of() { echo "$root/fuzz/corpus/$(echo "$1" | tr '[:upper:]' '[:lower:]')"; }

run_one() {
  local target=$1
  local work="$build/corpus/$target" findings="$build/findings/$target"
  mkdir -p "$work" "$findings"
  # Inputs of more than 64 KiB add nothing but slowness to these readers.
  ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 \
    "$build/bin/mnemo-fuzz-$target" "$work" "$(corpus_of "$target")" \
    -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=4096 \
    -artifact_prefix="$findings/" -print_final_stats=1 \
    > "$build/fuzz-$target.log" 2>&1
}

status=0
pids=()
names=()
for target in "${targets[@]}"; do
  run_one "$target" &
  pids+=($!)
  names+=("$target")
  if ((${#pids[@]} == 2)); then
    for i in "${!pids[@]}"; do
      wait "${pids[$i]}" || { echo "fuzz: ${names[$i]} found a problem (see $build/findings/${names[$i]})"; status=1; }
    done
    pids=()
    names=()
  fi
done
for i in "${!pids[@]}"; do
  wait "${pids[$i]}" || { echo "fuzz: ${names[$i]} found a problem (see $build/findings/${names[$i]})"; status=1; }
done
for target in "${targets[@]}"; do
  echo "== $target"
  grep -E "^#[0-9]+ +DONE|stat::number_of_executed_units|stat::peak_rss_mb|cov:" "$build/fuzz-$target.log" | tail -3
done
exit $status
