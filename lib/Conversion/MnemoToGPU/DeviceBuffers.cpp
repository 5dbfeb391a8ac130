//===- DeviceBuffers.cpp - Host functions' buffers on the device -*- C++ -*-=//
//
// The host side of the CUDA target: after kernel outlining, host functions
// only allocate buffers, launch kernels and free the buffers. Their
// allocations become device allocations, and anything else that touches a
// buffer's contents is rejected, since on a GPU it would dereference a
// device address on the host.
//
//===----------------------------------------------------------------------===//

#include "mnemo/Conversion/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

namespace mlir::mnemo {
#define GEN_PASS_DEF_DEVICEBUFFERSPASS
#include "mnemo/Conversion/Passes.h.inc"
} // namespace mlir::mnemo

using namespace mlir;

namespace {

/// Whether `op`, in a host function, may touch buffers: launches read and
/// write them on the device; shapes and views are metadata.
bool touchesContentsOnHost(Operation *op) {
  if (isa<gpu::LaunchFuncOp, gpu::AllocOp, gpu::DeallocOp, gpu::WaitOp>(op))
    return false;
  bool hasBuffer = llvm::any_of(op->getOperands(), [](Value value) {
    return isa<BaseMemRefType>(value.getType());
  });
  if (!hasBuffer)
    return false;
  if (op->hasTrait<OpTrait::ReturnLike>() || isMemoryEffectFree(op))
    return false;
  auto effects = dyn_cast<MemoryEffectOpInterface>(op);
  if (!effects)
    return true;
  SmallVector<MemoryEffects::EffectInstance> instances;
  effects.getEffects(instances);
  return llvm::any_of(instances, [](const MemoryEffects::EffectInstance &e) {
    return isa<MemoryEffects::Read, MemoryEffects::Write>(e.getEffect());
  });
}

struct DeviceBuffersPass
    : mnemo::impl::DeviceBuffersPassBase<DeviceBuffersPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    bool failed = false;
    for (auto func : module.getOps<func::FuncOp>()) {
      if (func.isExternal())
        continue;
      SmallVector<Operation *> toReplace;
      func.walk([&](Operation *op) {
        if (isa<memref::AllocOp, memref::DeallocOp>(op)) {
          toReplace.push_back(op);
          return;
        }
        if (touchesContentsOnHost(op)) {
          op->emitOpError()
              << "accesses a buffer on the host; host functions of the GPU "
                 "target may only allocate buffers and launch kernels";
          failed = true;
        }
      });
      for (Operation *op : toReplace) {
        OpBuilder builder(op);
        if (auto alloc = dyn_cast<memref::AllocOp>(op)) {
          auto device = builder.create<gpu::AllocOp>(
              alloc.getLoc(), alloc.getType(), /*asyncToken=*/Type(),
              /*asyncDependencies=*/ValueRange(), alloc.getDynamicSizes(),
              alloc.getSymbolOperands(), /*hostShared=*/false);
          alloc.replaceAllUsesWith(device.getMemref());
        } else {
          auto dealloc = cast<memref::DeallocOp>(op);
          builder.create<gpu::DeallocOp>(dealloc.getLoc(),
                                         /*asyncToken=*/Type(),
                                         /*asyncDependencies=*/ValueRange(),
                                         dealloc.getMemref());
        }
        op->erase();
      }
    }
    if (failed)
      signalPassFailure();
  }
};

} // namespace
