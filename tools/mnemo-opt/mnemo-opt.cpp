//===- mnemo-opt.cpp - The mnemo optimizer driver ---------------*- C++ -*-===//
//
// `mnemo-opt` parses mnemo IR, runs passes and pipelines on it and prints
// the result: the tool every lit test and every bug report goes through.
//
//===----------------------------------------------------------------------===//

#include "mnemo/InitAll.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::mnemo::registerAllPasses();
  mlir::DialectRegistry registry;
  mlir::mnemo::registerAllDialects(registry);
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "Mnemo optimizer driver\n", registry));
}
