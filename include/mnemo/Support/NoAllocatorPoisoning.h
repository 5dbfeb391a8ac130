//===- NoAllocatorPoisoning.h - ASan builds against plain LLVM -*- C++ -*-===//
//
// Force-included in every C++ file of a sanitizer build
// (-DMNEMO_SANITIZE=address,...). LLVM's BumpPtrAllocator poisons the free
// part of its slabs when compiled with AddressSanitizer; Mnemo's code,
// instrumented, would do so in allocators (MLIR's attribute and type
// storage) that Debian's uninstrumented libMLIR.so allocates from without
// unpoisoning, and every such allocation would be reported. The two sides
// must agree: Mnemo's copies of the allocator do not poison either.
//
//===----------------------------------------------------------------------===//

#ifndef MNEMO_SUPPORT_NOALLOCATORPOISONING_H
#define MNEMO_SUPPORT_NOALLOCATORPOISONING_H

#include "llvm/Support/Compiler.h"

#undef __asan_poison_memory_region
#undef __asan_unpoison_memory_region
#define __asan_poison_memory_region(p, size) ((void)(p), (void)(size))
#define __asan_unpoison_memory_region(p, size) ((void)(p), (void)(size))

#endif // MNEMO_SUPPORT_NOALLOCATORPOISONING_H
