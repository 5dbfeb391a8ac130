//===- BlockCache.h - Freed blocks kept for the next allocation -*- C++ -*-===//
//
// A thread's few freed blocks of memory, kept for its next allocation of
// the same size, up to a total size. Generated code frees what it
// allocates within each call, so from the second call on its allocations
// hit. Used for host buffers (Allocator.cpp) and device buffers (CUDA.cpp).
//
//===----------------------------------------------------------------------===//

#ifndef MNEMO_LIB_RUNTIME_BLOCKCACHE_H
#define MNEMO_LIB_RUNTIME_BLOCKCACHE_H

#include <cstdint>

namespace mnemo {

/// Blocks are handles (a pointer, a device address) whose value-initialized
/// form is null.
template <typename Block> class BlockCache {
public:
  static constexpr int kBlocks = 8;
  static constexpr uint64_t kMaxBytes = uint64_t{256} << 20;

  /// A kept block of `bytes` for which `fits(block)` holds, no longer kept;
  /// null if there is none.
  template <typename Fits> Block take(uint64_t bytes, Fits fits) {
    for (Entry &entry : entries)
      if (entry.block != Block{} && entry.bytes == bytes && fits(entry.block)) {
        Block block = entry.block;
        entry = {};
        total -= bytes;
        return block;
      }
    return Block{};
  }
  Block take(uint64_t bytes) {
    return take(bytes, [](Block) { return true; });
  }

  /// Keeps `block` of `bytes`; false, keeping nothing, when the cache is
  /// full or would exceed kMaxBytes (the caller frees the block).
  bool keep(Block block, uint64_t bytes) {
    if (bytes > kMaxBytes - total)
      return false;
    for (Entry &entry : entries)
      if (entry.block == Block{}) {
        entry = {block, bytes};
        total += bytes;
        return true;
      }
    return false;
  }

  /// Hands every kept block to `free` and forgets it.
  template <typename Free> void drain(Free free) {
    for (Entry &entry : entries)
      if (entry.block != Block{})
        free(entry.block);
    *this = BlockCache();
  }

private:
  struct Entry {
    Block block{};
    uint64_t bytes = 0;
  };
  Entry entries[kBlocks];
  uint64_t total = 0;
};

} // namespace mnemo

#endif // MNEMO_LIB_RUNTIME_BLOCKCACHE_H
