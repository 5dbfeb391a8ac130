//===- MLIRFuzzer.cpp - libFuzzer target: mnemo IR through the parser -----===//
//
// Any text given to mnemo-opt as mnemo IR is either refused with a
// diagnostic or parses into a module that the verifier accepts or refuses,
// and that prints: never a crash or an assertion.
//
//===----------------------------------------------------------------------===//

#include "mnemo/InitAll.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"
#include "llvm/Support/raw_ostream.h"

#include <cstddef>
#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static mlir::DialectRegistry *registry = [] {
    auto *r = new mlir::DialectRegistry();
    mlir::mnemo::registerAllDialects(*r);
    return r;
  }();
  mlir::MLIRContext context(*registry);
  context.loadAllAvailableDialects();
  context.disableMultithreading();
  mlir::ScopedDiagnosticHandler quiet(
      &context, [](mlir::Diagnostic &) { return mlir::success(); });
  std::string text(reinterpret_cast<const char *>(data), size);
  auto module = mlir::parseSourceString<mlir::ModuleOp>(text, &context);
  if (!module)
    return 0;
  if (mlir::succeeded(mlir::verify(*module))) {
    std::string printed;
    llvm::raw_string_ostream os(printed);
    module->print(os);
  }
  return 0;
}
