//===- ProgramModule.h - A model's program as an MLIR module ----*- C++ -*-===//
//
// Parses the importer's text (Program.h) into a module of a context with
// every dialect Mnemo uses. Shared by the engine and `mnemoc compile`.
//
//===----------------------------------------------------------------------===//

#ifndef MNEMO_ENGINE_PROGRAMMODULE_H
#define MNEMO_ENGINE_PROGRAMMODULE_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <memory>

namespace mnemo {

struct ModelProgram;

/// A context with Mnemo's dialects registered (single-threaded: kernels of
/// one model are compiled while the caller waits, on its thread).
std::unique_ptr<mlir::MLIRContext> createProgramContext();

/// The module of `program`, verified. An error (which names `dir` and
/// carries the diagnostics) means the importer wrote invalid IR: a bug.
llvm::Expected<mlir::OwningOpRef<mlir::ModuleOp>>
parseProgram(const ModelProgram &program, mlir::MLIRContext &context,
             llvm::StringRef dir);

} // namespace mnemo

#endif // MNEMO_ENGINE_PROGRAMMODULE_H
