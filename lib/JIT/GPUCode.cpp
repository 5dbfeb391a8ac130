//===- GPUCode.cpp - NVIDIA GPU code from mnemo IR ------------------------===//

#include "mnemo/JIT/GPUCode.h"

#include "mnemo/Pipelines.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdlib>
#include <utility>

namespace mnemo {

llvm::Error checkChip(llvm::StringRef chip) {
  if (!chip.starts_with("sm_") || chip.size() < 5 ||
      !llvm::all_of(chip.drop_front(3), llvm::isDigit))
    return llvm::createStringError(
        llvm::inconvertibleErrorCode(),
        "--chip: '" + chip + "' is not an NVIDIA architecture (sm_80, sm_90)");
  return llvm::Error::success();
}

llvm::Expected<std::string> findPTXAssembler() {
  // A toolkit named by the environment is the one to use, or none.
  if (auto [variable, root] = mlir::mnemo::namedCUDAToolkit(); variable) {
    std::string path = std::string(root) + "/bin/ptxas";
    if (llvm::sys::fs::can_execute(path))
      return path;
    return llvm::createStringError(
        llvm::inconvertibleErrorCode(),
        llvm::Twine("a cubin needs ptxas from the CUDA toolkit: $") + variable +
            " is '" + root + "', which has no bin/ptxas");
  }
  if (llvm::sys::fs::can_execute("/usr/local/cuda/bin/ptxas"))
    return std::string("/usr/local/cuda/bin/ptxas");
  if (auto onPath = llvm::sys::findProgramByName("ptxas"))
    return *onPath;
  return llvm::createStringError(
      llvm::inconvertibleErrorCode(),
      "a cubin needs ptxas from the CUDA toolkit, which is neither in "
      "/usr/local/cuda/bin nor on PATH (or set CUDA_ROOT)");
}

llvm::Expected<std::string> lowerForCUDA(mlir::ModuleOp module,
                                         llvm::StringRef chip, GPUStage stage) {
  if (llvm::Error error = checkChip(chip))
    return std::move(error);
  // The NVVM target runs ptxas from the toolkit named by CUDA_ROOT (or
  // PATH): point it at the one found.
  if (stage == GPUStage::Cubin) {
    auto ptxas = findPTXAssembler();
    if (!ptxas)
      return ptxas.takeError();
    if (!mlir::mnemo::namedCUDAToolkit().first)
      setenv("CUDA_ROOT",
             llvm::sys::path::parent_path(llvm::sys::path::parent_path(*ptxas))
                 .str()
                 .c_str(),
             /*overwrite=*/0);
  }
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
  mlir::mnemo::GPUPipelineOptions options;
  options.chip = chip.str();
  if (stage == GPUStage::Cubin)
    options.format = "bin";
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
  // The PTX of the one kernel module, without the NUL that ends it, or
  // the cubin's bytes.
  module.walk([&](mlir::gpu::BinaryOp binary) {
    for (mlir::Attribute attr : binary.getObjects())
      if (auto object = llvm::dyn_cast<mlir::gpu::ObjectAttr>(attr)) {
        llvm::StringRef bytes = object.getObject().getValue();
        os << (stage == GPUStage::PTX ? bytes.rtrim('\0') : bytes);
      }
  });
  if (text.empty())
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   "lowering for CUDA produced no kernels");
  return text;
}

} // namespace mnemo
