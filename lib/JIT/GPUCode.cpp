//===- GPUCode.cpp - NVIDIA GPU code from mnemo IR ------------------------===//

#include "mnemo/JIT/GPUCode.h"

#include "mnemo/Pipelines.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdlib>

namespace mnemo {

llvm::Error checkChip(llvm::StringRef chip) {
  if (!chip.starts_with("sm_") || chip.size() < 5 ||
      !llvm::all_of(chip.drop_front(3), llvm::isDigit))
    return llvm::createStringError(
        llvm::inconvertibleErrorCode(),
        "--chip: '" + chip + "' is not an NVIDIA architecture (sm_80, sm_90)");
  return llvm::Error::success();
}

void findCUDAToolkit() {
  if (!std::getenv("CUDA_ROOT") && !std::getenv("CUDA_HOME") &&
      !std::getenv("CUDA_PATH") &&
      llvm::sys::fs::is_directory("/usr/local/cuda/nvvm/libdevice"))
    setenv("CUDA_ROOT", "/usr/local/cuda", /*overwrite=*/0);
}

llvm::Expected<std::string> lowerForCUDA(mlir::ModuleOp module,
                                         llvm::StringRef chip, GPUStage stage) {
  if (llvm::Error error = checkChip(chip))
    return std::move(error);
  std::string diagnostics;
  mlir::ScopedDiagnosticHandler handler(
      module.getContext(), [&](mlir::Diagnostic &diag) {
        if (diag.getSeverity() == mlir::DiagnosticSeverity::Error) {
          llvm::raw_string_ostream os(diagnostics);
          os << (diagnostics.empty() ? "" : "; ") << diag.getLocation() << ": "
             << diag.str();
        }
        return mlir::success();
      });
  findCUDAToolkit();
  mlir::mnemo::GPUPipelineOptions options;
  options.chip = chip.str();
  mlir::PassManager pm(module.getContext());
  if (stage == GPUStage::Kernels)
    mlir::mnemo::buildLowerToGPUPipeline(pm, options);
  else
    mlir::mnemo::buildLowerToPTXPipeline(pm, options);
  if (mlir::failed(pm.run(module)))
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   "lowering for CUDA failed: " + diagnostics);
  std::string text;
  llvm::raw_string_ostream os(text);
  if (stage == GPUStage::Kernels) {
    module.print(os);
    return text;
  }
  // The PTX of the one kernel module, without the NUL that ends it.
  module.walk([&](mlir::gpu::BinaryOp binary) {
    for (mlir::Attribute attr : binary.getObjects())
      if (auto object = llvm::dyn_cast<mlir::gpu::ObjectAttr>(attr))
        os << object.getObject().getValue().rtrim('\0');
  });
  if (text.empty())
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   "lowering for CUDA produced no kernels");
  return text;
}

} // namespace mnemo
