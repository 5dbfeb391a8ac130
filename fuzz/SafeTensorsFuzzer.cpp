//===- SafeTensorsFuzzer.cpp - libFuzzer target: the safetensors reader ---===//
//
// Any byte string given as model.safetensors is either refused with an
// error or yields tensors whose every byte lies inside the file: each
// accepted tensor is widened to f32 in full.
//
//===----------------------------------------------------------------------===//

#include "mnemo/Model/SafeTensors.h"

#include <cstddef>
#include <cstdint>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  auto buffer = llvm::MemoryBuffer::getMemBufferCopy(
      llvm::StringRef(reinterpret_cast<const char *>(data), size),
      "fuzz.safetensors");
  auto file =
      mnemo::SafeTensorsFile::parse("fuzz.safetensors", std::move(buffer));
  if (!file) {
    llvm::consumeError(file.takeError());
    return 0;
  }
  std::vector<float> values;
  for (const mnemo::TensorView &view : (*file)->tensors()) {
    if (view.numElements() > (int64_t{1} << 24))
      continue;
    values.resize(static_cast<size_t>(view.numElements()));
    view.widenToF32(values.data());
    (void)(*file)->find(view.name);
  }
  return 0;
}
