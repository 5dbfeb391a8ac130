//===- Pipelines.cpp - Mnemo's pass pipelines -------------------*- C++ -*-===//
//
// The single definition of each pipeline (see include/mnemo/Pipelines.h).
//
//===----------------------------------------------------------------------===//

#include "mnemo/Pipelines.h"

#include "Mnemo/Transforms/Passes.h"
#include "mnemo/Conversion/Passes.h"

#include "mlir/Conversion/AffineToStandard/AffineToStandard.h"
#include "mlir/Conversion/ArithToLLVM/ArithToLLVM.h"
#include "mlir/Conversion/ControlFlowToLLVM/ControlFlowToLLVM.h"
#include "mlir/Conversion/FuncToLLVM/ConvertFuncToLLVMPass.h"
#include "mlir/Conversion/IndexToLLVM/IndexToLLVM.h"
#include "mlir/Conversion/MathToLLVM/MathToLLVM.h"
#include "mlir/Conversion/MemRefToLLVM/MemRefToLLVM.h"
#include "mlir/Conversion/OpenMPToLLVM/ConvertOpenMPToLLVM.h"
#include "mlir/Conversion/ReconcileUnrealizedCasts/ReconcileUnrealizedCasts.h"
#include "mlir/Conversion/SCFToControlFlow/SCFToControlFlow.h"
#include "mlir/Conversion/SCFToGPU/SCFToGPUPass.h"
#include "mlir/Conversion/SCFToOpenMP/SCFToOpenMP.h"
#include "mlir/Conversion/VectorToLLVM/ConvertVectorToLLVMPass.h"
#include "mlir/Conversion/VectorToSCF/VectorToSCF.h"
#include "mlir/Dialect/Arith/Transforms/Passes.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Bufferization/Transforms/OneShotAnalysis.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/Pipelines/Passes.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Dialect/LLVMIR/Transforms/Passes.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Dialect/SCF/Transforms/Passes.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/Support/FileSystem.h"

#include <cstdlib>

using namespace mlir;

void mnemo::buildOptimizePipeline(OpPassManager &pm) {
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createFuseSiblingLookupsPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
}

