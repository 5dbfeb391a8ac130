//===- Placement.h - Memory where a model's kernels run ---------*- C++ -*-===//
//
// A loaded model keeps its weights, sequences' states and hidden states
// where its kernels read them: in host memory for CPU kernels, in device
// memory for the CUDA target. The engine moves data through these few
// functions only, so that one code path serves both targets; host memory
// is simply the place where the copies are memcpy.
//
//===----------------------------------------------------------------------===//

#ifndef MNEMO_ENGINE_PLACEMENT_H
#define MNEMO_ENGINE_PLACEMENT_H

#include "mnemo/JIT/JIT.h"
#include "mnemo/Runtime/CUDA.h"

#include "llvm/Support/Error.h"

#include <cstddef>

namespace mnemo {

/// Where memory lives.
enum class Place {
  Host,   ///< this process's memory (CPU kernels)
  Device, ///< the GPU's memory (CUDA kernels, Runtime/CUDA.h)
};

/// A block of memory at one place (its contents undefined until written),
/// freed with it.
class PlacedBuffer {
public:
  PlacedBuffer() = default;
  static llvm::Expected<PlacedBuffer> allocate(Place place, size_t bytes);

  /// The address kernels take (a device address for Place::Device).
  void *data() const {
    return where == Place::Host ? host.data() : device.data();
  }
  size_t size() const { return bytes; }

private:
  Place where = Place::Host;
  size_t bytes = 0;
  AlignedBuffer host;
  cuda::DeviceBuffer device;
};

/// `bytes` bytes from `from` to `to`, both addresses of `place`.
llvm::Error copyWithin(Place place, void *to, const void *from, size_t bytes);
/// Sets `bytes` bytes at `at`, an address of `place`, to zero.
llvm::Error zeroAt(Place place, void *at, size_t bytes);
/// `bytes` bytes from host memory at `host` to `to`, an address of `place`.
llvm::Error copyIn(Place place, void *to, const void *host, size_t bytes);
/// `bytes` bytes from `from`, an address of `place`, to host memory.
llvm::Error copyOut(Place place, void *host, const void *from, size_t bytes);

} // namespace mnemo

#endif // MNEMO_ENGINE_PLACEMENT_H
