//===- LowerWeightPreparation.cpp - Load-time loops in parallel -*- C++ -*-===//
//
// See -mnemo-lower-weight-preparation in Passes.td.
//
//===----------------------------------------------------------------------===//

#include "mnemo/Conversion/Passes.h"

#include "Mnemo/Transforms/Passes.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::mnemo {
#define GEN_PASS_DEF_LOWERWEIGHTPREPARATIONPASS
#include "mnemo/Conversion/Passes.h.inc"
} // namespace mlir::mnemo

using namespace mlir;

namespace {

/// `loop` as an `scf.parallel` of one dimension with the same body. The
/// caller knows that its iterations are independent.
void makeParallel(RewriterBase &rewriter, scf::ForOp loop) {
  rewriter.setInsertionPoint(loop);
  auto parallel = rewriter.create<scf::ParallelOp>(
      loop.getLoc(), ValueRange{loop.getLowerBound()},
      ValueRange{loop.getUpperBound()}, ValueRange{loop.getStep()});
  Block *body = parallel.getBody();
  // Everything but the scf.yield, before the parallel loop's scf.reduce.
  body->getOperations().splice(body->begin(), loop.getBody()->getOperations(),
                               loop.getBody()->begin(),
                               std::prev(loop.getBody()->end()));
  rewriter.replaceAllUsesWith(loop.getInductionVar(),
                              parallel.getInductionVars().front());
  rewriter.eraseOp(loop);
}

struct LowerWeightPreparationPass
    : mnemo::impl::LowerWeightPreparationPassBase<LowerWeightPreparationPass> {
  using Base::Base;

  /// Whether `op` has a static iteration space of fewer than
  /// `minElements` points.
  bool isSmall(linalg::LinalgOp op) {
    int64_t points = 1;
    for (int64_t range : op.getStaticLoopRanges()) {
      if (ShapedType::isDynamic(range))
        return false;
      points *= range;
      if (points >= minElements)
        return false;
    }
    return true;
  }

  void runOnOperation() override {
    ModuleOp module = getOperation();
    IRRewriter rewriter(&getContext());
    for (auto func : module.getOps<func::FuncOp>()) {
      func::FuncOp target = mnemo::lookupPrepareWeights(func);
      if (!target)
        continue;
      SmallVector<linalg::LinalgOp> ops;
      target.walk([&](linalg::LinalgOp op) { ops.push_back(op); });
      for (linalg::LinalgOp op : ops) {
        if (!op.hasPureBufferSemantics() || op.getNumLoops() == 0 ||
            op.getIteratorTypesArray().front() != utils::IteratorType::parallel)
          continue;
        if (isSmall(op))
          continue;
        rewriter.setInsertionPoint(op);
        FailureOr<linalg::LinalgLoops> loops =
            linalg::linalgOpToLoops(rewriter, op);
        if (failed(loops)) {
          op->emitError("cannot lower to loops");
          return signalPassFailure();
        }
        rewriter.eraseOp(op);
        if (auto outer = dyn_cast<scf::ForOp>(loops->front()))
          makeParallel(rewriter, outer);
      }
      // The loops index through identity affine.apply ops and load the
      // output they overwrite (as -convert-linalg-to-loops's own folding
      // would not leave them).
      RewritePatternSet patterns(&getContext());
      affine::AffineApplyOp::getCanonicalizationPatterns(patterns,
                                                         &getContext());
      if (failed(applyPatternsAndFoldGreedily(target, std::move(patterns))))
        return signalPassFailure();
    }
  }
};

} // namespace
