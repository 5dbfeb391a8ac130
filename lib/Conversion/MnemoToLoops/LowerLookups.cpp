//===- LowerLookups.cpp - CPU code generation for Memory Layers -*- C++ -*-===//
//
// Generates the loop nest of one `mnemo.hash_lookup` on buffers, specialized
// for its table geometry, element type, weighting, fused normalization and
// tiling (#mnemo.lookup_tiling). This is the code generator of the Memory
// Layer on CPU. With column tiles spread over threads:
//
//   parallel over tiles of 16 tokens:            hashing
//     for each token: [normalize the row on the fly]
//       bucket[t][k], weight[t][k] for all K tables, computed on whole
//       vectors of the row with in-register segmented reductions
//   parallel over column tiles c (C columns):    gathering
//     for each token tile (T tokens):
//       for each pass of U tables:                table slices [2^tau, C]
//         for each token t of the tile:           of the pass stay in cache
//           acc = first pass ? bias : acc[t]      while every token of the
//           for k in pass: acc += w * row         tile reads its rows; acc
//           last pass ? out[t] = acc : acc[t] = acc   lives in registers
//
// With one pass (U >= K) the accumulators never leave registers. Table
// slices of the next pass are prefetched into L2 while a pass runs (or, for
// few tokens, the rows themselves a few tables ahead). With token tiles
// spread over threads instead, each token tile hashes its own tokens and
// loops over all column tiles.
//
// Tables are read as `[h/C, K, 2^tau, C]` when packed (contiguous slices) or
// `[K, 2^tau, h]`; f16/bf16 rows are widened to f32 before the FMA.
//
//===----------------------------------------------------------------------===//

#include "Mnemo/IR/MnemoOps.h"
#include "mnemo/Conversion/Passes.h"

#include "LoopEmitter.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"
#include "llvm/Support/Debug.h"

#define DEBUG_TYPE "mnemo-lower-lookups"

namespace mlir::mnemo {
#define GEN_PASS_DEF_LOWERLOOKUPSPASS
#include "mnemo/Conversion/Passes.h.inc"
} // namespace mlir::mnemo

using namespace mlir;
using namespace mlir::mnemo;

namespace {

/// Bytes per cache line, for prefetch addresses.
constexpr int64_t kCacheLineBytes = 64;

/// Tokens per iteration of the parallel hashing loop: small enough to
/// balance threads, large enough to amortize scheduling.
constexpr int64_t kHashTileTokens = 16;

/// Vector FMAs per iteration of the innermost table loop: enough to hide
/// its overhead, few enough to keep wide column tiles cheap to compile.
constexpr int64_t kFMAsPerGroup = 16;

/// 32-bit lanes per 128-bit block, the unit within which x86 two-source
/// shuffles (`shufps`) take one instruction.
constexpr int64_t kLanesPerBlock = 4;

/// What a lane holds while a hashing group is reduced: the partial result
/// of one chunk over its elements [part * 2^level, (part + 1) * 2^level).
struct LanePart {
  int64_t chunk, part;
};

/// Two masks that take the lanes of two vectors `l` and `r` (indices 0 .. V
/// - 1 and V .. 2V - 1) apart, so that combining lane i of the first with
/// lane i of the second merges parts 2m and 2m + 1 of one chunk; `parts`:
/// what each lane of the result holds.
struct PairShuffle {
  SmallVector<int64_t> first, second;
  SmallVector<LanePart> parts;
};

/// The cheapest pair of shuffles that reduces `l` and `r` across one
/// another. Merging parts 2m and 2m + 1 at every level makes the same
/// tree of sums and products as the segmented reduction within a vector
/// (its butterfly), so the results are the same, bit for bit, whichever
/// shuffles are taken. Tried in order: even and odd lanes within each
/// 128-bit block (one `shufps` each on x86), the low and high halves (one
/// cross-block shuffle each), else each pair's lanes gathered from wherever
/// they are, in chunk order (two or more instructions each on AVX2), which
/// always works.
PairShuffle choosePairShuffle(ArrayRef<LanePart> l, ArrayRef<LanePart> r) {
  auto v = static_cast<int64_t>(l.size());
  auto partOf = [&](int64_t lane) { return lane < v ? l[lane] : r[lane - v]; };
  auto merges = [&](int64_t first, int64_t second) {
    LanePart a = partOf(first), b = partOf(second);
    return a.chunk == b.chunk && a.part / 2 == b.part / 2 && a.part != b.part;
  };
  auto finish = [&](PairShuffle pair) {
    for (int64_t lane : pair.first)
      pair.parts.push_back({partOf(lane).chunk, partOf(lane).part / 2});
    return pair;
  };
  auto valid = [&](const PairShuffle &pair) {
    return static_cast<int64_t>(pair.first.size()) == v &&
           static_cast<int64_t>(pair.second.size()) == v &&
           llvm::all_of(llvm::seq<int64_t>(0, v), [&](int64_t lane) {
             return merges(pair.first[lane], pair.second[lane]);
           });
  };
  if (v % kLanesPerBlock == 0 && v > kLanesPerBlock) {
    PairShuffle inBlocks;
    for (int64_t block = 0; block < v; block += kLanesPerBlock)
      for (int64_t source : {block, v + block})
        for (int64_t lane = 0; lane < kLanesPerBlock; lane += 2) {
          inBlocks.first.push_back(source + lane);
          inBlocks.second.push_back(source + lane + 1);
        }
    if (valid(inBlocks))
      return finish(std::move(inBlocks));
  }
  if (v % 2 == 0) {
    PairShuffle halves;
    for (int64_t source : {int64_t(0), v})
      for (int64_t lane = 0; lane < v / 2; ++lane) {
        halves.first.push_back(source + lane);
        halves.second.push_back(source + v / 2 + lane);
      }
    if (valid(halves))
      return finish(std::move(halves));
  }
  // Any lanes: the two parts of each merged pair, in chunk order (on a
  // group's first level, even and odd lanes of the whole vector).
  PairShuffle gathered;
  SmallVector<std::array<int64_t, 3>> pairs; // chunk, m, lane of part 2m
  for (int64_t lane = 0; lane < 2 * v; ++lane)
    if (partOf(lane).part % 2 == 0)
      pairs.push_back({partOf(lane).chunk, partOf(lane).part / 2, lane});
  llvm::sort(pairs);
  for (auto [chunk, m, lane] : pairs) {
    gathered.first.push_back(lane);
    for (int64_t other = 0; other < 2 * v; ++other)
      if (partOf(other).chunk == chunk && partOf(other).part == 2 * m + 1)
        gathered.second.push_back(other);
  }
  assert(valid(gathered) && "a hashing group's lanes hold whole pairs");
  return finish(std::move(gathered));
}

/// Everything the generated code is specialized on.
struct LookupConfig {
  int64_t numTables;     // K
  int64_t bitsPerTable;  // tau
  int64_t numBuckets;    // 2^tau
  int64_t inputWidth;    // d
  int64_t numTokens;     // N, or ShapedType::kDynamic
  int64_t outputWidth;   // h
  int64_t columns;       // C, columns per tile
  int64_t tokens;        // T, tokens per tile
  int64_t tablesPerPass; // U
  int64_t prefetch;      // passes (or, for rows, groups) ahead; 0: none
  LookupParallel parallel;
  int64_t vectorWidth; // V
  Type tableElementType;
  int64_t tableElementBytes;
  bool packed;
  Weighting weighting;
  double temperature;
  std::optional<NormKind> norm;
  double normEpsilon;

