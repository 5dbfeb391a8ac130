//===- DeallocateBuffers.cpp - Free intermediate buffers --------*- C++ -*-===//
//
// See -mnemo-deallocate-buffers in Passes.td.
//
//===----------------------------------------------------------------------===//

#include "mnemo/Conversion/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/Builders.h"

namespace mlir::mnemo {
#define GEN_PASS_DEF_DEALLOCATEBUFFERSPASS
#include "mnemo/Conversion/Passes.h.inc"
} // namespace mlir::mnemo

using namespace mlir;

namespace {

/// Whether `value` (an allocation, or a view of it) leaves the function:
/// returned, or stored as a value rather than into.
bool escapes(Value value) {
  for (OpOperand &use : value.getUses()) {
    Operation *user = use.getOwner();
    if (isa<func::ReturnOp>(user))
      return true;
    if (auto store = dyn_cast<memref::StoreOp>(user))
      if (store.getValueToStore() == value)
        return true;
    // Views alias the allocation: follow them.
    if (isa<ViewLikeOpInterface>(user) ||
        isa<memref::CastOp, memref::CollapseShapeOp, memref::ExpandShapeOp,
            memref::ReinterpretCastOp>(user))
      for (Value result : user->getResults())
        if (escapes(result))
          return true;
  }
  return false;
}

struct DeallocateBuffersPass
    : mnemo::impl::DeallocateBuffersPassBase<DeallocateBuffersPass> {
  using Base::Base;

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    if (func.isExternal() || !func.getBody().hasOneBlock())
      return;
    Block &entry = func.getBody().front();
    auto ret = dyn_cast<func::ReturnOp>(entry.getTerminator());
    if (!ret)
      return;
    SmallVector<memref::AllocOp> allocs;
    for (auto alloc : entry.getOps<memref::AllocOp>()) {
      bool freed = llvm::any_of(alloc->getUsers(), [](Operation *user) {
        return isa<memref::DeallocOp>(user);
      });
      if (!freed && !escapes(alloc.getResult()))
        allocs.push_back(alloc);
    }
    OpBuilder builder(ret);
    for (memref::AllocOp alloc : allocs)
      builder.create<memref::DeallocOp>(alloc.getLoc(), alloc.getResult());
  }
};

} // namespace
