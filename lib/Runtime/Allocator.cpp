//===- Allocator.cpp - Buffers for generated code ---------------*- C++ -*-===//
//
// A per-thread cache of a few freed blocks, keyed by exact size and
// alignment. Kernels free what they allocate within the call, usually on the
// thread that allocated it, so the cache hits on every call after the
// first. Blocks carry a small header so that free can find their size.
//
//===----------------------------------------------------------------------===//

#include "mnemo/Runtime/Allocator.h"

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

constexpr int kCachedBlocks = 8;
constexpr uint64_t kMaxCachedBytes = uint64_t{256} << 20;

struct Cache {
  Header *blocks[kCachedBlocks] = {};
  uint64_t bytes = 0;

  ~Cache() {
    for (Header *block : blocks)
      if (block)
        std::free(block->base);
  }
};

thread_local Cache cache;

void *allocate(uint64_t alignment, uint64_t size) {
  if (alignment < alignof(Header))
    alignment = alignof(Header);
  for (Header *&block : cache.blocks)
    if (block && block->size == size && block->alignment == alignment) {
      Header *hit = block;
      block = nullptr;
      cache.bytes -= size;
      return hit + 1;
    }
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
  if (header->size <= kMaxCachedBytes - cache.bytes)
    for (Header *&block : cache.blocks)
      if (!block) {
        block = header;
        cache.bytes += header->size;
        return;
      }
  std::free(header->base);
}
