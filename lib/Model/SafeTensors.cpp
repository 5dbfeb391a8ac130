//===- SafeTensors.cpp - The safetensors weight format --------------------===//

#include "mnemo/Model/SafeTensors.h"

#include "mnemo/Support/Files.h"
#include "mnemo/Support/Float16.h"

#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstring>

namespace mnemo {

namespace {

using Json = nlohmann::json;

llvm::Error makeError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

/// The format's dtype names and what Mnemo makes of them.
struct DtypeName {
  const char *name;
  std::optional<ElementType> type; ///< none: known, but not a weight type
};
constexpr DtypeName kDtypes[] = {
    {"F32", ElementType::F32},   {"F16", ElementType::F16},
    {"BF16", ElementType::BF16}, {"F64", std::nullopt},
    {"I64", std::nullopt},       {"I32", std::nullopt},
    {"I16", std::nullopt},       {"I8", std::nullopt},
    {"U64", std::nullopt},       {"U32", std::nullopt},
    {"U16", std::nullopt},       {"U8", std::nullopt},
    {"BOOL", std::nullopt},      {"F8_E4M3", std::nullopt},
    {"F8_E5M2", std::nullopt},
};

std::string shapeText(const std::vector<int64_t> &shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

/// The largest dimension and element count accepted: far beyond any weight,
/// small enough that byte counts cannot overflow.
constexpr uint64_t kMaxElements = uint64_t{1} << 44;

} // namespace

int64_t TensorView::numElements() const {
  int64_t count = 1;
  for (int64_t dim : shape)
    count *= dim;
  return count;
}

void TensorView::widenToF32(float *out) const {
  const uint8_t *bytes = static_cast<const uint8_t *>(data);
  int64_t count = numElements();
  if (dtype == ElementType::F32) {
    std::memcpy(out, bytes, static_cast<size_t>(count) * 4);
    return;
  }
  for (int64_t i = 0; i < count; ++i) {
    uint16_t bits;
    std::memcpy(&bits, bytes + 2 * i, 2);
    out[i] = dtype == ElementType::F16 ? halfToFloat(bits) : bf16ToFloat(bits);
  }
}

const char *safeTensorsDtype(ElementType type) {
  for (const DtypeName &d : kDtypes)
    if (d.type && *d.type == type)
      return d.name;
  return "?";
}

SafeTensorsFile::~SafeTensorsFile() = default;

const TensorView *SafeTensorsFile::find(llvm::StringRef name) const {
  auto it = byName.find(name.str());
  return it == byName.end() ? nullptr : &views[it->second];
}

llvm::Expected<std::unique_ptr<SafeTensorsFile>>
SafeTensorsFile::open(llvm::StringRef path) {
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                            /*RequiresNullTerminator=*/false);
  if (!buffer)
    return makeError(path + ": cannot read: " + buffer.getError().message());
  return parse(path, std::move(*buffer));
}

llvm::Expected<std::unique_ptr<SafeTensorsFile>>
SafeTensorsFile::parse(llvm::StringRef path,
                       std::unique_ptr<llvm::MemoryBuffer> buffer) {
  llvm::StringRef bytes = buffer->getBuffer();
  if (bytes.size() < 8)
    return makeError(path + ": the file has " + llvm::Twine(bytes.size()) +
                     " bytes; a safetensors file starts with an 8-byte header "
                     "length");
  uint64_t headerLength = 0;
  for (int i = 7; i >= 0; --i)
    headerLength = headerLength << 8 | static_cast<uint8_t>(bytes[i]);
  if (headerLength > bytes.size() - 8)
    return makeError(path + ": header length " + llvm::Twine(headerLength) +
                     " runs past the end of the file (" +
                     llvm::Twine(bytes.size()) + " bytes)");
  if (headerLength > kMaxSafeTensorsHeader)
    return makeError(path + ": header length " + llvm::Twine(headerLength) +
                     " exceeds the format's limit of 100 MiB");
  llvm::StringRef headerText = bytes.substr(8, headerLength);
  const char *data = bytes.data() + 8 + headerLength;
  uint64_t dataSize = bytes.size() - 8 - headerLength;

  Json header;
  bool tooDeep = false;
  try {
    header = Json::parse(
        headerText.begin(), headerText.end(),
        [&](int depth, Json::parse_event_t, Json &) {
          if (depth > 4)
            tooDeep = true;
          return depth <= 4;
        },
        /*allow_exceptions=*/true);
  } catch (const Json::exception &e) {
    std::string what = e.what();
    size_t tag = what.find("] ");
    return makeError(path + ": header is not valid JSON: " +
                     (tag == std::string::npos ? what : what.substr(tag + 2)));
  }
  if (tooDeep || !header.is_object())
    return makeError(path + ": header is not a JSON object of tensors");

  auto file = std::unique_ptr<SafeTensorsFile>(new SafeTensorsFile());
  file->filePath = path.str();
  struct Extent {
    uint64_t begin, end;
    size_t view;
  };
  std::vector<Extent> extents;
  for (auto &item : header.items()) {
    const std::string &name = item.key();
    const Json &entry = item.value();
    if (name == "__metadata__") {
      if (!entry.is_object())
        return makeError(path + ": __metadata__ must be an object of strings");
      for (auto &[key, value] : entry.items()) {
        if (!value.is_string())
          return makeError(path + ": __metadata__." + key +
                           ": expected a string");
        file->meta[key] = value.get<std::string>();
      }
      continue;
    }
    auto fail = [&](const llvm::Twine &message) {
      return makeError(path + ": tensor '" + name + "': " + message);
    };
    if (!entry.is_object())
      return fail("expected an object with dtype, shape and data_offsets");
    auto dtype = entry.find("dtype");
    auto shape = entry.find("shape");
    auto offsets = entry.find("data_offsets");
    if (dtype == entry.end() || !dtype->is_string())
      return fail("missing or non-string dtype");
    if (shape == entry.end() || !shape->is_array())
      return fail("missing shape (an array of sizes)");
    if (offsets == entry.end() || !offsets->is_array() ||
        offsets->size() != 2 || !(*offsets)[0].is_number_unsigned() ||
        !(*offsets)[1].is_number_unsigned())
      return fail("data_offsets must be two non-negative integers");

    TensorView view;
    view.name = name;
    std::string dtypeText = dtype->get<std::string>();
    const DtypeName *known = nullptr;
    for (const DtypeName &d : kDtypes)
      if (dtypeText == d.name)
        known = &d;
    if (!known)
      return fail("unknown dtype '" + dtypeText + "'");
    if (!known->type)
      return fail("dtype " + dtypeText +
                  " is not a weight type (Mnemo reads F32, F16 and BF16)");
    view.dtype = *known->type;

    uint64_t elements = 1;
    for (const Json &dim : *shape) {
      if (!dim.is_number_unsigned())
        return fail("shape must hold non-negative integers, got " +
                    shape->dump());
      if (dim.get<uint64_t>() > kMaxElements)
        return fail("shape " + shape->dump() + " is too large");
      view.shape.push_back(static_cast<int64_t>(dim.get<uint64_t>()));
      elements = elements == 0 ? 0 : elements * dim.get<uint64_t>();
      if (elements > kMaxElements)
        return fail("shape " + shape->dump() + " is too large");
    }
    uint64_t begin = (*offsets)[0].get<uint64_t>();
    uint64_t end = (*offsets)[1].get<uint64_t>();
    if (begin > end)
      return fail(llvm::formatv("data_offsets [{0}, {1}] end before they begin",
                                begin, end)
                      .str());
    if (end > dataSize)
      return fail(llvm::formatv("data_offsets [{0}, {1}] run past the end of "
                                "the data ({2} bytes)",
                                begin, end, dataSize)
                      .str());
    uint64_t needed = elements * elementBytes(view.dtype);
    if (end - begin != needed)
      return fail(llvm::formatv("data_offsets [{0}, {1}] hold {2} bytes; "
                                "shape {3} of {4} needs {5}",
                                begin, end, end - begin, shapeText(view.shape),
                                dtypeText, needed)
                      .str());
    view.data = data + begin;
    view.bytes = needed;
    extents.push_back({begin, end, file->views.size()});
    file->views.push_back(std::move(view));
  }

  // The tensors must cover the data exactly: no overlaps, no gaps.
  std::sort(extents.begin(), extents.end(),
            [](const Extent &a, const Extent &b) {
              return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
            });
  uint64_t covered = 0;
  const TensorView *previous = nullptr;
  for (const Extent &extent : extents) {
    const TensorView &view = file->views[extent.view];
    if (extent.begin < covered)
      return makeError(path + ": tensors '" + previous->name + "' and '" +
                       view.name +
                       "' overlap (their data_offsets share bytes " +
                       llvm::Twine(extent.begin) + " to " +
                       llvm::Twine(std::min(covered, extent.end)) + ")");
    if (extent.begin > covered)
      return makeError(path + ": bytes " + llvm::Twine(covered) + " to " +
                       llvm::Twine(extent.begin) +
                       " of the data belong to no tensor");
    covered = extent.end;
    previous = &view;
  }
  if (covered != dataSize)
    return makeError(path + ": the last " + llvm::Twine(dataSize - covered) +
                     " bytes of the data belong to no tensor");

  // Views in file order, indexed by name.
  std::vector<TensorView> ordered;
  for (const Extent &extent : extents)
    ordered.push_back(std::move(file->views[extent.view]));
  file->views = std::move(ordered);
  for (size_t i = 0; i < file->views.size(); ++i)
    file->byName[file->views[i].name] = i;
  file->buffer = std::move(buffer);
  return std::move(file);
}

llvm::Error
writeSafeTensors(llvm::StringRef path, const std::vector<TensorData> &tensors,
                 const std::map<std::string, std::string> &metadata) {
  Json header = Json::object();
  if (!metadata.empty())
    header["__metadata__"] = metadata;
  uint64_t offset = 0;
  std::vector<uint64_t> sizes;
  for (const TensorData &tensor : tensors) {
    uint64_t count = 1;
    for (int64_t dim : tensor.shape)
      count *= static_cast<uint64_t>(dim);
    uint64_t size = count * elementBytes(tensor.dtype);
    header[tensor.name] = {{"dtype", safeTensorsDtype(tensor.dtype)},
                           {"shape", tensor.shape},
                           {"data_offsets", {offset, offset + size}}};
    sizes.push_back(size);
    offset += size;
  }
  std::string text = header.dump();
  // Pad with spaces so that the data starts 8-byte aligned.
  text.append((8 - text.size() % 8) % 8, ' ');

  return writeFileAtomically(path, [&](llvm::raw_ostream &out) {
    uint64_t length = text.size();
    char lengthBytes[8];
    for (int i = 0; i < 8; ++i)
      lengthBytes[i] = static_cast<char>(length >> (8 * i) & 0xff);
    out.write(lengthBytes, 8);
    out << text;
    for (size_t i = 0; i < tensors.size(); ++i) {
      if (tensors[i].data) {
        out.write(static_cast<const char *>(tensors[i].data), sizes[i]);
        continue;
      }
      std::vector<char> bytes(sizes[i]);
      tensors[i].fill(bytes.data());
      out.write(bytes.data(), bytes.size());
    }
  });
}

} // namespace mnemo
