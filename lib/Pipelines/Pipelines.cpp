//===- Pipelines.cpp - Mnemo's pass pipelines -------------------*- C++ -*-===//
//
// The single definition of each pipeline (see include/mnemo/Pipelines.h).
//
//===----------------------------------------------------------------------===//

#include "mnemo/Pipelines.h"

#include "Mnemo/Transforms/Passes.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

void mnemo::buildOptimizePipeline(OpPassManager &pm) {
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createFuseSiblingLookupsPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
}

void mnemo::registerPipelines() {
  PassPipelineRegistration<>(
      "mnemo-optimize",
      "Target-independent mnemo rewrites: lookup fusion, canonicalization, "
      "CSE",
      [](OpPassManager &pm) { buildOptimizePipeline(pm); });
}
