//===- Npy.cpp - NumPy .npy files -------------------------------*- C++ -*-===//
//
// Format (numpy.lib.format): the magic "\x93NUMPY", a major and a minor
// version byte, the header length (2 bytes little-endian in 1.0, 4 bytes in
// 2.0 and 3.0), then the header: a Python dict literal with the keys
// 'descr', 'fortran_order' and 'shape', padded with spaces and ended by a
// newline. The data follows, exactly product(shape) * itemsize bytes.
//
//===----------------------------------------------------------------------===//

#include "mnemo/Support/Npy.h"

#include "mnemo/Support/Files.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

#include <cstring>

namespace mnemo {

namespace {

llvm::Error fail(llvm::StringRef name, const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                 name + ": " + message);
}

/// Files larger than this are refused: 64 GiB of data.
constexpr uint64_t kMaxDataBytes = uint64_t{64} << 30;

/// A tiny cursor over the header's Python literal.
class HeaderParser {
public:
  explicit HeaderParser(llvm::StringRef text) : text(text) {}

  void skipSpace() { text = text.ltrim(" \t\r\n"); }
  bool consume(llvm::StringRef token) {
    skipSpace();
    return text.consume_front(token);
  }
  bool atEnd() {
    skipSpace();
    return text.empty();
  }
  /// A Python string in single or double quotes.
  std::optional<std::string> string() {
    skipSpace();
    if (text.empty() || (text.front() != '\'' && text.front() != '"'))
      return std::nullopt;
    char quote = text.front();
    size_t end = text.find(quote, 1);
    if (end == llvm::StringRef::npos)
      return std::nullopt;
    std::string value = text.substr(1, end - 1).str();
    text = text.drop_front(end + 1);
    return value;
  }
  std::optional<int64_t> integer() {
    skipSpace();
    size_t length = 0;
    while (length < text.size() && llvm::isDigit(text[length]))
      ++length;
    if (length == 0 || length > 18)
      return std::nullopt;
    int64_t value = 0;
    if (text.take_front(length).getAsInteger(10, value))
      return std::nullopt;
    // Python allows an L suffix in old files.
    text = text.drop_front(length);
    text.consume_front("L");
    return value;
  }
  llvm::StringRef rest() const { return text; }

private:
  llvm::StringRef text;
};

std::optional<NpyType> typeFromDescr(llvm::StringRef descr) {
  // '<' little-endian, '|' not applicable, '=' native (little on the hosts
  // Mnemo supports).
  if (descr.size() < 2)
    return std::nullopt;
  char order = descr.front();
  if (order != '<' && order != '|' && order != '=')
    return std::nullopt;
  llvm::StringRef kind = descr.drop_front();
  if (kind == "f4")
    return NpyType::F32;
  if (kind == "f2")
    return NpyType::F16;
  if (kind == "f8")
    return NpyType::F64;
  if (kind == "i8")
    return NpyType::I64;
  if (kind == "i4")
    return NpyType::I32;
  if (kind == "u2")
    return NpyType::U16;
  if (kind == "b1")
    return NpyType::Bool;
  return std::nullopt;
}

} // namespace

llvm::StringRef npyDescr(NpyType type) {
  switch (type) {
  case NpyType::F32:
    return "<f4";
  case NpyType::F16:
    return "<f2";
  case NpyType::F64:
    return "<f8";
  case NpyType::I64:
    return "<i8";
  case NpyType::I32:
    return "<i4";
  case NpyType::U16:
    return "<u2";
  case NpyType::Bool:
    return "|b1";
  }
  return "";
}

llvm::StringRef npyTypeName(NpyType type) {
  switch (type) {
  case NpyType::F32:
    return "float32";
  case NpyType::F16:
    return "float16";
  case NpyType::F64:
    return "float64";
  case NpyType::I64:
    return "int64";
  case NpyType::I32:
    return "int32";
  case NpyType::U16:
    return "uint16";
  case NpyType::Bool:
    return "bool";
  }
  return "";
}

int64_t npyItemSize(NpyType type) {
  switch (type) {
  case NpyType::F64:
  case NpyType::I64:
    return 8;
  case NpyType::F32:
  case NpyType::I32:
    return 4;
  case NpyType::F16:
  case NpyType::U16:
    return 2;
  case NpyType::Bool:
    return 1;
  }
  return 0;
}

int64_t NpyArray::numElements() const {
  int64_t count = 1;
  for (int64_t dim : shape)
    count *= dim;
  return count;
}

