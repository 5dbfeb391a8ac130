//===- PackTables.cpp - Column-tiled table layout ---------------*- C++ -*-===//
//
// With tables [K, 2^tau, h], the rows of a C-column slice are h values
// apart: 2 KB for h = 512 in f32, which maps every row of a slice to the
// same few cache sets. Packing to [h/C, K, 2^tau, C] makes each slice
// contiguous.
//
//===----------------------------------------------------------------------===//

#include "Mnemo/IR/MnemoOps.h"
#include "Mnemo/Transforms/Passes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::mnemo {
#define GEN_PASS_DEF_PACKTABLESPASS
#include "Mnemo/Transforms/Passes.h.inc"
} // namespace mlir::mnemo

using namespace mlir;
using namespace mlir::mnemo;

namespace {

/// `tables` [K, R, h] packed to [h/C, K, R, C] for column tiles of C.
/// Tables concatenated along h (fused sibling lookups) are packed one by
/// one and the packed tensors concatenated along the tiles: the same
/// values, without the concatenation in the stored layout that would
/// otherwise be materialized first (a full copy of the tables, at load
/// time).
Value packTables(OpBuilder &builder, Location loc, Value tables,
                 int64_t columns) {
  if (auto concat = tables.getDefiningOp<tensor::ConcatOp>();
      concat && concat.getDim() == 2 &&
      llvm::all_of(concat.getInputs(), [&](Value input) {
        return cast<RankedTensorType>(input.getType()).getDimSize(2) %
                   columns ==
               0;
      })) {
    SmallVector<Value> parts;
    for (Value input : concat.getInputs())
      parts.push_back(packTables(builder, loc, input, columns));
    return builder.create<tensor::ConcatOp>(loc, /*dim=*/0, parts);
  }

  auto type = cast<RankedTensorType>(tables.getType());
  int64_t numTables = type.getDimSize(0), rows = type.getDimSize(1);
  int64_t width = type.getDimSize(2);
  int64_t tiles = width / columns;
  Type element = type.getElementType();

  // [K, R, h] -> [K, R, h/C, C] -> [h/C, K, R, C]; with one tile the
  // transpose only moves a unit dimension and a reshape suffices.
  if (tiles == 1) {
    auto expanded = RankedTensorType::get({1, numTables, rows, width}, element);
    return builder.create<tensor::ExpandShapeOp>(
        loc, expanded, tables,
        ArrayRef<ReassociationIndices>{{0, 1}, {2}, {3}});
  }
  auto expanded =
      RankedTensorType::get({numTables, rows, tiles, columns}, element);
  Value split = builder.create<tensor::ExpandShapeOp>(
      loc, expanded, tables, ArrayRef<ReassociationIndices>{{0}, {1}, {2, 3}});
  Value init = builder.create<tensor::EmptyOp>(
      loc, ArrayRef<int64_t>{tiles, numTables, rows, columns}, element);
  return builder
      .create<linalg::TransposeOp>(loc, split, init,
                                   ArrayRef<int64_t>{2, 0, 1, 3})
      .getResult()
      .front();
}

struct PackLookupTables : OpRewritePattern<HashLookupOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(HashLookupOp op,
                                PatternRewriter &rewriter) const override {
    if (op.isPacked())
      return rewriter.notifyMatchFailure(op, "already packed");
    LookupTilingAttr tiling = op.getTilingAttr();
    if (!tiling)
      return rewriter.notifyMatchFailure(op, "not tiled");
    if (op.hasFewTokens())
      return rewriter.notifyMatchFailure(
          op, "few tokens: rows are read once, contiguous enough as stored");
    Value packed =
        packTables(rewriter, op.getLoc(), op.getTables(), tiling.getColumns());
    rewriter.modifyOpInPlace(op, [&] { op.getTablesMutable().assign(packed); });
    return success();
  }
};

struct PackTablesPass : mnemo::impl::PackTablesPassBase<PackTablesPass> {
  using Base::Base;
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populatePackTablesPatterns(patterns);
    if (failed(
            applyPatternsAndFoldGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace

void mlir::mnemo::populatePackTablesPatterns(RewritePatternSet &patterns) {
  patterns.add<PackLookupTables>(patterns.getContext());
}
