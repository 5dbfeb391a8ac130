//===- InitAll.cpp - Register what Mnemo's tools use ------------*- C++ -*-===//
//
// Registers the mnemo dialect with the upstream dialects, interface models
// and passes that its pipelines use. Keep this list to what is needed: each
// dialect header adds compile time to every tool.
//
//===----------------------------------------------------------------------===//

#include "mnemo/InitAll.h"

#include "Mnemo/IR/MnemoDialect.h"
#include "Mnemo/Transforms/Passes.h"
#include "mnemo/Pipelines.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Transforms/Passes.h"

void mlir::mnemo::registerAllDialects(DialectRegistry &registry) {
  registry
      .insert<MnemoDialect, arith::ArithDialect, func::FuncDialect,
              linalg::LinalgDialect, math::MathDialect, memref::MemRefDialect,
              scf::SCFDialect, tensor::TensorDialect>();
}

void mlir::mnemo::registerAllPasses() {
  registerMnemoPasses();
  registerPipelines();
  // Upstream: canonicalize, cse, inline, symbol-dce, ...
  registerTransformsPasses();
}
