//===- MnemoDialect.h - The mnemo dialect -----------------------*- C++ -*-===//
//
// Declares the mnemo dialect and its enum attributes. Include MnemoOps.h for
// the operations.
//
//===----------------------------------------------------------------------===//

#ifndef MNEMO_IR_MNEMODIALECT_H
#define MNEMO_IR_MNEMODIALECT_H

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Dialect.h"

#include "Mnemo/IR/MnemoDialect.h.inc"
#include "Mnemo/IR/MnemoEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "Mnemo/IR/MnemoAttrs.h.inc"

#endif // MNEMO_IR_MNEMODIALECT_H
