//===- LoopEmitter.h - Helpers shared by the code generators --*- C++ -*-===//
//
// The builder helpers that the code generators share (the Memory Layer,
// LowerLookups.cpp; Memsizer, LowerMemsizer.cpp; the GPU kernels,
// MnemoToGPU/LowerGPUKernels.cpp): constants, index arithmetic, buffers
// and results, `scf.for` with and without loop-carried values,
// `scf.parallel` with a per-iteration stack scope, and the split of a
// column tile into vectors.
//
//===----------------------------------------------------------------------===//

#ifndef MNEMO_LIB_CONVERSION_MNEMOTOLOOPS_LOOPEMITTER_H
#define MNEMO_LIB_CONVERSION_MNEMOTOLOOPS_LOOPEMITTER_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"

namespace mlir::mnemo {

/// A run of `width` columns at `offset` within a column tile, processed as
/// one vector.
struct ColumnChunk {
  int64_t offset;
  int64_t width;
};

/// `columns` as vectors of `vectorWidth` lanes; the last may be narrower.
inline SmallVector<ColumnChunk> splitColumns(int64_t columns,
                                             int64_t vectorWidth) {
  SmallVector<ColumnChunk> chunks;
  for (int64_t offset = 0; offset < columns; offset += vectorWidth)
    chunks.push_back({offset, std::min(vectorWidth, columns - offset)});
  return chunks;
}

/// A memref type for reading `value`: identity layout, or a unit-stride
/// innermost dimension with dynamic outer strides for activations.
inline MemRefType readBufferType(Value value, bool stridedRows) {
  auto type = cast<RankedTensorType>(value.getType());
  if (!stridedRows || type.getRank() < 2)
    return MemRefType::get(type.getShape(), type.getElementType());
  SmallVector<int64_t> strides(type.getRank(), ShapedType::kDynamic);
  strides.back() = 1;
  auto layout =
      StridedLayoutAttr::get(value.getContext(), ShapedType::kDynamic, strides);
  return MemRefType::get(type.getShape(), type.getElementType(), layout);
}

/// When `result` (a new state or memory) is only written back into the buffer
/// that `input` was read from (`to_tensor %m restrict` ...
/// `materialize_in_destination %result in restrict writable %m`), that
/// buffer, which the op may then update in place; else null.
inline Value inPlaceDestination(Value input, Value result) {
  auto read = input.getDefiningOp<bufferization::ToTensorOp>();
  if (!read || !read.getRestrict() || !input.hasOneUse() || !result.hasOneUse())
    return Value();
  auto write = dyn_cast<bufferization::MaterializeInDestinationOp>(
      *result.getUsers().begin());
  if (!write || write.getDest() != read.getMemref() || !write.getRestrict() ||
      !write.getWritable())
    return Value();
  return read.getMemref();
}

/// A read-only buffer of `tensor` (null for a null tensor), of
/// readBufferType.
inline Value createReadBuffer(OpBuilder &b, Location loc, Value tensor,
                              bool stridedRows) {
  if (!tensor)
    return Value();
  return b.create<bufferization::ToMemrefOp>(
      loc, readBufferType(tensor, stridedRows), tensor, /*read_only=*/true);
}

class LoopEmitter {
public:
  explicit LoopEmitter(ImplicitLocOpBuilder &b) : b(b) {}

protected:
  Value index(int64_t v) { return b.create<arith::ConstantIndexOp>(v); }
  Value f32Const(double v) {
    return b.create<arith::ConstantOp>(
        b.getF32FloatAttr(static_cast<float>(v)));
  }
  Value splat(VectorType type, Value scalar) {
    return b.create<vector::SplatOp>(type, scalar);
  }
  Value minIndex(Value a, Value c) { return b.create<arith::MinSIOp>(a, c); }
  Value add(Value a, Value c) { return b.create<arith::AddIOp>(a, c); }
  Value mul(Value a, Value c) { return b.create<arith::MulIOp>(a, c); }

