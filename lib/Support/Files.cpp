//===- Files.cpp - Writing files safely ------------------------------------===//

#include "mnemo/Support/Files.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/raw_ostream.h"

namespace mnemo {

llvm::Error
writeFileAtomically(llvm::StringRef path,
                    const std::function<void(llvm::raw_ostream &)> &write) {
  auto fail = [&](const std::string &reason) {
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   path + ": cannot write: " + reason);
  };
  int fd = -1;
  llvm::SmallString<256> temporary;
  if (std::error_code error = llvm::sys::fs::createUniqueFile(
          path + ".%%%%%%.tmp", fd, temporary))
    return fail(error.message());
  {
    llvm::raw_fd_ostream out(fd, /*shouldClose=*/true);
    write(out);
    out.close();
    if (out.has_error()) {
      std::string reason = out.error().message();
      out.clear_error();
      llvm::sys::fs::remove(temporary);
      return fail(reason);
    }
  }
  if (std::error_code error = llvm::sys::fs::rename(temporary, path)) {
    llvm::sys::fs::remove(temporary);
    return fail(error.message());
  }
  return llvm::Error::success();
}

} // namespace mnemo
