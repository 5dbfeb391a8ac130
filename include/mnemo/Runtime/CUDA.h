//===- CUDA.h - The CUDA driver, loaded at run time -------------*- C++ -*-===//
//
// Mnemo's CUDA runtime: the driver API (libcuda.so.1) loaded with dlopen
// on first use, so that every binary starts, and every CPU path works, on
// machines without a GPU or a driver. It serves two clients:
//
//  * C++ code (the JIT, the engine, benchmarks): device buffers, copies,
//    GPU timers, and the device's properties;
//  * generated host code (the `mnemo-lower-to-ptx` pipeline), which calls
//    the `mgpu*` functions that MLIR's `gpu-to-llvm` lowering emits. Those
//    cannot return errors: the first error a thread meets is kept, later
//    calls on that thread do nothing, and `synchronize()` reports it.
//
// Work is queued on one stream per thread. Kernel modules are loaded once
// per embedded image (MLIR's lowering loads and unloads the module around
// every launch; here "unloading" keeps it for the next launch) and dropped
// when the code embedding them is unloaded (`forgetImage`). Device memory
// is plain `cuMemAlloc` memory (stream-ordered where the driver has memory
// pools), never managed memory.
//
// The driver library is `$MNEMO_CUDA_DRIVER` when set (tests point it at
// NVIDIA's stub library to check the error paths), else `libcuda.so.1`.
//
//===----------------------------------------------------------------------===//

#ifndef MNEMO_RUNTIME_CUDA_H
#define MNEMO_RUNTIME_CUDA_H

#include "llvm/Support/Error.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace mnemo::cuda {

/// What the GPU in use is.
struct DeviceInfo {
  int ordinal = 0;
  std::string name;
  int computeMajor = 0, computeMinor = 0;
  int multiprocessors = 0;
  int64_t memoryBytes = 0;
  int64_t l2CacheBytes = 0;
  /// Peak DRAM bandwidth in bytes/s (twice the memory clock times the bus
  /// width); 0 when the driver does not report them.
  double peakBandwidth = 0;
  /// The driver's CUDA version, e.g. 12040 for 12.4.
  int driverVersion = 0;

  /// The architecture of generated code: "sm_90" for compute capability 9.0.
  std::string chip() const;
};

/// Loads the driver, initializes it and picks the device (ordinal
/// `$MNEMO_CUDA_DEVICE`, else 0). Done once per process: later calls return
/// the first call's outcome. The error says what is missing ("the CUDA
/// driver could not be loaded: ...", "cuInit: CUDA_ERROR_NO_DEVICE ...").
llvm::Error initialize();

/// The device in use; initializes first.
llvm::Expected<DeviceInfo> device();

/// A block of device memory, freed when destroyed.
class DeviceBuffer {
public:
  DeviceBuffer() = default;
  static llvm::Expected<DeviceBuffer> allocate(size_t bytes);
  /// A new buffer holding a copy of `bytes` bytes at host address `data`.
  static llvm::Expected<DeviceBuffer> copyOf(const void *data, size_t bytes);
  DeviceBuffer(DeviceBuffer &&other) noexcept { *this = std::move(other); }
  DeviceBuffer &operator=(DeviceBuffer &&other) noexcept;
  DeviceBuffer(const DeviceBuffer &) = delete;
  DeviceBuffer &operator=(const DeviceBuffer &) = delete;
  ~DeviceBuffer();

  /// The device address (what kernels and memref descriptors take).
  void *data() const { return reinterpret_cast<void *>(address); }
  size_t size() const { return bytes; }

  /// Copies `count` bytes between the host and this buffer, at byte
  /// `offset`; the copy is complete when the call returns.
  llvm::Error upload(const void *host, size_t count, size_t offset = 0);
  llvm::Error download(void *host, size_t count, size_t offset = 0) const;

private:
  uint64_t address = 0;
  size_t bytes = 0;
};

/// Copies between device addresses (`copyOnDevice`), or between the host
/// and a device address, and sets device bytes to zero; each is complete
/// when it returns, and ordered after the work queued on the calling
/// thread's stream. Addresses are those of DeviceBuffer::data, offset.
llvm::Error copyToDevice(void *device, const void *host, size_t bytes);
llvm::Error copyToHost(void *host, const void *device, size_t bytes);
llvm::Error copyOnDevice(void *to, const void *from, size_t bytes);
llvm::Error zeroOnDevice(void *device, size_t bytes);

/// Waits for the work the calling thread queued, then reports (and clears)
/// the first error that generated code's `mgpu*` calls met on this thread
/// since the last call.
llvm::Error synchronize();

/// The calling thread's stream (a `CUstream`), on which generated code
/// queues its work; null when CUDA cannot be used.
void *stream();

/// Times GPU work queued by the calling thread between `start` and `stop`.
class Timer {
public:
  Timer() = default;
  Timer(const Timer &) = delete;
  Timer &operator=(const Timer &) = delete;
  ~Timer();
  llvm::Error start();
  /// Seconds of GPU time since `start`, once the work is done.
  llvm::Expected<double> stop();

private:
  void *begin = nullptr, *end = nullptr;
};

/// Unloads the kernel modules loaded from the image at `image`: code that
/// embeds kernels calls this before it is freed, so that a later image at
/// the same address is loaded afresh.
void forgetImage(const void *image);

/// The `mgpu*` functions for the JIT to resolve generated code's calls.
struct EntryPoint {
  const char *name;
  void *address;
};
const std::vector<EntryPoint> &entryPoints();

} // namespace mnemo::cuda

#endif // MNEMO_RUNTIME_CUDA_H
