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

#include "mnemo/Engine/Placement.h"
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
  /// Run the GPU kernels' loop nests (one iteration per GPU thread) on this
  /// CPU instead of the CPU kernels: slow, for checking the GPU code
  /// generation against lib/Reference on machines without a GPU.
  bool gpuKernelsOnCPU = false;
  /// What runs the kernels: "cpu", or "cuda" (the first NVIDIA GPU, or
  /// $MNEMO_CUDA_DEVICE; Runtime/CUDA.h): the weights are uploaded once,
  /// states and hidden states live in device memory, and only token ids
  /// and logits cross to and from the host.
  std::string target = "cpu";
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

class Batch;
class Sequence;

/// The most sequences one batch holds.
constexpr int64_t kMaxBatchSize = 1 << 16;

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

  /// A batch of `size` new, empty sequences, which may hold up to `size`.
  llvm::Expected<std::unique_ptr<Batch>> newBatch(int64_t size) const;

private:
  friend class Batch;
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
  /// Widened or realigned copies of weights (every weight, on a GPU), by
  /// tensor name.
  std::map<std::string, PlacedBuffer> copies;
  std::vector<std::unique_ptr<Function>> functions;
  const Function *embed = nullptr, *head = nullptr;
  std::vector<const Function *> prefillLayers, decodeLayers;
  /// memsizer_seq2seq's encoder and each decoder layer's source memory.
  const Function *encoderEmbed = nullptr, *encoderNorm = nullptr;
  std::vector<const Function *> encoderLayers, crossMemoryLayers;
  int64_t numThreads = 1;
  Place memory = Place::Host;
};

/// Sequences of tokens run through a loaded model, decoded together. Each
/// sequence holds what it needs between calls (key and value caches, or
/// Memsizer's memory and source memory) and grows by its own prompt
/// (`append`); `step` then runs one new token of every sequence. Memsizer
/// models step the whole batch through each layer in one call: one pass
/// over the weights, and over the `[B, k, d]` memories, per step. The other
/// families step the sequences one after another.
///
/// `select` rebuilds the batch from its own sequences (beam search,
/// dropping finished sequences, starting new ones): a Memsizer sequence is
/// copied as `k x d` floats per layer, and its source memory only when the
/// slot it lands in holds another source.
///
/// Not thread-safe: calls on one batch must not overlap (different batches
/// may run at the same time).
class Batch {
public:
  ~Batch();

  /// Sequences in the batch, and the most it may hold.
  int64_t size() const { return static_cast<int64_t>(lengths.size()); }
  int64_t capacity() const { return maxSize; }
  /// Tokens that sequence `index` has run.
  int64_t length(int64_t index) const { return lengths[index]; }

  /// memsizer_seq2seq: runs the encoder over `source` and keeps each
  /// decoder layer's source memory for sequence `index`, before its first
  /// target token.
  llvm::Error setSource(int64_t index, llvm::ArrayRef<int64_t> source);

  /// Runs `tokens`, which continue sequence `index`. When `logits` is not
  /// null it receives the logits of the last token (`[vocab]`), or of every
  /// token (`[n, vocab]`) when `allRows`. Token ids must lie in the
  /// vocabulary and the sequence within `max_positions`.
  llvm::Error append(int64_t index, llvm::ArrayRef<int64_t> tokens,
                     std::vector<float> *logits, bool allRows = false);

  /// Runs `tokens[i]` as the next token of sequence `i`, for every sequence
  /// (`tokens` has `size()` ids). When `logits` is not null it receives
  /// their logits, `[size(), vocab]`.
  llvm::Error step(llvm::ArrayRef<int64_t> tokens, std::vector<float> *logits);

