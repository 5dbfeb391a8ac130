//===- GPUCode.h - NVIDIA GPU code from mnemo IR ----------------*- C++ -*-===//
//
// The CUDA target's code generation: a module of mnemo IR lowered by the
// `mnemo-lower-to-gpu` and `mnemo-lower-to-ptx` pipelines (Pipelines.h)
// into host functions launching the model's kernels and one module of PTX
// for an NVIDIA architecture, which `ptxas` assembles into a cubin.
//
//===----------------------------------------------------------------------===//

#ifndef MNEMO_JIT_GPUCODE_H
#define MNEMO_JIT_GPUCODE_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <string>

namespace mlir {
class ModuleOp;
} // namespace mlir

namespace mnemo {

enum class GPUStage {
  /// gpu dialect: host functions with gpu.launch_func, kernels in one
  /// gpu.module.
  Kernels,
  /// The PTX of the kernels.
  PTX,
  /// The kernels assembled for `chip` by the CUDA toolkit's `ptxas`: an
  /// ELF cubin, which the driver loads without compiling.
  Cubin,
};

/// Checks that `chip` names an NVIDIA architecture (`sm_<digits>`).
llvm::Error checkChip(llvm::StringRef chip);

/// The CUDA toolkit's `ptxas`: under CUDA_ROOT, CUDA_HOME, CUDA_PATH or
/// /usr/local/cuda, else on PATH; an error saying where it was looked for.
llvm::Expected<std::string> findPTXAssembler();

/// Lowers `module` (mnemo IR, changed in place) for NVIDIA GPUs of `chip`
/// (`sm_80`, `sm_90`, ...) and returns the text of `stage` (the bytes of
/// the cubin for GPUStage::Cubin).
llvm::Expected<std::string> lowerForCUDA(mlir::ModuleOp module,
                                         llvm::StringRef chip, GPUStage stage);

} // namespace mnemo

#endif // MNEMO_JIT_GPUCODE_H