  int64_t numColumnTiles() const { return outputWidth / columns; }
  int64_t numPasses() const {
    return llvm::divideCeil(numTables, tablesPerPass);
  }
};

class LookupCodegen : public LoopEmitter {
public:
  LookupCodegen(ImplicitLocOpBuilder &b, const LookupConfig &cfg, Value x,
                Value tables, Value bias, Value normWeight, Value normBias)
      : LoopEmitter(b), cfg(cfg), x(x), tables(tables), bias(bias),
        normWeight(normWeight), normBias(normBias) {
    f32 = b.getF32Type();
    i32 = b.getI32Type();
    chunks = splitColumns(cfg.columns, cfg.vectorWidth);
    if (cfg.packed)
      flatTables = b.create<memref::CollapseShapeOp>(
          tables, ArrayRef<ReassociationIndices>{{0, 1, 2, 3}});
  }

  /// Emits the whole computation; returns the `[n, h]` output buffer.
  Value emit();

private:
  //===--------------------------------------------------------------------===//
  // Builder helpers
  //===--------------------------------------------------------------------===//

  /// Buckets and weights are stored `[passes, tokens, U]`: the entries a
  /// pass reads are one contiguous block, and a token's entries within a
  /// pass are adjacent. These are the indices of table `k` of token `slot`.
  SmallVector<Value> entry(Value k, Value slot) {
    Value u = index(cfg.tablesPerPass);
    return {b.create<arith::DivUIOp>(k, u), slot,
            b.create<arith::RemUIOp>(k, u)};
  }
  /// The type of the bucket or weight buffer for `tokens` tokens.
  MemRefType entryType(int64_t tokens, Type element) {
    return MemRefType::get({cfg.numPasses(), tokens, cfg.tablesPerPass},
                           element);
  }

  //===--------------------------------------------------------------------===//
  // Code generation
  //===--------------------------------------------------------------------===//

  std::pair<Value, Value> emitNormStatistics(Value row);
  Value normalize(Value z, Value column, Value mean, Value rstd);
  /// Hashes one row. `inGroups`: when tau divides V, in groups of tau
  /// vectors (faster per row, more code), else a vector at a time.
  void emitHashRow(Value row, Value slot, Value bucketBuf, Value weightBuf,
                   bool inGroups);
  void emitHashRowByChunk(Value row, Value slot, Value bucketBuf,
                          Value weightBuf, Value mean, Value rstd);
  void emitHashRowByVector(Value row, Value slot, Value bucketBuf,
                           Value weightBuf, Value mean, Value rstd,
                           bool inGroups);
  /// The per-element terms of hashing `width` values of the row from
  /// `column` (whole chunks): bit values, |z| and 1 + exp(-2|z|/t).
  struct HashTerms {
    Value bits, magnitude, denominators;
  };
  HashTerms emitHashTerms(Value row, Value column, int64_t width, Value mean,
                          Value rstd);
  Value segmentedReduce(Value v, int64_t segment,
                        function_ref<Value(Value, Value)> combine);
  Value expOfNonPositive(Value x);

  void emitGather(Value firstToken, Value numTokens, Value firstSlot,
                  Value columnTile, Value bucketBuf, Value weightBuf,
                  Value accBuf, Value out);
  void emitPass(Value firstTable, int64_t numTables, bool first, bool last,
                Value firstToken, Value numTokens, Value firstSlot,
                Value columnTile, Value bucketBuf, Value weightBuf,
                Value accBuf, Value out);
  SmallVector<Value> emitAccumulate(Value firstTable, Value pass,
                                    Value firstEntry, int64_t count,
                                    Value columnTile, Value columnBase,
                                    Value slot, Value bucketBuf,
                                    Value weightBuf, ValueRange acc);
  Value loadRow(Value columnTile, Value table, Value bucket,
                const ColumnChunk &chunk, Value columnBase);
  void emitSlicePrefetch(Value columnTile, Value firstTable, Value token,
                         int64_t tablesAhead);

