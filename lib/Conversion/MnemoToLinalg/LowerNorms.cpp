//===- LowerNorms.cpp - mnemo row normalizations to linalg ------*- C++ -*-===//
//
// RMSNorm and LayerNorm that were not folded into a Memory Layer become
// linalg.generic ops on tensors: one reduction per statistic over each row,
// then one elementwise op. The upstream pipeline bufferizes them and LLVM
// vectorizes the resulting loops.
//
//===----------------------------------------------------------------------===//

#include "Mnemo/IR/MnemoOps.h"
#include "mnemo/Conversion/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::mnemo {
#define GEN_PASS_DEF_LOWERNORMSPASS
#include "mnemo/Conversion/Passes.h.inc"
} // namespace mlir::mnemo

using namespace mlir;
using namespace mlir::mnemo;

namespace {

/// Builds the per-row sum of `f(x[i, j], center[i])` as a `[n]` tensor.
Value rowSum(PatternRewriter &rewriter, Location loc, Value input, Value center,
             bool square) {
  auto type = cast<RankedTensorType>(input.getType());
  Type f32 = type.getElementType();
  SmallVector<OpFoldResult> rows = {
      tensor::getMixedSize(rewriter, loc, input, 0)};
  Value empty = rewriter.create<tensor::EmptyOp>(loc, rows, f32);
  Value zero =
      rewriter.create<arith::ConstantOp>(loc, rewriter.getF32FloatAttr(0));
  Value init = rewriter.create<linalg::FillOp>(loc, zero, empty).getResult(0);

  MLIRContext *ctx = rewriter.getContext();
  AffineMap rowCol = AffineMap::getMultiDimIdentityMap(2, ctx);
  AffineMap row = AffineMap::get(2, 0, {getAffineDimExpr(0, ctx)}, ctx);
  SmallVector<Value> inputs = {input};
  SmallVector<AffineMap> maps = {rowCol};
  if (center) {
    inputs.push_back(center);
    maps.push_back(row);
  }
  maps.push_back(row);
  return rewriter
      .create<linalg::GenericOp>(
          loc, init.getType(), inputs, ValueRange{init}, maps,
          ArrayRef<utils::IteratorType>{utils::IteratorType::parallel,
                                        utils::IteratorType::reduction},
          [&](OpBuilder &b, Location nestedLoc, ValueRange args) {
            Value value = args[0];
            if (center)
              value = b.create<arith::SubFOp>(nestedLoc, value, args[1]);
            if (square)
              value = b.create<arith::MulFOp>(nestedLoc, value, value);
            Value sum = b.create<arith::AddFOp>(nestedLoc, args.back(), value);
            b.create<linalg::YieldOp>(nestedLoc, sum);
          })
      .getResult(0);
}

/// out[i, j] = (x[i, j] - mean[i]) / sqrt(sumSq[i] / d + eps) * g[j] (+ b[j])
Value normalize(PatternRewriter &rewriter, Location loc, Value input,
                Value mean, Value sumSquares, Value weight, Value bias,
                double epsilon) {
  auto type = cast<RankedTensorType>(input.getType());
  int64_t width = type.getDimSize(1);
  MLIRContext *ctx = rewriter.getContext();
  AffineMap rowCol = AffineMap::getMultiDimIdentityMap(2, ctx);
  AffineMap row = AffineMap::get(2, 0, {getAffineDimExpr(0, ctx)}, ctx);
  AffineMap col = AffineMap::get(2, 0, {getAffineDimExpr(1, ctx)}, ctx);
  SmallVector<Value> inputs = {input, sumSquares, weight};
  SmallVector<AffineMap> maps = {rowCol, row, col};
  if (mean) {
    inputs.push_back(mean);
    maps.push_back(row);
  }
  if (bias) {
    inputs.push_back(bias);
    maps.push_back(col);
  }
  maps.push_back(rowCol);
  SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(rewriter, loc, input);
  Value empty =
      rewriter.create<tensor::EmptyOp>(loc, sizes, type.getElementType());
  return rewriter
      .create<linalg::GenericOp>(
          loc, type, inputs, ValueRange{empty}, maps,
          ArrayRef<utils::IteratorType>{utils::IteratorType::parallel,
                                        utils::IteratorType::parallel},
          [&](OpBuilder &b, Location l, ValueRange args) {
            Value x = args[0];
            unsigned next = 3;
            if (mean)
              x = b.create<arith::SubFOp>(l, x, args[next++]);
            Value d = b.create<arith::ConstantOp>(
                l, b.getF32FloatAttr(static_cast<float>(width)));
            Value eps = b.create<arith::ConstantOp>(
                l, b.getF32FloatAttr(static_cast<float>(epsilon)));
            Value variance = b.create<arith::AddFOp>(
                l, b.create<arith::DivFOp>(l, args[1], d), eps);
            Value scaled = b.create<arith::DivFOp>(
                l, x, b.create<math::SqrtOp>(l, variance));
            Value y = b.create<arith::MulFOp>(l, scaled, args[2]);
            if (bias)
              y = b.create<arith::AddFOp>(l, y, args[next++]);
            b.create<linalg::YieldOp>(l, y);
          })
      .getResult(0);
}

struct LowerRMSNorm : OpRewritePattern<RMSNormOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(RMSNormOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value sumSquares = rowSum(rewriter, loc, op.getInput(), Value(), true);
    rewriter.replaceOp(op, normalize(rewriter, loc, op.getInput(), Value(),
                                     sumSquares, op.getWeight(), Value(),
                                     op.getEpsilon().convertToDouble()));
    return success();
  }
};

struct LowerLayerNorm : OpRewritePattern<LayerNormOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(LayerNormOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto type = op.getInput().getType();
    Value sum = rowSum(rewriter, loc, op.getInput(), Value(), false);
    // mean = sum / d, as a [n] tensor.
    Value empty = rewriter.create<tensor::EmptyOp>(
        loc, tensor::getMixedSizes(rewriter, loc, sum), type.getElementType());
    MLIRContext *ctx = rewriter.getContext();
    AffineMap id = AffineMap::getMultiDimIdentityMap(1, ctx);
    Value mean =
        rewriter
            .create<linalg::GenericOp>(
                loc, empty.getType(), ValueRange{sum}, ValueRange{empty},
                ArrayRef<AffineMap>{id, id},
                ArrayRef<utils::IteratorType>{utils::IteratorType::parallel},
                [&](OpBuilder &b, Location l, ValueRange args) {
                  Value d = b.create<arith::ConstantOp>(
                      l, b.getF32FloatAttr(
                             static_cast<float>(type.getDimSize(1))));
                  b.create<linalg::YieldOp>(
                      l, ValueRange{b.create<arith::DivFOp>(l, args[0], d)});
                })
            .getResult(0);
    Value sumSquares = rowSum(rewriter, loc, op.getInput(), mean, true);
    rewriter.replaceOp(op, normalize(rewriter, loc, op.getInput(), mean,
                                     sumSquares, op.getWeight(), op.getBias(),
                                     op.getEpsilon().convertToDouble()));
    return success();
  }
};

struct LowerNormsPass : mnemo::impl::LowerNormsPassBase<LowerNormsPass> {
  using Base::Base;
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateLowerNormsPatterns(patterns);
    if (failed(
            applyPatternsAndFoldGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace

void mlir::mnemo::populateLowerNormsPatterns(RewritePatternSet &patterns) {
  patterns.add<LowerRMSNorm, LowerLayerNorm>(patterns.getContext());
}
