//===- LowerToRuntime.cpp - mnemo ops as calls into the runtime -*- C++ -*-===//
//
// See -mnemo-lower-to-runtime in Passes.td. Each op becomes a call of a
// function of include/mnemo/Runtime/Kernels.h on buffers: operands through
// read-only `bufferization.to_memref` with a fully dynamic strided layout
// (so that no layout forces a copy), results in fresh allocations returned
// with `bufferization.to_tensor`, attributes as scalar arguments. The pass
// runs before one-shot bufferization of the rest of the function, like
// -mnemo-lower-lookups.
//
//===----------------------------------------------------------------------===//

#include "mnemo/Conversion/Passes.h"

#include "Mnemo/IR/MnemoOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"
#include "llvm/ADT/TypeSwitch.h"

namespace mlir::mnemo {
#define GEN_PASS_DEF_LOWERTORUNTIMEPASS
#include "mnemo/Conversion/Passes.h.inc"
} // namespace mlir::mnemo

using namespace mlir;
using namespace mlir::mnemo;

namespace {

/// memref<?x...xT, strided<[?, ...], offset: ?>> of `rank`, or with `shape`.
MemRefType stridedType(ArrayRef<int64_t> shape, Type element) {
  SmallVector<int64_t> strides(shape.size(), ShapedType::kDynamic);
  auto layout = StridedLayoutAttr::get(element.getContext(),
                                       ShapedType::kDynamic, strides);
  return MemRefType::get(shape, element, layout);
}
MemRefType dynamicType(int64_t rank, Type element) {
  return stridedType(SmallVector<int64_t>(rank, ShapedType::kDynamic), element);
}

/// Builds one call of a runtime kernel in place of a mnemo op.
class CallBuilder {
public:
  CallBuilder(Operation *op) : op(op), b(op->getLoc(), op) {}

  /// A tensor operand, as the kernel takes it.
  void operand(Value tensor) {
    auto type = cast<RankedTensorType>(tensor.getType());
    Value buffer = b.create<bufferization::ToMemrefOp>(
        stridedType(type.getShape(), type.getElementType()), tensor,
        /*read_only=*/true);
    buffers.push_back(buffer);
    args.push_back(b.create<memref::CastOp>(
        dynamicType(type.getRank(), type.getElementType()), buffer));
  }

  /// An empty 1-D buffer, for an absent optional operand.
  void absent(Type element) {
    Value empty = b.create<memref::AllocaOp>(MemRefType::get({0}, element));
    args.push_back(b.create<memref::CastOp>(dynamicType(1, element), empty));
  }

  /// The size of dimension `dim` of operand buffer `index`.
  Value dim(unsigned index, int64_t dim) {
    return b.create<memref::DimOp>(buffers[index], dim);
  }

  /// A result buffer of `type`; dynamic sizes are given in order.
  void result(RankedTensorType type, ValueRange dynamicSizes) {
    auto memrefType = MemRefType::get(type.getShape(), type.getElementType());
    Value alloc = b.create<memref::AllocOp>(memrefType, dynamicSizes,
                                            b.getI64IntegerAttr(64));
    results.push_back(alloc);
    args.push_back(b.create<memref::CastOp>(
        dynamicType(type.getRank(), type.getElementType()), alloc));
  }

  void scalar(int64_t value) {
    args.push_back(b.create<arith::ConstantIntOp>(value, 64));
  }
  void scalar(float value) {
    args.push_back(
        b.create<arith::ConstantFloatOp>(APFloat(value), b.getF32Type()));
  }
  void index(Value value) {
    args.push_back(b.create<arith::IndexCastOp>(b.getI64Type(), value));
  }

