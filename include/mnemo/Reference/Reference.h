//===- Reference.h - Plain C++ reference of SPEC.md -------------*- C++ -*-===//
//
// The numerical oracle: every equation of docs/spec.md written as plainly as
// possible, one loop per sum, double precision inside, no tiling, no
// vectorization, no cleverness. Generated kernels are tested against these
// functions; these functions are tested against values computed by hand.
//
// Conventions: row-major storage, rows are tokens, `n` rows. Dense weights
// follow the PyTorch Linear layout `[out, in]` (`y = x W^T + b`).
//
//===----------------------------------------------------------------------===//

#ifndef MNEMO_REFERENCE_REFERENCE_H
#define MNEMO_REFERENCE_REFERENCE_H

#include "mnemo/Model/ModelConfig.h"
#include "mnemo/Support/Types.h"

#include <cmath>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace mnemo::ref {

//===----------------------------------------------------------------------===//
// Memory Layer (SPEC §1)
//===----------------------------------------------------------------------===//

using mnemo::Weighting;

/// Geometry and weighting of one Memory Layer: `K` tables of `2^tau` rows of
/// width `h`; the input width is `d = K * tau`.
struct MemoryLayerShape {
  int64_t numTables = 0;    ///< K
  int64_t bitsPerTable = 0; ///< tau
  int64_t outputWidth = 0;  ///< h
  Weighting weighting = Weighting::L1Prob;
  double temperature = 1.0; ///< t, used by Weighting::Prob only.
};

/// Bucket of one chunk of `tau` values: bit `j` (element 0 is the most
/// significant) is set when `chunk[j] >= 0`, so 0.0 and -0.0 give 1 bits.
uint32_t bucketIndex(const float *chunk, int64_t tau);

/// Weight of the row a chunk retrieves (SPEC §1, `prob` or `l1_prob`).
double chunkWeight(const float *chunk, int64_t tau, Weighting weighting,
                   double temperature);

/// One Memory Layer: `y[n, h] = sum_k w_k * tables[k, idx_k, :] + bias`.
/// `tables` is `[K, 2^tau, h]` (already widened to f32); `bias` may be null.
std::vector<float> memoryLayer(const float *x, int64_t n, const float *tables,
                               const float *bias,
                               const MemoryLayerShape &shape);

//===----------------------------------------------------------------------===//
// Model-level building blocks (SPEC §2-§4)
//===----------------------------------------------------------------------===//

/// `x / sqrt(mean(x^2) + eps) * g`, row by row.
std::vector<float> rmsNorm(const float *x, int64_t n, int64_t d, const float *g,
                           double eps);

/// `(x - mean) / sqrt(var + eps) * g + b`, row by row (biased variance).
std::vector<float> layerNorm(const float *x, int64_t n, int64_t d,
                             const float *g, const float *b, double eps);

/// `y = x W^T + b` for `W` of shape `[out, in]`; `b` may be null.
std::vector<float> linear(const float *x, int64_t n, int64_t in, const float *w,
                          const float *b, int64_t out);

/// GPT-NeoX rotate-half rotary embedding of the first `rotaryDims` values of
/// each head, in place; `positions` are 0-based.
void rotary(float *x, int64_t n, int64_t numHeads, int64_t headDim,
            int64_t rotaryDims, double base, const int64_t *positions);

/// Causal multi-head softmax attention: `n` queries that are the last rows
/// of `m` keys/values; query `i` sees keys `0 .. m - n + i`. With `causal`
/// false every query sees every key (an encoder's self-attention).
std::vector<float> causalAttention(const float *q, int64_t n, const float *k,
                                   const float *v, int64_t m, int64_t numHeads,
                                   int64_t headDim, double scale,
                                   bool causal = true);

/// Memsizer's alpha: mean over heads of softmax over the `k` slots of each
/// head's block of `logits` (`[T, H*k]` -> `[T, k]`).
std::vector<float> memsizerAlpha(const float *logits, int64_t t,
                                 int64_t numHeads, int64_t slots);

/// Causal Memsizer attention over `t` tokens continuing `state` (`[k, d]`,
/// unscaled, holding `start` tokens). Updates `state` in place; returns
/// `[t, d]`. `scaled` selects the 1/sqrt(position) normalization.
std::vector<float> memsizerCausal(const float *alpha, const float *keys,
                                  const float *values, int64_t t, int64_t slots,
                                  int64_t d, std::vector<float> &state,
                                  int64_t start, bool scaled = true);

/// Source memory of Memsizer cross-attention: the sum of `keys[i] values[i]^T`
/// over tokens with `mask[i]` (all when `mask` is null), times
/// 1/sqrt(count) when `scaled`; zero when no token is kept.
std::vector<float> memsizerSourceMemory(const float *keys, const float *values,
                                        const uint8_t *mask, int64_t s,
                                        int64_t slots, int64_t d,
                                        bool scaled = true);

/// Cross-attention read-out: `alpha[t, k] x memory[k, d]`.
std::vector<float> memsizerCross(const float *alpha, int64_t t,
                                 const float *memory, int64_t slots, int64_t d);

/// Exact (erf) GELU.
double gelu(double x);

//===----------------------------------------------------------------------===//
// Model families (SPEC §2, §3, §4)
//===----------------------------------------------------------------------===//

using mnemo::Family;
using mnemo::ModelConfig;

/// A tensor of the model, widened to f32.
struct Tensor {
  std::vector<int64_t> shape;
  std::vector<float> data;
};
using Weights = std::map<std::string, Tensor>;

/// How close the hashed inputs of a model's Memory Layers came to zero.
/// Hashing is discontinuous there: a value within a few f32 rounding
/// errors of zero (relative to its row's RMS) may legitimately fall in the
/// other bucket in any f32 implementation, and change a whole output row.
struct HashMargin {
  double relative = INFINITY; ///< least |value| / row RMS
  int64_t layer = -1, row = -1;
};

/// Logits `[tokens.size(), vocab]` of a causal LM for a prompt, computed in
/// one pass over the whole prompt (no caches): the oracle for prefill and,
/// token by token, for decoding. Throws std::out_of_range when a tensor is
/// missing. `margin`, if given, receives the hashed value closest to zero.
std::vector<float> modelLogits(const ModelConfig &config,
                               const Weights &weights,
                               const std::vector<int64_t> &tokens,
                               HashMargin *margin = nullptr);

/// memsizer_seq2seq: the logits `[target.size(), vocab]` of every target
/// token, the decoder reading the encoder's output for `source` through
/// Memsizer cross-attention. Throws std::out_of_range when a tensor is
/// missing.
std::vector<float> seq2seqLogits(const ModelConfig &config,
                                 const Weights &weights,
                                 const std::vector<int64_t> &source,
                                 const std::vector<int64_t> &target);

} // namespace mnemo::ref

#endif // MNEMO_REFERENCE_REFERENCE_H
