//===- Symbols.h - What generated code may call -----------------*- C++ -*-===//
//
// Every function of Mnemo's runtime that generated code calls, by name, so
// that the JIT can resolve them without relying on the process exporting
// its symbols. Ahead-of-time kernels find the same names in libmnemo.
//
//===----------------------------------------------------------------------===//

#ifndef MNEMO_RUNTIME_SYMBOLS_H
#define MNEMO_RUNTIME_SYMBOLS_H

#include <vector>

namespace mnemo {

struct RuntimeSymbol {
  const char *name;
  void *address;
};

const std::vector<RuntimeSymbol> &runtimeSymbols();

} // namespace mnemo

#endif // MNEMO_RUNTIME_SYMBOLS_H
