//===- Passes.h - mnemo transformation passes -------------------*- C++ -*-===//
//
// Declares the passes of Passes.td and the pattern sets they are built on,
// so that other passes and pipelines can reuse the rewrites.
//
//===----------------------------------------------------------------------===//

#ifndef MNEMO_TRANSFORMS_PASSES_H
#define MNEMO_TRANSFORMS_PASSES_H

#include "mlir/Pass/Pass.h"

namespace mlir {
class RewritePatternSet;
namespace arith {
class ArithDialect;
} // namespace arith
namespace tensor {
class TensorDialect;
} // namespace tensor

namespace mnemo {

#define GEN_PASS_DECL
#include "Mnemo/Transforms/Passes.h.inc"

/// Adds the pattern that fuses sibling `mnemo.hash_lookup` ops on the same
/// input into one lookup over concatenated tables.
void populateFuseSiblingLookupsPatterns(RewritePatternSet &patterns);

#define GEN_PASS_REGISTRATION
#include "Mnemo/Transforms/Passes.h.inc"

} // namespace mnemo
} // namespace mlir

#endif // MNEMO_TRANSFORMS_PASSES_H
