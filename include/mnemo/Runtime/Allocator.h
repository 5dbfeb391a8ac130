//===- Allocator.h - Buffers for generated code -----------------*- C++ -*-===//
//
// Generated kernels allocate their scratch buffers through the MLIR "generic
// allocation functions" (finalize-memref-to-llvm{use-generic-functions}),
// which Mnemo implements here with a small per-thread cache: a kernel that
// allocates the same scratch on every call gets it back without a trip
// through the C library, which would unmap or trim large blocks and fault
// their pages in again on the next call.
//
//===----------------------------------------------------------------------===//

#ifndef MNEMO_RUNTIME_ALLOCATOR_H
#define MNEMO_RUNTIME_ALLOCATOR_H

#include <cstdint>

extern "C" {
/// malloc for generated code.
void *_mlir_memref_to_llvm_alloc(uint64_t size);
/// aligned_alloc for generated code.
void *_mlir_memref_to_llvm_aligned_alloc(uint64_t alignment, uint64_t size);
/// free for generated code.
void _mlir_memref_to_llvm_free(void *pointer);
}

#endif // MNEMO_RUNTIME_ALLOCATOR_H
