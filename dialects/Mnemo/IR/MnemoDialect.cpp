//===- MnemoDialect.cpp - The mnemo dialect ---------------------*- C++ -*-===//
//
// Registers the mnemo dialect's operations and attributes.
//
//===----------------------------------------------------------------------===//

#include "Mnemo/IR/MnemoDialect.h"
#include "Mnemo/IR/MnemoOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::mnemo;

#include "Mnemo/IR/MnemoDialect.cpp.inc"
#include "Mnemo/IR/MnemoEnums.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "Mnemo/IR/MnemoAttrs.cpp.inc"

void MnemoDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "Mnemo/IR/MnemoOps.cpp.inc"
      >();
  addAttributes<
#define GET_ATTRDEF_LIST
#include "Mnemo/IR/MnemoAttrs.cpp.inc"
      >();
}
