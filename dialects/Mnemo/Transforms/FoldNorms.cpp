//===- FoldNorms.cpp - Fold row normalizations into lookups -----*- C++ -*-===//
//
// A Memory Layer only needs the signs and magnitudes of its normalized
// input, which its hashing loop can compute from the raw row and the row's
// statistics. Folding the norm into the lookup removes the write and the
// re-read of the normalized tensor.
//
//===----------------------------------------------------------------------===//

#include "Mnemo/IR/MnemoOps.h"
#include "Mnemo/Transforms/Passes.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::mnemo {
#define GEN_PASS_DEF_FOLDNORMSPASS
#include "Mnemo/Transforms/Passes.h.inc"
} // namespace mlir::mnemo

using namespace mlir;
using namespace mlir::mnemo;

namespace {

Value normBias(RMSNormOp) { return Value(); }
Value normBias(LayerNormOp op) { return op.getBias(); }
NormKind normKind(RMSNormOp) { return NormKind::rms_norm; }
NormKind normKind(LayerNormOp) { return NormKind::layer_norm; }

template <typename NormOp>
struct FoldNormIntoLookups : OpRewritePattern<NormOp> {
  using OpRewritePattern<NormOp>::OpRewritePattern;

  LogicalResult matchAndRewrite(NormOp norm,
                                PatternRewriter &rewriter) const override {
    if (norm->use_empty())
      return rewriter.notifyMatchFailure(norm, "unused");
    SmallVector<HashLookupOp> lookups;
    for (OpOperand &use : norm->getUses()) {
      auto lookup = dyn_cast<HashLookupOp>(use.getOwner());
      if (!lookup || use.getOperandNumber() != 0)
        return rewriter.notifyMatchFailure(
            norm, "a use is not the input of a Memory Layer");
      if (lookup.getNorm())
        return rewriter.notifyMatchFailure(norm, "a user already normalizes");
      lookups.push_back(lookup);
    }
    auto kind = NormKindAttr::get(rewriter.getContext(), normKind(norm));
    for (HashLookupOp lookup : lookups) {
      rewriter.modifyOpInPlace(lookup, [&] {
        lookup.getInputMutable().assign(norm.getInput());
        lookup.getNormWeightMutable().assign(norm.getWeight());
        if (Value bias = normBias(norm))
          lookup.getNormBiasMutable().assign(bias);
        lookup.setNormAttr(kind);
        lookup.setNormEpsilonAttr(norm.getEpsilonAttr());
      });
    }
    rewriter.eraseOp(norm);
    return success();
  }
};

struct FoldNormsPass : mnemo::impl::FoldNormsPassBase<FoldNormsPass> {
  using Base::Base;
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateFoldNormsPatterns(patterns);
    if (failed(
            applyPatternsAndFoldGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace

void mlir::mnemo::populateFoldNormsPatterns(RewritePatternSet &patterns) {
  patterns
      .add<FoldNormIntoLookups<RMSNormOp>, FoldNormIntoLookups<LayerNormOp>>(
          patterns.getContext());
}
