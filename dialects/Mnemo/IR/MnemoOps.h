//===- MnemoOps.h - mnemo operations ----------------------------*- C++ -*-===//
//
// Declares the operations of the mnemo dialect (generated from MnemoOps.td).
//
//===----------------------------------------------------------------------===//

#ifndef MNEMO_IR_MNEMOOPS_H
#define MNEMO_IR_MNEMOOPS_H

#include "Mnemo/IR/MnemoDialect.h"
#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#define GET_OP_CLASSES
#include "Mnemo/IR/MnemoOps.h.inc"

#endif // MNEMO_IR_MNEMOOPS_H
