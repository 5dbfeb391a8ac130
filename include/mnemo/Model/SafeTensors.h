//===- SafeTensors.h - The safetensors weight format ------------*- C++ -*-===//
//
// Reads and writes `.safetensors` files: an 8-byte little-endian header
// length N, N bytes of JSON mapping tensor names to {dtype, shape,
// data_offsets}, then the tensors' bytes. A file is mapped into memory, not
// read, and tensors are used in place when their data is aligned for their
// type. Every field is checked before anything is trusted, following the
// format's own rules: known dtypes, sizes that match shapes, offsets within
// the file that cover the data exactly, without gaps or overlaps.
//
//===----------------------------------------------------------------------===//

#ifndef MNEMO_MODEL_SAFETENSORS_H
#define MNEMO_MODEL_SAFETENSORS_H

#include "mnemo/Support/Types.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/MemoryBuffer.h"

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace llvm {
class MemoryBuffer;
} // namespace llvm

namespace mnemo {

/// The largest header accepted (the format's reference implementation uses
/// the same bound).
constexpr uint64_t kMaxSafeTensorsHeader = 100 << 20;

struct TensorView {
  std::string name;
  ElementType dtype = ElementType::F32;
  std::vector<int64_t> shape;
  const void *data = nullptr; ///< into the mapped file
  uint64_t bytes = 0;

  int64_t numElements() const;
  /// Writes the tensor's elements to `out` as f32 (exactly: every f16 and
  /// bf16 value is an f32 value). The data may be unaligned.
  void widenToF32(float *out) const;
};

class SafeTensorsFile {
public:
  ~SafeTensorsFile();

  /// Maps and validates `path`. Errors name the file and, where one is at
  /// fault, the tensor.
  static llvm::Expected<std::unique_ptr<SafeTensorsFile>>
  open(llvm::StringRef path);

  /// Validates the file image `buffer` (read from `path`, which errors
  /// name).
  static llvm::Expected<std::unique_ptr<SafeTensorsFile>>
  parse(llvm::StringRef path, std::unique_ptr<llvm::MemoryBuffer> buffer);

  llvm::StringRef path() const { return filePath; }
  /// Tensors in the order of their data in the file.
  const std::vector<TensorView> &tensors() const { return views; }
  /// The tensor called `name`, or null.
  const TensorView *find(llvm::StringRef name) const;
  const std::map<std::string, std::string> &metadata() const { return meta; }

private:
  SafeTensorsFile() = default;

  std::string filePath;
  std::unique_ptr<llvm::MemoryBuffer> buffer;
  std::vector<TensorView> views;
  std::map<std::string, size_t> byName;
  std::map<std::string, std::string> meta;
};

/// A tensor to write: either `data`, which holds `numElements *
/// elementBytes(dtype)` bytes, or `fill`, which writes them into the buffer
/// it is given (so that a large model is generated one tensor at a time).
struct TensorData {
  std::string name;
  ElementType dtype = ElementType::F32;
  std::vector<int64_t> shape;
  const void *data = nullptr;
  std::function<void(void *)> fill;
};

/// Writes `tensors` in the given order, atomically (a temporary file renamed
/// into place).
llvm::Error
writeSafeTensors(llvm::StringRef path, const std::vector<TensorData> &tensors,
                 const std::map<std::string, std::string> &metadata);

/// `F32`, `F16`, `BF16`, ...: the format's dtype names.
const char *safeTensorsDtype(ElementType type);

} // namespace mnemo

#endif // MNEMO_MODEL_SAFETENSORS_H
