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

#include <string>

namespace mnemo::bench {

struct ModelBenchOptions {
  std::string dir;
  int64_t promptLength = 0; ///< 0: min(512, max_positions / 2)
  int64_t decodeTokens = 0; ///< 0: min(64, max_positions - prompt)
  int64_t rounds = 5;
  EngineOptions engine;
};

struct ModelBenchSide {
  double prefillTokensPerSecond = 0, decodeTokensPerSecond = 0;
};

struct ModelBenchResult {
  ModelConfig config;
  int64_t promptLength = 0, decodeTokens = 0, threads = 0, rounds = 0;
  ModelBenchSide model, dense;
  double loadSeconds = 0, denseLoadSeconds = 0;

  std::string toText() const;
  std::string toJSON() const;
};

llvm::Expected<ModelBenchResult> runModelBench(ModelBenchOptions options);

} // namespace mnemo::bench

#endif // MNEMO_BENCH_MODELBENCH_H