  Value readBuffer(Value tensor, bool stridedRows) {
    return createReadBuffer(b, b.getLoc(), tensor, stridedRows);
  }

  /// A 64-byte aligned buffer of `type`.
  Value alloc(MemRefType type, ValueRange dynamicSizes) {
    return b.create<memref::AllocOp>(type, dynamicSizes,
                                     b.getI64IntegerAttr(64));
  }

  /// `1 / sqrt(position)` in f32 for a 1-based index position (a divide
  /// and a square root, both correctly rounded), or 1 when unscaled.
  Value positionScale(Value position, bool rsqrt) {
    if (!rsqrt)
      return f32Const(1.0);
    Value asInt = b.create<arith::IndexCastUIOp>(b.getI64Type(), position);
    Value asFloat = b.create<arith::UIToFPOp>(b.getF32Type(), asInt);
    return b.create<arith::DivFOp>(f32Const(1.0),
                                   b.create<math::SqrtOp>(asFloat));
  }

  /// Replaces `op`'s results by tensors of `buffers`; a null buffer marks a
  /// result written in place, whose materialization is erased.
  void finish(Operation *op, ArrayRef<Value> buffers) {
    for (auto [result, buffer] : llvm::zip(op->getResults(), buffers)) {
      if (!buffer) {
        result.getUsers().begin()->erase();
        continue;
      }
      result.replaceAllUsesWith(b.create<bufferization::ToTensorOp>(
          result.getType(), buffer, /*restrict=*/true, /*writable=*/true));
    }
    op->erase();
  }

  /// scf.for from `lower` to `upper`; `body` builds at the builder's
  /// insertion point inside the loop.
  void forLoop(Value lower, Value upper, Value step,
               function_ref<void(Value)> body) {
    b.create<scf::ForOp>(
        lower, upper, step, std::nullopt,
        [&](OpBuilder &nested, Location loc, Value iv, ValueRange) {
          OpBuilder::InsertionGuard guard(b);
          b.setInsertionPoint(nested.create<scf::YieldOp>(loc));
          body(iv);
        });
  }

  /// scf.for carrying `inits`; `body` returns the values to yield.
  SmallVector<Value>
  forLoop(Value lower, Value upper, Value step, ValueRange inits,
          function_ref<SmallVector<Value>(Value, ValueRange)> body) {
    auto loop = b.create<scf::ForOp>(
        lower, upper, step, inits,
        [&](OpBuilder &nested, Location loc, Value iv, ValueRange iterArgs) {
          OpBuilder::InsertionGuard guard(b);
          b.setInsertionPoint(nested.getInsertionBlock(),
                              nested.getInsertionPoint());
          SmallVector<Value> yields = body(iv, iterArgs);
          b.create<scf::YieldOp>(yields);
        });
    return SmallVector<Value>(loop.getResults().begin(),
                              loop.getResults().end());
  }

  /// scf.parallel from 0 to `upper`, with the body in a memref.alloca_scope
  /// so that stack buffers of an iteration are released when it ends.
  void parallelLoop(Value upper, function_ref<void(Value)> body) {
    b.create<scf::ParallelOp>(
        ValueRange{index(0)}, ValueRange{upper}, ValueRange{index(1)},
        [&](OpBuilder &nested, Location loc, ValueRange ivs) {
          OpBuilder::InsertionGuard guard(b);
          b.setInsertionPoint(nested.getInsertionBlock(),
                              nested.getInsertionPoint());
          auto scope = b.create<memref::AllocaScopeOp>(TypeRange{});
          Block *scopeBody = b.createBlock(&scope.getBodyRegion());
          b.setInsertionPointToEnd(scopeBody);
          b.setInsertionPoint(
              b.create<memref::AllocaScopeReturnOp>(ValueRange{}));
          body(ivs[0]);
        });
  }

  ImplicitLocOpBuilder &b;
};

} // namespace mlir::mnemo

#endif // MNEMO_LIB_CONVERSION_MNEMOTOLOOPS_LOOPEMITTER_H
