//===- Host.h - What the JIT compiles for -----------------------*- C++ -*-===//
//
// The properties of the host CPU that code generation specializes on: the
// vector width and the cache sizes, read from the CPU's feature flags and
// from sysfs, with conservative defaults where they cannot be read.
//
//===----------------------------------------------------------------------===//

#ifndef MNEMO_JIT_HOST_H
#define MNEMO_JIT_HOST_H

#include <cstdint>
#include <string>

namespace mnemo {

struct HostInfo {
  std::string cpuName;     ///< LLVM's name for the host CPU, e.g. znver4
  int64_t vectorWidth = 8; ///< f32 lanes: 16 with AVX-512, 8 with AVX2
  int64_t l1CacheBytes = 32 * 1024;
  int64_t l2CacheBytes = 512 * 1024;
  int64_t l3CacheBytes = 32 * 1024 * 1024;
  int64_t cores = 1;
};

/// Detects the host once and caches the answer.
const HostInfo &getHostInfo();

/// Memory that can be allocated now without swapping (Linux's MemAvailable),
/// in bytes; 0 when unknown.
int64_t getAvailableMemoryBytes();

} // namespace mnemo

#endif // MNEMO_JIT_HOST_H
