//===- LowerMemsizer.cpp - CPU code generation for Memsizer -----*- C++ -*-===//
//
// Generates the loops of Memsizer's key-value memory attention (SPEC §3) on
// buffers, specialized for the memory's shape `[k, d]`, the vector width and
// the prefill chunk `C`. Every op is independent across the `d` columns of
// the memory, so each one runs over column tiles of `W` columns (a few
// vectors, held in registers) spread over threads:
//
//   memsizer_prefill, chunked (O(T k d) time, one [k, W] slice per thread):
//     (all tokens)  scaled alpha[t] and the intra-chunk scores
//                   alpha[t] . keys[i] / sqrt(t) for i <= t in t's chunk
//     parallel over column tiles:
//       for each chunk of C tokens:
//         for each token t:  y[t] = alpha[t]^T S_prev + sum_i score[t, i] v[i]
//         S += keys_chunk^T values_chunk
//   memsizer_step (fused decoding; one pass over the [B, k, d] state):
//     parallel over (sequence, column tile):
//       for each slot s: S[s] += key[s] v;  y += alpha[s] S[s]
//   memsizer_source_memory: parallel over column tiles, S = keys^T values
//     over the kept rows, times 1/sqrt(n_src)
//   memsizer_cross: parallel over column tiles, y[t] = alpha[t]^T memory
//                   (or memory[t], one per row of a decoding batch)
//   memsizer_alpha: per token, the mean over heads of softmax_k on vectors
//
// A state read with `bufferization.to_tensor %m restrict` whose new value is
// only materialized back into `%m` is updated in place: decoding reads and
// writes the state once per step, and never copies it.
//
//===----------------------------------------------------------------------===//

#include "Mnemo/IR/MnemoOps.h"
#include "mnemo/Conversion/Passes.h"

#include "LoopEmitter.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "llvm/ADT/TypeSwitch.h"

#include <cmath>

namespace mlir::mnemo {
#define GEN_PASS_DEF_LOWERMEMSIZERPASS
#include "mnemo/Conversion/Passes.h.inc"
} // namespace mlir::mnemo

using namespace mlir;
using namespace mlir::mnemo;

namespace {

/// Vectors per column tile: the accumulators of one token stay in registers.
constexpr int64_t kVectorsPerTile = 4;

/// Below this many multiply-adds a decoding op runs on the calling thread:
/// waking the others would cost more than the work.
constexpr int64_t kSerialWork = 1 << 16;

/// The prefill chunk for `k` memory slots: per token and column vector, a
/// chunk of C tokens costs about C / 2 multiply-adds for its triangle and
/// 2 k / C loads and stores of the state for the chunk's update, which
/// balance near C = 2 sqrt(k); a power of two in [4, 64].
int64_t defaultChunk(int64_t slots) {
  int64_t chunk = 4;
  while (chunk < 64 && chunk * chunk < 4 * slots)
    chunk *= 2;
  return chunk;
}

/// The width of the column tiles of a memory `width` columns wide.
int64_t tileColumns(int64_t width, int64_t vectorWidth) {
  return std::min(width, kVectorsPerTile * vectorWidth);
}

class MemsizerCodegen : public LoopEmitter {
public:
  MemsizerCodegen(ImplicitLocOpBuilder &b, int64_t vectorWidth)
      : LoopEmitter(b), vectorWidth(vectorWidth), f32(b.getF32Type()) {}

  void lower(MemsizerAlphaOp op);
  void lower(MemsizerPrefillOp op, int64_t chunk);
  void lower(MemsizerStepOp op);
  void lower(MemsizerSourceMemoryOp op);
  void lower(MemsizerCrossOp op);

private:
  /// Runs `body(first, chunks)` for every column tile of a memory `width`
  /// wide, the tiles (times `outer` when given) spread over threads when
  /// `parallel`; `body` also gets the index of the `outer` iteration.
  void
  overColumnTiles(int64_t width, Value outer, bool parallel,
                  function_ref<void(Value, Value, ArrayRef<ColumnChunk>)> body);

