//===- KernelCache.cpp - Compiled modules on disk -------------------------===//

#include "KernelCache.h"

#include "mnemo/Support/Files.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Support/xxhash.h"

#include <nlohmann/json.hpp>

#include <cstring>

namespace mnemo {

namespace {

using Json = nlohmann::json;

constexpr char kMagic[8] = {'M', 'N', 'E', 'M', 'O', 'K', 'C', '2'};

llvm::Error makeError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

std::optional<ElementType> parseElementType(const std::string &name) {
  for (ElementType type :
       {ElementType::F32, ElementType::F16, ElementType::BF16, ElementType::I64,
        ElementType::I32, ElementType::I1})
    if (name == elementTypeName(type))
      return type;
  return std::nullopt;
}

} // namespace

std::string writeManifest(const SignatureMap &signatures) {
  Json functions = Json::array();
  for (const auto &[name, signature] : signatures) {
    Json args = Json::array();
    for (const ArgType &arg : signature.args) {
      Json shape = Json::array();
      for (int64_t dim : arg.shape)
        shape.push_back(dim == kDynamic ? int64_t{-1} : dim);
      args.push_back({{"type", elementTypeName(arg.element)},
                      {"shape", shape},
                      {"weight", arg.isWeight}});
    }
    functions.push_back({{"name", name},
                         {"outputs", signature.numOutputs},
                         {"prepare", signature.prepareWeights},
                         {"args", args}});
  }
  return Json{{"version", 1}, {"functions", functions}}.dump();
}

llvm::Expected<SignatureMap> readManifest(llvm::StringRef text) {
  // Exceptions are enabled in this library for nlohmann-json: any type
  // mismatch in a corrupt manifest ends up here.
  try {
    Json json = Json::parse(text.begin(), text.end());
    if (json.at("version").get<int>() != 1)
      return makeError("unsupported manifest version");
    SignatureMap signatures;
    for (const Json &function : json.at("functions")) {
      FunctionSignature signature;
      signature.name = function.at("name").get<std::string>();
      signature.numOutputs = function.at("outputs").get<size_t>();
      signature.prepareWeights = function.at("prepare").get<std::string>();
      for (const Json &arg : function.at("args")) {
        ArgType type;
        auto element = parseElementType(arg.at("type").get<std::string>());
        if (!element)
          return makeError("manifest: unknown element type");
        type.element = *element;
        for (const Json &dim : arg.at("shape")) {
          int64_t size = dim.get<int64_t>();
          type.shape.push_back(size == -1 ? kDynamic : size);
        }
        type.isWeight = arg.at("weight").get<bool>();
        signature.args.push_back(std::move(type));
      }
      if (signature.numOutputs > signature.args.size())
        return makeError("manifest: @" + signature.name +
                         " has more outputs than arguments");
      signatures[signature.name] = std::move(signature);
    }
    return signatures;
  } catch (const Json::exception &e) {
    return makeError(llvm::Twine("manifest: ") + e.what());
  }
}

std::string cacheEntryPath(llvm::StringRef directory, llvm::StringRef key) {
  llvm::SmallString<256> path(directory);
  std::string name;
  llvm::raw_string_ostream os(name);
  os << llvm::format_hex_no_prefix(llvm::xxh3_64bits(key), 16)
     << ".mnemo-kernels";
  llvm::sys::path::append(path, name);
  return std::string(path);
}

std::optional<CacheEntry> readCacheEntry(llvm::StringRef path,
                                         llvm::StringRef key) {
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                            /*RequiresNullTerminator=*/false);
  if (!buffer)
    return std::nullopt;
  llvm::StringRef bytes = (*buffer)->getBuffer();
  if (bytes.size() < sizeof(kMagic) + 8 ||
      std::memcmp(bytes.data(), kMagic, sizeof(kMagic)) != 0)
    return std::nullopt;
  uint64_t checksum;
  std::memcpy(&checksum, bytes.end() - 8, 8);
  if (llvm::xxh3_64bits(bytes.drop_back(8)) != checksum)
    return std::nullopt;
  // Fields as writeCacheEntry appends them: u64s, and u64-prefixed bytes,
  // all before the checksum.
  size_t offset = sizeof(kMagic);
  auto u64 = [&]() -> std::optional<uint64_t> {
    if (bytes.size() - 8 - offset < 8)
      return std::nullopt;
    uint64_t value;
    std::memcpy(&value, bytes.data() + offset, 8);
    offset += 8;
    return value;
  };
  auto field = [&]() -> std::optional<llvm::StringRef> {
    std::optional<uint64_t> length = u64();
    if (!length || *length > bytes.size() - 8 - offset)
      return std::nullopt;
    llvm::StringRef value = bytes.substr(offset, *length);
    offset += *length;
    return value;
  };
  auto storedKey = field();
  auto manifest = field();
  auto count = u64();
  // Each object takes at least its 8-byte length: a count beyond that is
  // damage, not a reason to reserve memory.
  if (!storedKey || !manifest || *storedKey != key || !count || *count == 0 ||
      *count > (bytes.size() - 8 - offset) / 8)
    return std::nullopt;
  CacheEntry entry;
  entry.manifest = manifest->str();
  for (uint64_t i = 0; i < *count; ++i) {
    auto object = field();
    if (!object)
      return std::nullopt;
    entry.objects.push_back(
        llvm::MemoryBuffer::getMemBufferCopy(*object, path));
  }
  if (offset != bytes.size() - 8)
    return std::nullopt;
  return entry;
}

llvm::Error
writeCacheEntry(llvm::StringRef path, llvm::StringRef key,
                llvm::StringRef manifest,
                llvm::ArrayRef<std::unique_ptr<llvm::MemoryBuffer>> objects) {
  if (std::error_code error =
          llvm::sys::fs::create_directories(llvm::sys::path::parent_path(path)))
    return makeError(path +
                     ": cannot create its directory: " + error.message());
  std::string bytes(kMagic, sizeof(kMagic));
  auto append = [&](uint64_t value) {
    bytes.append(reinterpret_cast<const char *>(&value), 8);
  };
  auto appendField = [&](llvm::StringRef field) {
    append(field.size());
    bytes.append(field.data(), field.size());
  };
  appendField(key);
  appendField(manifest);
  append(objects.size());
  for (const auto &object : objects)
    appendField(object->getBuffer());
  uint64_t checksum = llvm::xxh3_64bits(llvm::StringRef(bytes));
  bytes.append(reinterpret_cast<const char *>(&checksum), 8);
  return writeFileAtomically(path,
                             [&](llvm::raw_ostream &out) { out << bytes; });
}

} // namespace mnemo
