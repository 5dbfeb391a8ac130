//===- KernelCache.h - Compiled modules on disk -----------------*- C++ -*-===//
//
// The on-disk cache of compiled modules, and the manifest (function
// signatures) that travels with every object file: in a cache entry, and in
// an ahead-of-time object's kernel table.
//
// A cache entry is one file, `<dir>/<hash>.mnemo-kernels`:
//
//   "MNEMOKC2"            magic and format version
//   u64 n, n bytes        the key: everything the code depends on (the mnemo
//                         IR, the pipeline options, the host CPU and its
//                         features, Mnemo's and LLVM's versions)
//   u64 n, n bytes        the manifest (JSON)
//   u64 m                 the number of object files (at least 1), which
//                         link together (compileToObjects)
//   m x (u64 n, n bytes)  the object files
//   u64                   XXH3-64 of all the bytes before it
//
// Entries are written to a temporary file and renamed into place, so that
// concurrent writers and readers never see a partial file; a reader that
// finds a bad magic, a wrong length, a wrong checksum or another key treats
// the entry as absent (it is recompiled and overwritten).
//
//===----------------------------------------------------------------------===//

#ifndef MNEMO_LIB_JIT_KERNELCACHE_H
#define MNEMO_LIB_JIT_KERNELCACHE_H

#include "mnemo/JIT/JIT.h"

#include "llvm/Support/MemoryBuffer.h"

#include <map>
#include <optional>
#include <vector>

namespace mnemo {

using SignatureMap = std::map<std::string, FunctionSignature>;

/// The manifest of a compiled module: its signatures as JSON.
std::string writeManifest(const SignatureMap &signatures);
llvm::Expected<SignatureMap> readManifest(llvm::StringRef json);

struct CacheEntry {
  std::string manifest;
  std::vector<std::unique_ptr<llvm::MemoryBuffer>> objects;
};

/// The path of the entry for `key` in `directory`.
std::string cacheEntryPath(llvm::StringRef directory, llvm::StringRef key);

/// The entry at `path` if it is intact and was made for `key`.
std::optional<CacheEntry> readCacheEntry(llvm::StringRef path,
                                         llvm::StringRef key);

/// Writes an entry atomically; creates `path`'s directory if needed.
llvm::Error
writeCacheEntry(llvm::StringRef path, llvm::StringRef key,
                llvm::StringRef manifest,
                llvm::ArrayRef<std::unique_ptr<llvm::MemoryBuffer>> objects);

} // namespace mnemo

#endif // MNEMO_LIB_JIT_KERNELCACHE_H
