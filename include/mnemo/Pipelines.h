//===- Pipelines.h - Mnemo's pass pipelines ---------------------*- C++ -*-===//
//
// The one definition of every pass pipeline. `mnemoc`, `mnemo-opt` and the
// JIT all build their pass managers from these functions, so any pipeline a
// user hits can be reproduced with `mnemo-opt --<pipeline-name>`.
//
//===----------------------------------------------------------------------===//

#ifndef MNEMO_PIPELINES_H
#define MNEMO_PIPELINES_H

namespace mlir {
class OpPassManager;
namespace mnemo {

/// `mnemo-optimize`: target-independent rewrites of mnemo IR: sibling lookup
/// fusion, canonicalization and CSE.
void buildOptimizePipeline(OpPassManager &pm);

/// Registers the pipelines above with their `mnemo-opt` names.
void registerPipelines();

} // namespace mnemo
} // namespace mlir

#endif // MNEMO_PIPELINES_H
