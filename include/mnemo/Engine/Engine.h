//===- Engine.h - Load a model, compile its kernels, run sequences -*- C++ -*-//
//
// The runtime of whole models: a loaded model is a model directory, its
// mnemo module (Program.h) compiled for this CPU at load time (through the
// on-disk kernel cache) or linked ahead of time, and the weights bound to
// each layer's arguments. Sequences hold what a sequence needs between calls
// (key and value caches, or Memsizer's memory) and run prefill and decoding
// steps. One loaded model serves any number of sequences, from any number of
// threads; one sequence is used by one thread at a time.
//
// The C API (include/mnemo-c/Runtime.h) is a thin layer over this one.
//
//===----------------------------------------------------------------------===//

#ifndef MNEMO_ENGINE_ENGINE_H
#define MNEMO_ENGINE_ENGINE_H

#include "mnemo/JIT/JIT.h"
#include "mnemo/Model/Model.h"
#include "mnemo/Model/ModelConfig.h"
#include "mnemo/Model/Program.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace mnemo {

struct EngineOptions {
  /// Threads of each call; 0: every core of the machine.
  int64_t threads = 0;
  /// Where compiled kernels are kept between processes. Empty: the default,
  /// `$MNEMO_CACHE_DIR`, else `$XDG_CACHE_HOME/mnemo`, else
  /// `$HOME/.cache/mnemo`.
  std::string cacheDirectory;
  /// Whether to use the on-disk kernel cache at all.
  bool diskCache = true;
  /// Called with a line of progress for long steps (opening and checking the
  /// weights, compiling, preparing layers); null: silent.
  std::function<void(llvm::StringRef)> progress;
};

/// Kernels compiled ahead of time (`mnemoc compile --emit obj|lib`): the
/// manifest and packed entry points that the object's `mnemo_kernels` table
/// holds.
struct AheadOfTimeKernels {
  std::string manifest;
  std::map<std::string, void (*)(void **)> entries;
};

/// A model directory, opened and checked, and its program (Program.h).
struct ImportedModel {
  std::unique_ptr<ModelDirectory> directory;
  std::unique_ptr<ModelProgram> program;
};

/// Opens and checks `dir` and imports its model; `progress` may be null.
llvm::Expected<ImportedModel>
importModelDirectory(llvm::StringRef dir,
                     const std::function<void(llvm::StringRef)> &progress);

/// The threads a call uses by default: every core of the machine.
int64_t defaultThreads();

/// The cache directory `options` stand for ("" when there is none).
std::string kernelCacheDirectory(const EngineOptions &options);

/// The manifest of a model's ahead-of-time kernels: the compiled functions'
/// signatures, with what the kernels were compiled from (the model's
/// program and the target CPU) so that a loader can refuse a mismatch.
std::string aheadOfTimeManifest(const std::string &signatures,
                                const ModelProgram &program,
                                llvm::StringRef target);

class Sequence;

class LoadedModel {
public:
  ~LoadedModel();

  /// Opens and checks `dir`, compiles (or finds in the kernel cache) the
  /// model's kernels for this CPU and prepares every layer's weights.
  static llvm::Expected<std::unique_ptr<LoadedModel>>
  load(llvm::StringRef dir, const EngineOptions &options = {});

  /// The same for a directory already opened and imported.
  static llvm::Expected<std::unique_ptr<LoadedModel>>
  load(ImportedModel imported, const EngineOptions &options = {});

  /// The same with kernels linked ahead of time; fails when they were
  /// compiled for another model configuration or another CPU.
  static llvm::Expected<std::unique_ptr<LoadedModel>>
  load(llvm::StringRef dir, const AheadOfTimeKernels &kernels,
       const EngineOptions &options = {});

  const ModelConfig &config() const;
  int64_t threads() const { return numThreads; }
  /// Seconds spent compiling or loading the kernels.
  double compileSeconds() const;
  /// Whether the kernels came from the on-disk cache.
  bool kernelsFromCache() const;

  /// A new, empty sequence.
  std::unique_ptr<Sequence> newSequence() const;

private:
  friend class Sequence;
  LoadedModel();
  /// A model of `imported` running `compiled`, its weights bound.
  static llvm::Expected<std::unique_ptr<LoadedModel>>
  create(ImportedModel imported, std::shared_ptr<const CompiledModule> compiled,
         const EngineOptions &options);
  llvm::Error bind(const EngineOptions &options);

  struct Function;
  std::unique_ptr<ModelDirectory> directory;
  std::unique_ptr<ModelProgram> program;
  std::shared_ptr<const CompiledModule> compiled;
  /// Widened or realigned copies of weights, by tensor name.
  std::map<std::string, AlignedBuffer> copies;
  std::vector<std::unique_ptr<Function>> functions;
  const Function *embed = nullptr, *head = nullptr;
  std::vector<const Function *> prefillLayers, decodeLayers;
  /// memsizer_seq2seq's encoder and each decoder layer's source memory.
  const Function *encoderEmbed = nullptr, *encoderNorm = nullptr;
  std::vector<const Function *> encoderLayers, crossMemoryLayers;
  int64_t numThreads = 1;
};

/// One sequence of tokens run through a loaded model. Not thread-safe:
/// calls on one sequence must not overlap (different sequences may run at
/// the same time).
class Sequence {
public:
  ~Sequence();

  /// Runs `tokens`, which continue the sequence, through the model. When
  /// `logits` is not null it receives the logits of the last token
  /// (`[vocab]`), or of every token (`[n, vocab]`) when `allRows`. Token ids
  /// must lie in the vocabulary and the sequence within `max_positions`.
  llvm::Error append(llvm::ArrayRef<int64_t> tokens, std::vector<float> *logits,
                     bool allRows = false);

  /// memsizer_seq2seq: runs the encoder over `source` and keeps each
  /// decoder layer's source memory; before the first target token.
  llvm::Error setSource(llvm::ArrayRef<int64_t> source);

  /// Tokens seen so far.
  int64_t length() const { return position; }

private:
  friend class LoadedModel;
  explicit Sequence(const LoadedModel &model);
  llvm::Error reserve(int64_t rows);
  /// Calls `fn` for `layer` with this sequence's buffers bound to its
  /// arguments: the `positions` of the rows it runs, their `tokens` (empty
  /// when `fn` takes none), `input`, and the result into `output`.
  llvm::Error callFunction(const LoadedModel::Function &fn, int64_t layer,
                           llvm::ArrayRef<int64_t> tokens,
                           llvm::ArrayRef<int64_t> positions,
                           const Buffer &input, const Buffer &output) const;
  struct Stack;
  /// Embeds `tokens` (positions from `start`) with `embed` and runs them
  /// through `layers` in turn.
  llvm::Expected<Stack>
  runStack(const LoadedModel::Function &embed,
           llvm::ArrayRef<const LoadedModel::Function *> layers,
           llvm::ArrayRef<int64_t> tokens, int64_t start) const;

  const LoadedModel &model;
  int64_t position = 0;
  int64_t capacity = 0;
  bool failed = false;
  /// Per layer: key and value caches `[capacity, d]`, or Memsizer's `[k, d]`.
  std::vector<AlignedBuffer> keys, values, states;
  /// memsizer_seq2seq: per decoder layer, the source memory `[kc, d]`.
  std::vector<AlignedBuffer> crossMemories;
};

} // namespace mnemo

#endif // MNEMO_ENGINE_ENGINE_H
