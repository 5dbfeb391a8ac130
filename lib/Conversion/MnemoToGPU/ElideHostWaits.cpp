//===- ElideHostWaits.cpp - No host waits inside host functions -*- C++ -*-===//
//
// Mnemo's CUDA runtime runs a host thread's GPU work on one stream in
// program order, so a host function needs to wait for the GPU only before
// it returns.
//
//===----------------------------------------------------------------------===//

#include "mnemo/Conversion/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"

namespace mlir::mnemo {
#define GEN_PASS_DEF_ELIDEHOSTWAITSPASS
#include "mnemo/Conversion/Passes.h.inc"
} // namespace mlir::mnemo

using namespace mlir;

namespace {

/// Whether `wait` blocks the host right before its function returns.
bool waitsBeforeReturn(gpu::WaitOp wait) {
  Operation *next = wait->getNextNode();
  return next && isa<func::ReturnOp>(next);
}

struct ElideHostWaitsPass
    : mnemo::impl::ElideHostWaitsPassBase<ElideHostWaitsPass> {
  void runOnOperation() override {
    SmallVector<gpu::WaitOp> elided;
    getOperation().walk([&](gpu::WaitOp wait) {
      if (!wait.getAsyncToken() && !waitsBeforeReturn(wait))
        elided.push_back(wait);
    });
    for (gpu::WaitOp wait : elided)
      wait.erase();
  }
};

} // namespace
