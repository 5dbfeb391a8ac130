//===- Stats.h - What a model costs (mnemoc stats) --------------*- C++ -*-===//
//
// FLOPs, weight and table bytes, and bytes read per decoded token of a
// model, computed from its config alone (docs/cli.md explains each figure).
// FLOPs are counted as the MemoryFormer paper counts them in its Table 1: a
// multiply-add is one FLOP, per Transformer block, at a given sequence
// length. Two counts are given: the paper's method (its closed forms:
// `2 s^2 d` for attention, `12 s d^2` for a dense block's projections and
// FFN, `6 K s d` for a MemoryFormer block's Memory Layers), and Mnemo's
// count of what the compiled model executes (each Memory Layer's `K * h`
// row multiply-adds per token, causal attention over keys up to each
// query), so that the paper's numbers can be reproduced and the real cost
// read side by side.
//
//===----------------------------------------------------------------------===//

#ifndef MNEMO_MODEL_STATS_H
#define MNEMO_MODEL_STATS_H

#include "mnemo/Model/ModelConfig.h"

#include <cstdint>
#include <string>
#include <vector>

namespace mnemo {

struct ModelStats {
  int64_t seqLen = 0;

  // FLOPs of one block at `seqLen` tokens, the paper's method.
  double paperFlopsWithoutAttention = 0;
  double paperFlopsAttention = 0;
  // The same, as Mnemo executes the block.
  double flopsWithoutAttention = 0;
  double flopsAttention = 0;
  /// Values hashed (sign test and exponential each) by the block's Memory
  /// Layers, Q/K/V hashed once.
  double hashedValues = 0;

  /// One block's weights, by part: {name, bytes as stored}.
  std::vector<std::pair<std::string, uint64_t>> blockParts;
  uint64_t blockTableBytes = 0; ///< Memory Layer tables of one block
  uint64_t blockWeightBytes = 0; ///< everything of one block
  uint64_t modelBytes = 0;       ///< the whole model as stored
  uint64_t modelTableBytes = 0;  ///< all Memory Layer tables

  // Bytes one decoded token reads at position `seqLen`, as loaded (tables,
  // embeddings and the LM head as stored, other weights widened to f32,
  // activations and caches f32).
  uint64_t decodeWeightBytesPerBlock = 0;
  uint64_t decodeStateBytesPerBlock = 0; ///< KV cache or Memsizer state
  uint64_t decodeHeadBytes = 0;          ///< embedding row, final norm, head
  uint64_t decodeBytes = 0;              ///< all of it, every block

  std::string toText(const ModelConfig &config) const;
  std::string toJSON(const ModelConfig &config) const;
};

ModelStats computeStats(const ModelConfig &config, int64_t seqLen);

} // namespace mnemo

#endif // MNEMO_MODEL_STATS_H
