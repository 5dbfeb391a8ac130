//===- LowerLinear.cpp - CPU code generation for f16/bf16 linear ----------===//
//
// Generates `mnemo.linear` whose weight is stored in f16 or bf16 (a model's
// LM head): BLAS has no such product, and widening the weight to f32 at
// load would double what every decoding step streams. f32 weights are left
// to `-mnemo-lower-to-runtime` (BLAS). With `R` output rows per block, `G`
// tokens per group and `V` lanes:
//
//   for each tile of tokens whose inputs fit in half of L2:
//     parallel over blocks of R output rows (the last block's extra rows
//     repeat the last row):
//       for each group of G tokens n (then each remaining token, G = 1):
//         acc[r][n] = 0                                  (vector<V x f32>)
//         for each vector of the row i = 0, V, ...:
//           w = widen(W[o + r, i : i + V])                (once per group)
//           acc[r][n] += w * x[n, i : i + V]
//         (a narrower vector for the row's tail)
//         y[n, o + r] = reduce_add(acc[r][n]) + bias[o + r]
//
// A block's rows (R * in values) stay in L1 across the tile's tokens and
// the tile's inputs in L2 across the blocks: the weight is read from memory
// once per tile, in its stored width. The R * G accumulators of a group
// share each widened weight vector and each input vector, so a prompt's
// logits run at the FMA units' pace rather than at that of the loads and
// conversions. A decoding step (one token) streams the weight once, the
// rows about 16 KiB ahead prefetched into L2 as the tile's first group (or
// token) reads each vector; the others issue no prefetches.
//
// Every output is the same sum in the same order whatever the grouping:
// lanes accumulate along the row, and are reduced at its end in halving
// order (a group's accumulators together, with shuffles; a single token's
// one by one, by LLVM, in the same order).
//
//===----------------------------------------------------------------------===//

#include "Mnemo/IR/MnemoOps.h"
#include "mnemo/Conversion/Passes.h"

#include "LoopEmitter.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

#include <algorithm>

namespace mlir::mnemo {
#define GEN_PASS_DEF_LOWERLINEARPASS
#include "mnemo/Conversion/Passes.h.inc"
} // namespace mlir::mnemo

using namespace mlir;
using namespace mlir::mnemo;

namespace {

/// Output rows per block: their accumulators share each load of `x`.
constexpr int64_t kRowsPerBlock = 4;

/// How far ahead of the block being read its rows are prefetched into L2:
/// the hardware prefetcher alone kept a decoding step's LM head (four
/// sequential row streams per thread) at half the machine's bandwidth.
constexpr int64_t kPrefetchBytes = 16384;

class LinearCodegen : public LoopEmitter {
public:
  LinearCodegen(ImplicitLocOpBuilder &b, int64_t vectorWidth,
                int64_t l2CacheBytes)
      : LoopEmitter(b), vectorWidth(vectorWidth), l2CacheBytes(l2CacheBytes),
        f32(b.getF32Type()) {}

  void lower(LinearOp op);

private:
  /// The block's outputs for the tokens from `lower` to `upper` (a tile's
  /// tokens), in groups of `groupSize`, then one at a time; the tile's
  /// first group, or its first token when it has no group, prefetches.
  void emitTile(Value lower, Value upper);
  /// The outputs of `count` tokens from `first` for the block's rows; with
  /// `prefetch`, the rows `ahead` are prefetched as each vector is read.
  void emitTokens(Value first, int64_t count, bool prefetch);
  /// The partial dot products `acc` (row-major, `rows` x `tokens`) plus
  /// widen(W[row, column : column + lanes]) * x[token, column : column +
  /// lanes].
  SmallVector<Value> accumulate(ArrayRef<Value> tokens, Value column,
                                int64_t lanes, ValueRange acc, bool prefetch);
  /// The sum of the lanes of each vector of `acc`.
  SmallVector<Value> reduceLanes(ValueRange acc);