  /// Makes sequence `i` a copy of what sequence `from[i]` was, or a new,
  /// empty sequence where `from[i]` is -1; the batch then holds
  /// `from.size()` (at most `capacity()`) sequences.
  llvm::Error select(llvm::ArrayRef<int64_t> from);

private:
  friend class LoadedModel;
  Batch(const LoadedModel &model, int64_t capacity);
  /// Memsizer: the zeroed `[capacity, k, d]` memory of every layer.
  llvm::Error reserveStates();
  /// Key and value caches of sequence `index` for `rows` tokens.
  llvm::Error reserveCaches(int64_t index, int64_t rows);
  llvm::Error checkIndex(int64_t index) const;
  /// Calls `fn` for `layer` on rows of sequence `first` (rows of sequences
  /// `first`, `first + 1`, ... when `fn` is batched), with their buffers
  /// bound to its arguments: the `positions` of the rows, their `tokens`
  /// (empty when `fn` takes none), `input`, and the result into `output`.
  llvm::Error callFunction(const LoadedModel::Function &fn, int64_t layer,
                           int64_t first, const Buffer &tokens,
                           const Buffer &positions, const Buffer &input,
                           const Buffer &output) const;
  struct Stack;
  /// Embeds `tokens` at `positions` with `embed` and runs them through
  /// `layers` in turn, for sequence `first` (and on, when batched).
  llvm::Expected<Stack>
  runStack(const LoadedModel::Function &embed,
           llvm::ArrayRef<const LoadedModel::Function *> layers,
           llvm::ArrayRef<int64_t> tokens, std::vector<int64_t> positions,
           int64_t first) const;
  /// The logits of the `rows` last rows of `stack` into `logits`.
  llvm::Error headLogits(const Stack &stack, int64_t rows,
                         std::vector<float> &logits) const;
  /// A buffer of at least `bytes` where the model runs: one that an earlier
  /// call gave back, else a new one.
  llvm::Expected<PlacedBuffer> takeScratch(size_t bytes) const;
  /// Keeps `buffer` for a later call.
  void keepScratch(PlacedBuffer buffer) const;
  /// Keeps the buffers of `stack`, which is no longer used.
  void keepScratch(Stack &stack) const;

  const LoadedModel &model;
  int64_t maxSize;
  bool failed = false;
  /// Per sequence: tokens run.
  std::vector<int64_t> lengths;
  /// Memsizer, per layer: the sequences' memories `[capacity, k, d]`, and as
  /// many floats to rebuild them into (`select`).
  std::vector<PlacedBuffer> states, spareStates;
  /// memsizer_seq2seq, per layer: the sequences' source memories
  /// `[capacity, kc, d]`; per slot, which source it holds (0: none).
  std::vector<PlacedBuffer> crossMemories;
  std::vector<uint64_t> slotSources;
  uint64_t nextSource = 1;
  /// Transformer and MemoryFormer, per sequence: key and value caches of
  /// `rows` tokens per layer.
  struct Caches {
    int64_t rows = 0;
    std::vector<PlacedBuffer> keys, values;
  };
  std::vector<Caches> caches;
  /// Buffers of finished calls (hidden states, token ids and positions,
  /// logits), kept for the next: on a GPU, a decoding step would otherwise
  /// allocate and free them every time, and each free waits for the device.
  mutable std::vector<PlacedBuffer> scratch;
};

/// One sequence of tokens run through a loaded model: a batch of one. Not
/// thread-safe: calls on one sequence must not overlap (different
/// sequences may run at the same time).
class Sequence {
public:
  ~Sequence();

  /// Runs `tokens`, which continue the sequence, through the model. When
  /// `logits` is not null it receives the logits of the last token
  /// (`[vocab]`), or of every token (`[n, vocab]`) when `allRows`. Token ids
  /// must lie in the vocabulary and the sequence within `max_positions`.
  llvm::Error append(llvm::ArrayRef<int64_t> tokens, std::vector<float> *logits,
                     bool allRows = false) {
    return batch->append(0, tokens, logits, allRows);
  }

  /// memsizer_seq2seq: runs the encoder over `source` and keeps each
  /// decoder layer's source memory; before the first target token.
  llvm::Error setSource(llvm::ArrayRef<int64_t> source) {
    return batch->setSource(0, source);
  }

  /// Tokens seen so far.
  int64_t length() const { return batch->length(0); }

private:
  friend class LoadedModel;
  explicit Sequence(std::unique_ptr<Batch> batch);
  std::unique_ptr<Batch> batch;
};

} // namespace mnemo

#endif // MNEMO_ENGINE_ENGINE_H
