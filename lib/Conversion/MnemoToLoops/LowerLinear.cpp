//===- LowerLinear.cpp - CPU code generation for f16/bf16 linear ----------===//
//
// Generates `mnemo.linear` whose weight is stored in f16 or bf16 (a model's
// LM head): BLAS has no such product, and widening the weight to f32 at
// load would double what every decoding step streams. f32 weights are left
// to `-mnemo-lower-to-runtime` (BLAS). With `R` output rows per block and
// `V` lanes:
//
//   parallel over blocks of R output rows (the last block's extra rows
//   repeat the last row):
//     for each token n:
//       acc[r] = 0                                         (vector<V x f32>)
//       for each vector of the row i = 0, V, ...:
//         acc[r] += widen(W[o + r, i : i + V]) * x[n, i : i + V]
//       (a narrower vector for the row's tail)
//       y[n, o + r] = reduce_add(acc[r]) + bias[o + r]
//
// A block's rows (R * in values) stay in L1 across the tokens: the weight
// is read from memory once per call, and a decoding step (one token)
// streams it once, in its stored width, the rows about 16 KiB ahead
// prefetched into L2 as the first token reads each vector (the first token
// is peeled off the token loop, so that the others issue no prefetches).
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
  LinearCodegen(ImplicitLocOpBuilder &b, int64_t vectorWidth)
      : LoopEmitter(b), vectorWidth(vectorWidth), f32(b.getF32Type()) {}

  void lower(LinearOp op);

private:
  /// Token `token`'s outputs for the block of `rows`; with `prefetch`, the
  /// rows `ahead` are prefetched as each vector is read.
  void emitToken(Value token, bool prefetch);
  /// The `rows`' partial dot products `acc` plus widen(W[row, column :
  /// column + lanes]) * x[token, column : column + lanes].
  SmallVector<Value> accumulate(Value token, Value column, int64_t lanes,
                                ValueRange acc, bool prefetch);

  int64_t vectorWidth;
  Type f32;
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

  const int64_t blocks = (outputs + kRowsPerBlock - 1) / kRowsPerBlock;
  const int64_t blockBytes =
      kRowsPerBlock * width * (element.getIntOrFloatBitWidth() / 8);
  const int64_t prefetchRows =
      kRowsPerBlock *
      std::max<int64_t>(1, kPrefetchBytes / std::max<int64_t>(blockBytes, 1));
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
    // The first token's pass also prefetches the rows ahead; the others
    // find the block in L1.
    forLoop(index(0), minIndex(n, index(1)), index(1),
            [&](Value token) { emitToken(token, /*prefetch=*/true); });
    forLoop(index(1), n, index(1),
            [&](Value token) { emitToken(token, /*prefetch=*/false); });
  });
  finish(op, {out});
}

void LinearCodegen::emitToken(Value token, bool prefetch) {
  const int64_t fullVectors = width / vectorWidth;
  const int64_t tail = width % vectorWidth;
  auto zeros = [&](int64_t lanes) {
    return SmallVector<Value>(
        kRowsPerBlock, splat(VectorType::get({lanes}, f32), f32Const(0)));
  };
  SmallVector<Value> sums(kRowsPerBlock);
  auto reduceInto = [&](ValueRange acc) {
    for (auto [sum, vector] : llvm::zip(sums, acc)) {
      Value part =
          b.create<vector::ReductionOp>(vector::CombiningKind::ADD, vector);
      sum = sum ? b.create<arith::AddFOp>(sum, part) : part;
    }
  };
  if (fullVectors > 0)
    reduceInto(
        forLoop(index(0), index(fullVectors * vectorWidth), index(vectorWidth),
                zeros(vectorWidth), [&](Value column, ValueRange acc) {
                  return accumulate(token, column, vectorWidth, acc, prefetch);
                }));
  if (tail > 0)
    reduceInto(accumulate(token, index(fullVectors * vectorWidth), tail,
                          zeros(tail), prefetch));
  for (auto [row, sum] : llvm::zip(rows, sums)) {
    // A row of no values (`in` = 0) sums to zero.
    Value value = sum ? sum : f32Const(0);
    if (bias)
      value = b.create<arith::AddFOp>(
          value, b.create<memref::LoadOp>(bias, ValueRange{row}));
    b.create<memref::StoreOp>(value, out, ValueRange{token, row});
  }
}

SmallVector<Value> LinearCodegen::accumulate(Value token, Value column,
                                             int64_t lanes, ValueRange acc,
                                             bool prefetch) {
  Value xs = b.create<vector::LoadOp>(VectorType::get({lanes}, f32), x,
                                      ValueRange{token, column});
  if (prefetch)
    for (Value row : ahead)
      b.create<memref::PrefetchOp>(weight, ValueRange{row, column},
                                   /*isWrite=*/false, /*localityHint=*/2,
                                   /*isDataCache=*/true);
  SmallVector<Value> next;
  for (auto [row, sum] : llvm::zip(rows, acc)) {
    Value w = b.create<vector::LoadOp>(VectorType::get({lanes}, element),
                                       weight, ValueRange{row, column});
    w = b.create<arith::ExtFOp>(VectorType::get({lanes}, f32), w);
    next.push_back(b.create<vector::FMAOp>(w, xs, sum));
  }
  return next;
}

struct LowerLinearPass : mnemo::impl::LowerLinearPassBase<LowerLinearPass> {
  using Base::Base;

  void runOnOperation() override {
    if (vectorWidth < 1) {
      getOperation().emitError() << "vector-width must be positive";
      return signalPassFailure();
    }
    SmallVector<LinearOp> ops;
    getOperation().walk([&](LinearOp op) {
      if (!op.hasBLASWeight())
        ops.push_back(op);
    });
    for (LinearOp op : ops) {
      ImplicitLocOpBuilder b(op.getLoc(), op);
      LinearCodegen(b, vectorWidth).lower(op);
    }
  }
};

} // namespace
