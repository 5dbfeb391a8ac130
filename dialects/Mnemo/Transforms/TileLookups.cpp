//===- TileLookups.cpp - Choose the cache tiling of Memory Layers -*- C++
//-*-===//
//
// A Memory Layer reads one row of 2^tau per table per token: for a block of
// tokens, each table slice [2^tau, C] should be in cache while the block's
// tokens gather from it, and the block's accumulators should stay in cache
// while the tables stream past. This pass turns the target's cache sizes
// into the tile sizes of #mnemo.lookup_tiling for each configuration.
//
//===----------------------------------------------------------------------===//

#include "Mnemo/IR/MnemoOps.h"
#include "Mnemo/Transforms/Passes.h"

#include "llvm/Support/Debug.h"

#define DEBUG_TYPE "mnemo-tile-lookups"

namespace mlir::mnemo {
#define GEN_PASS_DEF_TILELOOKUPSPASS
#include "Mnemo/Transforms/Passes.h.inc"
} // namespace mlir::mnemo

using namespace mlir;
using namespace mlir::mnemo;

namespace {

/// The widest column tile: a divisor of h, a multiple of the vector width
/// when h allows, at most 8 vectors (the register block of the gather), and
/// with a table slice [2^tau, C] that fits in L1 when possible.
int64_t chooseColumns(int64_t h, int64_t rows, int64_t elementBytes,
                      const LookupTilingTarget &target) {
  int64_t v = target.vectorWidth, maxColumns = 8 * v;
  SmallVector<int64_t> candidates;
  for (int64_t c = 1; c <= std::min(h, maxColumns); ++c)
    if (h % c == 0 && (h % v != 0 || c % v == 0))
      candidates.push_back(c);
  int64_t best = candidates.front();
  for (int64_t c : candidates)
    if (rows * c * elementBytes <= target.l1CacheBytes)
      best = c;
  return best;
}

} // namespace

LookupTilingAttr
mlir::mnemo::chooseLookupTiling(HashLookupOp op,
                                const LookupTilingTarget &target) {
  int64_t h = op.getOutputWidth(), numTables = op.getNumTables();
  int64_t rows = op.getNumBuckets();
  int64_t elementBytes =
      op.getTables().getType().getElementType().getIntOrFloatBitWidth() / 8;
  int64_t threads = std::max<int64_t>(1, target.threads);

  int64_t columns = target.columnTile;
  if (op.isPacked())
    columns = op.getPackedColumns();
  else if (columns <= 0 || h % columns != 0)
    columns = chooseColumns(h, rows, elementBytes, target);

  int64_t tables = target.tablesPerPass > 0 ? target.tablesPerPass
                                            : std::min<int64_t>(4, numTables);

  // A static token count too small to give every thread a token tile of
  // its own spreads column tiles instead.
  int64_t numTokens = op.getInput().getType().getDimSize(0);
  LookupParallel parallel = LookupParallel::tokens;
  if (target.parallel == "columns")
    parallel = LookupParallel::columns;
  else if (target.parallel == "auto" && !ShapedType::isDynamic(numTokens) &&
           numTokens < 16 * threads && h / columns >= threads)
    parallel = LookupParallel::columns;

  // Tokens per tile: the accumulators [T, C] and the buckets and weights
  // [K, T] of a tile within half of L2.
  int64_t tokens = target.tokenTile;
  if (tokens <= 0) {
    int64_t bytesPerToken = columns * 4 + numTables * 8;
    tokens =
        std::clamp<int64_t>(target.l2CacheBytes / 2 / bytesPerToken, 8, 512);
    tokens = tokens / 8 * 8;
    if (!ShapedType::isDynamic(numTokens))
      tokens = std::min(
          tokens, std::max<int64_t>(1, llvm::divideCeil(numTokens, threads)));
  }

  int64_t prefetch = target.prefetch >= 0 ? target.prefetch : 1;
  return LookupTilingAttr::get(op.getContext(), tokens, columns, tables,
                               prefetch, parallel);
}

namespace {

struct TileLookupsPass : mnemo::impl::TileLookupsPassBase<TileLookupsPass> {
  using Base::Base;

  void runOnOperation() override {
    if (parallel != "auto" && parallel != "tokens" && parallel != "columns") {
      getOperation()->emitError()
          << "parallel must be auto, tokens or columns, got '" << parallel
          << "'";
      return signalPassFailure();
    }
    if (vectorWidth < 1 || l1CacheBytes < 1 || l2CacheBytes < 1) {
      getOperation()->emitError()
          << "vector-width and cache sizes must be positive";
      return signalPassFailure();
    }
    LookupTilingTarget target;
    target.threads = threads;
    target.vectorWidth = vectorWidth;
    target.l1CacheBytes = l1CacheBytes;
    target.l2CacheBytes = l2CacheBytes;
    target.tokenTile = tokenTile;
    target.columnTile = columnTile;
    target.tablesPerPass = tablesPerPass;
    target.prefetch = prefetch;
    target.parallel = parallel;
    getOperation()->walk([&](HashLookupOp op) {
      LookupTilingAttr tiling = chooseLookupTiling(op, target);
      LLVM_DEBUG(llvm::dbgs() << "tiling " << op << ": " << tiling << "\n");
      op.setTilingAttr(tiling);
    });
  }
};

} // namespace
