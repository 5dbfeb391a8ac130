//===- ObjectCode.h - Object files from mnemo IR, and loading them -*- C++ -*-//
//
// The back end shared by the JIT, the on-disk kernel cache and ahead-of-time
// compilation: an LLVM-dialect module becomes one object file for the host
// CPU (LLVM -O2, with a packed entry point `_mlir__mlir_ciface_<f>(void **)`
// for every C-interface function), which is either written out or linked
// into the process with ORC. The JIT compiles a module's functions on
// several threads, as several objects linked together.
//
//===----------------------------------------------------------------------===//

#ifndef MNEMO_JIT_OBJECTCODE_H
#define MNEMO_JIT_OBJECTCODE_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/MemoryBuffer.h"

#include <memory>
#include <string>
#include <vector>

namespace llvm {
class LLVMContext;
class Module;
namespace orc {
class LLJIT;
} // namespace orc
} // namespace llvm

namespace mlir {
class ModuleOp;
} // namespace mlir

namespace mnemo {

/// The packed entry point of C-interface function `name`.
std::string packedEntryName(llvm::StringRef name);

/// The global holding a module's GPU kernels (PTX or cubin) after
/// translation: the image of `gpu.binary @mnemo_kernels`, which
/// -mnemo-merge-gpu-modules makes the only one.
constexpr const char *kKernelImageSymbol = "mnemo_kernels_bin_cst";

/// What an ahead-of-time object exports besides its functions: a function
/// `<symbol>()` that returns a `mnemo_kernels` table (see
/// include/mnemo-c/Runtime.h) holding `manifest` and the packed entry
/// points of `entries`.
struct KernelTable {
  std::string symbol;
  std::string manifest;
  std::vector<std::string> entries;
};

/// Translates an LLVM-dialect module to LLVM IR for the host, optimized at
/// -O2, with packed entry points (and `table`, if given).
llvm::Expected<std::unique_ptr<llvm::Module>>
translateForHost(mlir::ModuleOp module, llvm::LLVMContext &context,
                 const KernelTable *table = nullptr);

/// Compiles an LLVM-dialect module to a host object file.
llvm::Expected<std::unique_ptr<llvm::MemoryBuffer>>
compileToObject(mlir::ModuleOp module, const KernelTable *table = nullptr);

/// Compiles an LLVM-dialect module to host object files that link together,
/// on up to `threads` threads: with more than one, the module's functions
/// are spread over as many parts, each optimized and compiled on its own
/// thread (one object per part). The code of each function is what
/// `compileToObject` makes of it.
llvm::Expected<std::vector<std::unique_ptr<llvm::MemoryBuffer>>>
compileToObjects(mlir::ModuleOp module, unsigned threads);

/// The host CPU as the code is compiled for it: "<cpu> <+feature,...>".
std::string hostTargetDescription();

/// An object file linked into this process; functions stay callable while
/// it lives.
class LoadedObject {
public:
  ~LoadedObject();

  /// Links `objects` together, resolving what else they call in Mnemo's
  /// runtime, OpenMP and the C library.
  static llvm::Expected<std::unique_ptr<LoadedObject>>
  load(std::vector<std::unique_ptr<llvm::MemoryBuffer>> objects);

  /// The packed entry point of C-interface function `name`.
  llvm::Expected<void (*)(void **)> lookupPacked(llvm::StringRef name) const;
  /// The address of global `name`, or null when the object has none.
  void *lookupData(llvm::StringRef name) const;

private:
  LoadedObject() = default;
  std::unique_ptr<llvm::orc::LLJIT> jit;
};

} // namespace mnemo

#endif // MNEMO_JIT_OBJECTCODE_H
