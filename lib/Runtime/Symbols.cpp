//===- Symbols.cpp - What generated code may call
//--------------------------===//

#include "mnemo/Runtime/Symbols.h"

#include "mnemo/Runtime/Allocator.h"
#include "mnemo/Runtime/Kernels.h"

namespace mnemo {

const std::vector<RuntimeSymbol> &runtimeSymbols() {
  static const std::vector<RuntimeSymbol> symbols = {
      {"_mlir_memref_to_llvm_alloc",
       reinterpret_cast<void *>(&_mlir_memref_to_llvm_alloc)},
      {"_mlir_memref_to_llvm_aligned_alloc",
       reinterpret_cast<void *>(&_mlir_memref_to_llvm_aligned_alloc)},
      {"_mlir_memref_to_llvm_free",
       reinterpret_cast<void *>(&_mlir_memref_to_llvm_free)},
#define MNEMO_KERNEL(name)                                                     \
  {"_mlir_ciface_" #name, reinterpret_cast<void *>(&_mlir_ciface_##name)}
      MNEMO_KERNEL(mnemo_linear),
      MNEMO_KERNEL(mnemo_causal_attention),
      MNEMO_KERNEL(mnemo_attention),
      MNEMO_KERNEL(mnemo_rotary),
      MNEMO_KERNEL(mnemo_embedding_f32),
      MNEMO_KERNEL(mnemo_embedding_f16),
      MNEMO_KERNEL(mnemo_embedding_bf16),
#undef MNEMO_KERNEL
  };
  return symbols;
}

} // namespace mnemo
