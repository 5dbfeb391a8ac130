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

/// Bytes of one accumulator (f32), and of one bucket-and-weight entry (an
/// i32 bucket and an f32 weight per token and table), as -mnemo-lower-lookups
/// lays them out.
constexpr int64_t kAccumulatorBytes = 4;
constexpr int64_t kEntryBytes = 8;

/// Column tiles that divide h, multiples of the vector width when h allows,
/// at most `maxColumns` wide; ascending.
SmallVector<int64_t> columnCandidates(int64_t h, int64_t v,
                                      int64_t maxColumns) {
  SmallVector<int64_t> candidates;
  for (int64_t c = 1; c <= std::min(h, maxColumns); ++c)
    if (h % c == 0 && (h % v != 0 || c % v == 0))
      candidates.push_back(c);
  if (candidates.empty())
    candidates.push_back(1);
  return candidates;
}

} // namespace

LookupTilingAttr
mlir::mnemo::chooseLookupTiling(HashLookupOp op,
                                const LookupTilingTarget &target) {
  int64_t h = op.getOutputWidth(), numTables = op.getNumTables();
  int64_t elementBytes =
      op.getTables().getType().getElementType().getIntOrFloatBitWidth() / 8;
  int64_t threads = std::max<int64_t>(1, target.threads);
  int64_t v = target.vectorWidth;
  int64_t numTokens = op.getInput().getType().getDimSize(0);
  // Accumulators of a column tile live in registers: 16 vectors with
  // AVX-512's 32 registers, 8 with AVX2's 16.
  int64_t maxColumns = (v >= 16 ? 16 : 8) * v;

  // Few tokens (decoding): rows are rarely read twice in a call, so each
  // one comes from DRAM. Wide column tiles read long contiguous runs of a
  // row, all tables go in one pass with the accumulators in registers, and
  // the column tiles are spread over the threads. Many tokens: every row of
  // a slice serves several tokens, so slices of U tables are kept in cache
  // for a tile of tokens, with one cache line of each row per token.
  bool fewTokens = op.hasFewTokens();
  SmallVector<int64_t> candidates = columnCandidates(h, v, maxColumns);

  int64_t columns = target.columnTile;
  if (op.isPacked()) {
    columns = op.getPackedColumns();
  } else if (columns <= 0 || h % columns != 0) {
    if (fewTokens) {
      // The widest tile that still gives every thread a column tile.
      columns = candidates.front();
      for (int64_t c : candidates)
        if (h / c >= threads)
          columns = c;
    } else {
      // The narrowest tile whose row segment fills a cache line.
      int64_t lineColumns = std::max<int64_t>(1, 64 / elementBytes);
      columns = candidates.back();
      for (int64_t c : llvm::reverse(candidates))
        if (c >= lineColumns)
          columns = c;
    }
  }

  LookupParallel parallel =
      h / columns >= threads ? LookupParallel::columns : LookupParallel::tokens;
  if (target.parallel == "columns")
    parallel = LookupParallel::columns;
  else if (target.parallel == "tokens")
    parallel = LookupParallel::tokens;

  // Tokens per tile. Across column tiles: as many as keep the accumulator
  // tile [T, C] within a quarter of L2, beside the slices of the current and
  // the next pass (a second token tile reads every slice again). Across
  // token tiles: the accumulators and the tile's buckets and weights [K, T]
  // within half of L2.
  int64_t tokens = target.tokenTile;
  if (tokens <= 0) {
    int64_t bytesPerToken = columns * kAccumulatorBytes;
    int64_t budget = target.l2CacheBytes / 4;
    if (parallel == LookupParallel::tokens) {
      bytesPerToken += numTables * kEntryBytes;
      budget = target.l2CacheBytes / 2;
    }
    tokens = std::clamp<int64_t>(budget / bytesPerToken, 8, 4096);
    tokens = tokens / 8 * 8;
    if (!ShapedType::isDynamic(numTokens)) {
      int64_t perThread = parallel == LookupParallel::tokens
                              ? llvm::divideCeil(numTokens, threads)
                              : numTokens;
      tokens = std::min(tokens, std::max<int64_t>(1, perThread));
      // Token tiles spread over threads: a multiple of `threads` tiles of
      // equal size, so that no thread gets one more tile than the others
      // (2048 tokens in tiles of 904 kept one of 2 threads busy for 2 tiles).
      if (parallel == LookupParallel::tokens && numTokens > 0) {
        int64_t tiles = llvm::alignTo(llvm::divideCeil(numTokens, tokens),
                                      static_cast<uint64_t>(threads));
        tokens = std::max<int64_t>(1, llvm::divideCeil(numTokens, tiles));
      }
    }
  }

  // Tables per pass. Few tokens: all of them, the accumulators in
  // registers. Many: the most of 8, 4, 2, 1 (or K) whose L2 footprint --
  // the slices [U, 2^tau, C] of the current and the prefetched pass, the
  // accumulator tile and the pass's buckets and weights [T, U] -- stays within
  // 5/8 of L2. More evicts the slice being gathered before its tokens are done
  // with it. On a 512 KiB L2 (docs/benchmarks.md) 4 tables instead of 8
  // gathered 4-13% faster at tau = 8 with f32 tables and 20% with f16; one
  // table at tau = 10 (64 KiB slices) was 1.4x faster.
  int64_t tables = target.tablesPerPass;
  if (tables <= 0 && fewTokens) {
    tables = numTables;
  } else if (tables <= 0) {
    int64_t sliceBytes = op.getNumBuckets() * columns * elementBytes;
    auto footprint = [&](int64_t u) {
      return 2 * u * sliceBytes + tokens * columns * kAccumulatorBytes +
             tokens * u * kEntryBytes;
    };
    tables = std::min<int64_t>(8, numTables);
    while (tables > 1 && footprint(tables) > target.l2CacheBytes / 8 * 5)
      tables /= 2;
  }

  // Slices are prefetched one pass ahead. Few tokens read rows on demand:
  // prefetching them bought nothing measurable and cost compile time.
  int64_t prefetch =
      target.prefetch >= 0 ? target.prefetch : (fewTokens ? 0 : 1);
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
