//===- Allocator.cpp - Buffers for generated code ---------------*- C++ -*-===//
//
// A per-thread cache of a few freed blocks, keyed by exact size and
// alignment. Kernels free what they allocate within the call, usually on the
// thread that allocated it, so the cache hits on every call after the
// first. Blocks carry a small header so that free can find their size.
//
//===----------------------------------------------------------------------===//

#include "mnemo/Runtime/Allocator.h"

#include "BlockCache.h"

#include <cstdlib>
#include <cstring>

namespace {

/// Placed before every block handed out.
struct Header {
  void *base;         // what std::aligned_alloc returned
  uint64_t size;      // requested bytes
  uint64_t alignment; // requested alignment
  uint64_t padding;   // keeps the header 32 bytes
};

/// The thread's freed blocks, by size and alignment.
struct Cache {
  mnemo::BlockCache<Header *> blocks;
  ~Cache() {
    blocks.drain([](Header *block) { std::free(block->base); });
  }
};

thread_local Cache cache;

void *allocate(uint64_t alignment, uint64_t size) {
  if (alignment < alignof(Header))
    alignment = alignof(Header);
  if (Header *hit = cache.blocks.take(
          size, [&](Header *block) { return block->alignment == alignment; }))
    return hit + 1;
  // Room for the header before an aligned address.
  uint64_t offset = (sizeof(Header) + alignment - 1) / alignment * alignment;
  uint64_t total = (offset + size + alignment - 1) / alignment * alignment;
  void *base = std::aligned_alloc(alignment, total);
  if (!base)
    return nullptr;
  auto *header =
      reinterpret_cast<Header *>(static_cast<char *>(base) + offset) - 1;
  header->base = base;
  header->size = size;
  header->alignment = alignment;
  return header + 1;
}

} // namespace

extern "C" void *_mlir_memref_to_llvm_alloc(uint64_t size) {
  return allocate(16, size);
}

extern "C" void *_mlir_memref_to_llvm_aligned_alloc(uint64_t alignment,
                                                    uint64_t size) {
  return allocate(alignment, size);
}

extern "C" void _mlir_memref_to_llvm_free(void *pointer) {
  if (!pointer)
    return;
  Header *header = static_cast<Header *>(pointer) - 1;
  if (!cache.blocks.keep(header, header->size))
    std::free(header->base);
}
