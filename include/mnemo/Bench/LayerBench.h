//===- LayerBench.h - Memory Layer vs. dense, measured together -*- C++ -*-===//
//
// `mnemoc bench layer` and bench/: times a JIT-compiled Memory Layer and the
// dense f32 layers of the same N x d x h shape (OpenBLAS, oneDNN) in one
// run, honestly:
//
//  * inputs differ between calls (16 distinct input matrices, cycled), so
//    the same rows are not re-hit;
//  * like a model, which streams every layer's weights, calls cycle through
//    enough copies of the layer (tables on one side, dense weights on the
//    other) that each side's working set is at least twice the last-level
//    cache;
//  * after warm-up, the sides run in interleaved rounds of about the same
//    duration, with a pause between sides so that spinning worker threads of
//    one library do not steal cycles from the other; each side's figure is
//    the median over rounds.
//
//===----------------------------------------------------------------------===//

#ifndef MNEMO_BENCH_LAYERBENCH_H
#define MNEMO_BENCH_LAYERBENCH_H

#include "mnemo/JIT/MemoryLayer.h"

#include <string>
#include <vector>

namespace mnemo::bench {

struct LayerBenchOptions {
  int64_t tokens = 1;   ///< N
  int64_t hidden = 512; ///< d
  int64_t tables = 64;  ///< K (tau = d / K)
  int64_t out = 512;    ///< h
  ElementType tableType = ElementType::F32;
  Weighting weighting = Weighting::L1Prob;
  int threads = 0; ///< 0: all cores
  int rounds = 7;
  double roundSeconds = 0.2;
  /// Copies of the layer on each side; 0: enough to exceed twice the LLC.
  /// 1 measures a layer whose weights stay in cache (not what a model does).
  int copies = 0;
  /// Options of the compiled Memory Layer (tiling overrides).
  JITOptions jit;
};

struct SideResult {
  std::string name;
  double tokensPerSecond = 0; ///< median over rounds
  std::vector<double> roundTokensPerSecond;
  int copies = 0;
  int64_t bytesPerCopy = 0;
};

struct LayerBenchResult {
  int64_t bitsPerTable = 0;
  SideResult mnemo;
  std::vector<SideResult> dense; ///< every library measured
  size_t fastestDense = 0;       ///< index into `dense`
  double speedup = 0;            ///< mnemo over the fastest dense
  double tableGBPerSecond = 0;   ///< table row bytes read per second
  /// The GPU's peak memory bandwidth in GB/s (target cuda; 0 on the CPU).
  double peakGBPerSecond = 0;
  double compileSeconds = 0;
  int64_t lastLevelCacheBytes = 0;
  std::string host;

  /// The JSON object `mnemoc bench layer --json` prints.
  std::string toJSON(const LayerBenchOptions &options) const;
  /// The human-readable report.
  std::string toText(const LayerBenchOptions &options) const;
};

/// Runs the benchmark; errors name the offending option. With
/// `jit.target == "cuda"` both sides run on the GPU: the generated kernels
/// against cuBLAS (sgemm with f32 weights, and GemmEx with f16 weights and
/// inputs), every call waited for, working sets over twice the GPU's L2.
llvm::Expected<LayerBenchResult>
runLayerBench(const LayerBenchOptions &options);

} // namespace mnemo::bench

#endif // MNEMO_BENCH_LAYERBENCH_H
