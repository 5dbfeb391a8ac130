//===- LowerLookups.cpp - CPU code generation for Memory Layers -*- C++ -*-===//
//
// Generates the loop nest of one `mnemo.hash_lookup` on buffers, specialized
// for its table geometry, element type, weighting, fused normalization and
// tiling. This is the code generator of the Memory Layer on CPU:
//
//   parallel over token tiles (or column tiles, for few tokens):
//     for each token of the tile:           hash: buckets and weights of all
//       [normalize the row on the fly]      K tables, on vector<tau x f32>
//       for k: bucket[k][t], weight[k][t]   chunks
//     for each column tile c (C columns):
//       acc[t][:] = bias[c*C : (c+1)*C]
//       for each group of U tables:         table-outer order: the U table
//         [prefetch the next group]         slices [2^tau, C] stay in cache
//         for each token t of the tile:     while every token of the tile
//           acc[t][:] += sum_u w * row       reads its rows
//       out[t][c*C : (c+1)*C] = acc[t][:]
//
// Tables are read as `[h/C, K, 2^tau, C]` when packed (contiguous slices) or
// `[K, 2^tau, h]`; f16/bf16 rows are widened to f32 before the FMA.
//
//===----------------------------------------------------------------------===//

#include "Mnemo/IR/MnemoOps.h"
#include "mnemo/Conversion/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"
#include "llvm/Support/Debug.h"

#define DEBUG_TYPE "mnemo-lower-lookups"

namespace mlir::mnemo {
#define GEN_PASS_DEF_LOWERLOOKUPSPASS
#include "mnemo/Conversion/Passes.h.inc"
} // namespace mlir::mnemo

using namespace mlir;
using namespace mlir::mnemo;

namespace {

/// Bytes per cache line, for prefetch addresses.
constexpr int64_t kCacheLineBytes = 64;

/// Everything the generated code is specialized on.
struct LookupConfig {
  int64_t numTables;     // K
  int64_t bitsPerTable;  // tau
  int64_t numBuckets;    // 2^tau
  int64_t inputWidth;    // d
  int64_t outputWidth;   // h
  int64_t columns;       // C, columns per tile
  int64_t tokens;        // T, tokens per tile
  int64_t tablesPerPass; // U
  int64_t prefetch;
  LookupParallel parallel;
  int64_t vectorWidth; // V
  Type tableElementType;
  int64_t tableElementBytes;
  bool packed;
  Weighting weighting;
  double temperature;
  std::optional<NormKind> norm;
  double normEpsilon;

  int64_t numColumnTiles() const { return outputWidth / columns; }
};

/// A run of `width` columns at `offset` within a column tile, processed as
/// one vector.
struct ColumnChunk {
  int64_t offset;
  int64_t width;
};

class LookupCodegen {
public:
  LookupCodegen(ImplicitLocOpBuilder &b, const LookupConfig &cfg, Value x,
                Value tables, Value bias, Value normWeight, Value normBias)
      : b(b), cfg(cfg), x(x), tables(tables), bias(bias),
        normWeight(normWeight), normBias(normBias) {
    f32 = b.getF32Type();
    i32 = b.getI32Type();
    for (int64_t offset = 0; offset < cfg.columns; offset += cfg.vectorWidth)
      chunks.push_back(
          {offset, std::min(cfg.vectorWidth, cfg.columns - offset)});
  }

  /// Emits the whole computation; returns the `[n, h]` output buffer.
  Value emit();

private:
  Value index(int64_t v) { return b.create<arith::ConstantIndexOp>(v); }
  Value f32Const(double v) {
    return b.create<arith::ConstantOp>(
        b.getF32FloatAttr(static_cast<float>(v)));
  }
  Value splat(VectorType type, Value scalar) {
    return b.create<vector::SplatOp>(type, scalar);
  }
  Value minIndex(Value a, Value c) { return b.create<arith::MinSIOp>(a, c); }

  /// Opens a memref.alloca_scope at the insertion point and moves the
  /// insertion point into it, so that stack buffers of a parallel iteration
  /// are released when it ends.
  void enterAllocaScope() {
    auto scope = b.create<memref::AllocaScopeOp>(TypeRange{});
    Block *body = b.createBlock(&scope.getBodyRegion());
    b.setInsertionPointToEnd(body);
    b.setInsertionPoint(b.create<memref::AllocaScopeReturnOp>(ValueRange{}));
  }

