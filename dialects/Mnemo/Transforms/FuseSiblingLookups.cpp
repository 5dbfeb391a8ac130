//===- FuseSiblingLookups.cpp - Fuse lookups that hash one input -*- C++
//-*-===//
//
// Memory Layers on the same input with the same table geometry compute the
// same buckets and weights. This rewrite merges them into one lookup over
// tables concatenated along the output width, so that the generated code
// hashes the input once and gathers every table's rows in one pass.
//
//===----------------------------------------------------------------------===//

#include "Mnemo/IR/MnemoOps.h"
#include "Mnemo/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Dominance.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "llvm/Support/Debug.h"

#define DEBUG_TYPE "mnemo-fuse-lookups"

namespace mlir::mnemo {
#define GEN_PASS_DEF_FUSESIBLINGLOOKUPSPASS
#include "Mnemo/Transforms/Passes.h.inc"
} // namespace mlir::mnemo

using namespace mlir;
using namespace mlir::mnemo;

namespace {

/// True when `a` and `b` compute the same buckets and weights, so that their
/// tables can be concatenated: same input, table count, rows, element type
/// and weighting.
bool areSiblings(HashLookupOp a, HashLookupOp b) {
  // Packed tables and fused norms come later in the pipeline; fuse the
  // plain form only.
  if (a.isPacked() || b.isPacked() || a.getNorm() || b.getNorm())
    return false;
  auto ta = a.getTables().getType(), tb = b.getTables().getType();
  return a.getInput() == b.getInput() && a->getBlock() == b->getBlock() &&
         ta.getDimSize(0) == tb.getDimSize(0) &&
         ta.getDimSize(1) == tb.getDimSize(1) &&
         ta.getElementType() == tb.getElementType() &&
         a.getWeighting() == b.getWeighting() &&
         a.getTemperature() == b.getTemperature() &&
         a.getResult().getType().getElementType() ==
             b.getResult().getType().getElementType();
}

/// Fuses the group of sibling lookups whose first member (in block order) is
/// the root op. Rooting the match at the first member makes every group
/// rewrite exactly once, with the fused op where the first member was.
struct FuseSiblingLookups : OpRewritePattern<HashLookupOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(HashLookupOp root,
                                PatternRewriter &rewriter) const override {
    // Decoding: hashing a token twice costs nothing next to reading its
    // rows, and the concatenated tables would be a copy of them all.
    if (root.hasFewTokens())
      return rewriter.notifyMatchFailure(
          root, "few tokens: fusion would copy the tables for nothing");
    SmallVector<HashLookupOp> group;
    for (Operation *user : root.getInput().getUsers()) {
      auto sibling = dyn_cast<HashLookupOp>(user);
      if (sibling && sibling != root && areSiblings(root, sibling) &&
          sibling->isBeforeInBlock(root))
        return rewriter.notifyMatchFailure(
            root, "not the first lookup of its sibling group");
    }

    // The fused op replaces `root` in place, so the other members' tables
    // and biases must already be available there.
    DominanceInfo dominance;
    group.push_back(root);
    for (Operation *user : root.getInput().getUsers()) {
      auto sibling = dyn_cast<HashLookupOp>(user);
      if (!sibling || sibling == root || !areSiblings(root, sibling) ||
          llvm::is_contained(group, sibling))
        continue;
      bool available = llvm::all_of(sibling->getOperands(), [&](Value v) {
        return dominance.properlyDominates(v, root);
      });
      if (available)
        group.push_back(sibling);
      else
        LLVM_DEBUG(llvm::dbgs()
                   << "not fusing " << sibling
                   << ": its operands are defined after " << root << "\n");
    }
    if (group.size() < 2)
      return rewriter.notifyMatchFailure(root, "no fusible sibling lookup");
    llvm::sort(group, [](HashLookupOp a, HashLookupOp b) {
      return a->isBeforeInBlock(b);
    });

    Location loc = rewriter.getFusedLoc(llvm::to_vector(
        llvm::map_range(group, [](HashLookupOp op) { return op.getLoc(); })));
    rewriter.setInsertionPoint(root);

    SmallVector<Value> tables;
    SmallVector<Value> biases;
    bool anyBias = llvm::any_of(
        group, [](HashLookupOp op) { return static_cast<bool>(op.getBias()); });
    int64_t fusedWidth = 0;
    for (HashLookupOp op : group) {
      tables.push_back(op.getTables());
      int64_t width = op.getOutputWidth();
      fusedWidth += width;
      if (!anyBias)
        continue;
      if (op.getBias()) {
        biases.push_back(op.getBias());
        continue;
      }
      auto biasType = RankedTensorType::get({width}, rewriter.getF32Type());
      biases.push_back(rewriter.create<arith::ConstantOp>(
          loc, biasType, rewriter.getZeroAttr(biasType)));
    }

    Value fusedTables =
        rewriter.create<tensor::ConcatOp>(loc, /*dim=*/2, tables);
    Value fusedBias;
    if (anyBias)
      fusedBias = rewriter.create<tensor::ConcatOp>(loc, /*dim=*/0, biases);

    auto inputType = root.getInput().getType();
    auto resultType = RankedTensorType::get(
        {inputType.getDimSize(0), fusedWidth}, rewriter.getF32Type());
    auto fused = rewriter.create<HashLookupOp>(
        loc, resultType, root.getInput(), fusedTables, fusedBias,
        root.getWeighting(), root.getTemperature().convertToFloat());

    // Create every slice before replacing anything: replacing `root` would
    // invalidate the insertion point, which sits just before it.
    rewriter.setInsertionPointAfter(fused);
    // The row count comes from the fused result: taking it from the input
    // would give the input's producer (a norm, say) a use that is not a
    // lookup.
    OpFoldResult rows =
        tensor::getMixedSize(rewriter, loc, fused.getResult(), /*dim=*/0);
    SmallVector<Value> slices;
    int64_t offset = 0;
    for (HashLookupOp op : group) {
      int64_t width = op.getOutputWidth();
      SmallVector<OpFoldResult> offsets = {rewriter.getIndexAttr(0),
                                           rewriter.getIndexAttr(offset)};
      SmallVector<OpFoldResult> sizes = {rows, rewriter.getIndexAttr(width)};
      SmallVector<OpFoldResult> strides(2, rewriter.getIndexAttr(1));
      slices.push_back(rewriter.create<tensor::ExtractSliceOp>(
          op.getLoc(), op.getResult().getType(), fused.getResult(), offsets,
          sizes, strides));
      offset += width;
    }
    for (auto [op, slice] : llvm::zip_equal(group, slices))
      rewriter.replaceOp(op, slice);
    return success();
  }
};

struct FuseSiblingLookupsPass
    : mnemo::impl::FuseSiblingLookupsPassBase<FuseSiblingLookupsPass> {
  using Base::Base;

  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateFuseSiblingLookupsPatterns(patterns);
    if (failed(
            applyPatternsAndFoldGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace

void mlir::mnemo::populateFuseSiblingLookupsPatterns(
    RewritePatternSet &patterns) {
  patterns.add<FuseSiblingLookups>(patterns.getContext());
}