namespace {

using namespace mlir::mnemo;

/// Whether `a` and `b` are the same memory during bufferization: the same
/// buffer, or equal subviews of it (a buffer being a value, or the
/// `to_memref` of a tensor). A part of a concatenation computed in place in
/// its slice is "copied" into an equal subview of the same buffer.
bool isSameSlice(Value a, Value b) {
  auto base = [](Value value) -> Value {
    if (auto toMemref = value.getDefiningOp<bufferization::ToMemrefOp>())
      return toMemref.getTensor();
    return value;
  };
  if (base(a) == base(b))
    return true;
  auto viewA = a.getDefiningOp<memref::SubViewOp>();
  auto viewB = b.getDefiningOp<memref::SubViewOp>();
  return viewA && viewB && viewA.getType() == viewB.getType() &&
         isSameSlice(viewA.getSource(), viewB.getSource()) &&
         viewA.isSameAs(viewB, isEqualConstantIntOrValue);
}

/// Tensors to buffers: function arguments (read-only: the caller's inputs)
/// and results become memrefs with identity layouts, results become
/// caller-provided out-parameters written in place, and intermediate buffers
/// are freed. Copies become linalg.copy, lowered to loops later, rather than
/// memref.copy, which calls into a runtime library for strided buffers.
/// `canonicalize` is false for GPU kernels: canonicalization would inline
/// parallel loops of one iteration (a decoding step's single row) into the host
/// code.
void addBufferization(OpPassManager &pm, bool canonicalize = true) {
  auto linalgCopy = [](OpBuilder &b, Location loc, Value from,
                       Value to) -> LogicalResult {
    if (!isSameSlice(from, to))
      b.create<linalg::CopyOp>(loc, from, to);
    return success();
  };
  pm.addPass(createReadOnlyArgumentsPass());
  // A tensor.empty only inserted into a larger tensor (the parts of a
  // concatenation: packed tables of fused lookups) becomes a slice of it,
  // so the op that fills it writes into the larger buffer directly.
  pm.addPass(bufferization::createEmptyTensorEliminationPass());
  bufferization::OneShotBufferizationOptions buffers;
  buffers.memCpyFn = linalgCopy;
  buffers.bufferizeFunctionBoundaries = true;
  buffers.setFunctionBoundaryTypeConversion(
      bufferization::LayoutMapOption::IdentityLayoutMap);
  pm.addPass(bufferization::createOneShotBufferizePass(buffers));
  bufferization::BufferResultsToOutParamsOpts outParams;
  outParams.hoistStaticAllocs = true;
  outParams.memCpyFn = linalgCopy;
  pm.addPass(bufferization::createBufferResultsToOutParamsPass(outParams));
  pm.addNestedPass<func::FuncOp>(createForwardResultAllocsPass());
  pm.addNestedPass<func::FuncOp>(createDeallocateBuffersPass());
  if (canonicalize)
    pm.addPass(createCanonicalizerPass());
}

/// The GPU kernels' loop nests on buffers (one parallel iteration per
/// thread), with elementwise arithmetic as parallel loops too. The knobs
/// both pipelines take (`tokenTile` above 0, the others 0 or more) replace
/// the pass's defaults; others leave them.
void addGPUKernelLoops(OpPassManager &pm, int64_t tokenTile,
                       int64_t splitTablesBelow, int64_t attentionScores,
                       bool alignedOperands) {
  LowerGPUKernelsPassOptions kernels;
  if (tokenTile > 0)
    kernels.tokenTile = tokenTile;
  if (splitTablesBelow >= 0)
    kernels.splitTablesBelow = splitTablesBelow;
  if (attentionScores >= 0)
    kernels.attentionScores = attentionScores;
  kernels.alignedOperands = alignedOperands;
  pm.addPass(createCanonicalizerPass());
  pm.addNestedPass<func::FuncOp>(createLowerGPUKernelsPass(kernels));
  // Concatenations (as in user IR) as copies into one buffer, which become
  // parallel loops like the other copies.
  pm.addPass(createDecomposeConcatPass());
  pm.addNestedPass<func::FuncOp>(createConvertElementwiseToLinalgPass());
  addBufferization(pm, /*canonicalize=*/false);
}

} // namespace

void mnemo::buildLowerToLoopsPipeline(OpPassManager &pm,
                                      const CPUPipelineOptions &options) {
  if (options.gpuKernels) {
    // The GPU kernels' loops, to run on the CPU for checking (CPU buffers
    // may start anywhere: no alignment is assumed).
    addGPUKernelLoops(pm, options.tokenTile, options.splitTablesBelow,
                      options.attentionScores, /*alignedOperands=*/false);
    pm.addPass(createConvertLinalgToLoopsPass());
    return;
  }

  // Target-independent rewrites on mnemo ops.
  if (options.fuse) {
    buildOptimizePipeline(pm);
    pm.addPass(createFoldNormsPass());
  }

  // Tiling decisions, the table layout they imply, and weight preparation
  // split off into a load-time function.
  TileLookupsPassOptions tiling;
  tiling.threads = options.threads;
  tiling.vectorWidth = options.vectorWidth;
  tiling.l1CacheBytes = options.l1CacheBytes;
  tiling.l2CacheBytes = options.l2CacheBytes;
  tiling.tokenTile = options.tokenTile;
  tiling.columnTile = options.columnTile;
  tiling.tablesPerPass = options.tablesPerPass;
  tiling.prefetch = options.prefetch;
  tiling.parallel = options.parallel;
  pm.addPass(createTileLookupsPass(tiling));
  pm.addPass(createPackTablesPass());
  if (options.hoistWeights)
    pm.addPass(createHoistWeightOpsPass());
  pm.addPass(createCanonicalizerPass());

  // Code generation of the mnemo ops.
  pm.addNestedPass<func::FuncOp>(
      createLowerLookupsPass(LowerLookupsPassOptions{options.vectorWidth}));
  LowerMemsizerPassOptions memsizer;
  memsizer.vectorWidth = options.vectorWidth;
  memsizer.chunk = options.memsizerChunk;
  pm.addNestedPass<func::FuncOp>(createLowerMemsizerPass(memsizer));
  pm.addNestedPass<func::FuncOp>(createLowerLinearPass(
      LowerLinearPassOptions{options.vectorWidth, options.l2CacheBytes}));
  pm.addPass(createLowerNormsPass());
  pm.addPass(createLowerToRuntimePass());
  pm.addPass(createDecomposeConcatPass());
  // Elementwise arithmetic on tensors (residual additions, activations,
  // weight widening) as linalg, which bufferizes.
  pm.addNestedPass<func::FuncOp>(createConvertElementwiseToLinalgPass());
  addBufferization(pm);
  pm.addPass(createLowerWeightPreparationPass());
  pm.addPass(createConvertLinalgToLoopsPass());
}

