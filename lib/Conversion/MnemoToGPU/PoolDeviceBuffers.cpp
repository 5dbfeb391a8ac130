//===- PoolDeviceBuffers.cpp - One device allocation per call ---*- C++ -*-===//
//
// A host function's intermediate device buffers as views of one allocation,
// so that a call costs one allocation and one free in the driver instead
// of one of each per buffer.
//
//===----------------------------------------------------------------------===//

#include "mnemo/Conversion/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/Dominance.h"

namespace mlir::mnemo {
#define GEN_PASS_DEF_POOLDEVICEBUFFERSPASS
#include "mnemo/Conversion/Passes.h.inc"
} // namespace mlir::mnemo

using namespace mlir;

namespace {

/// Device allocations start at this many bytes' boundary, and so does each
/// buffer carved out of the pool.
constexpr int64_t kAlignment = 256;

/// Whether the buffers of `alloc` can be carved out of a pool allocated
/// just before `first`: a synchronous allocation of a buffer with an
/// identity layout and a byte-sized element type, whose sizes are known
/// there and whose only deallocation, if any, is in the same block.
bool poolable(gpu::AllocOp alloc, Operation *first, DominanceInfo &dominance) {
  MemRefType type = alloc.getType();
  if (alloc.getAsyncToken() || alloc.getHostShared() ||
      !type.getLayout().isIdentity() || !type.getElementType().isIntOrFloat() ||
      type.getElementTypeBitWidth() % 8 != 0 ||
      !alloc.getSymbolOperands().empty())
    return false;
  for (Value size : alloc.getDynamicSizes())
    if (!dominance.properlyDominates(size, first))
      return false;
  for (Operation *user : alloc.getMemref().getUsers())
    if (isa<gpu::DeallocOp, memref::DeallocOp>(user) &&
        user->getBlock() != alloc->getBlock())
      return false;
  return true;
}

struct PoolDeviceBuffersPass
    : mnemo::impl::PoolDeviceBuffersPassBase<PoolDeviceBuffersPass> {
  void runOnOperation() override {
    func::FuncOp func = getOperation();
    if (func.isExternal())
      return;
    Block &body = func.getBody().front();
    auto allocs = llvm::to_vector(body.getOps<gpu::AllocOp>());
    if (allocs.size() < 2)
      return;
    Operation *first = allocs.front();
    DominanceInfo dominance(func);
    SmallVector<gpu::AllocOp> pooled;
    for (gpu::AllocOp alloc : allocs)
      if (poolable(alloc, first, dominance))
        pooled.push_back(alloc);
    if (pooled.size() < 2)
      return;

    // The pool: each buffer's bytes rounded up to the alignment, added up
    // where the first buffer was allocated.
    OpBuilder b(first);
    Location loc = first->getLoc();
    auto constant = [&](int64_t value) -> Value {
      return b.create<arith::ConstantIndexOp>(loc, value);
    };
    Value total = constant(0);
    SmallVector<Value> offsets;
    for (gpu::AllocOp alloc : pooled) {
      MemRefType type = alloc.getType();
      int64_t staticBytes = type.getElementTypeBitWidth() / 8;
      for (int64_t extent : type.getShape())
        if (!ShapedType::isDynamic(extent))
          staticBytes *= extent;
      Value bytes = constant(staticBytes);
      for (Value size : alloc.getDynamicSizes())
        bytes = b.create<arith::MulIOp>(loc, bytes, size);
      offsets.push_back(total);
      Value rounded = b.create<arith::MulIOp>(
          loc, b.create<arith::CeilDivUIOp>(loc, bytes, constant(kAlignment)),
          constant(kAlignment));
      total = b.create<arith::AddIOp>(loc, total, rounded);
    }
    auto poolType = MemRefType::get({ShapedType::kDynamic}, b.getI8Type());
    auto pool = b.create<gpu::AllocOp>(loc, poolType, /*asyncToken=*/Type(),
                                       /*asyncDependencies=*/ValueRange(),
                                       ValueRange{total},
                                       /*symbolOperands=*/ValueRange(),
                                       /*hostShared=*/false);

    // Each buffer a view of the pool, its deallocation dropped.
    SmallVector<Operation *> frees;
    for (auto [alloc, offset] : llvm::zip(pooled, offsets)) {
      b.setInsertionPoint(alloc);
      Value view = b.create<memref::ViewOp>(alloc.getLoc(), alloc.getType(),
                                            pool.getMemref(), offset,
                                            alloc.getDynamicSizes());
      for (Operation *user : alloc.getMemref().getUsers())
        if (isa<gpu::DeallocOp, memref::DeallocOp>(user))
          frees.push_back(user);
      alloc.getMemref().replaceAllUsesWith(view);
      alloc.erase();
    }
    // Freed before the return: the buffers' views may be used until then.
    b.setInsertionPoint(body.getTerminator());
    b.create<gpu::DeallocOp>(loc, /*asyncToken=*/Type(),
                             /*asyncDependencies=*/ValueRange(),
                             pool.getMemref());
    for (Operation *free : frees)
      free->erase();
  }
};

} // namespace
