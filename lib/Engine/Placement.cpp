//===- Placement.cpp - Memory where a model's kernels run -----------------===//

#include "mnemo/Engine/Placement.h"

#include <cstring>

namespace mnemo {

llvm::Expected<PlacedBuffer> PlacedBuffer::allocate(Place place, size_t bytes) {
  PlacedBuffer buffer;
  buffer.where = place;
  buffer.bytes = bytes;
  if (place == Place::Host) {
    auto host = AlignedBuffer::allocate(bytes);
    if (!host)
      return host.takeError();
    buffer.host = std::move(*host);
  } else {
    auto device = cuda::DeviceBuffer::allocate(bytes);
    if (!device)
      return device.takeError();
    buffer.device = std::move(*device);
  }
  return std::move(buffer);
}

llvm::Error copyWithin(Place place, void *to, const void *from, size_t bytes) {
  if (place == Place::Device)
    return cuda::copyOnDevice(to, from, bytes);
  if (bytes)
    std::memmove(to, from, bytes);
  return llvm::Error::success();
}

llvm::Error zeroAt(Place place, void *at, size_t bytes) {
  if (place == Place::Device)
    return cuda::zeroOnDevice(at, bytes);
  if (bytes)
    std::memset(at, 0, bytes);
  return llvm::Error::success();
}

llvm::Error copyIn(Place place, void *to, const void *host, size_t bytes) {
  if (place == Place::Device)
    return cuda::copyToDevice(to, host, bytes);
  if (bytes && to != host)
    std::memmove(to, host, bytes);
  return llvm::Error::success();
}

llvm::Error copyOut(Place place, void *host, const void *from, size_t bytes) {
  if (place == Place::Device)
    return cuda::copyToHost(host, from, bytes);
  if (bytes && host != from)
    std::memmove(host, from, bytes);
  return llvm::Error::success();
}

} // namespace mnemo