void mnemo::buildLowerToGPUPipeline(OpPassManager &pm,
                                    const GPUPipelineOptions &options) {
  // Device allocations start at 256-byte boundaries.
  addGPUKernelLoops(pm, options.tokenTile, options.splitTablesBelow,
                    options.attentionScores, /*alignedOperands=*/true);
  pm.addPass(createConvertLinalgToParallelLoopsPass());
  // Blocks of `threads-per-block` iterations of each loop's innermost
  // dimension, one GPU thread each (out-of-range threads do nothing).
  pm.addNestedPass<func::FuncOp>(
      createTileGPULoopsPass(TileGPULoopsPassOptions{options.threadsPerBlock}));
  pm.addNestedPass<func::FuncOp>(createGpuMapParallelLoopsPass());
  pm.addPass(createParallelLoopToGpuPass());
  // Constants and index arithmetic go into the kernels, where they are
  // known at compile time (trip counts, strides, divisors), rather than
  // being passed as kernel arguments.
  pm.addPass(createGpuLauchSinkIndexComputationsPass());
  pm.addPass(createGpuKernelOutliningPass());
  pm.addPass(createMergeGPUModulesPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
}

/// Points the NVVM target at the CUDA toolkit for libdevice (exp of the
/// Memory Layer's weights, cos and sin of rotary embeddings): CUDA_ROOT,
/// CUDA_HOME or CUDA_PATH when one is set, else /usr/local/cuda, where
/// NVIDIA installs it. Done where the pipeline is built, so that mnemo-opt,
/// mnemoc and the JIT link the same libdevice.
std::pair<const char *, const char *> mnemo::namedCUDAToolkit() {
  for (const char *variable : {"CUDA_ROOT", "CUDA_HOME", "CUDA_PATH"})
    if (const char *root = std::getenv(variable))
      return {variable, root};
  return {nullptr, nullptr};
}

static void useInstalledCUDAToolkit() {
  if (!namedCUDAToolkit().first &&
      llvm::sys::fs::is_directory("/usr/local/cuda/nvvm/libdevice"))
    setenv("CUDA_ROOT", "/usr/local/cuda", /*overwrite=*/0);
}

void mnemo::buildGPUToLLVMPipeline(OpPassManager &pm,
                                   const GPUPipelineOptions &options) {
  useInstalledCUDAToolkit();
  pm.addPass(createDeviceBuffersPass());
  pm.addNestedPass<func::FuncOp>(createPoolDeviceBuffersPass());
  pm.addNestedPass<func::FuncOp>(createGpuAsyncRegionPass());
  pm.addNestedPass<func::FuncOp>(createElideHostWaitsPass());
  // Ceiling divisions and the like, which have no direct LLVM lowering.
  pm.addPass(arith::createArithExpandOpsPass());
  gpu::GPUToNVVMPipelineOptions nvvm;
  nvvm.cubinChip = options.chip;
  nvvm.cubinFeatures = options.features;
  nvvm.cubinFormat = options.format;
  nvvm.optLevel = 3;
  gpu::buildLowerToNVVMPassPipeline(pm, nvvm);
}

void mnemo::buildLowerToPTXPipeline(OpPassManager &pm,
                                    const GPUPipelineOptions &options) {
  buildLowerToGPUPipeline(pm, options);
  buildGPUToLLVMPipeline(pm, options);
}

void mnemo::buildLoopsToLLVMPipeline(OpPassManager &pm,
                                     const CPUPipelineOptions &options) {
  // Parallel loops run on OpenMP threads.
  pm.addPass(createConvertSCFToOpenMPPass());

  // Everything else to the LLVM dialect. Memrefs are lowered before
  // structured control flow: scf-to-openmp wraps parallel iterations in
  // memref.alloca_scope, whose region must stay a single block until it is
  // lowered to stacksave/stackrestore.
  pm.addPass(createApproximateMathPass());
  pm.addPass(createConvertVectorToSCFPass());
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  arith::ArithExpandOpsPassOptions expand;
  expand.includeBf16 = true;
  pm.addPass(arith::createArithExpandOpsPass(expand));
  ConvertVectorToLLVMPassOptions vectorToLLVM;
  vectorToLLVM.reassociateFPReductions = true;
  pm.addPass(createConvertVectorToLLVMPass(vectorToLLVM));
  // Scratch buffers go through Mnemo's allocator (lib/Runtime/Allocator).
  FinalizeMemRefToLLVMConversionPassOptions memrefToLLVM;
  memrefToLLVM.useGenericFunctions = true;
  pm.addPass(createFinalizeMemRefToLLVMConversionPass(memrefToLLVM));
  pm.addPass(createConvertSCFToCFPass());
  pm.addPass(createConvertMathToLLVMPass());
  pm.addPass(createArithToLLVMConversionPass());
  pm.addPass(createConvertIndexToLLVMPass());
  pm.addPass(createConvertOpenMPToLLVMPass());
  pm.addPass(createConvertControlFlowToLLVMPass());
  pm.addPass(createConvertFuncToLLVMPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
}

void mnemo::buildLowerToLLVMPipeline(OpPassManager &pm,
                                     const CPUPipelineOptions &options) {
  buildLowerToLoopsPipeline(pm, options);
  buildLoopsToLLVMPipeline(pm, options);
}

void mnemo::registerPipelines() {
  PassPipelineRegistration<>(
      "mnemo-optimize",
      "Target-independent mnemo rewrites: lookup fusion, canonicalization, "
      "CSE",
      [](OpPassManager &pm) { buildOptimizePipeline(pm); });
  PassPipelineRegistration<CPUPipelineOptions>(
      "mnemo-lower-to-loops",
      "Lower mnemo IR to tiled vector loops on buffers (CPU)",
      buildLowerToLoopsPipeline);
  PassPipelineRegistration<CPUPipelineOptions>(
      "mnemo-lower-to-llvm",
      "Lower mnemo IR to the LLVM dialect for the CPU (OpenMP threads)",
      buildLowerToLLVMPipeline);
  PassPipelineRegistration<GPUPipelineOptions>(
      "mnemo-lower-to-gpu",
      "Lower mnemo IR to gpu.launch_func of outlined GPU kernels",
      buildLowerToGPUPipeline);
  PassPipelineRegistration<GPUPipelineOptions>(
      "mnemo-lower-to-ptx",
      "Lower mnemo IR to NVIDIA PTX kernels (gpu.binary) and LLVM host code",
      buildLowerToPTXPipeline);
}
