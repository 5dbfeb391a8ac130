//===- NpyFuzzer.cpp - libFuzzer target: the .npy reader ------------------===//
//
// Any byte string given as a .npy file is either refused with an error or
// gives an array whose elements all lie in the bytes it holds.
//
//===----------------------------------------------------------------------===//

#include "mnemo/Support/Npy.h"

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  auto array = mnemo::parseNpy("fuzz.npy", llvm::ArrayRef(data, size));
  if (!array) {
    llvm::consumeError(array.takeError());
    return 0;
  }
  // Touch the last element the array claims to have.
  volatile uint8_t sink = 0;
  if (!array->bytes.empty())
    sink = array->bytes.back();
  (void)sink;
  (void)array->numElements();
  return 0;
}