llvm::Expected<NpyArray> parseNpy(llvm::StringRef name,
                                  llvm::ArrayRef<uint8_t> file) {
  static const uint8_t magic[] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
  if (file.size() < 10 || std::memcmp(file.data(), magic, 6) != 0)
    return fail(name, "not a .npy file (the magic string \\x93NUMPY is "
                      "missing)");
  uint8_t major = file[6];
  if (major < 1 || major > 3)
    return fail(name, "unsupported .npy version " + llvm::Twine(int(major)) +
                          "." + llvm::Twine(int(file[7])));
  size_t lengthBytes = major == 1 ? 2 : 4;
  size_t headerStart = 8 + lengthBytes;
  if (file.size() < headerStart)
    return fail(name, "truncated .npy header");
  uint64_t headerLength = file[8] | (uint64_t(file[9]) << 8);
  if (major > 1)
    headerLength |= (uint64_t(file[10]) << 16) | (uint64_t(file[11]) << 24);
  if (headerLength > file.size() - headerStart)
    return fail(name, "header length " + llvm::Twine(headerLength) +
                          " runs past the end of the file (" +
                          llvm::Twine(file.size()) + " bytes)");
  llvm::StringRef header(
      reinterpret_cast<const char *>(file.data()) + headerStart, headerLength);

  HeaderParser parser(header);
  if (!parser.consume("{"))
    return fail(name, "header is not a Python dict");
  std::optional<NpyType> type;
  std::optional<bool> fortranOrder;
  std::optional<std::vector<int64_t>> shape;
  while (!parser.consume("}")) {
    std::optional<std::string> key = parser.string();
    if (!key || !parser.consume(":"))
      return fail(name, "malformed header near '" +
                            parser.rest().take_front(20) + "'");
    if (*key == "descr") {
      std::optional<std::string> descr = parser.string();
      if (!descr)
        return fail(name, "header field 'descr' is not a string");
      if (llvm::StringRef(*descr).starts_with(">"))
        return fail(name,
                    "big-endian data ('" + *descr + "') is not supported");
      type = typeFromDescr(*descr);
      if (!type)
        return fail(name, "unsupported dtype '" + *descr + "'");
    } else if (*key == "fortran_order") {
      if (parser.consume("False"))
        fortranOrder = false;
      else if (parser.consume("True"))
        fortranOrder = true;
      else
        return fail(name, "header field 'fortran_order' is not True or False");
    } else if (*key == "shape") {
      if (!parser.consume("("))
        return fail(name, "header field 'shape' is not a tuple");
      std::vector<int64_t> dims;
      while (!parser.consume(")")) {
        std::optional<int64_t> dim = parser.integer();
        if (!dim)
          return fail(name, "header field 'shape' has a dimension that is "
                            "not a non-negative integer");
        dims.push_back(*dim);
        if (!parser.consume(",")) {
          if (!parser.consume(")"))
            return fail(name, "header field 'shape' is not a tuple");
          break;
        }
      }
      if (dims.size() > 8)
        return fail(name, "shape has " + llvm::Twine(dims.size()) +
                              " dimensions; at most 8 are supported");
      shape = std::move(dims);
    } else {
      return fail(name, "unexpected header field '" + *key + "'");
    }
    if (!parser.consume(",")) {
      if (!parser.consume("}"))
        return fail(name, "malformed header near '" +
                              parser.rest().take_front(20) + "'");
      break;
    }
  }
  if (!type)
    return fail(name, "header has no 'descr'");
  if (!fortranOrder)
    return fail(name, "header has no 'fortran_order'");
  if (!shape)
    return fail(name, "header has no 'shape'");
  if (*fortranOrder)
    return fail(name, "Fortran-ordered arrays are not supported (save a C-"
                      "ordered array, e.g. with numpy.ascontiguousarray)");

  NpyArray array;
  array.type = *type;
  array.shape = std::move(*shape);
  uint64_t bytes = static_cast<uint64_t>(npyItemSize(array.type));
  for (int64_t dim : array.shape) {
    if (dim != 0 && bytes > kMaxDataBytes / static_cast<uint64_t>(dim))
      return fail(name, "shape describes more than 64 GiB of data");
    bytes *= static_cast<uint64_t>(dim);
  }
  uint64_t available = file.size() - headerStart - headerLength;
  if (available < bytes)
    return fail(name, "truncated: the shape needs " + llvm::Twine(bytes) +
                          " bytes of data, the file has " +
                          llvm::Twine(available));
  if (available > bytes)
    return fail(name, llvm::Twine(available - bytes) +
                          " bytes follow the data the shape describes");
  const uint8_t *data = file.data() + headerStart + headerLength;
  array.bytes.assign(data, data + bytes);
  return std::move(array);
}

llvm::Expected<NpyArray> readNpy(llvm::StringRef path) {
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                            /*RequiresNullTerminator=*/false);
  if (!buffer)
    return fail(path, "cannot read: " + buffer.getError().message());
  llvm::StringRef contents = (*buffer)->getBuffer();
  return parseNpy(path, llvm::ArrayRef<uint8_t>(
                            reinterpret_cast<const uint8_t *>(contents.data()),
                            contents.size()));
}

llvm::Error writeNpy(llvm::StringRef path, NpyType type,
                     llvm::ArrayRef<int64_t> shape, const void *data) {
  // Python's repr of the shape tuple: (), (5,) or (2, 3).
  std::string tuple = "(";
  int64_t count = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    tuple += (i ? ", " : "") + std::to_string(shape[i]);
    count *= shape[i];
  }
  tuple += shape.size() == 1 ? ",)" : ")";
  std::string header = "{'descr': '" + npyDescr(type).str() +
                       "', 'fortran_order': False, 'shape': " + tuple + ", }";
  // Pad with spaces so that the data starts on a 64-byte boundary.
  size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';

  return writeFileAtomically(path, [&](llvm::raw_ostream &out) {
    out.write("\x93NUMPY\x01\x00", 8);
    uint16_t length = static_cast<uint16_t>(header.size());
    char lengthBytes[2] = {static_cast<char>(length & 0xff),
                           static_cast<char>(length >> 8)};
    out.write(lengthBytes, 2);
    out << header;
    out.write(static_cast<const char *>(data),
              static_cast<size_t>(count * npyItemSize(type)));
  });
}

} // namespace mnemo
