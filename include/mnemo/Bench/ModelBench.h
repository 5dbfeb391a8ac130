//===- ModelBench.h - A whole model against a dense Transformer -*- C++ -*-===//
//
// `mnemoc bench DIR`: prefill and decoding speed of a loaded model, and of
// a dense Transformer of the same shape (SPEC §4: same d, layers, heads,
// vocabulary, weight type, FFN 4d) built with random weights in the same
// run, interleaved, medians of rounds.
//
//===----------------------------------------------------------------------===//

#ifndef MNEMO_BENCH_MODELBENCH_H
#define MNEMO_BENCH_MODELBENCH_H

#include "mnemo/Engine/Engine.h"

#include <optional>
#include <string>
#include <vector>

namespace mnemo::bench {

struct ModelBenchOptions {
  std::string dir;
  int64_t promptLength = 0; ///< 0: min(512, max_positions / 2)
  int64_t decodeTokens = 0; ///< 0: min(64, max_positions - prompt)
  int64_t rounds = 5;
  /// Per-token decoding latency at these positions (both models); when
  /// any of the four measures below is asked for, only those run.
  std::vector<int64_t> decodePositions;
  /// Decoding steps timed per round at each of `decodePositions`.
  int64_t stepsPerRound = 16;
  /// Prefill time of prompts of these lengths (both models).
  std::vector<int64_t> prefillLengths;
  /// Decoding steps of one sequence of the model over which resident
  /// memory is watched (0: not measured).
  int64_t memorySteps = 0;
  /// Decoding throughput of the model for batches of these sizes: B
  /// sequences stepped together (Batch::step) against the same B sequences
  /// stepped one at a time, `stepsPerRound` steps per round.
  std::vector<int64_t> batchSizes;
  EngineOptions engine;
};

/// Seconds per decoded token at a position, medians of rounds.
struct PositionLatency {
  int64_t position = 0;
  double modelSeconds = 0, denseSeconds = 0;
};

/// Seconds to prefill a prompt, medians of rounds.
struct PrefillTime {
  int64_t tokens = 0;
  double modelSeconds = 0, denseSeconds = 0;
};

/// Resident memory of the process while one sequence decodes.
struct MemoryGrowth {
  int64_t steps = 0;     ///< decoding steps in all
  int64_t warmSteps = 0; ///< steps before the first reading
  int64_t warmBytes = 0, endBytes = 0;
};

/// Seconds per decoding step of B sequences, medians of rounds: stepped
/// together, and one at a time.
struct BatchThroughput {
  int64_t batch = 0;
  double batchedSeconds = 0, sequentialSeconds = 0;
};

struct ModelBenchSide {
  double prefillTokensPerSecond = 0, decodeTokensPerSecond = 0;
};

struct ModelBenchResult {
  ModelConfig config;
  int64_t promptLength = 0, decodeTokens = 0, threads = 0, rounds = 0;
  /// memsizer_seq2seq: the source tokens each sequence is given before it
  /// is timed (0 for other families).
  int64_t sourceTokens = 0;
  /// Whether the default prefill-and-decode rounds ran.
  bool standard = true;
  ModelBenchSide model, dense;
  std::vector<PositionLatency> positions;
  int64_t stepsPerRound = 0;
  std::vector<PrefillTime> prefills;
  std::optional<MemoryGrowth> memory;
  /// Batches start from a prompt of this many tokens per sequence.
  int64_t batchPrompt = 0;
  std::vector<BatchThroughput> batches;
  double loadSeconds = 0, denseLoadSeconds = 0;

  std::string toText() const;
  std::string toJSON() const;
};

llvm::Expected<ModelBenchResult> runModelBench(ModelBenchOptions options);

} // namespace mnemo::bench

#endif // MNEMO_BENCH_MODELBENCH_H