  SmallVector<Value> zeros(ArrayRef<ColumnChunk> chunks) {
    SmallVector<Value> values;
    for (const ColumnChunk &chunk : chunks)
      values.push_back(
          b.create<arith::ConstantOp>(b.getZeroAttr(vectorType(chunk))));
    return values;
  }
  VectorType vectorType(const ColumnChunk &chunk) {
    return VectorType::get({chunk.width}, f32);
  }
  /// The vectors of row `indices` (all but the column) at columns `first`.
  SmallVector<Value> loadRow(Value buffer, ValueRange indices, Value first,
                             ArrayRef<ColumnChunk> chunks) {
    SmallVector<Value> values;
    for (const ColumnChunk &chunk : chunks) {
      SmallVector<Value> at(indices);
      at.push_back(add(first, index(chunk.offset)));
      values.push_back(b.create<vector::LoadOp>(vectorType(chunk), buffer, at));
    }
    return values;
  }
  void storeRow(ValueRange values, Value buffer, ValueRange indices,
                Value first, ArrayRef<ColumnChunk> chunks) {
    for (auto [value, chunk] : llvm::zip(values, chunks)) {
      SmallVector<Value> at(indices);
      at.push_back(add(first, index(chunk.offset)));
      b.create<vector::StoreOp>(value, buffer, at);
    }
  }
  /// `acc + scalar * row` for every vector of a row.
  SmallVector<Value> fmaRow(Value scalar, ValueRange row, ValueRange acc) {
    SmallVector<Value> result;
    for (auto [r, a] : llvm::zip(row, acc))
      result.push_back(b.create<vector::FMAOp>(
          splat(cast<VectorType>(r.getType()), scalar), r, a));
    return result;
  }
  SmallVector<Value> scaleRow(Value scalar, ValueRange row) {
    SmallVector<Value> result;
    for (Value r : row)
      result.push_back(b.create<arith::MulFOp>(
          splat(cast<VectorType>(r.getType()), scalar), r));
    return result;
  }
  /// The dot product of two rows of `k` values (strided rows of 2-D buffers).
  Value dot(Value lhs, Value lhsRow, Value rhs, Value rhsRow, int64_t k) {
    Value sum = f32Const(0.0);
    for (const ColumnChunk &chunk : splitColumns(k, vectorWidth)) {
      Value column = index(chunk.offset);
      Value l = b.create<vector::LoadOp>(vectorType(chunk), lhs,
                                         ValueRange{lhsRow, column});
      Value r = b.create<vector::LoadOp>(vectorType(chunk), rhs,
                                         ValueRange{rhsRow, column});
      Value product = b.create<arith::MulFOp>(l, r);
      sum = b.create<arith::AddFOp>(
          sum,
          b.create<vector::ReductionOp>(vector::CombiningKind::ADD, product));
    }
    return sum;
  }
  int64_t vectorWidth;
  Type f32;
};

void MemsizerCodegen::overColumnTiles(
    int64_t width, Value outer, bool parallel,
    function_ref<void(Value, Value, ArrayRef<ColumnChunk>)> body) {
  int64_t columns = tileColumns(width, vectorWidth);
  int64_t fullTiles = width / columns, tail = width % columns;
  SmallVector<ColumnChunk> full = splitColumns(columns, vectorWidth);
  SmallVector<ColumnChunk> last = splitColumns(tail, vectorWidth);
  Value tiles = index(fullTiles);
  Value iterations = outer ? mul(outer, tiles) : tiles;
  auto tileBody = [&](Value i) {
    Value o = outer ? b.create<arith::DivUIOp>(i, tiles) : Value();
    Value tile = outer ? b.create<arith::RemUIOp>(i, tiles) : i;
    body(o, mul(tile, index(columns)), full);
  };
  if (parallel)
    parallelLoop(iterations, tileBody);
  else
    forLoop(index(0), iterations, index(1), tileBody);
  if (tail == 0)
    return;
  // The narrower last tile, once per outer iteration.
  Value first = index(fullTiles * columns);
  forLoop(index(0), outer ? outer : index(1), index(1),
          [&](Value o) { body(outer ? o : Value(), first, last); });
}

//===----------------------------------------------------------------------===//
// memsizer_alpha
//===----------------------------------------------------------------------===//

void MemsizerCodegen::lower(MemsizerAlphaOp op) {
  Value logits = readBuffer(op.getLogits(), /*stridedRows=*/true);
  auto alphaType = op.getAlpha().getType();
  int64_t slots = alphaType.getDimSize(1), heads = op.getNumHeads();
  Value n = b.create<memref::DimOp>(logits, 0);
  Value alpha = alloc(MemRefType::get(alphaType.getShape(), f32),
                      alphaType.isDynamicDim(0) ? ValueRange{n} : ValueRange{});
  SmallVector<ColumnChunk> chunks = splitColumns(slots, vectorWidth);
  Value inverseHeads = f32Const(1.0 / static_cast<double>(heads));
  auto row = [&](Value t) {
    SmallVector<Value> acc = forLoop(
        index(0), index(heads), index(1), zeros(chunks),
        [&](Value h, ValueRange acc) -> SmallVector<Value> {
          Value first = mul(h, index(slots));
          SmallVector<Value> v = loadRow(logits, t, first, chunks);
          // softmax_k(v) / H, max-subtracted.
          Value max;
          for (Value part : v) {
            Value m = b.create<vector::ReductionOp>(
                vector::CombiningKind::MAXIMUMF, part);
            max = max ? b.create<arith::MaximumFOp>(max, m) : m;
          }
          Value total = f32Const(0.0);
          for (Value &part : v) {
            part = b.create<math::ExpOp>(b.create<arith::SubFOp>(
                part, splat(cast<VectorType>(part.getType()), max)));
            total = b.create<arith::AddFOp>(
                total, b.create<vector::ReductionOp>(vector::CombiningKind::ADD,
                                                     part));
          }
          return fmaRow(b.create<arith::DivFOp>(inverseHeads, total), v, acc);
        });
    storeRow(acc, alpha, t, index(0), chunks);
  };
  // Tokens in parallel tiles of 16; one token runs on the calling thread.
  constexpr int64_t kTokens = 16;
  if (!alphaType.isDynamicDim(0) && alphaType.getDimSize(0) <= kTokens) {
    forLoop(index(0), n, index(1), row);
  } else {
    parallelLoop(b.create<arith::CeilDivUIOp>(n, index(kTokens)),
                 [&](Value tile) {
                   Value first = mul(tile, index(kTokens));
                   Value last = minIndex(add(first, index(kTokens)), n);
                   forLoop(first, last, index(1), row);
                 });
  }
  finish(op, {alpha});
}

//===----------------------------------------------------------------------===//
// memsizer_prefill
//===----------------------------------------------------------------------===//

void MemsizerCodegen::lower(MemsizerPrefillOp op, int64_t chunk) {
  bool rsqrt = op.getScale() == MemsizerScale::rsqrt;
  auto stateType = op.getState().getType();
  int64_t slots = stateType.getDimSize(0), width = stateType.getDimSize(1);
  Value alpha = readBuffer(op.getAlpha(), true);
  Value keys = readBuffer(op.getKeys(), true);
  Value values = readBuffer(op.getValues(), true);
  Value inPlace = inPlaceDestination(op.getState(), op.getNewState());
  Value state = inPlace ? inPlace : readBuffer(op.getState(), true);
  Value memory =
      inPlace ? inPlace : alloc(MemRefType::get({slots, width}, f32), {});
  Value n = b.create<memref::DimOp>(alpha, 0);
  auto outType = op.getOutput().getType();
  Value out = alloc(MemRefType::get(outType.getShape(), f32),
                    outType.isDynamicDim(0) ? ValueRange{n} : ValueRange{});
  Value start = op.getStart();

  // alpha[t] / sqrt(t) and the scores alpha[t] . keys[i] / sqrt(t) of the
  // earlier tokens i of t's chunk (row t, column i - chunk start).
  Value scaledAlpha =
      alloc(MemRefType::get({ShapedType::kDynamic, slots}, f32), n);
  Value scores = alloc(MemRefType::get({ShapedType::kDynamic, chunk}, f32), n);
  SmallVector<ColumnChunk> slotChunks = splitColumns(slots, vectorWidth);
  Value numChunks = b.create<arith::CeilDivUIOp>(n, index(chunk));
  auto prepareChunk = [&](Value c) {
    Value first = mul(c, index(chunk));
    Value last = minIndex(add(first, index(chunk)), n);
    forLoop(first, last, index(1), [&](Value t) {
      Value scale = positionScale(add(add(start, t), index(1)), rsqrt);
      storeRow(scaleRow(scale, loadRow(alpha, t, index(0), slotChunks)),
               scaledAlpha, t, index(0), slotChunks);
      forLoop(first, add(t, index(1)), index(1), [&](Value i) {
        Value score =
            b.create<arith::MulFOp>(dot(alpha, t, keys, i, slots), scale);
        b.create<memref::StoreOp>(
            score, scores, ValueRange{t, b.create<arith::SubIOp>(i, first)});
      });
    });
  };
  if (!outType.isDynamicDim(0) && outType.getDimSize(0) <= chunk)
    forLoop(index(0), numChunks, index(1), prepareChunk);
  else
    parallelLoop(numChunks, prepareChunk);

  overColumnTiles(
      width, Value(), /*parallel=*/true,
      [&](Value, Value col, ArrayRef<ColumnChunk> chunks) {
        if (!inPlace)
          forLoop(index(0), index(slots), index(1), [&](Value s) {
            storeRow(loadRow(state, s, col, chunks), memory, s, col, chunks);
          });
        forLoop(index(0), n, index(chunk), [&](Value first) {
          Value count =
              minIndex(index(chunk), b.create<arith::SubIOp>(n, first));
          // Outputs: the memory before the chunk, then the chunk's triangle.
          forLoop(index(0), count, index(1), [&](Value r) {
            Value t = add(first, r);
            SmallVector<Value> acc = forLoop(
                index(0), index(slots), index(1), zeros(chunks),
                [&](Value s, ValueRange acc) {
                  Value a =
                      b.create<memref::LoadOp>(scaledAlpha, ValueRange{t, s});
                  return fmaRow(a, loadRow(memory, s, col, chunks), acc);
                });
            acc = forLoop(
                index(0), add(r, index(1)), index(1), acc,
                [&](Value i, ValueRange acc) {
                  Value w = b.create<memref::LoadOp>(scores, ValueRange{t, i});
                  return fmaRow(w, loadRow(values, add(first, i), col, chunks),
                                acc);
                });
            storeRow(acc, out, t, col, chunks);
          });
          // The memory after the chunk.
          forLoop(index(0), index(slots), index(1), [&](Value s) {
            SmallVector<Value> acc = forLoop(
                index(0), count, index(1), loadRow(memory, s, col, chunks),
                [&](Value i, ValueRange acc) {
                  Value token = add(first, i);
                  Value key =
                      b.create<memref::LoadOp>(keys, ValueRange{token, s});
                  return fmaRow(key, loadRow(values, token, col, chunks), acc);
                });
            storeRow(acc, memory, s, col, chunks);
          });
        });
      });
  b.create<memref::DeallocOp>(scaledAlpha);
  b.create<memref::DeallocOp>(scores);
  finish(op, {out, inPlace ? Value() : memory});
}

//===----------------------------------------------------------------------===//
// memsizer_step
//===----------------------------------------------------------------------===//

void MemsizerCodegen::lower(MemsizerStepOp op) {
  bool rsqrt = op.getScale() == MemsizerScale::rsqrt;
  auto stateType = op.getState().getType();
  int64_t slots = stateType.getDimSize(1), width = stateType.getDimSize(2);
  Value alpha = readBuffer(op.getAlpha(), true);
  Value key = readBuffer(op.getKey(), true);
  Value value = readBuffer(op.getValue(), true);
  Value count = readBuffer(op.getCount(), false);
  Value inPlace = inPlaceDestination(op.getState(), op.getNewState());
  Value state = inPlace ? inPlace : readBuffer(op.getState(), true);
  Value batch = b.create<memref::DimOp>(alpha, 0);
  Value memory = inPlace ? inPlace
                         : alloc(MemRefType::get(stateType.getShape(), f32),
                                 stateType.isDynamicDim(0) ? ValueRange{batch}
                                                           : ValueRange{});
  auto outType = op.getOutput().getType();
  Value out = alloc(MemRefType::get(outType.getShape(), f32),
                    outType.isDynamicDim(0) ? ValueRange{batch} : ValueRange{});
  bool serial = !stateType.isDynamicDim(0) &&
                stateType.getDimSize(0) * slots * width <= kSerialWork;
  overColumnTiles(
      width, batch, !serial,
      [&](Value seq, Value col, ArrayRef<ColumnChunk> chunks) {
        Value seen = b.create<memref::LoadOp>(count, seq);
        Value scale = positionScale(
            add(b.create<arith::IndexCastOp>(b.getIndexType(), seen), index(1)),
            rsqrt);
        SmallVector<Value> v = loadRow(value, seq, col, chunks);
        SmallVector<Value> acc = forLoop(
            index(0), index(slots), index(1), zeros(chunks),
            [&](Value s, ValueRange acc) {
              Value k = b.create<memref::LoadOp>(key, ValueRange{seq, s});
              SmallVector<Value> row =
                  fmaRow(k, v, loadRow(state, {seq, s}, col, chunks));
              storeRow(row, memory, {seq, s}, col, chunks);
              Value a = b.create<memref::LoadOp>(alpha, ValueRange{seq, s});
              return fmaRow(a, row, acc);
            });
        storeRow(scaleRow(scale, acc), out, seq, col, chunks);
      });
  finish(op, {out, inPlace ? Value() : memory});
}

//===----------------------------------------------------------------------===//
// memsizer_source_memory and memsizer_cross
//===----------------------------------------------------------------------===//

void MemsizerCodegen::lower(MemsizerSourceMemoryOp op) {
  bool rsqrt = op.getScale() == MemsizerScale::rsqrt;
  auto memoryType = op.getMemory().getType();
  int64_t slots = memoryType.getDimSize(0), width = memoryType.getDimSize(1);
  Value keys = readBuffer(op.getKeys(), true);
  Value values = readBuffer(op.getValues(), true);
  Value mask = readBuffer(op.getMask(), false);
  Value n = b.create<memref::DimOp>(keys, 0);
  Value memory = alloc(MemRefType::get({slots, width}, f32), {});
  // n_src, and the scale 1 / sqrt(n_src) (0 for an empty source, whose
  // memory is zero).
  Value kept = n;
  if (mask)
    kept = forLoop(index(0), n, index(1), ValueRange{index(0)},
                   [&](Value i, ValueRange sum) -> SmallVector<Value> {
                     Value bit = b.create<arith::ExtUIOp>(
                         b.getI64Type(), b.create<memref::LoadOp>(mask, i));
                     return {add(sum[0], b.create<arith::IndexCastOp>(
                                             b.getIndexType(), bit))};
                   })[0];
  Value scale = positionScale(kept, rsqrt);
  if (rsqrt)
    scale = b.create<arith::SelectOp>(
        b.create<arith::CmpIOp>(arith::CmpIPredicate::eq, kept, index(0)),
        f32Const(0.0), scale);
  overColumnTiles(
      width, Value(), /*parallel=*/true,
      [&](Value, Value col, ArrayRef<ColumnChunk> chunks) {
        forLoop(index(0), index(slots), index(1), [&](Value s) {
          SmallVector<Value> acc = forLoop(
              index(0), n, index(1), zeros(chunks),
              [&](Value i, ValueRange acc) -> SmallVector<Value> {
                Value k = b.create<memref::LoadOp>(keys, ValueRange{i, s});
                SmallVector<Value> sum =
                    fmaRow(k, loadRow(values, i, col, chunks), acc);
                if (!mask)
                  return sum;
                // A padding row adds nothing, whatever its values.
                Value keep = b.create<memref::LoadOp>(mask, i);
                for (auto [next, prev] : llvm::zip(sum, acc))
                  next = b.create<arith::SelectOp>(keep, next, prev);
                return sum;
              });
          storeRow(scaleRow(scale, acc), memory, s, col, chunks);
        });
      });
  finish(op, {memory});
}

void MemsizerCodegen::lower(MemsizerCrossOp op) {
  auto memoryType = cast<RankedTensorType>(op.getMemory().getType());
  bool perRow = memoryType.getRank() == 3;
  int64_t slots = memoryType.getDimSize(perRow ? 1 : 0);
  int64_t width = memoryType.getDimSize(perRow ? 2 : 1);
  Value alpha = readBuffer(op.getAlpha(), true);
  Value memory = readBuffer(op.getMemory(), true);
  Value n = b.create<memref::DimOp>(alpha, 0);
  // [M, k, d]: row t reads memory min(t, M - 1), so one memory serves all.
  Value lastMemory = perRow ? b.create<arith::SubIOp>(
                                  b.create<memref::DimOp>(memory, 0), index(1))
                            : Value();
  auto outType = op.getOutput().getType();
  Value out = alloc(MemRefType::get(outType.getShape(), f32),
                    outType.isDynamicDim(0) ? ValueRange{n} : ValueRange{});
  bool serial = !outType.isDynamicDim(0) &&
                outType.getDimSize(0) * slots * width <= kSerialWork;
  overColumnTiles(
      width, Value(), !serial,
      [&](Value, Value col, ArrayRef<ColumnChunk> chunks) {
        forLoop(index(0), n, index(1), [&](Value t) {
          Value which =
              perRow ? b.create<arith::MinUIOp>(t, lastMemory) : Value();
          SmallVector<Value> acc = forLoop(
              index(0), index(slots), index(1), zeros(chunks),
              [&](Value s, ValueRange acc) {
                Value a = b.create<memref::LoadOp>(alpha, ValueRange{t, s});
                SmallVector<Value> row =
                    perRow ? loadRow(memory, {which, s}, col, chunks)
                           : loadRow(memory, s, col, chunks);
                return fmaRow(a, row, acc);
              });
          storeRow(acc, out, t, col, chunks);
        });
      });
  finish(op, {out});
}

struct LowerMemsizerPass
    : mnemo::impl::LowerMemsizerPassBase<LowerMemsizerPass> {
  using Base::Base;

  void runOnOperation() override {
    if (vectorWidth < 1 || chunk < 0) {
      getOperation().emitError()
          << "vector-width must be positive and chunk non-negative";
      return signalPassFailure();
    }
    SmallVector<Operation *> ops;
    getOperation().walk([&](Operation *op) {
      if (isa<MemsizerAlphaOp, MemsizerPrefillOp, MemsizerStepOp,
              MemsizerSourceMemoryOp, MemsizerCrossOp>(op))
        ops.push_back(op);
    });
    for (Operation *op : ops) {
      ImplicitLocOpBuilder b(op->getLoc(), op);
      MemsizerCodegen codegen(b, vectorWidth);
      if (auto prefill = dyn_cast<MemsizerPrefillOp>(op)) {
        int64_t slots = prefill.getState().getType().getDimSize(0);
        codegen.lower(prefill, chunk > 0 ? chunk : defaultChunk(slots));
        continue;
      }
      llvm::TypeSwitch<Operation *>(op)
          .Case<MemsizerAlphaOp, MemsizerStepOp, MemsizerSourceMemoryOp,
                MemsizerCrossOp>(
              [&](auto concrete) { codegen.lower(concrete); });
    }
  }
};

} // namespace