  int64_t vectorWidth, l2CacheBytes;
  Type f32;
  /// Tokens whose accumulators share each widened weight vector: as many as
  /// the vector registers hold (R * G accumulators, R weights, G inputs).
  int64_t groupSize = 1;
  // The op being lowered: its buffers, the weight's element type and row
  // width, and the rows of the current block and those prefetched.
  Value x, weight, bias, out;
  Type element;
  int64_t width = 0;
  SmallVector<Value> rows, ahead;
};

void LinearCodegen::lower(LinearOp op) {
  auto weightType = cast<RankedTensorType>(op.getWeight().getType());
  const int64_t outputs = weightType.getDimSize(0);
  width = weightType.getDimSize(1);
  element = weightType.getElementType();
  x = readBuffer(op.getInput(), /*stridedRows=*/true);
  weight = readBuffer(op.getWeight(), /*stridedRows=*/false);
  bias = readBuffer(op.getBias(), /*stridedRows=*/false);
  Value n = b.create<memref::DimOp>(x, 0);
  auto outType = op.getOutput().getType();
  out = alloc(MemRefType::get(outType.getShape(), f32),
              outType.isDynamicDim(0) ? ValueRange{n} : ValueRange{});

  // 4 x 4 accumulators in the 32 registers of AVX-512, 4 x 2 in AVX2's 16.
  groupSize = vectorWidth >= 16 ? 4 : 2;
  const int64_t rowBytes = std::max<int64_t>(1, width * 4);
  const int64_t tileTokens =
      std::max(groupSize, l2CacheBytes / 2 / rowBytes / groupSize * groupSize);
  const int64_t blocks = (outputs + kRowsPerBlock - 1) / kRowsPerBlock;
  const int64_t blockBytes =
      kRowsPerBlock * width * (element.getIntOrFloatBitWidth() / 8);
  const int64_t prefetchRows =
      kRowsPerBlock *
      std::max<int64_t>(1, kPrefetchBytes / std::max<int64_t>(blockBytes, 1));
  forLoop(index(0), n, index(tileTokens), [&](Value tile) {
    Value tileEnd = minIndex(add(tile, index(tileTokens)), n);
    parallelLoop(index(blocks), [&](Value block) {
      // The block's rows, and those `prefetchRows` further, clamped to the
      // last row.
      rows.clear();
      ahead.clear();
      Value first = mul(block, index(kRowsPerBlock));
      for (int64_t r = 0; r < kRowsPerBlock; ++r) {
        rows.push_back(minIndex(add(first, index(r)), index(outputs - 1)));
        ahead.push_back(
            minIndex(add(first, index(r + prefetchRows)), index(outputs - 1)));
      }
      emitTile(tile, tileEnd);
    });
  });
  finish(op, {out});
}

void LinearCodegen::emitTile(Value lower, Value upper) {
  Value group = index(groupSize), one = index(1);
  Value count = b.create<arith::SubIOp>(upper, lower);
  Value groupsEnd =
      b.create<arith::SubIOp>(upper, b.create<arith::RemUIOp>(count, group));
  Value firstGroupEnd = minIndex(groupsEnd, add(lower, group));
  forLoop(lower, firstGroupEnd, group,
          [&](Value token) { emitTokens(token, groupSize, true); });
  forLoop(firstGroupEnd, groupsEnd, group,
          [&](Value token) { emitTokens(token, groupSize, false); });
  Value noGroup =
      b.create<arith::CmpIOp>(arith::CmpIPredicate::eq, groupsEnd, lower);
  Value firstSingleEnd = b.create<arith::SelectOp>(
      noGroup, minIndex(upper, add(groupsEnd, one)), groupsEnd);
  forLoop(groupsEnd, firstSingleEnd, one,
          [&](Value token) { emitTokens(token, 1, true); });
  forLoop(firstSingleEnd, upper, one,
          [&](Value token) { emitTokens(token, 1, false); });
}

void LinearCodegen::emitTokens(Value first, int64_t count, bool prefetch) {
  SmallVector<Value> tokens = {first};
  for (int64_t t = 1; t < count; ++t)
    tokens.push_back(add(first, index(t)));
  const int64_t fullVectors = width / vectorWidth;
  const int64_t tail = width % vectorWidth;
  const int64_t accumulators = kRowsPerBlock * count;
  auto zeros = [&](int64_t lanes) {
    return SmallVector<Value>(
        accumulators, splat(VectorType::get({lanes}, f32), f32Const(0)));
  };
  SmallVector<Value> sums(accumulators);
  auto reduceInto = [&](ValueRange acc) {
    for (auto [sum, part] : llvm::zip(sums, reduceLanes(acc)))
      sum = sum ? b.create<arith::AddFOp>(sum, part) : part;
  };
  if (fullVectors > 0)
    reduceInto(
        forLoop(index(0), index(fullVectors * vectorWidth), index(vectorWidth),
                zeros(vectorWidth), [&](Value column, ValueRange acc) {
                  return accumulate(tokens, column, vectorWidth, acc, prefetch);
                }));
  if (tail > 0)
    reduceInto(accumulate(tokens, index(fullVectors * vectorWidth), tail,
                          zeros(tail), prefetch));
  for (auto [r, row] : llvm::enumerate(rows)) {
    Value rowBias =
        bias ? b.create<memref::LoadOp>(bias, ValueRange{row}) : Value();
    for (auto [t, token] : llvm::enumerate(tokens)) {
      // A row of no values (`in` = 0) sums to zero.
      Value value = sums[r * count + t];
      if (!value)
        value = f32Const(0);
      if (rowBias)
        value = b.create<arith::AddFOp>(value, rowBias);
      b.create<memref::StoreOp>(value, out, ValueRange{token, row});
    }
  }
}

SmallVector<Value> LinearCodegen::accumulate(ArrayRef<Value> tokens,
                                             Value column, int64_t lanes,
                                             ValueRange acc, bool prefetch) {
  auto vectorType = VectorType::get({lanes}, f32);
  SmallVector<Value> xs;
  for (Value token : tokens)
    xs.push_back(
        b.create<vector::LoadOp>(vectorType, x, ValueRange{token, column}));
  if (prefetch)
    for (Value row : ahead)
      b.create<memref::PrefetchOp>(weight, ValueRange{row, column},
                                   /*isWrite=*/false, /*localityHint=*/2,
                                   /*isDataCache=*/true);
  SmallVector<Value> next;
  for (auto [r, row] : llvm::enumerate(rows)) {
    Value w = b.create<vector::LoadOp>(VectorType::get({lanes}, element),
                                       weight, ValueRange{row, column});
    w = b.create<arith::ExtFOp>(vectorType, w);
    for (auto [t, xt] : llvm::enumerate(xs))
      next.push_back(
          b.create<vector::FMAOp>(w, xt, acc[r * tokens.size() + t]));
  }
  return next;
}

SmallVector<Value> LinearCodegen::reduceLanes(ValueRange acc) {
  const int64_t lanes =
      cast<VectorType>(acc.front().getType()).getNumElements();
  const int64_t count = acc.size();
  SmallVector<Value> sums;
  if (lanes < 2 || count < lanes || !llvm::isPowerOf2_64(lanes) ||
      !llvm::isPowerOf2_64(count)) {
    for (Value vector : acc)
      sums.push_back(
          b.create<vector::ReductionOp>(vector::CombiningKind::ADD, vector));
    return sums;
  }
  // At least as many vectors as lanes (a group's 16 accumulators of 16
  // lanes) are reduced together. At each step, every pair of vectors whose
  // lanes hold segments of `segment` partial sums (each segment an
  // accumulator's) becomes one vector of segments half as long: lane i of a
  // segment plus lane i + segment / 2. That is two shuffles and one add per
  // pair, where reducing each vector alone takes log2(lanes) of each per
  // vector. The order is the halving order in which LLVM reduces a single
  // vector, so a token's outputs are the same, bit for bit, in a group or
  // alone.
  SmallVector<Value> vectors(acc.begin(), acc.end());
  // owners[v][q]: the accumulator whose partial sums segment q of
  // vectors[v] holds.
  SmallVector<SmallVector<int64_t>> owners;
  for (int64_t i = 0; i < count; ++i)
    owners.push_back({i});
  for (int64_t segment = lanes; segment > 1; segment /= 2) {
    const int64_t half = segment / 2, segments = lanes / segment;
    SmallVector<int64_t> low, high;
    for (int64_t side = 0; side < 2; ++side)
      for (int64_t q = 0; q < segments; ++q)
        for (int64_t i = 0; i < half; ++i) {
          low.push_back(side * lanes + q * segment + i);
          high.push_back(side * lanes + q * segment + half + i);
        }
    SmallVector<Value> nextVectors;
    SmallVector<SmallVector<int64_t>> nextOwners;
    for (size_t v = 0; v + 1 < vectors.size(); v += 2) {
      Value u = vectors[v], w = vectors[v + 1];
      nextVectors.push_back(
          b.create<arith::AddFOp>(b.create<vector::ShuffleOp>(u, w, low),
                                  b.create<vector::ShuffleOp>(u, w, high)));
      SmallVector<int64_t> both = owners[v];
      both.append(owners[v + 1]);
      nextOwners.push_back(both);
    }
    vectors = std::move(nextVectors);
    owners = std::move(nextOwners);
  }
  sums.resize(count);
  for (auto [vector, owner] : llvm::zip(vectors, owners))
    for (auto [lane, accumulator] : llvm::enumerate(owner))
      sums[accumulator] = b.create<vector::ExtractOp>(
          vector, ArrayRef<int64_t>{static_cast<int64_t>(lane)});
  return sums;
}

struct LowerLinearPass : mnemo::impl::LowerLinearPassBase<LowerLinearPass> {
  using Base::Base;

  void runOnOperation() override {
    if (vectorWidth < 1 || l2CacheBytes < 1) {
      getOperation().emitError()
          << "vector-width and l2-cache-bytes must be positive";
      return signalPassFailure();
    }
    SmallVector<LinearOp> ops;
    getOperation().walk([&](LinearOp op) {
      if (!op.hasBLASWeight())
        ops.push_back(op);
    });
    for (LinearOp op : ops) {
      ImplicitLocOpBuilder b(op.getLoc(), op);
      LinearCodegen(b, vectorWidth, l2CacheBytes).lower(op);
    }
  }
};

} // namespace
