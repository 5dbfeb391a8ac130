//===- Passes.h - mnemo transformation passes -------------------*- C++ -*-===//
//
// Declares the passes of Passes.td and the pattern sets they are built on,
// so that other passes and pipelines can reuse the rewrites.
//
//===----------------------------------------------------------------------===//

#ifndef MNEMO_TRANSFORMS_PASSES_H
#define MNEMO_TRANSFORMS_PASSES_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

#include <string>

namespace mlir {
class RewritePatternSet;
namespace arith {
class ArithDialect;
} // namespace arith
namespace tensor {
class TensorDialect;
} // namespace tensor
namespace linalg {
class LinalgDialect;
} // namespace linalg
namespace func {
class FuncOp;
} // namespace func

namespace mnemo {
class HashLookupOp;
class LookupTilingAttr;

#define GEN_PASS_DECL
#include "Mnemo/Transforms/Passes.h.inc"

/// The attribute of a function whose weight preparation was hoisted into
/// another function (`-mnemo-hoist-weight-ops`): a symbol reference to it.
inline constexpr llvm::StringLiteral kPrepareWeightsAttrName =
    "mnemo.prepare_weights";

/// The function that prepares `func`'s weights (the one its
/// kPrepareWeightsAttrName names), or null when it has none.
func::FuncOp lookupPrepareWeights(func::FuncOp func);

/// Adds the pattern that fuses sibling `mnemo.hash_lookup` ops on the same
/// input into one lookup over concatenated tables.
void populateFuseSiblingLookupsPatterns(RewritePatternSet &patterns);

/// Adds the patterns that fold RMSNorm and LayerNorm into the Memory Layers
/// that are their only users.
void populateFoldNormsPatterns(RewritePatternSet &patterns);

/// Adds the pattern that packs the tables of tiled Memory Layers into
/// column tiles.
void populatePackTablesPatterns(RewritePatternSet &patterns);

/// What the tiling of a Memory Layer is chosen for: the target (threads,
/// vector width, cache sizes) and choices forced by the user (0, -1 or
/// "auto" let the heuristic decide).
struct LookupTilingTarget {
  int64_t threads = 1;
  int64_t vectorWidth = 8;
  int64_t l1CacheBytes = 32 * 1024;
  int64_t l2CacheBytes = 512 * 1024;
  int64_t tokenTile = 0;
  int64_t columnTile = 0;
  int64_t tablesPerPass = 0;
  int64_t prefetch = -1;
  std::string parallel = "auto";
};

/// The tiling -mnemo-tile-lookups chooses for `op` on `target`.
LookupTilingAttr chooseLookupTiling(HashLookupOp op,
                                    const LookupTilingTarget &target);

#define GEN_PASS_REGISTRATION
#include "Mnemo/Transforms/Passes.h.inc"

} // namespace mnemo
} // namespace mlir

#endif // MNEMO_TRANSFORMS_PASSES_H
