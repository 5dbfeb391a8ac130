//===- UpstreamPatterns.cpp - Passes over upstream pattern sets -*- C++ -*-===//
//
// Thin passes that apply upstream pattern sets which MLIR 19 offers only as
// populate functions (or test passes): the CPU pipeline needs them.
//
//===----------------------------------------------------------------------===//

#include "mnemo/Conversion/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Math/Transforms/Approximation.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Tensor/Transforms/Transforms.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::mnemo {
#define GEN_PASS_DEF_APPROXIMATEMATHPASS
#define GEN_PASS_DEF_DECOMPOSECONCATPASS
#include "mnemo/Conversion/Passes.h.inc"
} // namespace mlir::mnemo

using namespace mlir;

namespace {

struct ApproximateMathPass
    : mnemo::impl::ApproximateMathPassBase<ApproximateMathPass> {
  using Base::Base;
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    MathPolynomialApproximationOptions options;
    options.enableAvx2 = enableAvx2;
    populateMathPolynomialApproximationPatterns(patterns, options);
    if (failed(
            applyPatternsAndFoldGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

struct DecomposeConcatPass
    : mnemo::impl::DecomposeConcatPassBase<DecomposeConcatPass> {
  using Base::Base;
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    tensor::populateDecomposeTensorConcatPatterns(patterns);
    if (failed(
            applyPatternsAndFoldGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
    getOperation()->walk(placeBeforeParts);
  }

  /// Reorders a decomposed concatenation (a `tensor.empty` of static shape
  /// filled by a chain of static insert_slices, one per part) so that the
  /// empty tensor comes before the first part is computed and each part is
  /// inserted right after it is computed. Upstream leaves the empty tensor
  /// and the insertions where the concat was, after all the parts; there
  /// `-eliminate-empty-tensors` cannot make the parts' own destinations
  /// slices of the whole, and each part is computed into a buffer of its
  /// own, then copied.
  static void placeBeforeParts(tensor::EmptyOp empty) {
    if (!empty->getOperands().empty())
      return;
    Block *block = empty->getBlock();
    SmallVector<tensor::InsertSliceOp> chain;
    for (Value value = empty.getResult(); value.hasOneUse();) {
      auto insert = dyn_cast<tensor::InsertSliceOp>(*value.getUsers().begin());
      if (!insert || insert.getDest() != value || insert->getBlock() != block ||
          insert->getNumOperands() != 2)
        break;
      chain.push_back(insert);
      value = insert.getResult();
    }
    // The part computed first, in this block.
    auto partIn = [&](tensor::InsertSliceOp insert) -> Operation * {
      Operation *part = insert.getSource().getDefiningOp();
      return part && part->getBlock() == block ? part : nullptr;
    };
    Operation *first = nullptr;
    for (tensor::InsertSliceOp insert : chain)
      if (Operation *part = partIn(insert))
        if (!first || part->isBeforeInBlock(first))
          first = part;
    if (!first || !first->isBeforeInBlock(empty))
      return;
    empty->moveBefore(first);
    Operation *previous = empty;
    for (tensor::InsertSliceOp insert : chain) {
      Operation *after = previous;
      if (Operation *part = partIn(insert))
        if (after->isBeforeInBlock(part))
          after = part;
      insert->moveAfter(after);
      previous = insert;
    }
  }
};

} // namespace