  /// Calls `callee` and replaces the op's results with the result buffers.
  void finish(StringRef callee) {
    auto module = op->getParentOfType<ModuleOp>();
    auto function = module.lookupSymbol<func::FuncOp>(callee);
    SmallVector<Type> types;
    for (Value arg : args)
      types.push_back(arg.getType());
    if (!function) {
      OpBuilder top(module.getBodyRegion());
      function = top.create<func::FuncOp>(module.getLoc(), callee,
                                          top.getFunctionType(types, {}));
      function.setPrivate();
      function->setAttr("llvm.emit_c_interface", top.getUnitAttr());
    }
    b.create<func::CallOp>(function, args);
    SmallVector<Value> tensors;
    for (auto [result, buffer] : llvm::zip(op->getResults(), results))
      tensors.push_back(b.create<bufferization::ToTensorOp>(
          result.getType(), buffer, /*restrict=*/true, /*writable=*/true));
    op->replaceAllUsesWith(tensors);
    op->erase();
  }

  Operation *op;
  ImplicitLocOpBuilder b;

private:
  SmallVector<Value> buffers, args, results;
};

RankedTensorType tensorType(Value value) {
  return cast<RankedTensorType>(value.getType());
}

/// The dynamic sizes of `type` in order, the first taken from `rows`.
SmallVector<Value> rowSizes(RankedTensorType type, Value rows) {
  if (type.isDynamicDim(0))
    return {rows};
  return {};
}

void lower(LinearOp op) {
  CallBuilder call(op);
  call.operand(op.getInput());
  call.operand(op.getWeight());
  if (op.getBias())
    call.operand(op.getBias());
  else
    call.absent(call.b.getF32Type());
  call.result(tensorType(op.getOutput()),
              rowSizes(tensorType(op.getOutput()), call.dim(0, 0)));
  call.finish("mnemo_linear");
}

template <typename AttentionLikeOp>
void lowerAttention(AttentionLikeOp op, StringRef callee) {
  CallBuilder call(op);
  call.operand(op.getQuery());
  call.operand(op.getKey());
  call.operand(op.getValue());
  call.result(tensorType(op.getOutput()),
              rowSizes(tensorType(op.getOutput()), call.dim(0, 0)));
  call.scalar(static_cast<int64_t>(op.getNumHeads()));
  call.scalar(op.getScale().convertToFloat());
  call.finish(callee);
}
void lower(CausalAttentionOp op) {
  lowerAttention(op, "mnemo_causal_attention");
}
void lower(AttentionOp op) { lowerAttention(op, "mnemo_attention"); }

void lower(RotaryOp op) {
  CallBuilder call(op);
  call.operand(op.getInput());
  call.operand(op.getPositions());
  call.result(tensorType(op.getOutput()),
              rowSizes(tensorType(op.getOutput()), call.dim(0, 0)));
  call.scalar(static_cast<int64_t>(op.getNumHeads()));
  call.scalar(static_cast<int64_t>(op.getRotaryDims()));
  call.scalar(op.getBase().convertToFloat());
  call.finish("mnemo_rotary");
}

void lower(EmbeddingOp op) {
  CallBuilder call(op);
  call.operand(op.getTable());
  call.operand(op.getIds());
  call.result(tensorType(op.getOutput()),
              rowSizes(tensorType(op.getOutput()), call.dim(1, 0)));
  Type element = tensorType(op.getTable()).getElementType();
  call.finish(element.isF16()    ? "mnemo_embedding_f16"
              : element.isBF16() ? "mnemo_embedding_bf16"
                                 : "mnemo_embedding_f32");
}

struct LowerToRuntimePass
    : mnemo::impl::LowerToRuntimePassBase<LowerToRuntimePass> {
  using Base::Base;

  void runOnOperation() override {
    SmallVector<Operation *> ops;
    getOperation().walk([&](Operation *op) {
      // Linear layers with f16/bf16 weights are generated code
      // (-mnemo-lower-linear): BLAS takes f32.
      if (auto linear = dyn_cast<LinearOp>(op);
          linear && !linear.hasBLASWeight())
        return;
      if (isa<LinearOp, CausalAttentionOp, AttentionOp, RotaryOp, EmbeddingOp>(
              op))
        ops.push_back(op);
    });
    for (Operation *op : ops)
      llvm::TypeSwitch<Operation *>(op)
          .Case<LinearOp, CausalAttentionOp, AttentionOp, RotaryOp,
                EmbeddingOp>([](auto concrete) { lower(concrete); });
  }
};

} // namespace