  const LookupConfig &cfg;
  Value x, tables, bias, normWeight, normBias;
  /// A 1-D view of packed tables, for prefetching contiguous ranges.
  Value flatTables;
  Type f32, i32;
  SmallVector<ColumnChunk> chunks;
};

//===----------------------------------------------------------------------===//
// Hashing
//===----------------------------------------------------------------------===//

/// Computes the statistics of a row normalization: the mean (LayerNorm only,
/// else null) and 1 / sqrt(mean square or variance + eps).
std::pair<Value, Value> LookupCodegen::emitNormStatistics(Value row) {
  int64_t d = cfg.inputWidth, v = cfg.vectorWidth;
  int64_t full = d / v * v;
  auto vecType = VectorType::get({v}, f32);
  bool isLayerNorm = *cfg.norm == NormKind::layer_norm;

  // sum_j f(x_j - center) over the row, vectorized, with a tail vector;
  // f squares when `square` is set.
  auto reduceRow = [&](Value center, bool square) -> Value {
    auto term = [&](Value chunk) -> Value {
      if (center)
        chunk = b.create<arith::SubFOp>(
            chunk, splat(cast<VectorType>(chunk.getType()), center));
      return square ? b.create<arith::MulFOp>(chunk, chunk).getResult() : chunk;
    };
    Value acc = splat(vecType, f32Const(0.0));
    if (full > 0)
      acc = forLoop(index(0), index(full), index(v), ValueRange{acc},
                    [&](Value j, ValueRange iter) -> SmallVector<Value> {
                      Value chunk = b.create<vector::LoadOp>(
                          vecType, x, ValueRange{row, j});
                      return {b.create<arith::AddFOp>(iter[0], term(chunk))};
                    })
                .front();
    Value total = b.create<vector::ReductionOp>(vector::CombiningKind::ADD, acc,
                                                arith::FastMathFlags::reassoc);
    if (full < d) {
      auto tailType = VectorType::get({d - full}, f32);
      Value tail =
          b.create<vector::LoadOp>(tailType, x, ValueRange{row, index(full)});
      total = b.create<arith::AddFOp>(
          total,
          b.create<vector::ReductionOp>(vector::CombiningKind::ADD, term(tail),
                                        arith::FastMathFlags::reassoc));
    }
    return total;
  };

  Value width = f32Const(static_cast<double>(d));
  Value mean;
  if (isLayerNorm)
    mean = b.create<arith::DivFOp>(reduceRow(Value(), /*square=*/false), width);
  Value meanSquare =
      b.create<arith::DivFOp>(reduceRow(mean, /*square=*/true), width);
  Value variance =
      b.create<arith::AddFOp>(meanSquare, f32Const(cfg.normEpsilon));
  Value rstd =
      b.create<arith::DivFOp>(f32Const(1.0), b.create<math::SqrtOp>(variance));
  return {mean, rstd};
}

/// Applies the fused normalization to the values `z` of the row starting at
/// `column`.
Value LookupCodegen::normalize(Value z, Value column, Value mean, Value rstd) {
  if (!cfg.norm)
    return z;
  auto type = cast<VectorType>(z.getType());
  if (mean)
    z = b.create<arith::SubFOp>(z, splat(type, mean));
  z = b.create<arith::MulFOp>(z, splat(type, rstd));
  z = b.create<arith::MulFOp>(
      z, b.create<vector::LoadOp>(type, normWeight, column));
  if (normBias)
    z = b.create<arith::AddFOp>(
        z, b.create<vector::LoadOp>(type, normBias, column));
  return z;
}

void LookupCodegen::emitHashRow(Value row, Value slot, Value bucketBuf,
                                Value weightBuf, bool inGroups) {
  Value mean, rstd;
  if (cfg.norm)
    std::tie(mean, rstd) = emitNormStatistics(row);
  if (cfg.bitsPerTable <= cfg.vectorWidth &&
      cfg.vectorWidth % cfg.bitsPerTable == 0)
    emitHashRowByVector(row, slot, bucketBuf, weightBuf, mean, rstd, inGroups);
  else
    emitHashRowByChunk(row, slot, bucketBuf, weightBuf, mean, rstd);
}

/// Combines each lane with the other lanes of its aligned segment of
/// `segment` lanes (a power of two): a butterfly of log2(segment) shuffles,
/// after which every lane holds the total of its segment.
Value LookupCodegen::segmentedReduce(
    Value v, int64_t segment, function_ref<Value(Value, Value)> combine) {
  int64_t lanes = cast<VectorType>(v.getType()).getNumElements();
  for (int64_t distance = 1; distance < segment; distance *= 2) {
    SmallVector<int64_t> mask;
    for (int64_t lane = 0; lane < lanes; ++lane)
      mask.push_back(lane ^ distance);
    v = combine(v, b.create<vector::ShuffleOp>(v, v, mask));
  }
  return v;
}

LookupCodegen::HashTerms LookupCodegen::emitHashTerms(Value row, Value column,
                                                      int64_t width, Value mean,
                                                      Value rstd) {
  int64_t tau = cfg.bitsPerTable;
  double t = cfg.weighting == Weighting::prob ? cfg.temperature : 1.0;
  auto type = VectorType::get({width}, f32);
  auto bitsType = VectorType::get({width}, i32);
  SmallVector<int32_t> powers;
  for (int64_t lane = 0; lane < width; ++lane)
    powers.push_back(static_cast<int32_t>(1) << (tau - 1 - lane % tau));
  Value bitValues = b.create<arith::ConstantOp>(
      DenseElementsAttr::get(bitsType, ArrayRef<int32_t>(powers)));
  Value zeroBits =
      b.create<arith::ConstantOp>(DenseElementsAttr::get(bitsType, 0));

  Value z = b.create<vector::LoadOp>(type, x, ValueRange{row, column});
  z = normalize(z, column, mean, rstd);
  // Bit j of a chunk when z_j >= 0: true for 0.0 and -0.0, false for NaN.
  Value isNonNegative = b.create<arith::CmpFOp>(arith::CmpFPredicate::OGE, z,
                                                splat(type, f32Const(0.0)));
  HashTerms terms;
  terms.bits = b.create<arith::SelectOp>(isNonNegative, bitValues, zeroBits);
  terms.magnitude = b.create<math::AbsFOp>(z);
  Value e = expOfNonPositive(b.create<arith::MulFOp>(
      terms.magnitude, splat(type, f32Const(-2.0 / t))));
  terms.denominators = b.create<arith::AddFOp>(e, splat(type, f32Const(1.0)));
  return terms;
}

/// exp(x) for a vector of x <= 0 (or NaN, which it returns), within about
/// 1 ulp: hashing's exp(-2|z| / t). Below -20 the result is clamped at
/// exp(-20) ~ 2e-9, which leaves 1 + exp(x) at exactly 1.0f, as for any
/// smaller x. n = round(x / ln 2) is read from the low bits of x log2(e) +
/// 1.5 * 2^23 (no conversion to integer), r = x - n ln 2 in two parts
/// (Cody-Waite), exp(r) by the Cephes expf polynomial, times 2^n built in
/// the exponent field. 16 vector operations; the general approximation of
/// math.exp (which handles any x) takes about 25, and code size is what the
/// JIT's compile time pays for.
Value LookupCodegen::expOfNonPositive(Value x) {
  auto type = cast<VectorType>(x.getType());
  auto bitsType = VectorType::get(type.getShape(), i32);
  auto c = [&](double v) { return splat(type, f32Const(v)); };
  auto fma = [&](Value a, Value m, Value add) {
    return b.create<math::FmaOp>(a, m, add).getResult();
  };
  // max(x, -20), keeping a NaN x.
  Value low = c(-20.0);
  x = b.create<arith::SelectOp>(
      b.create<arith::CmpFOp>(arith::CmpFPredicate::OLT, x, low), low, x);
  Value shifter = c(12582912.0); // 1.5 * 2^23
  Value shifted = fma(x, c(1.44269504088896341), shifter);
  Value n = b.create<arith::SubFOp>(shifted, shifter);
  Value r = fma(n, c(-0.693359375), x);
  r = fma(n, c(2.12194440e-4), r);
  Value p = c(1.9875691500e-4);
  for (double coefficient : {1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2,
                             1.6666665459e-1, 5.0000001201e-1})
    p = fma(p, r, c(coefficient));
  Value r2 = b.create<arith::MulFOp>(r, r);
  Value e = fma(p, r2, b.create<arith::AddFOp>(r, c(1.0)));
  // 2^n: n + 127 in the exponent field. The bits of `shifted` are
  // 0x4B400000 + n (its ulp is 1), whose low 9 bits are n's (those of
  // 0x4B400000 are 0): (bits << 23) + (127 << 23) is 2^n for n >= -29.
  auto ci = [&](int32_t v) {
    return b.create<arith::ConstantOp>(DenseElementsAttr::get(bitsType, v));
  };
  Value bits = b.create<arith::BitcastOp>(bitsType, shifted);
  Value exponent = b.create<arith::AddIOp>(
      b.create<arith::ShLIOp>(bits, ci(23)), ci(127 << 23));
  return b.create<arith::MulFOp>(e, b.create<arith::BitcastOp>(type, exponent));
}

/// Hashing when tau divides the vector width: every vector of the row holds
/// V / tau whole chunks. Per element: the bit value (element 0 of a chunk is
/// the most significant bit), |z| and 1 + exp(-2|z|/t); per chunk, sums and
/// products of its elements give the bucket and the weight.
///
/// The row is hashed in groups of tau vectors, V chunks: the group's vectors
/// are reduced across one another, two vectors at a time (two-source
/// shuffles that pair neighbouring parts of each chunk, within 128-bit
/// blocks where they can: see choosePairShuffle), so that after log2(tau)
/// levels one vector holds the V chunks' results; one division gives their
/// weights, one shuffle each puts buckets and weights in chunk order if the
/// blocks left them out of it, and vector stores write their entries. Per
/// vector that is about 3 operations per reduction where a segmented
/// reduction within the vector takes 2 log2(tau), and one division per V
/// chunks, not per vector.
/// The tables left over (K mod V) are hashed a vector at a time, with
/// segmented reductions within the vector.
void LookupCodegen::emitHashRowByVector(Value row, Value slot, Value bucketBuf,
                                        Value weightBuf, Value mean, Value rstd,
                                        bool inGroups) {
  int64_t tau = cfg.bitsPerTable, d = cfg.inputWidth, v = cfg.vectorWidth;
  bool l1 = cfg.weighting == Weighting::l1_prob;

  auto addI = [&](Value l, Value r) {
    return b.create<arith::AddIOp>(l, r).getResult();
  };
  auto addF = [&](Value l, Value r) {
    return b.create<arith::AddFOp>(l, r).getResult();
  };
  auto mulF = [&](Value l, Value r) {
    return b.create<arith::MulFOp>(l, r).getResult();
  };

  // Stores `count` consecutive entries from table `table`. When `table` is
  // a multiple of `count` (`aligned`): at once if U is a multiple of
  // `count` (they are within one pass), in vectors of U if `count` is a
  // multiple of U (they are whole passes); else one by one.
  auto storeEntries = [&](Value table, Value buckets, Value weights,
                          int64_t count, bool aligned) {
    int64_t u = cfg.tablesPerPass;
    if (aligned && u % count == 0) {
      b.create<vector::StoreOp>(buckets, bucketBuf, entry(table, slot));
      b.create<vector::StoreOp>(weights, weightBuf, entry(table, slot));
      return;
    }
    if (aligned && count % u == 0) {
      for (int64_t first = 0; first < count; first += u) {
        Value pass =
            b.create<arith::DivUIOp>(add(table, index(first)), index(u));
        for (auto [values, buffer] :
             {std::pair{buckets, bucketBuf}, std::pair{weights, weightBuf}})
          b.create<vector::StoreOp>(b.create<vector::ExtractStridedSliceOp>(
                                        values, ArrayRef<int64_t>{first},
                                        ArrayRef<int64_t>{u},
                                        ArrayRef<int64_t>{1}),
                                    buffer, ValueRange{pass, slot, index(0)});
      }
      return;
    }
    for (int64_t c = 0; c < count; ++c) {
      SmallVector<Value> indices = entry(add(table, index(c)), slot);
      b.create<memref::StoreOp>(b.create<vector::ExtractOp>(buckets, c),
                                bucketBuf, indices);
      b.create<memref::StoreOp>(b.create<vector::ExtractOp>(weights, c),
                                weightBuf, indices);
    }
  };

  // Groups of tau vectors, reduced level by level as soon as two vectors of
  // the same level are there.
  int64_t groupColumns = tau * v;
  int64_t groups = inGroups ? d / groupColumns : 0;
  auto hashGroup = [&](Value firstColumn) {
    struct Level {
      int64_t level;
      Value bits, magnitude, denominators;
      SmallVector<LanePart> parts; // of the group's V chunks
    };
    SmallVector<Level> stack;
    // Each vector's terms are computed right before they are reduced, so
    // that few are live at once.
    for (int64_t i = 0; i < tau; ++i) {
      HashTerms term =
          emitHashTerms(row, add(firstColumn, index(i * v)), v, mean, rstd);
      SmallVector<LanePart> parts;
      for (int64_t lane = 0; lane < v; ++lane)
        parts.push_back({(i * v + lane) / tau, (i * v + lane) % tau});
      stack.push_back({0, term.bits, l1 ? term.magnitude : Value(),
                       term.denominators, std::move(parts)});
      while (stack.size() >= 2 &&
             stack.back().level == stack[stack.size() - 2].level) {
        Level r = stack.pop_back_val(), &l = stack.back();
        PairShuffle pair = choosePairShuffle(l.parts, r.parts);
        auto across = [&](Value lv, Value rv,
                          function_ref<Value(Value, Value)> combine) {
          return combine(b.create<vector::ShuffleOp>(lv, rv, pair.first),
                         b.create<vector::ShuffleOp>(lv, rv, pair.second));
        };
        l.bits = across(l.bits, r.bits, addI);
        if (l1)
          l.magnitude = across(l.magnitude, r.magnitude, addF);
        l.denominators = across(l.denominators, r.denominators, mulF);
        l.parts = std::move(pair.parts);
        ++l.level;
      }
    }
    Level &all = stack.front();
    Value numerators =
        l1 ? all.magnitude : splat(VectorType::get({v}, f32), f32Const(1.0));
    Value buckets = all.bits;
    Value weights = b.create<arith::DivFOp>(numerators, all.denominators);
    // The chunks in order, if the shuffles left them out of order.
    SmallVector<int64_t> order(v);
    for (int64_t lane = 0; lane < v; ++lane)
      order[all.parts[lane].chunk] = lane;
    if (!llvm::equal(order, llvm::seq<int64_t>(0, v))) {
      buckets = b.create<vector::ShuffleOp>(buckets, buckets, order);
      weights = b.create<vector::ShuffleOp>(weights, weights, order);
    }
    storeEntries(b.create<arith::DivUIOp>(firstColumn, index(tau)), buckets,
                 weights, v, /*aligned=*/true);
  };
  if (groups > 0)
    forLoop(index(0), index(groups * groupColumns), index(groupColumns),
            hashGroup);

  // One vector's chunks, reduced within the vector: lanes 0, tau, 2 tau, ...
  // end up with the chunks' results.
  auto hashVector = [&](Value column, int64_t width) {
    auto type = VectorType::get({width}, f32);
    HashTerms term = emitHashTerms(row, column, width, mean, rstd);
    Value buckets = segmentedReduce(term.bits, tau, addI);
    Value products = segmentedReduce(term.denominators, tau, mulF);
    Value numerators = splat(type, f32Const(1.0));
    if (l1)
      numerators = segmentedReduce(term.magnitude, tau, addF);
    Value weights = b.create<arith::DivFOp>(numerators, products);
    int64_t numChunks = width / tau;
    if (tau > 1) {
      SmallVector<int64_t> firstLanes;
      for (int64_t c = 0; c < numChunks; ++c)
        firstLanes.push_back(c * tau);
      buckets = b.create<vector::ShuffleOp>(buckets, buckets, firstLanes);
      weights = b.create<vector::ShuffleOp>(weights, weights, firstLanes);
    }
    storeEntries(b.create<arith::DivUIOp>(column, index(tau)), buckets, weights,
                 numChunks, /*aligned=*/width == v);
  };
  int64_t rest = groups * groupColumns, full = rest + (d - rest) / v * v;
  if (full > rest)
    forLoop(index(rest), index(full), index(v),
            [&](Value column) { hashVector(column, v); });
  // The tail holds whole chunks too: d and V are multiples of tau.
  if (full < d)
    hashVector(index(full), d - full);
}

/// Hashing for any tau: one vector<tau x f32> per chunk, with horizontal
/// reductions.
void LookupCodegen::emitHashRowByChunk(Value row, Value slot, Value bucketBuf,
                                       Value weightBuf, Value mean,
                                       Value rstd) {
  int64_t tau = cfg.bitsPerTable;
  forLoop(index(0), index(cfg.numTables), index(1), [&](Value k) {
    HashTerms terms = emitHashTerms(row, mul(k, index(tau)), tau, mean, rstd);
    Value bucket =
        b.create<vector::ReductionOp>(vector::CombiningKind::ADD, terms.bits);
    Value product = b.create<vector::ReductionOp>(
        vector::CombiningKind::MUL, terms.denominators,
        arith::FastMathFlags::reassoc);
    Value numerator = f32Const(1.0);
    if (cfg.weighting == Weighting::l1_prob)
      numerator = b.create<vector::ReductionOp>(vector::CombiningKind::ADD,
                                                terms.magnitude,
                                                arith::FastMathFlags::reassoc);
    Value weight = b.create<arith::DivFOp>(numerator, product);
    b.create<memref::StoreOp>(bucket, bucketBuf, entry(k, slot));
    b.create<memref::StoreOp>(weight, weightBuf, entry(k, slot));
  });
}

//===----------------------------------------------------------------------===//
// Gather
//===----------------------------------------------------------------------===//

Value LookupCodegen::loadRow(Value columnTile, Value table, Value bucket,
                             const ColumnChunk &chunk, Value columnBase) {
  auto rowType = VectorType::get({chunk.width}, cfg.tableElementType);
  Value row;
  if (cfg.packed)
    row = b.create<vector::LoadOp>(
        rowType, tables,
        ValueRange{columnTile, table, bucket, index(chunk.offset)});
  else
    row = b.create<vector::LoadOp>(
        rowType, tables,
        ValueRange{table, bucket, add(columnBase, index(chunk.offset))});
  if (cfg.tableElementType != f32)
    row = b.create<arith::ExtFOp>(VectorType::get({chunk.width}, f32), row);
  return row;
}

/// Prefetches into L2 the table slices `tablesAhead` tables from
/// `firstTable`. In the packed layout the slices of consecutive tables (and
/// then of the next column tile) are one contiguous range; token `t` of the
/// tile fetches lines t*L .. t*L + L - 1 of a pass's worth, L chosen so that
/// the tile's tokens cover it. Prefetches past the end are harmless.
void LookupCodegen::emitSlicePrefetch(Value columnTile, Value firstTable,
                                      Value token, int64_t tablesAhead) {
  int64_t sliceElements = cfg.numBuckets * cfg.columns;
  int64_t passElements = sliceElements * cfg.tablesPerPass;
  int64_t elementsPerLine =
      std::max<int64_t>(1, kCacheLineBytes / cfg.tableElementBytes);
  int64_t linesPerPass = llvm::divideCeil(passElements, elementsPerLine);
  int64_t linesPerToken = llvm::divideCeil(linesPerPass, cfg.tokens);
  Value base =
      add(mul(columnTile, index(cfg.numTables * sliceElements)),
          mul(add(firstTable, index(tablesAhead)), index(sliceElements)));
  Value first = add(base, mul(token, index(linesPerToken * elementsPerLine)));
  for (int64_t m = 0; m < linesPerToken; ++m)
    b.create<memref::PrefetchOp>(
        flatTables, ValueRange{add(first, index(m * elementsPerLine))},
        /*isWrite=*/false, /*localityHint=*/2, /*isDataCache=*/true);
}

/// acc += sum over `count` tables of w * row, for one token: the tables
/// from `firstTable`, whose entries are `firstEntry`, ... of pass `pass`.
SmallVector<Value>
LookupCodegen::emitAccumulate(Value firstTable, Value pass, Value firstEntry,
                              int64_t count, Value columnTile, Value columnBase,
                              Value slot, Value bucketBuf, Value weightBuf,
                              ValueRange acc) {
  SmallVector<Value> result(acc.begin(), acc.end());
  for (int64_t u = 0; u < count; ++u) {
    Value k = add(firstTable, index(u));
    SmallVector<Value> at = {pass, slot, add(firstEntry, index(u))};
    Value bucket = b.create<arith::IndexCastOp>(
        b.getIndexType(), b.create<memref::LoadOp>(bucketBuf, at));
    Value weight = b.create<memref::LoadOp>(weightBuf, at);
    for (auto [i, chunk] : llvm::enumerate(chunks)) {
      Value row = loadRow(columnTile, k, bucket, chunk, columnBase);
      Value w = splat(VectorType::get({chunk.width}, f32), weight);
      result[i] = b.create<vector::FMAOp>(w, row, result[i]);
    }
  }
  return result;
}

/// One pass over the token tile for the tables [firstTable, firstTable +
/// numTables), firstTable a multiple of U: the accumulators start from the
/// bias on the first pass (else from the tile buffer) and end in the output
/// on the last pass (else in the tile buffer).
void LookupCodegen::emitPass(Value firstTable, int64_t numTables, bool first,
                             bool last, Value firstToken, Value numTokens,
                             Value firstSlot, Value columnTile, Value bucketBuf,
                             Value weightBuf, Value accBuf, Value out) {
  Value columnBase = mul(columnTile, index(cfg.columns));
  Value pass = b.create<arith::DivUIOp>(firstTable, index(cfg.tablesPerPass));
  // Tables per iteration of the table loop: up to 4, fewer for wide tiles.
  int64_t unroll =
      std::clamp<int64_t>(kFMAsPerGroup / static_cast<int64_t>(chunks.size()),
                          1, std::min<int64_t>(4, numTables));
  // Slices are worth prefetching when the tile's tokens read most of their
  // rows (at least 2^tau / 2 tokens); with fewer (decoding), rows are read
  // on demand, which the out-of-order core overlaps well. The test is
  // decided at compile time when the token count is static.
  int64_t threshold = std::max<int64_t>(1, cfg.numBuckets / 2);
  bool prefetch = cfg.prefetch > 0 && cfg.packed &&
                  (ShapedType::isDynamic(cfg.numTokens) ||
                   std::min(cfg.numTokens, cfg.tokens) >= threshold);
  Value manyTokens;
  if (prefetch && ShapedType::isDynamic(cfg.numTokens))
    manyTokens = b.create<arith::CmpIOp>(arith::CmpIPredicate::sge, numTokens,
                                         index(threshold));
  forLoop(index(0), numTokens, index(1), [&](Value t) {
    Value slot = add(firstSlot, t);
    // Each token prefetches its share of the slices of the pass ahead (see
    // emitSlicePrefetch); the branch on the token count is loop-invariant
    // and LLVM unswitches it.
    if (prefetch && manyTokens) {
      auto ifOp = b.create<scf::IfOp>(manyTokens, /*withElseRegion=*/false);
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPoint(ifOp.thenYield());
      emitSlicePrefetch(columnTile, firstTable, t,
                        cfg.prefetch * cfg.tablesPerPass);
    } else if (prefetch) {
      emitSlicePrefetch(columnTile, firstTable, t,
                        cfg.prefetch * cfg.tablesPerPass);
    }

    SmallVector<Value> acc;
    for (const ColumnChunk &chunk : chunks) {
      auto type = VectorType::get({chunk.width}, f32);
      if (!first)
        acc.push_back(b.create<vector::LoadOp>(
            type, accBuf, ValueRange{t, index(chunk.offset)}));
      else if (bias)
        acc.push_back(b.create<vector::LoadOp>(
            type, bias, ValueRange{add(columnBase, index(chunk.offset))}));
      else
        acc.push_back(splat(type, f32Const(0.0)));
    }

    // A pass starts at a multiple of U: its entries are [pass, slot, 0 ..
    // count). Short passes are straight-line code, longer ones go in groups
    // of `unroll` tables, then one at a time.
    if (numTables * static_cast<int64_t>(chunks.size()) <= 2 * kFMAsPerGroup) {
      acc = emitAccumulate(firstTable, pass, index(0), numTables, columnTile,
                           columnBase, slot, bucketBuf, weightBuf, acc);
    } else {
      // Tables [from, to) of the pass, `step` per iteration.
      auto tableLoop = [&](int64_t from, int64_t to, int64_t step) {
        acc = forLoop(index(from), index(to), index(step), acc,
                      [&](Value u, ValueRange iter) {
                        return emitAccumulate(add(firstTable, u), pass, u, step,
                                              columnTile, columnBase, slot,
                                              bucketBuf, weightBuf, iter);
                      });
      };
      int64_t groupsEnd = numTables / unroll * unroll;
      tableLoop(0, groupsEnd, unroll);
      if (groupsEnd < numTables)
        tableLoop(groupsEnd, numTables, 1);
    }

    for (auto [i, chunk] : llvm::enumerate(chunks)) {
      if (last)
        b.create<vector::StoreOp>(
            acc[i], out,
            ValueRange{add(firstToken, t),
                       add(columnBase, index(chunk.offset))});
      else
        b.create<vector::StoreOp>(acc[i], accBuf,
                                  ValueRange{t, index(chunk.offset)});
    }
  });
}

void LookupCodegen::emitGather(Value firstToken, Value numTokens,
                               Value firstSlot, Value columnTile,
                               Value bucketBuf, Value weightBuf, Value accBuf,
                               Value out) {
  int64_t passes = cfg.numPasses(), u = cfg.tablesPerPass;
  auto pass = [&](Value firstTable, int64_t count, bool first, bool last) {
    emitPass(firstTable, count, first, last, firstToken, numTokens, firstSlot,
             columnTile, bucketBuf, weightBuf, accBuf, out);
  };
  if (passes == 1) {
    pass(index(0), cfg.numTables, /*first=*/true, /*last=*/true);
    return;
  }
  // First pass, middle passes, last pass (which takes the remainder).
  int64_t lastStart = (passes - 1) * u;
  pass(index(0), u, /*first=*/true, /*last=*/false);
  if (passes > 2)
    forLoop(index(u), index(lastStart), index(u), [&](Value firstTable) {
      pass(firstTable, u, /*first=*/false, /*last=*/false);
    });
  pass(index(lastStart), cfg.numTables - lastStart, /*first=*/false,
       /*last=*/true);
}

//===----------------------------------------------------------------------===//
// Top level
//===----------------------------------------------------------------------===//

Value LookupCodegen::emit() {
  int64_t tileTokens = cfg.tokens;
  Value n = b.create<memref::DimOp>(x, 0);
  // The output has the op's result shape: static when the token count is.
  auto outType = MemRefType::get({cfg.numTokens, cfg.outputWidth}, f32);
  Value out = b.create<memref::AllocOp>(
      outType,
      ShapedType::isDynamic(cfg.numTokens) ? ValueRange{n} : ValueRange{},
      b.getI64IntegerAttr(64));
  // Accumulators survive between passes only when there are several.
  auto accType = MemRefType::get({tileTokens, cfg.columns}, f32);
  bool needsAcc = cfg.numPasses() > 1;

  if (cfg.parallel == LookupParallel::tokens) {
    MemRefType bucketType = entryType(tileTokens, i32);
    MemRefType weightType = entryType(tileTokens, f32);
    Value numTiles = b.create<arith::CeilDivUIOp>(n, index(tileTokens));
    parallelLoop(numTiles, [&](Value tile) {
      Value bucketBuf = b.create<memref::AllocaOp>(bucketType);
      Value weightBuf = b.create<memref::AllocaOp>(weightType);
      Value accBuf = needsAcc ? b.create<memref::AllocaOp>(accType) : Value();
      Value first = mul(tile, index(tileTokens));
      Value count =
          minIndex(index(tileTokens), b.create<arith::SubIOp>(n, first));
      forLoop(index(0), count, index(1), [&](Value t) {
        emitHashRow(add(first, t), t, bucketBuf, weightBuf, /*inGroups=*/true);
      });
      forLoop(index(0), index(cfg.numColumnTiles()), index(1), [&](Value c) {
        emitGather(first, count, index(0), c, bucketBuf, weightBuf, accBuf,
                   out);
      });
    });
    return out;
  }

  // Hash every token once, then spread column tiles over threads: each
  // thread streams its share of the tables once per call, whatever the
  // number of tokens.
  MemRefType bucketType = entryType(ShapedType::kDynamic, i32);
  MemRefType weightType = entryType(ShapedType::kDynamic, f32);
  Value bucketBuf = b.create<memref::AllocOp>(bucketType, ValueRange{n},
                                              b.getI64IntegerAttr(64));
  Value weightBuf = b.create<memref::AllocOp>(weightType, ValueRange{n},
                                              b.getI64IntegerAttr(64));
  // A single tile of tokens (decoding) is hashed without waking threads,
  // a vector at a time (little to gain there from groups, whose code would
  // be a second copy to compile); with a static token count only the
  // version that runs is generated.
  auto hashParallel = [&] {
    parallelLoop(b.create<arith::CeilDivUIOp>(n, index(kHashTileTokens)),
                 [&](Value tile) {
                   Value first = mul(tile, index(kHashTileTokens));
                   Value last = minIndex(add(first, index(kHashTileTokens)), n);
                   forLoop(first, last, index(1), [&](Value t) {
                     emitHashRow(t, t, bucketBuf, weightBuf,
                                 /*inGroups=*/true);
                   });
                 });
  };
  auto hashSerial = [&] {
    forLoop(index(0), n, index(1), [&](Value t) {
      emitHashRow(t, t, bucketBuf, weightBuf, /*inGroups=*/false);
    });
  };
  if (!ShapedType::isDynamic(cfg.numTokens)) {
    if (cfg.numTokens > kHashTileTokens)
      hashParallel();
    else
      hashSerial();
  } else {
    auto inParallel =
        b.create<scf::IfOp>(b.create<arith::CmpIOp>(arith::CmpIPredicate::sgt,
                                                    n, index(kHashTileTokens)),
                            /*withElseRegion=*/true);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPoint(inParallel.thenYield());
    hashParallel();
    b.setInsertionPoint(inParallel.elseYield());
    hashSerial();
  }
  parallelLoop(index(cfg.numColumnTiles()), [&](Value columnTile) {
    Value accBuf = needsAcc ? b.create<memref::AllocaOp>(accType) : Value();
    forLoop(index(0), n, index(tileTokens), [&](Value first) {
      Value count =
          minIndex(index(tileTokens), b.create<arith::SubIOp>(n, first));
      emitGather(first, count, first, columnTile, bucketBuf, weightBuf, accBuf,
                 out);
    });
  });
  b.create<memref::DeallocOp>(bucketBuf);
  b.create<memref::DeallocOp>(weightBuf);
  return out;
}

/// The tiling used when -mnemo-tile-lookups did not run: one column tile
/// (or the packed one), 64-token tiles, one table per pass, no prefetch.
LookupTilingAttr defaultTiling(HashLookupOp op) {
  return LookupTilingAttr::get(op.getContext(), /*tokens=*/64,
                               op.getPackedColumns(), /*tables=*/1,
                               /*prefetch=*/0, LookupParallel::tokens);
}

LogicalResult lowerLookup(HashLookupOp op, int64_t vectorWidth) {
  LookupTilingAttr tiling = op.getTilingAttr();
  if (!tiling)
    tiling = defaultTiling(op);
  if (tiling.getTokens() < 1)
    return op.emitOpError() << "cannot lower a tiling without a token tile "
                               "size; run -mnemo-tile-lookups";

  LookupConfig cfg;
  cfg.numTables = op.getNumTables();
  cfg.bitsPerTable = op.getBitsPerTable();
  cfg.numBuckets = op.getNumBuckets();
  cfg.inputWidth = op.getInputWidth();
  cfg.numTokens = op.getInput().getType().getDimSize(0);
  cfg.outputWidth = op.getOutputWidth();
  cfg.columns = tiling.getColumns();
  cfg.tokens = tiling.getTokens();
  cfg.tablesPerPass = std::min(tiling.getTables(), cfg.numTables);
  cfg.prefetch = tiling.getPrefetch();
  cfg.parallel = tiling.getParallel();
  cfg.vectorWidth = vectorWidth;
  cfg.tableElementType = op.getTables().getType().getElementType();
  cfg.tableElementBytes = cfg.tableElementType.getIntOrFloatBitWidth() / 8;
  cfg.packed = op.isPacked();
  cfg.weighting = op.getWeighting();
  cfg.temperature = op.getTemperature().convertToDouble();
  cfg.norm = op.getNorm();
  cfg.normEpsilon =
      op.getNormEpsilon() ? op.getNormEpsilon()->convertToDouble() : 0.0;

  ImplicitLocOpBuilder b(op.getLoc(), op);
  auto toBuffer = [&](Value tensor, bool stridedRows) {
    return createReadBuffer(b, b.getLoc(), tensor, stridedRows);
  };
  Value x = toBuffer(op.getInput(), /*stridedRows=*/true);
  Value tables = toBuffer(op.getTables(), false);
  Value bias = toBuffer(op.getBias(), false);
  Value normWeight = toBuffer(op.getNormWeight(), false);
  Value normBias = toBuffer(op.getNormBias(), false);

  LLVM_DEBUG(llvm::dbgs() << "lowering " << op << " with " << tiling << "\n");
  LookupCodegen codegen(b, cfg, x, tables, bias, normWeight, normBias);
  Value out = codegen.emit();
  Value result = b.create<bufferization::ToTensorOp>(
      op.getType(), out, /*restrict=*/true, /*writable=*/true);
  op.replaceAllUsesWith(result);
  op.erase();
  return success();
}

struct LowerLookupsPass : mnemo::impl::LowerLookupsPassBase<LowerLookupsPass> {
  using Base::Base;

  void runOnOperation() override {
    if (vectorWidth < 1) {
      getOperation().emitError() << "vector-width must be positive";
      return signalPassFailure();
    }
    SmallVector<HashLookupOp> lookups;
    getOperation().walk([&](HashLookupOp op) { lookups.push_back(op); });
    for (HashLookupOp op : lookups)
      if (failed(lowerLookup(op, vectorWidth)))
        return signalPassFailure();
  }
};

} // namespace
