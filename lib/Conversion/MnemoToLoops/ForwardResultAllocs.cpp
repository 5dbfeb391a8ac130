//===- ForwardResultAllocs.cpp - Function boundaries of buffers -*- C++ -*-===//
//
// Two passes around bufferization's function boundaries:
//
// -mnemo-read-only-arguments: arguments are the caller's inputs, never
// written (nor returned as results).
//
// -mnemo-forward-result-allocs: after -buffer-results-to-out-params a
// function computes its result in a fresh allocation and copies it into the
// caller's buffer. When nothing uses the allocation after that copy, the
// result can be computed in the caller's buffer directly: the copy (as
// large as the whole output) disappears.
//
//===----------------------------------------------------------------------===//

#include "mnemo/Conversion/Passes.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "llvm/Support/Debug.h"

#define DEBUG_TYPE "mnemo-forward-result-allocs"

namespace mlir::mnemo {
#define GEN_PASS_DEF_READONLYARGUMENTSPASS
#define GEN_PASS_DEF_FORWARDRESULTALLOCSPASS
#include "mnemo/Conversion/Passes.h.inc"
} // namespace mlir::mnemo

using namespace mlir;

namespace {

struct ReadOnlyArgumentsPass
    : mnemo::impl::ReadOnlyArgumentsPassBase<ReadOnlyArgumentsPass> {
  void runOnOperation() override {
    auto attrName = bufferization::BufferizationDialect::kWritableAttrName;
    auto readOnly = BoolAttr::get(&getContext(), false);
    for (auto func : getOperation().getOps<func::FuncOp>()) {
      if (func.isExternal())
        continue;
      for (auto [index, type] : llvm::enumerate(func.getArgumentTypes()))
        if (isa<TensorType>(type) && !func.getArgAttr(index, attrName))
          func.setArgAttr(index, attrName, readOnly);
    }
  }
};

/// The source and target of a copy between buffers (memref.copy, or
/// linalg.copy on memrefs as the CPU pipeline creates them).
std::optional<std::pair<Value, Value>> copyOperands(Operation *op) {
  if (auto copy = dyn_cast<memref::CopyOp>(op))
    return std::make_pair(copy.getSource(), copy.getTarget());
  if (auto copy = dyn_cast<linalg::CopyOp>(op))
    if (copy.hasPureBufferSemantics())
      return std::make_pair(copy.getInputs()[0], copy.getOutputs()[0]);
  return std::nullopt;
}

/// The local allocation that `copy` copies into an out-parameter nothing
/// else touches, when the allocation is not used after the copy.
memref::AllocOp forwardableAlloc(Operation *copy, Block &entry) {
  auto [source, targetValue] = *copyOperands(copy);
  auto target = dyn_cast<BlockArgument>(targetValue);
  if (!target || target.getOwner() != &entry || !target.hasOneUse())
    return nullptr;
  auto alloc = source.getDefiningOp<memref::AllocOp>();
  if (!alloc || alloc->getBlock() != &entry ||
      alloc.getType() != target.getType())
    return nullptr;
  for (Operation *user : alloc->getUsers()) {
    if (user == copy)
      continue;
    if (isa<memref::DeallocOp>(user))
      return nullptr;
    Operation *ancestor = entry.findAncestorOpInBlock(*user);
    if (!ancestor || !ancestor->isBeforeInBlock(copy))
      return nullptr;
  }
  return alloc;
}

struct ForwardResultAllocsPass
    : mnemo::impl::ForwardResultAllocsPassBase<ForwardResultAllocsPass> {
  using Base::Base;

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    if (func.isExternal())
      return;
    Block &entry = func.getBody().front();
    SmallVector<Operation *> copies;
    for (Operation &op : entry)
      if (copyOperands(&op))
        copies.push_back(&op);
    for (Operation *copy : copies) {
      memref::AllocOp alloc = forwardableAlloc(copy, entry);
      if (!alloc)
        continue;
      LLVM_DEBUG(llvm::dbgs() << "writing " << alloc << " in place\n");
      Value target = copyOperands(copy)->second;
      copy->erase();
      alloc.replaceAllUsesWith(target);
      alloc.erase();
    }
  }
};

} // namespace
