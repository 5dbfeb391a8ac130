//===- Build.cpp - What identifies this build of Mnemo --------------------===//
//
// The build ID is read from the loaded image's PT_NOTE segments (found with
// dl_iterate_phdr by the address of this function), not from the file,
// which may have been replaced since the process started.
//
//===----------------------------------------------------------------------===//

#include "mnemo/Support/Build.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/raw_ostream.h"

#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <sys/stat.h>

#include <cstdint>
#include <cstring>

namespace mnemo {
namespace {

/// The image that holds `address`, and its build ID once found.
struct Search {
  uintptr_t address;
  std::string id;
};

/// The NT_GNU_BUILD_ID note among the notes in [begin, end), in hex.
std::string buildIdNote(const char *begin, const char *end) {
  auto align4 = [](size_t n) { return (n + 3) & ~size_t{3}; };
  const char *note = begin;
  while (note + sizeof(ElfW(Nhdr)) <= end) {
    ElfW(Nhdr) header;
    std::memcpy(&header, note, sizeof(header));
    const char *name = note + sizeof(header);
    const char *desc = name + align4(header.n_namesz);
    const char *next = desc + align4(header.n_descsz);
    if (next > end || next <= note)
      break;
    if (header.n_type == NT_GNU_BUILD_ID && header.n_namesz == 4 &&
        std::memcmp(name, "GNU", 4) == 0)
      return llvm::toHex(llvm::StringRef(desc, header.n_descsz),
                         /*LowerCase=*/true);
    note = next;
  }
  return "";
}

int visitImage(dl_phdr_info *info, size_t, void *data) {
  auto *search = static_cast<Search *>(data);
  bool holds = false;
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr) &segment = info->dlpi_phdr[i];
    uintptr_t start = info->dlpi_addr + segment.p_vaddr;
    if (segment.p_type == PT_LOAD && search->address >= start &&
        search->address - start < segment.p_memsz)
      holds = true;
  }
  if (!holds)
    return 0;
  for (int i = 0; i < info->dlpi_phnum && search->id.empty(); ++i) {
    const ElfW(Phdr) &segment = info->dlpi_phdr[i];
    if (segment.p_type != PT_NOTE)
      continue;
    const char *begin =
        reinterpret_cast<const char *>(info->dlpi_addr + segment.p_vaddr);
    search->id = buildIdNote(begin, begin + segment.p_memsz);
  }
  return 1;
}

} // namespace

std::string buildIdentity() {
  static const std::string identity = [] {
    Search search{reinterpret_cast<uintptr_t>(&buildIdentity), ""};
    dl_iterate_phdr(visitImage, &search);
    if (!search.id.empty())
      return search.id;
    Dl_info info;
    struct stat status;
    if (!dladdr(reinterpret_cast<void *>(&buildIdentity), &info) ||
        !info.dli_fname || stat(info.dli_fname, &status) != 0)
      return std::string("unknown");
    std::string text;
    llvm::raw_string_ostream os(text);
    os << info.dli_fname << " " << status.st_size << " "
       << status.st_mtim.tv_sec << "." << status.st_mtim.tv_nsec;
    return text;
  }();
  return identity;
}

} // namespace mnemo
