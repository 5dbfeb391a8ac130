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

/// Makes the generated CPU kernels that the calling thread runs use
/// `threads` OpenMP threads, whose workers spin for 1 ms after a parallel
/// region before they sleep (unless the user set `KMP_BLOCKTIME`). The
/// OpenMP default of 200 ms left a worker spinning on the core that the
/// BLAS library's own threads needed for the LM head between two kernels:
/// on 2 cores, decoding took 8% longer and 15% more CPU time
/// (docs/benchmarks.md). Both settings belong to the calling thread.
void setKernelThreads(int64_t threads);

/// Memory that can be allocated now without swapping (Linux's MemAvailable),
/// in bytes; 0 when unknown.
int64_t getAvailableMemoryBytes();

} // namespace mnemo

#endif // MNEMO_JIT_HOST_H