  void emitHashRow(Value row, Value slot, Value bucketBuf, Value weightBuf);
  std::pair<Value, Value> emitNormStatistics(Value row);
  void emitGather(Value firstToken, Value numTokens, Value firstSlot,
                  Value columnTile, Value bucketBuf, Value weightBuf,
                  Value accBuf, Value out);
  void emitAccumulate(Value firstTable, int64_t count, Value columnTile,
                      Value token, Value slot, Value bucketBuf, Value weightBuf,
                      Value accBuf);
  Value loadRow(Value columnTile, Value table, Value bucket,
                const ColumnChunk &chunk, Value columnBase);
  void emitSlicePrefetch(Value columnTile, Value firstTable, Value token);
  void emitRowPrefetch(Value columnTile, Value table, Value slot,
                       Value bucketBuf);

  ImplicitLocOpBuilder &b;
  const LookupConfig &cfg;
  Value x, tables, bias, normWeight, normBias;
  Type f32, i32;
  SmallVector<ColumnChunk> chunks;
};

//===----------------------------------------------------------------------===//
// Hashing
//===----------------------------------------------------------------------===//

/// Computes the statistics of a row normalization: the mean (LayerNorm only,
/// else null) and 1 / sqrt(mean square or variance + eps).
std::pair<Value, Value> LookupCodegen::emitNormStatistics(Value row) {
  int64_t d = cfg.inputWidth, v = cfg.vectorWidth;
  int64_t full = d / v * v;
  auto vecType = VectorType::get({v}, f32);
  bool isLayerNorm = *cfg.norm == NormKind::layer_norm;

  // sum_j f(x_j - center) over the row, vectorized, with a tail vector;
  // f squares when `square` is set.
  auto reduceRow = [&](Value center, bool square) -> Value {
    auto term = [&](ImplicitLocOpBuilder &nb, Value chunk) -> Value {
      if (center)
        chunk = nb.create<arith::SubFOp>(
            chunk, nb.create<vector::SplatOp>(cast<VectorType>(chunk.getType()),
                                              center));
      return square ? nb.create<arith::MulFOp>(chunk, chunk).getResult()
                    : chunk;
    };
    Value acc = splat(vecType, f32Const(0.0));
    if (full > 0) {
      auto loop = b.create<scf::ForOp>(
          index(0), index(full), index(v), ValueRange{acc},
          [&](OpBuilder &nested, Location loc, Value j, ValueRange iter) {
            ImplicitLocOpBuilder nb(loc, nested);
            Value chunk =
                nb.create<vector::LoadOp>(vecType, x, ValueRange{row, j});
            nb.create<scf::YieldOp>(
                ValueRange{nb.create<arith::AddFOp>(iter[0], term(nb, chunk))});
          });
      acc = loop.getResult(0);
    }
    Value total = b.create<vector::ReductionOp>(vector::CombiningKind::ADD, acc,
                                                arith::FastMathFlags::reassoc);
    if (full < d) {
      auto tailType = VectorType::get({d - full}, f32);
      Value tail =
          b.create<vector::LoadOp>(tailType, x, ValueRange{row, index(full)});
      total = b.create<arith::AddFOp>(
          total, b.create<vector::ReductionOp>(vector::CombiningKind::ADD,
                                               term(b, tail),
                                               arith::FastMathFlags::reassoc));
    }
    return total;
  };

  Value width = f32Const(static_cast<double>(d));
  Value mean;
  if (isLayerNorm)
    mean = b.create<arith::DivFOp>(reduceRow(Value(), /*square=*/false), width);
  Value meanSquare =
      b.create<arith::DivFOp>(reduceRow(mean, /*square=*/true), width);
  Value variance =
      b.create<arith::AddFOp>(meanSquare, f32Const(cfg.normEpsilon));
  Value rstd =
      b.create<arith::DivFOp>(f32Const(1.0), b.create<math::SqrtOp>(variance));
  return {mean, rstd};
}

void LookupCodegen::emitHashRow(Value row, Value slot, Value bucketBuf,
                                Value weightBuf) {
  int64_t tau = cfg.bitsPerTable;
  auto chunkType = VectorType::get({tau}, f32);
  auto bitsType = VectorType::get({tau}, i32);

  Value mean, rstd;
  if (cfg.norm)
    std::tie(mean, rstd) = emitNormStatistics(row);

  SmallVector<int32_t> powers;
  for (int64_t j = 0; j < tau; ++j)
    powers.push_back(static_cast<int32_t>(1) << (tau - 1 - j));
  Value bitValues = b.create<arith::ConstantOp>(
      DenseElementsAttr::get(bitsType, ArrayRef<int32_t>(powers)));
  Value zeroBits =
      b.create<arith::ConstantOp>(DenseElementsAttr::get(bitsType, 0));
  Value zeros = splat(chunkType, f32Const(0.0));
  Value ones = splat(chunkType, f32Const(1.0));
  double t = cfg.weighting == Weighting::prob ? cfg.temperature : 1.0;
  Value expScale = splat(chunkType, f32Const(-2.0 / t));
  Value one = f32Const(1.0);

  b.create<scf::ForOp>(
      index(0), index(cfg.numTables), index(1), std::nullopt,
      [&](OpBuilder &nested, Location loc, Value k, ValueRange) {
        ImplicitLocOpBuilder nb(loc, nested);
        Value column =
            nb.create<arith::MulIOp>(k, nb.create<arith::ConstantIndexOp>(tau));
        Value z =
            nb.create<vector::LoadOp>(chunkType, x, ValueRange{row, column});
        if (cfg.norm) {
          if (mean)
            z = nb.create<arith::SubFOp>(
                z, nb.create<vector::SplatOp>(chunkType, mean));
          z = nb.create<arith::MulFOp>(
              z, nb.create<vector::SplatOp>(chunkType, rstd));
          Value g = nb.create<vector::LoadOp>(chunkType, normWeight, column);
          z = nb.create<arith::MulFOp>(z, g);
          if (normBias)
            z = nb.create<arith::AddFOp>(
                z, nb.create<vector::LoadOp>(chunkType, normBias, column));
        }
        // Bucket: bit j (element 0 most significant) when z_j >= 0, which
        // holds for 0.0 and -0.0 and fails for NaN.
        Value isNonNegative =
            nb.create<arith::CmpFOp>(arith::CmpFPredicate::OGE, z, zeros);
        Value bits =
            nb.create<arith::SelectOp>(isNonNegative, bitValues, zeroBits);
        Value bucket =
            nb.create<vector::ReductionOp>(vector::CombiningKind::ADD, bits);
        // Weight: prod_j 1 / (1 + exp(-2 |z_j| / t)) [* sum_j |z_j|].
        Value magnitude = nb.create<math::AbsFOp>(z);
        Value e = nb.create<math::ExpOp>(
            nb.create<arith::MulFOp>(magnitude, expScale));
        Value denominators = nb.create<arith::AddFOp>(e, ones);
        Value product = nb.create<vector::ReductionOp>(
            vector::CombiningKind::MUL, denominators,
            arith::FastMathFlags::reassoc);
        Value numerator = one;
        if (cfg.weighting == Weighting::l1_prob)
          numerator = nb.create<vector::ReductionOp>(
              vector::CombiningKind::ADD, magnitude,
              arith::FastMathFlags::reassoc);
        Value weight = nb.create<arith::DivFOp>(numerator, product);
        nb.create<memref::StoreOp>(bucket, bucketBuf, ValueRange{k, slot});
        nb.create<memref::StoreOp>(weight, weightBuf, ValueRange{k, slot});
        nb.create<scf::YieldOp>();
      });
}

//===----------------------------------------------------------------------===//
// Gather
//===----------------------------------------------------------------------===//

Value LookupCodegen::loadRow(Value columnTile, Value table, Value bucket,
                             const ColumnChunk &chunk, Value columnBase) {
  auto rowType = VectorType::get({chunk.width}, cfg.tableElementType);
  Value row;
  if (cfg.packed) {
    row = b.create<vector::LoadOp>(
        rowType, tables,
        ValueRange{columnTile, table, bucket, index(chunk.offset)});
  } else {
    Value column = b.create<arith::AddIOp>(columnBase, index(chunk.offset));
    row = b.create<vector::LoadOp>(rowType, tables,
                                   ValueRange{table, bucket, column});
  }
  if (cfg.tableElementType != f32)
    row = b.create<arith::ExtFOp>(VectorType::get({chunk.width}, f32), row);
  return row;
}

/// Prefetches into L2 the slices of the group of tables the gather will
/// read `prefetch` passes from now, spread over the tokens of the tile:
/// token `t` fetches its share of the cache lines.
void LookupCodegen::emitSlicePrefetch(Value columnTile, Value firstTable,
                                      Value token) {
  int64_t sliceElements = cfg.numBuckets * cfg.columns;
  int64_t elementsPerLine =
      std::max<int64_t>(1, kCacheLineBytes / cfg.tableElementBytes);
  int64_t linesPerSlice = llvm::divideCeil(sliceElements, elementsPerLine);
  int64_t linesPerToken = llvm::divideCeil(linesPerSlice, cfg.tokens);
  Value lastTable = index(cfg.numTables - 1);
  for (int64_t u = 0; u < cfg.tablesPerPass; ++u) {
    Value table =
        minIndex(b.create<arith::AddIOp>(
                     firstTable, index(cfg.prefetch * cfg.tablesPerPass + u)),
                 lastTable);
    for (int64_t m = 0; m < linesPerToken; ++m) {
      Value line = b.create<arith::AddIOp>(
          b.create<arith::MulIOp>(token, index(linesPerToken)), index(m));
      Value element =
          minIndex(b.create<arith::MulIOp>(line, index(elementsPerLine)),
                   index(sliceElements - 1));
      Value bucket = b.create<arith::DivUIOp>(element, index(cfg.columns));
      Value column = b.create<arith::RemUIOp>(element, index(cfg.columns));
      b.create<memref::PrefetchOp>(
          tables, ValueRange{columnTile, table, bucket, column},
          /*isWrite=*/false, /*localityHint=*/2, /*isDataCache=*/true);
    }
  }
}

/// Prefetches the rows that token `slot` will read from table `table`.
void LookupCodegen::emitRowPrefetch(Value columnTile, Value table, Value slot,
                                    Value bucketBuf) {
  Value bucket = b.create<arith::IndexCastOp>(
      b.getIndexType(),
      b.create<memref::LoadOp>(bucketBuf, ValueRange{table, slot}));
  int64_t elementsPerLine =
      std::max<int64_t>(1, kCacheLineBytes / cfg.tableElementBytes);
  for (int64_t offset = 0; offset < cfg.columns; offset += elementsPerLine) {
    b.create<memref::PrefetchOp>(
        tables, ValueRange{columnTile, table, bucket, index(offset)},
        /*isWrite=*/false, /*localityHint=*/3, /*isDataCache=*/true);
  }
}

/// acc[token] += sum over `count` tables from `firstTable` of w * row.
void LookupCodegen::emitAccumulate(Value firstTable, int64_t count,
                                   Value columnTile, Value token, Value slot,
                                   Value bucketBuf, Value weightBuf,
                                   Value accBuf) {
  Value columnBase = b.create<arith::MulIOp>(columnTile, index(cfg.columns));
  SmallVector<Value> acc;
  for (const ColumnChunk &chunk : chunks)
    acc.push_back(
        b.create<vector::LoadOp>(VectorType::get({chunk.width}, f32), accBuf,
                                 ValueRange{token, index(chunk.offset)}));
  for (int64_t u = 0; u < count; ++u) {
    Value table = b.create<arith::AddIOp>(firstTable, index(u));
    Value bucket = b.create<arith::IndexCastOp>(
        b.getIndexType(),
        b.create<memref::LoadOp>(bucketBuf, ValueRange{table, slot}));
    Value weight = b.create<memref::LoadOp>(weightBuf, ValueRange{table, slot});
    for (auto [i, chunk] : llvm::enumerate(chunks)) {
      Value row = loadRow(columnTile, table, bucket, chunk, columnBase);
      Value w = splat(VectorType::get({chunk.width}, f32), weight);
      acc[i] = b.create<vector::FMAOp>(w, row, acc[i]);
    }
  }
  for (auto [i, chunk] : llvm::enumerate(chunks))
    b.create<vector::StoreOp>(acc[i], accBuf,
                              ValueRange{token, index(chunk.offset)});
}

void LookupCodegen::emitGather(Value firstToken, Value numTokens,
                               Value firstSlot, Value columnTile,
                               Value bucketBuf, Value weightBuf, Value accBuf,
                               Value out) {
  Value columnBase = b.create<arith::MulIOp>(columnTile, index(cfg.columns));
  Value zero = f32Const(0.0);
  // acc = bias (or zeros).
  b.create<scf::ForOp>(
      index(0), numTokens, index(1), std::nullopt,
      [&](OpBuilder &nested, Location loc, Value t, ValueRange) {
        ImplicitLocOpBuilder nb(loc, nested);
        for (const ColumnChunk &chunk : chunks) {
          auto type = VectorType::get({chunk.width}, f32);
          Value init;
          if (bias)
            init = nb.create<vector::LoadOp>(
                type, bias,
                ValueRange{nb.create<arith::AddIOp>(
                    columnBase,
                    nb.create<arith::ConstantIndexOp>(chunk.offset))});
          else
            init = nb.create<vector::SplatOp>(type, zero);
          nb.create<vector::StoreOp>(
              init, accBuf,
              ValueRange{t, nb.create<arith::ConstantIndexOp>(chunk.offset)});
        }
        nb.create<scf::YieldOp>();
      });

  // Accumulate groups of U tables, table-outer, token-inner.
  int64_t u = cfg.tablesPerPass;
  int64_t mainTables = cfg.numTables / u * u;
  bool slicePrefetch =
      cfg.prefetch > 0 && cfg.packed && cfg.parallel == LookupParallel::tokens;
  bool rowPrefetch =
      cfg.prefetch > 0 && cfg.packed && cfg.parallel == LookupParallel::columns;
  auto emitTables = [&](Value lower, Value upper, int64_t count) {
    b.create<scf::ForOp>(
        lower, upper, index(count), std::nullopt,
        [&](OpBuilder &nested, Location loc, Value k, ValueRange) {
          nested.create<scf::ForOp>(
              loc, nested.create<arith::ConstantIndexOp>(loc, 0), numTokens,
              nested.create<arith::ConstantIndexOp>(loc, 1), std::nullopt,
              [&](OpBuilder &inner, Location innerLoc, Value t, ValueRange) {
                OpBuilder::InsertionGuard guard(b);
                b.setInsertionPoint(
                    inner.create<scf::YieldOp>(innerLoc).getOperation());
                Value slot = b.create<arith::AddIOp>(firstSlot, t);
                if (slicePrefetch && count == u)
                  emitSlicePrefetch(columnTile, k, t);
                if (rowPrefetch && count == u) {
                  Value ahead = minIndex(
                      b.create<arith::AddIOp>(k, index(cfg.prefetch * u)),
                      index(cfg.numTables - 1));
                  for (int64_t p = 0; p < u; ++p)
                    emitRowPrefetch(
                        columnTile,
                        minIndex(b.create<arith::AddIOp>(ahead, index(p)),
                                 index(cfg.numTables - 1)),
                        slot, bucketBuf);
                }
                emitAccumulate(k, count, columnTile, t, slot, bucketBuf,
                               weightBuf, accBuf);
              });
          nested.create<scf::YieldOp>(loc);
        });
  };
  if (mainTables > 0)
    emitTables(index(0), index(mainTables), u);
  if (mainTables < cfg.numTables)
    emitTables(index(mainTables), index(cfg.numTables), 1);

  // out[firstToken + t, columnBase + :] = acc[t, :]
  b.create<scf::ForOp>(
      index(0), numTokens, index(1), std::nullopt,
      [&](OpBuilder &nested, Location loc, Value t, ValueRange) {
        ImplicitLocOpBuilder nb(loc, nested);
        Value row = nb.create<arith::AddIOp>(firstToken, t);
        for (const ColumnChunk &chunk : chunks) {
          Value offset = nb.create<arith::ConstantIndexOp>(chunk.offset);
          Value value =
              nb.create<vector::LoadOp>(VectorType::get({chunk.width}, f32),
                                        accBuf, ValueRange{t, offset});
          nb.create<vector::StoreOp>(
              value, out,
              ValueRange{row, nb.create<arith::AddIOp>(columnBase, offset)});
        }
        nb.create<scf::YieldOp>();
      });
}

//===----------------------------------------------------------------------===//
// Top level
//===----------------------------------------------------------------------===//

Value LookupCodegen::emit() {
  int64_t numTables = cfg.numTables, tileTokens = cfg.tokens;
  Value n = b.create<memref::DimOp>(x, 0);
  auto outType = MemRefType::get({ShapedType::kDynamic, cfg.outputWidth}, f32);
  Value out = b.create<memref::AllocOp>(outType, ValueRange{n},
                                        b.getI64IntegerAttr(64));
  auto accType = MemRefType::get({tileTokens, cfg.columns}, f32);

  if (cfg.parallel == LookupParallel::tokens) {
    auto bucketType = MemRefType::get({numTables, tileTokens}, i32);
    auto weightType = MemRefType::get({numTables, tileTokens}, f32);
    Value numTiles = b.create<arith::CeilDivUIOp>(n, index(tileTokens));
    b.create<scf::ParallelOp>(
        ValueRange{index(0)}, ValueRange{numTiles}, ValueRange{index(1)},
        [&](OpBuilder &nested, Location loc, ValueRange ivs) {
          OpBuilder::InsertionGuard guard(b);
          b.setInsertionPoint(nested.getInsertionBlock(),
                              nested.getInsertionPoint());
          enterAllocaScope();
          {
            Value bucketBuf = b.create<memref::AllocaOp>(bucketType);
            Value weightBuf = b.create<memref::AllocaOp>(weightType);
            Value accBuf = b.create<memref::AllocaOp>(accType);
            Value first = b.create<arith::MulIOp>(ivs[0], index(tileTokens));
            Value count =
                minIndex(index(tileTokens), b.create<arith::SubIOp>(n, first));
            b.create<scf::ForOp>(
                index(0), count, index(1), std::nullopt,
                [&](OpBuilder &inner, Location innerLoc, Value t, ValueRange) {
                  OpBuilder::InsertionGuard innerGuard(b);
                  b.setInsertionPoint(
                      inner.create<scf::YieldOp>(innerLoc).getOperation());
                  emitHashRow(b.create<arith::AddIOp>(first, t), t, bucketBuf,
                              weightBuf);
                });
            b.create<scf::ForOp>(
                index(0), index(cfg.numColumnTiles()), index(1), std::nullopt,
                [&](OpBuilder &inner, Location innerLoc, Value c, ValueRange) {
                  OpBuilder::InsertionGuard innerGuard(b);
                  b.setInsertionPoint(
                      inner.create<scf::YieldOp>(innerLoc).getOperation());
                  emitGather(first, count, index(0), c, bucketBuf, weightBuf,
                             accBuf, out);
                });
          }
        });
    return out;
  }

  // Few tokens: hash them all once, then spread column tiles over threads.
  auto bucketType = MemRefType::get({numTables, ShapedType::kDynamic}, i32);
  auto weightType = MemRefType::get({numTables, ShapedType::kDynamic}, f32);
  Value bucketBuf = b.create<memref::AllocOp>(bucketType, ValueRange{n},
                                              b.getI64IntegerAttr(64));
  Value weightBuf = b.create<memref::AllocOp>(weightType, ValueRange{n},
                                              b.getI64IntegerAttr(64));
  b.create<scf::ForOp>(
      index(0), n, index(1), std::nullopt,
      [&](OpBuilder &inner, Location innerLoc, Value t, ValueRange) {
        OpBuilder::InsertionGuard guard(b);
        b.setInsertionPoint(
            inner.create<scf::YieldOp>(innerLoc).getOperation());
        emitHashRow(t, t, bucketBuf, weightBuf);
      });
  b.create<scf::ParallelOp>(
      ValueRange{index(0)}, ValueRange{index(cfg.numColumnTiles())},
      ValueRange{index(1)},
      [&](OpBuilder &nested, Location loc, ValueRange ivs) {
        OpBuilder::InsertionGuard guard(b);
        b.setInsertionPoint(nested.getInsertionBlock(),
                            nested.getInsertionPoint());
        enterAllocaScope();
        {
          Value accBuf = b.create<memref::AllocaOp>(accType);
          b.create<scf::ForOp>(
              index(0), n, index(tileTokens), std::nullopt,
              [&](OpBuilder &inner, Location innerLoc, Value first,
                  ValueRange) {
                OpBuilder::InsertionGuard innerGuard(b);
                b.setInsertionPoint(
                    inner.create<scf::YieldOp>(innerLoc).getOperation());
                Value count = minIndex(index(tileTokens),
                                       b.create<arith::SubIOp>(n, first));
                emitGather(first, count, first, ivs[0], bucketBuf, weightBuf,
                           accBuf, out);
              });
        }
      });
  b.create<memref::DeallocOp>(bucketBuf);
  b.create<memref::DeallocOp>(weightBuf);
  return out;
}

/// The tiling used when -mnemo-tile-lookups did not run: one column tile
/// (or the packed one), 64-token tiles, one table per pass, no prefetch.
LookupTilingAttr defaultTiling(HashLookupOp op) {
  return LookupTilingAttr::get(op.getContext(), /*tokens=*/64,
                               op.getPackedColumns(), /*tables=*/1,
                               /*prefetch=*/0, LookupParallel::tokens);
}

/// A memref type for reading `value`: identity layout, or a unit-stride
/// innermost dimension with dynamic row stride for activations.
MemRefType bufferType(Value value, bool stridedRows) {
  auto type = cast<RankedTensorType>(value.getType());
  if (!stridedRows)
    return MemRefType::get(type.getShape(), type.getElementType());
  auto layout = StridedLayoutAttr::get(value.getContext(), ShapedType::kDynamic,
                                       {ShapedType::kDynamic, 1});
  return MemRefType::get(type.getShape(), type.getElementType(), layout);
}

LogicalResult lowerLookup(HashLookupOp op, int64_t vectorWidth) {
  LookupTilingAttr tiling = op.getTilingAttr();
  if (!tiling)
    tiling = defaultTiling(op);
  if (tiling.getTokens() < 1)
    return op.emitOpError() << "cannot lower a tiling without a token tile "
                               "size; run -mnemo-tile-lookups";

  LookupConfig cfg;
  cfg.numTables = op.getNumTables();
  cfg.bitsPerTable = op.getBitsPerTable();
  cfg.numBuckets = op.getNumBuckets();
  cfg.inputWidth = op.getInputWidth();
  cfg.outputWidth = op.getOutputWidth();
  cfg.columns = tiling.getColumns();
  cfg.tokens = tiling.getTokens();
  cfg.tablesPerPass = std::min(tiling.getTables(), cfg.numTables);
  cfg.prefetch = tiling.getPrefetch();
  cfg.parallel = tiling.getParallel();
  cfg.vectorWidth = vectorWidth;
  cfg.tableElementType = op.getTables().getType().getElementType();
  cfg.tableElementBytes = cfg.tableElementType.getIntOrFloatBitWidth() / 8;
  cfg.packed = op.isPacked();
  cfg.weighting = op.getWeighting();
  cfg.temperature = op.getTemperature().convertToDouble();
  cfg.norm = op.getNorm();
  cfg.normEpsilon =
      op.getNormEpsilon() ? op.getNormEpsilon()->convertToDouble() : 0.0;

  ImplicitLocOpBuilder b(op.getLoc(), op);
  auto toBuffer = [&](Value tensor, bool stridedRows) -> Value {
    if (!tensor)
      return Value();
    return b.create<bufferization::ToMemrefOp>(bufferType(tensor, stridedRows),
                                               tensor, /*read_only=*/true);
  };
  Value x = toBuffer(op.getInput(), /*stridedRows=*/true);
  Value tables = toBuffer(op.getTables(), false);
  Value bias = toBuffer(op.getBias(), false);
  Value normWeight = toBuffer(op.getNormWeight(), false);
  Value normBias = toBuffer(op.getNormBias(), false);

  LLVM_DEBUG(llvm::dbgs() << "lowering " << op << " with " << tiling << "\n");
  LookupCodegen codegen(b, cfg, x, tables, bias, normWeight, normBias);
  Value out = codegen.emit();
  Value result = b.create<bufferization::ToTensorOp>(
      op.getType(), out, /*restrict=*/true, /*writable=*/true);
  op.replaceAllUsesWith(result);
  op.erase();
  return success();
}

struct LowerLookupsPass : mnemo::impl::LowerLookupsPassBase<LowerLookupsPass> {
  using Base::Base;

  void runOnOperation() override {
    if (vectorWidth < 1) {
      getOperation().emitError() << "vector-width must be positive";
      return signalPassFailure();
    }
    SmallVector<HashLookupOp> lookups;
    getOperation().walk([&](HashLookupOp op) { lookups.push_back(op); });
    for (HashLookupOp op : lookups)
      if (failed(lowerLookup(op, vectorWidth)))
        return signalPassFailure();
  }
};

} // namespace
