//===- JIT.h - Compile mnemo IR for the host and call it --------*- C++ -*-===//
//
// Runs the CPU pipeline of Pipelines.h on a module, compiles it to an object
// file for the host CPU (ObjectCode.h), links it into the process, remembers
// the buffer signature of every function, and calls functions with plain
// pointers and shapes. Compiled modules are cached in-process by the text of
// the module and the options, and, when asked, on disk, so that a
// configuration is compiled once and a model loads fast the second time.
//
//===----------------------------------------------------------------------===//

#ifndef MNEMO_JIT_JIT_H
#define MNEMO_JIT_JIT_H

#include "mnemo/Support/Types.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace llvm {
class MemoryBuffer;
} // namespace llvm

namespace mlir {
class ModuleOp;
} // namespace mlir

namespace mnemo {

/// A dimension whose size is only known at run time.
constexpr int64_t kDynamic = INT64_MIN;

/// The most threads a kernel may be compiled for or run with.
constexpr int64_t kMaxThreads = 1024;

/// The buffer type of one argument of a compiled function.
struct ArgType {
  ElementType element = ElementType::F32;
  std::vector<int64_t> shape; ///< kDynamic for `?`
  bool isWeight = false;      ///< marked `mnemo.weight`
};

/// A function after bufferization: inputs, then one out-parameter per
/// result of the original function.
struct FunctionSignature {
  std::string name;
  std::vector<ArgType> args;
  size_t numOutputs = 0;
  /// The function that prepares this one's weights at load time, if any
  /// (see -mnemo-hoist-weight-ops).
  std::string prepareWeights;
};

/// A contiguous row-major buffer passed to a compiled function.
struct Buffer {
  void *data = nullptr;
  std::vector<int64_t> shape;
};

/// 64-byte aligned storage that frees itself.
class AlignedBuffer {
public:
  AlignedBuffer() = default;
  /// Allocates `bytes`, or fails with an error that names the size when the
  /// memory cannot be had.
  static llvm::Expected<AlignedBuffer> allocate(size_t bytes);
  AlignedBuffer(AlignedBuffer &&other) noexcept { *this = std::move(other); }
  AlignedBuffer &operator=(AlignedBuffer &&other) noexcept;
  AlignedBuffer(const AlignedBuffer &) = delete;
  AlignedBuffer &operator=(const AlignedBuffer &) = delete;
  ~AlignedBuffer();

  void *data() const { return pointer; }
  size_t size() const { return bytes; }

private:
  AlignedBuffer(void *pointer, size_t bytes) : pointer(pointer), bytes(bytes) {}

  void *pointer = nullptr;
  size_t bytes = 0;
};

/// The values a function's weight preparation computed (packed tables,
/// concatenated tables), passed to the function on every call.
struct PreparedWeights {
  std::vector<AlignedBuffer> buffers;
  std::vector<std::vector<int64_t>> shapes;
  size_t bytes() const;
};

/// What to compile for. Zero, -1 and "auto" leave choices to the compiler
/// (and the host's vector width and cache sizes).
struct JITOptions {
  int64_t threads = 1;
  int64_t vectorWidth = 0;
  int64_t tokenTile = 0;
  /// GPU kernels: below this many threads of the Memory Layer's gather,
  /// split its tables across threads; -1: the pipeline's default, 0: never.
  int64_t splitTablesBelow = -1;
  /// GPU kernels: the most attention scores kept in scratch at once (the
  /// queries go in chunks that fit); -1: the pipeline's default, 0: one
  /// thread per (head, query) instead.
  int64_t attentionScores = -1;
  /// CUDA: threads of a block; 0: the pipeline's default.
  int64_t threadsPerBlock = 0;
  int64_t columnTile = 0;
  int64_t tablesPerPass = 0;
  int64_t prefetch = -1;
  std::string parallel = "auto";
  /// Tokens per chunk of Memsizer's prefill; 0: chosen from k.
  int64_t memsizerChunk = 0;
  bool fuse = true;
  bool hoistWeights = true;
  /// Compile the GPU kernels' loop nests for the CPU (to check them).
  bool gpuKernels = false;
  /// What runs the kernels: "cpu", or "cuda" (NVIDIA GPU kernels, launched
  /// by host code through Mnemo's CUDA runtime; buffers passed to `call`
  /// are then device buffers, Runtime/CUDA.h).
  std::string target = "cpu";
  /// The CUDA target's architecture (sm_80, sm_90, ...); empty: the GPU's
  /// own, or sm_90 when there is none.
  std::string chip;
  /// Where compiled modules are kept between processes; empty: nowhere.
  std::string cacheDirectory;
  /// Threads that compile a module's LLVM IR to machine code for the CPU
  /// target, its functions spread over them; 0: $MNEMO_COMPILE_THREADS if
  /// set, else one per CPU this process may run on. Only compile time
  /// depends on it, not the code of any function.
  int64_t compileThreads = 0;

