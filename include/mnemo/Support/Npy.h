//===- Npy.h - NumPy .npy files ---------------------------------*- C++ -*-===//
//
// Reads and writes NumPy's .npy format (versions 1.0 to 3.0 read, 1.0
// written): little-endian, C order. Every field of a file is checked before
// its data is trusted; errors name the file and what is wrong with it.
//
//===----------------------------------------------------------------------===//

#ifndef MNEMO_SUPPORT_NPY_H
#define MNEMO_SUPPORT_NPY_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <string>
#include <vector>

namespace mnemo {

/// The element types Mnemo reads from and writes to .npy files.
enum class NpyType { F32, F16, F64, I64, I32, U16, Bool };

/// `<f4`, `<f2`, ...
llvm::StringRef npyDescr(NpyType type);
/// `float32`, `float16`, ...
llvm::StringRef npyTypeName(NpyType type);
int64_t npyItemSize(NpyType type);

struct NpyArray {
  NpyType type = NpyType::F32;
  std::vector<int64_t> shape;
  /// The raw little-endian data, 64-byte aligned.
  std::vector<uint8_t, std::allocator<uint8_t>> bytes;

  int64_t numElements() const;
  template <typename T> const T *as() const {
    return reinterpret_cast<const T *>(bytes.data());
  }
};

/// Reads `path`; the error message starts with the path.
llvm::Expected<NpyArray> readNpy(llvm::StringRef path);

/// Parses an in-memory .npy image; errors start with `name`.
llvm::Expected<NpyArray> parseNpy(llvm::StringRef name,
                                  llvm::ArrayRef<uint8_t> file);

/// Writes a C-order array in the 1.0 format.
llvm::Error writeNpy(llvm::StringRef path, NpyType type,
                     llvm::ArrayRef<int64_t> shape, const void *data);

} // namespace mnemo

#endif // MNEMO_SUPPORT_NPY_H
