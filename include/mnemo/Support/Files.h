//===- Files.h - Writing files safely ---------------------------*- C++ -*-===//

#ifndef MNEMO_SUPPORT_FILES_H
#define MNEMO_SUPPORT_FILES_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <functional>

namespace llvm {
class raw_ostream;
} // namespace llvm

namespace mnemo {

/// Writes `path` through `write` into a temporary file beside it, then
/// renames the temporary over `path`, so that readers (and a failed or
/// concurrent writer) never see a partial file. Errors read
/// `<path>: cannot write: <reason>`; on error nothing is left behind.
llvm::Error writeFileAtomically(llvm::StringRef path,
                                const std::function<void(llvm::raw_ostream &)> &write);

} // namespace mnemo

#endif // MNEMO_SUPPORT_FILES_H