  /// The textual options of the mnemo-lower-to-llvm pipeline these stand for
  /// (with host values filled in), e.g. for `mnemo-opt`.
  std::string pipelineOptions() const;

  /// Checks every value against its range; the error names the field.
  llvm::Error validate() const;

  /// `compileThreads`, with 0 resolved.
  unsigned compileThreadCount() const;
};

class LoadedObject;
struct KernelTable;

/// A module compiled to machine code.
class CompiledModule {
public:
  ~CompiledModule();

  /// The signature of `name`, or null if there is no such function.
  const FunctionSignature *getSignature(llvm::StringRef name) const;
  const std::map<std::string, FunctionSignature> &getSignatures() const {
    return signatures;
  }

  /// Calls `name` with one buffer per argument (out-parameters last).
  /// Checks the number of buffers, their ranks and their static sizes.
  llvm::Error call(llvm::StringRef name, llvm::ArrayRef<Buffer> args) const;

  /// Runs the weight preparation of `name` (nothing when it has none) on
  /// the buffers of its `mnemo.weight` arguments, in order.
  llvm::Expected<PreparedWeights>
  prepareWeights(llvm::StringRef name, llvm::ArrayRef<Buffer> weights) const;

  /// Calls `name` with the buffers of its original arguments and
  /// out-parameters, inserting the prepared weights where they belong.
  llvm::Error callPrepared(llvm::StringRef name,
                           llvm::ArrayRef<Buffer> argsAndOutputs,
                           const PreparedWeights &prepared) const;

  /// Wall time spent compiling (or loading from the disk cache), seconds.
  double compileSeconds() const { return seconds; }
  /// Whether the functions run GPU kernels (the CUDA target): buffers are
  /// device buffers, and `call` waits for the kernels to finish.
  bool onGPU() const { return kernelImage != nullptr; }
  /// Whether the code came from the on-disk cache.
  bool loadedFromCache() const { return fromCache; }

  /// A module linked ahead of time: `manifest` holds its signatures (as an
  /// ahead-of-time object's kernel table does) and `entries` the packed
  /// entry point of each function, by name.
  static llvm::Expected<std::shared_ptr<const CompiledModule>>
  fromEntryPoints(llvm::StringRef manifest,
                  const std::map<std::string, void (*)(void **)> &entries);

private:
  friend llvm::Expected<std::shared_ptr<const CompiledModule>>
  compileModule(mlir::ModuleOp module, const JITOptions &options);
  CompiledModule();

  std::unique_ptr<LoadedObject> code;
  std::map<std::string, FunctionSignature> signatures;
  std::map<std::string, void (*)(void **)> entryPoints;
  /// The embedded GPU kernels (CUDA target), for the CUDA runtime to drop.
  const void *kernelImage = nullptr;
  double seconds = 0.0;
  bool fromCache = false;
};

/// Lowers `module` (mnemo IR on tensors; consumed) with the CPU pipeline and
/// compiles it for the host. Every public function gets a C interface.
llvm::Expected<std::shared_ptr<const CompiledModule>>
compileModule(mlir::ModuleOp module, const JITOptions &options);

/// How far lowerModule goes.
enum class LowerStage {
  Loops, ///< bufferized loops and vector ops (-mnemo-lower-to-loops)
  LLVM,  ///< the LLVM dialect, ready for translation
};

/// Lowers `module` (consumed) with the CPU pipeline down to `stage`, giving
/// every public function a C interface; returns the signature of each
/// public function, as compiled functions take them.
llvm::Expected<std::map<std::string, FunctionSignature>>
lowerModule(mlir::ModuleOp module, const JITOptions &options,
            LowerStage stage = LowerStage::LLVM);

/// The manifest (JSON signatures) an ahead-of-time kernel table carries.
std::string writeSignatureManifest(
    const std::map<std::string, FunctionSignature> &signatures);

/// compileModule through an in-process cache: a module with the same text
/// and options is compiled once and shared.
llvm::Expected<std::shared_ptr<const CompiledModule>>
compileModuleCached(mlir::ModuleOp module, const JITOptions &options);

} // namespace mnemo

#endif // MNEMO_JIT_JIT_H
