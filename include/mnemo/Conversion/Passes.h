//===- Passes.h - Lowerings of mnemo ops ------------------------*- C++ -*-===//
//
// Declares the conversion passes of Passes.td.
//
//===----------------------------------------------------------------------===//

#ifndef MNEMO_CONVERSION_PASSES_H
#define MNEMO_CONVERSION_PASSES_H

#include "mlir/Pass/Pass.h"

namespace mlir {
class RewritePatternSet;
namespace func {
class FuncOp;
} // namespace func

namespace mnemo {

#define GEN_PASS_DECL
#include "mnemo/Conversion/Passes.h.inc"

/// Adds the patterns that lower mnemo.rms_norm and mnemo.layer_norm to
/// linalg.generic on tensors.
void populateLowerNormsPatterns(RewritePatternSet &patterns);

#define GEN_PASS_REGISTRATION
#include "mnemo/Conversion/Passes.h.inc"

} // namespace mnemo
} // namespace mlir

#endif // MNEMO_CONVERSION_PASSES_H
