//===- Engine.cpp - Load a model, compile its kernels, run sequences ------===//

#include "mnemo/Engine/Engine.h"

#include "mnemo/Engine/ProgramModule.h"
#include "mnemo/InitAll.h"
#include "mnemo/JIT/ObjectCode.h"
#include "mnemo/Model/Model.h"
#include "mnemo/Model/Program.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/xxhash.h"
#include "llvm/TargetParser/Host.h"

#include <nlohmann/json.hpp>
#include <omp.h>

#include <algorithm>
#include <cstring>

namespace mnemo {

namespace {

using Json = nlohmann::json;

llvm::Error makeError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

std::string programKey(const ModelProgram &program) {
  return llvm::utohexstr(llvm::xxh3_64bits(program.mlir), /*LowerCase=*/true,
                         16);
}

} // namespace

int64_t defaultThreads() { return omp_get_num_procs(); }

std::string kernelCacheDirectory(const EngineOptions &options) {
  if (!options.diskCache)
    return "";
  if (!options.cacheDirectory.empty())
    return options.cacheDirectory;
  if (auto dir = llvm::sys::Process::GetEnv("MNEMO_CACHE_DIR"))
    return *dir;
  llvm::SmallString<256> path;
  if (auto xdg = llvm::sys::Process::GetEnv("XDG_CACHE_HOME");
      xdg && !xdg->empty())
    path = *xdg;
  else if (auto home = llvm::sys::Process::GetEnv("HOME");
           home && !home->empty())
    llvm::sys::path::append(path, *home, ".cache");
  else
    return "";
  llvm::sys::path::append(path, "mnemo");
  return std::string(path);
}

std::string aheadOfTimeManifest(const std::string &signatures,
                                const ModelProgram &program,
                                llvm::StringRef target) {
  Json json = Json::parse(signatures);
  json["program"] = programKey(program);
  json["target"] = target.str();
  return json.dump();
}

/// A model function bound to one layer's weights.
struct LoadedModel::Function {
  const ProgramFunction *function = nullptr;
  /// One buffer per weight argument, in order (null for other roles).
  std::vector<Buffer> weights;
  PreparedWeights prepared;
};

LoadedModel::LoadedModel() = default;
LoadedModel::~LoadedModel() = default;

const ModelConfig &LoadedModel::config() const { return directory->config(); }
double LoadedModel::compileSeconds() const {
  return compiled->compileSeconds();
}
bool LoadedModel::kernelsFromCache() const {
  return compiled->loadedFromCache();
}

namespace {

llvm::Error checkOptions(const EngineOptions &options) {
  if (options.threads < 0 || options.threads > kMaxThreads)
    return makeError("threads: " + llvm::Twine(options.threads) +
                     " is outside [0, " + llvm::Twine(kMaxThreads) + "]");
  if (options.target != "cpu" && options.target != "cuda")
    return makeError("target: '" + options.target +
                     "' is not a target (cpu, cuda)");
  if (options.target == "cuda" && options.gpuKernelsOnCPU)
    return makeError("the GPU kernels' loops on the CPU (--gpu-kernels-on-cpu) "
                     "and the GPU (--target cuda) exclude each other");
  return llvm::Error::success();
}

int64_t threadCount(const EngineOptions &options) {
  return options.threads > 0 ? options.threads : defaultThreads();
}

} // namespace

std::unique_ptr<mlir::MLIRContext> createProgramContext() {
  mlir::DialectRegistry registry;
  mlir::mnemo::registerAllDialects(registry);
  auto context = std::make_unique<mlir::MLIRContext>(registry);
  context->disableMultithreading();
  return context;
}

llvm::Expected<mlir::OwningOpRef<mlir::ModuleOp>>
parseProgram(const ModelProgram &program, mlir::MLIRContext &context,
             llvm::StringRef dir) {
  std::string diagnostics;
  mlir::ScopedDiagnosticHandler handler(&context, [&](mlir::Diagnostic &diag) {
    llvm::raw_string_ostream os(diagnostics);
    os << (diagnostics.empty() ? "" : "; ") << diag.getLocation() << ": "
       << diag.str();
    return mlir::success();
  });
  auto module = mlir::parseSourceString<mlir::ModuleOp>(program.mlir, &context);
  if (!module || failed(mlir::verify(*module)))
    return makeError(dir +
                     ": internal error: the imported model is invalid "
                     "(see mnemoc compile " +
                     dir + " --emit mnemo): " + diagnostics);
  return std::move(module);
}

llvm::Expected<ImportedModel>
importModelDirectory(llvm::StringRef dir,
                     const std::function<void(llvm::StringRef)> &progress) {
  if (progress)
    progress(("opening and checking " + dir).str());
  auto directory = ModelDirectory::open(dir);
  if (!directory)
    return directory.takeError();
  ImportOptions import;
  bool seq2seq = (*directory)->config().family == Family::MemsizerSeq2Seq;
  import.positionEmbedding =
      (*directory)
          ->tensor(seq2seq ? "decoder.pos_embed.weight" : "pos_embed.weight") !=
      nullptr;
  import.encoderPositionEmbedding =
      seq2seq && (*directory)->tensor("encoder.pos_embed.weight") != nullptr;
  for (const TensorView &view : (*directory)->weights().tensors())
    import.storedTypes[view.name] = view.dtype;
  auto program = std::make_unique<ModelProgram>(
      importModel((*directory)->config(), import));
  return ImportedModel{std::move(*directory), std::move(program)};
}

llvm::Expected<std::unique_ptr<LoadedModel>>
LoadedModel::load(llvm::StringRef dir, const EngineOptions &options) {
  auto opened = importModelDirectory(dir, options.progress);
  if (!opened)
    return opened.takeError();
  return load(std::move(*opened), options);
}

llvm::Expected<std::unique_ptr<LoadedModel>>
LoadedModel::load(ImportedModel imported, const EngineOptions &options) {
  if (llvm::Error error = checkOptions(options))
    return std::move(error);
  llvm::StringRef dir = imported.directory->path();
  std::unique_ptr<mlir::MLIRContext> context = createProgramContext();
  auto module = parseProgram(*imported.program, *context, dir);
  if (!module)
    return module.takeError();
  JITOptions jit;
  jit.threads = threadCount(options);
  jit.cacheDirectory = kernelCacheDirectory(options);
  jit.gpuKernels = options.gpuKernelsOnCPU;
  jit.target = options.target;
  std::string what = llvm::sys::getHostCPUName().str() + ", " +
                     std::to_string(jit.threads) + " threads";
  if (options.target == "cuda") {
    auto gpu = cuda::device();
    if (!gpu)
      return makeError(dir +
                       ": target cuda: " + llvm::toString(gpu.takeError()));
    what = gpu->name + " (" + gpu->chip() + ")";
  }
  if (options.progress)
    options.progress("compiling the kernels for " + what);
  auto compiled = compileModuleCached(**module, jit);
  if (!compiled)
    return makeError(
        dir + ": compiling the model: " + llvm::toString(compiled.takeError()));
  return create(std::move(imported), std::move(*compiled), options);
}

llvm::Expected<std::unique_ptr<LoadedModel>>
LoadedModel::load(llvm::StringRef dir, const AheadOfTimeKernels &kernels,
                  const EngineOptions &options) {
  if (llvm::Error error = checkOptions(options))
    return std::move(error);
  if (options.target != "cpu")
    return makeError(dir + ": kernels linked ahead of time run on the CPU "
                           "(target cpu)");
  auto opened = importModelDirectory(dir, options.progress);
  if (!opened)
    return opened.takeError();
  std::string program, target;
  try {
    Json json = Json::parse(kernels.manifest);
    program = json.at("program").get<std::string>();
    target = json.at("target").get<std::string>();
  } catch (const Json::exception &e) {
    return makeError(llvm::Twine("the ahead-of-time kernels have no valid "
                                 "manifest: ") +
                     e.what());
  }
  if (program != programKey(*opened->program))
    return makeError(dir +
                     ": the ahead-of-time kernels were compiled for another "
                     "model configuration (recompile with mnemoc compile " +
                     dir + ")");
  if (target != hostTargetDescription())
    return makeError(dir +
                     ": the ahead-of-time kernels were compiled for "
                     "another CPU (" +
                     llvm::StringRef(target).split(' ').first + ", this is " +
                     llvm::sys::getHostCPUName() + ")");
  auto compiled =
      CompiledModule::fromEntryPoints(kernels.manifest, kernels.entries);
  if (!compiled)
    return compiled.takeError();
  return create(std::move(*opened), std::move(*compiled), options);
}

llvm::Expected<std::unique_ptr<LoadedModel>>
LoadedModel::create(ImportedModel imported,
                    std::shared_ptr<const CompiledModule> compiled,
                    const EngineOptions &options) {
  std::unique_ptr<LoadedModel> model(new LoadedModel());
  model->directory = std::move(imported.directory);
  model->program = std::move(imported.program);
  model->compiled = std::move(compiled);
  model->numThreads = threadCount(options);
  model->memory = model->compiled->onGPU() ? Place::Device : Place::Host;
  if (llvm::Error error = model->bind(options))
    return std::move(error);
  return std::move(model);
}

llvm::Error LoadedModel::bind(const EngineOptions &options) {
  const ModelConfig &config = directory->config();

  // A weight as the kernels take it (`type`, the kernel argument's element
  // type): as stored, or widened to f32 (dense weights for BLAS). On the
  // CPU it is copied only when it must be widened or the file leaves it
  // misaligned; on a GPU every weight is uploaded once, here.
  auto weightBuffer = [&](const std::string &name,
                          ElementType type) -> llvm::Expected<Buffer> {
    const TensorView *view = directory->tensor(name);
    if (!view)
      return makeError(directory->path() + ": no tensor " + name);
    Buffer buffer{const_cast<void *>(view->data), view->shape};
    bool widen = view->dtype != type;
    if (widen && type != ElementType::F32)
      return makeError(directory->path() + ": " + name + " is " +
                       elementTypeName(view->dtype) + ", the kernels take " +
                       elementTypeName(type));
    size_t bytes = elementBytes(view->dtype);
    bool aligned = reinterpret_cast<uintptr_t>(view->data) % bytes == 0;
    if (!widen && aligned && memory == Place::Host)
      return buffer;
    // One copy per tensor and type the kernels take it in.
    std::string key = name + ":" + elementTypeName(type);
    auto it = copies.find(key);
    if (it == copies.end()) {
      size_t size =
          static_cast<size_t>(view->numElements()) * elementBytes(type);
      auto copy = PlacedBuffer::allocate(memory, size);
      if (!copy)
        return makeError(name + ": " + llvm::toString(copy.takeError()));
      // Widened in place on the host; on a GPU, widened on the host first.
      AlignedBuffer widened;
      const void *from = view->data;
      if (widen && memory == Place::Host) {
        view->widenToF32(static_cast<float *>(copy->data()));
        from = copy->data();
      } else if (widen) {
        auto staging = AlignedBuffer::allocate(size);
        if (!staging)
          return makeError(name + ": " + llvm::toString(staging.takeError()));
        widened = std::move(*staging);
        view->widenToF32(static_cast<float *>(widened.data()));
        from = widened.data();
      }
      if (llvm::Error error = copyIn(memory, copy->data(), from, size))
        return makeError(name + ": " + llvm::toString(std::move(error)));
      it = copies.emplace(key, std::move(*copy)).first;
    }
    buffer.data = it->second.data();
    return buffer;
  };

  auto bindFunction = [&](const char *name,
                          int64_t layer) -> llvm::Expected<const Function *> {
    const ProgramFunction *function = program->find(name);
    if (!function || !compiled->getSignature(name))
      return makeError(llvm::Twine("the kernels have no function @") + name);
    auto bound = std::make_unique<Function>();
    bound->function = function;
    std::vector<Buffer> weights;
    for (const ProgramArg &arg : function->args) {
      if (arg.role != ArgRole::Weight) {
        bound->weights.push_back({});
        continue;
      }
      auto buffer = weightBuffer(weightName(arg.weight, layer), arg.type);
      if (!buffer)
        return buffer.takeError();
      bound->weights.push_back(*buffer);
      weights.push_back(*buffer);
    }
    auto prepared = compiled->prepareWeights(name, weights);
    if (!prepared)
      return makeError(directory->path() + ": preparing the weights of @" +
                       name + ": " + llvm::toString(prepared.takeError()));
    bound->prepared = std::move(*prepared);
    functions.push_back(std::move(bound));
    return functions.back().get();
  };

  // Binds `name` for layer 0 into `into`, or for layers 0 .. count - 1.
  auto bindOne = [&](const char *name, const Function *&into) -> llvm::Error {
    auto fn = bindFunction(name, 0);
    if (!fn)
      return fn.takeError();
    into = *fn;
    return llvm::Error::success();
  };
  auto bindLayers = [&](const char *name, int64_t count,
                        std::vector<const Function *> &into) -> llvm::Error {
    for (int64_t layer = 0; layer < count; ++layer) {
      auto fn = bindFunction(name, layer);
      if (!fn)
        return fn.takeError();
      into.push_back(*fn);
    }
    return llvm::Error::success();
  };

  omp_set_num_threads(static_cast<int>(numThreads));
  if (llvm::Error error = bindOne(kEmbedFunction, embed))
    return error;
  if (llvm::Error error = bindOne(kHeadFunction, head))
    return error;
  if (config.family == Family::MemsizerSeq2Seq) {
    if (llvm::Error error = bindOne(kEncoderEmbedFunction, encoderEmbed))
      return error;
    if (llvm::Error error = bindOne(kEncoderNormFunction, encoderNorm))
      return error;
    if (llvm::Error error = bindLayers(kEncoderLayerFunction,
                                       config.encoderLayers, encoderLayers))
      return error;
    if (llvm::Error error = bindLayers(kCrossMemoryFunction, config.numLayers,
                                       crossMemoryLayers))
      return error;
  }
  for (int64_t layer = 0; layer < config.numLayers; ++layer) {
    if (options.progress)
      options.progress(llvm::formatv("preparing layer {0} of {1}", layer + 1,
                                     config.numLayers)
                           .str());
    auto prefill = bindFunction(kLayerPrefillFunction, layer);
    if (!prefill)
      return prefill.takeError();
    auto decode = bindFunction(kLayerDecodeFunction, layer);
    if (!decode)
      return decode.takeError();
    prefillLayers.push_back(*prefill);
    decodeLayers.push_back(*decode);
  }
  return llvm::Error::success();
}

std::unique_ptr<Sequence> LoadedModel::newSequence() const {
  return std::unique_ptr<Sequence>(
      new Sequence(std::unique_ptr<Batch>(new Batch(*this, 1))));
}

llvm::Expected<std::unique_ptr<Batch>>
LoadedModel::newBatch(int64_t size) const {
  if (size < 1 || size > kMaxBatchSize)
    return makeError("batch size: " + llvm::Twine(size) + " is outside [1, " +
                     llvm::Twine(kMaxBatchSize) + "]");
  return std::unique_ptr<Batch>(new Batch(*this, size));
}

Sequence::Sequence(std::unique_ptr<Batch> batch) : batch(std::move(batch)) {}
Sequence::~Sequence() = default;

//===----------------------------------------------------------------------===//
// Batch
//===----------------------------------------------------------------------===//

Batch::Batch(const LoadedModel &model, int64_t capacity)
    : model(model), maxSize(capacity),
      lengths(static_cast<size_t>(capacity), 0),
      slotSources(static_cast<size_t>(capacity), 0) {
  if (!model.config().isMemsizer())
    caches.resize(static_cast<size_t>(capacity));
}
Batch::~Batch() = default;

namespace {

/// The floats of one sequence's memory, `[k, d]`, and of its source
/// memory, `[kc, d]`.
int64_t stateFloats(const ModelConfig &config) {
  return config.memorySlots * config.hiddenSize;
}
int64_t crossFloats(const ModelConfig &config) {
  return config.crossMemorySlots * config.hiddenSize;
}

float *floatsAt(const PlacedBuffer &buffer, int64_t offset) {
  return static_cast<float *>(buffer.data()) + offset;
}

} // namespace

llvm::Error Batch::reserveStates() {
  if (!states.empty())
    return llvm::Error::success();
  const ModelConfig &config = model.config();
  size_t bytes = static_cast<size_t>(maxSize * stateFloats(config)) * 4;
  std::vector<PlacedBuffer> allocated;
  for (int64_t i = 0; i < config.numLayers; ++i) {
    auto state = PlacedBuffer::allocate(model.memory, bytes);
    if (!state)
      return state.takeError();
    if (llvm::Error error = zeroAt(model.memory, state->data(), bytes))
      return error;
    allocated.push_back(std::move(*state));
  }
  states = std::move(allocated);
  return llvm::Error::success();
}

llvm::Error Batch::reserveCaches(int64_t index, int64_t rows) {
  const ModelConfig &config = model.config();
  Caches &cache = caches[index];
  if (rows <= cache.rows)
    return llvm::Error::success();
  // Caches grow geometrically up to max_positions.
  int64_t d = config.hiddenSize;
  int64_t grown = std::min(config.maxPositions,
                           std::max({rows, cache.rows * 2, int64_t{64}}));
  size_t bytes = static_cast<size_t>(grown * d) * 4;
  size_t used = static_cast<size_t>(lengths[index] * d) * 4;
  Caches next;
  next.rows = grown;
  for (int64_t i = 0; i < config.numLayers; ++i) {
    auto k = PlacedBuffer::allocate(model.memory, bytes);
    if (!k)
      return k.takeError();
    auto v = PlacedBuffer::allocate(model.memory, bytes);
    if (!v)
      return v.takeError();
    if (used) {
      if (llvm::Error error =
              copyWithin(model.memory, k->data(), cache.keys[i].data(), used))
        return error;
      if (llvm::Error error =
              copyWithin(model.memory, v->data(), cache.values[i].data(), used))
        return error;
    }
    next.keys.push_back(std::move(*k));
    next.values.push_back(std::move(*v));
  }
  cache = std::move(next);
  return llvm::Error::success();
}

llvm::Error Batch::checkIndex(int64_t index) const {
  if (failed)
    return makeError("the batch failed before and can no longer be used");
  if (index < 0 || index >= size())
    return makeError("sequence " + llvm::Twine(index) +
                     ": the batch holds sequences 0 to " +
                     llvm::Twine(size() - 1));
  return llvm::Error::success();
}

llvm::Error Batch::callFunction(const LoadedModel::Function &fn, int64_t layer,
                                int64_t first, const Buffer &tokens,
                                const Buffer &positions, const Buffer &input,
                                const Buffer &output) const {
  const ModelConfig &config = model.config();
  int64_t n = positions.shape[0], d = config.hiddenSize;
  bool batched = fn.function->batched;
  std::vector<Buffer> args;
  for (size_t i = 0; i < fn.function->args.size(); ++i) {
    switch (fn.function->args[i].role) {
    case ArgRole::Tokens:
      args.push_back(tokens);
      break;
    case ArgRole::Positions:
      args.push_back(positions);
      break;
    case ArgRole::Hidden:
      args.push_back(input);
      break;
    case ArgRole::KeyCache:
      args.push_back(
          {caches[first].keys[layer].data(), {lengths[first] + n, d}});
      break;
    case ArgRole::ValueCache:
      args.push_back(
          {caches[first].values[layer].data(), {lengths[first] + n, d}});
      break;
    case ArgRole::State: {
      // A batched function steps sequences first .. first + n - 1.
      float *state = floatsAt(states[layer], first * stateFloats(config));
      if (batched)
        args.push_back({state, {n, config.memorySlots, d}});
      else
        args.push_back({state, {config.memorySlots, d}});
      break;
    }
    case ArgRole::CrossMemory: {
      float *memory =
          floatsAt(crossMemories[layer], first * crossFloats(config));
      if (batched)
        args.push_back({memory, {n, config.crossMemorySlots, d}});
      else
        args.push_back({memory, {config.crossMemorySlots, d}});
      break;
    }
    case ArgRole::Weight:
      args.push_back(fn.weights[i]);
      break;
    }
  }
  args.push_back(output);
  return model.compiled->callPrepared(fn.function->name, args, fn.prepared);
}

/// The hidden states of tokens run through a stack of layers: two buffers
/// `[n, d]` that the layers read and write in turn (`in` holds the last
/// layer's result), and the tokens' ids and positions, where the kernels
/// read them.
struct Batch::Stack {
  PlacedBuffer first, second, tokenIds, positionIds;
  Buffer in, out, tokens, positions;
};

/// Scratch buffers kept at most: a step's two hidden-state buffers, token
/// ids, positions and logits, with room for a prefill's.
constexpr size_t kKeptScratch = 8;

llvm::Expected<PlacedBuffer> Batch::takeScratch(size_t bytes) const {
  auto best = scratch.end();
  for (auto it = scratch.begin(); it != scratch.end(); ++it)
    if (it->size() >= bytes &&
        (best == scratch.end() || it->size() < best->size()))
      best = it;
  if (best == scratch.end())
    return PlacedBuffer::allocate(model.memory, bytes);
  PlacedBuffer buffer = std::move(*best);
  scratch.erase(best);
  return std::move(buffer);
}

void Batch::keepScratch(PlacedBuffer buffer) const {
  if (buffer.size() == 0)
    return;
  scratch.push_back(std::move(buffer));
  if (scratch.size() > kKeptScratch) {
    // Free the smallest: the large ones cost the most to allocate again.
    auto smallest =
        std::min_element(scratch.begin(), scratch.end(),
                         [](const PlacedBuffer &a, const PlacedBuffer &b) {
                           return a.size() < b.size();
                         });
    scratch.erase(smallest);
  }
}

void Batch::keepScratch(Stack &stack) const {
  for (PlacedBuffer *buffer :
       {&stack.first, &stack.second, &stack.tokenIds, &stack.positionIds})
    keepScratch(std::move(*buffer));
}

llvm::Expected<Batch::Stack>
Batch::runStack(const LoadedModel::Function &embed,
                llvm::ArrayRef<const LoadedModel::Function *> layers,
                llvm::ArrayRef<int64_t> tokens, std::vector<int64_t> positions,
                int64_t first) const {
  int64_t n = static_cast<int64_t>(tokens.size());
  int64_t d = model.config().hiddenSize;
  omp_set_num_threads(static_cast<int>(model.numThreads));
  Place place = model.memory;
  Stack stack;
  size_t idBytes = static_cast<size_t>(n) * sizeof(int64_t);
  for (auto [buffer, bytes] :
       {std::pair{&stack.first, static_cast<size_t>(n * d) * 4},
        std::pair{&stack.second, static_cast<size_t>(n * d) * 4},
        std::pair{&stack.tokenIds, idBytes},
        std::pair{&stack.positionIds, idBytes}}) {
    auto taken = takeScratch(bytes);
    if (!taken)
      return taken.takeError();
    *buffer = std::move(*taken);
  }
  stack.in = {stack.first.data(), {n, d}};
  stack.out = {stack.second.data(), {n, d}};
  stack.tokens = {stack.tokenIds.data(), {n}};
  stack.positions = {stack.positionIds.data(), {n}};
  if (llvm::Error error =
          copyIn(place, stack.tokenIds.data(), tokens.data(), idBytes))
    return std::move(error);
  if (llvm::Error error =
          copyIn(place, stack.positionIds.data(), positions.data(), idBytes))
    return std::move(error);
  if (llvm::Error error = callFunction(embed, 0, first, stack.tokens,
                                       stack.positions, {}, stack.in))
    return std::move(error);
  for (size_t layer = 0; layer < layers.size(); ++layer) {
    if (llvm::Error error =
            callFunction(*layers[layer], static_cast<int64_t>(layer), first,
                         stack.tokens, stack.positions, stack.in, stack.out))
      return std::move(error);
    std::swap(stack.in, stack.out);
  }
  return std::move(stack);
}

llvm::Error Batch::headLogits(const Stack &stack, int64_t rows,
                              std::vector<float> &logits) const {
  int64_t n = stack.in.shape[0], d = stack.in.shape[1];
  int64_t vocab = model.config().vocabSize;
  size_t bytes = static_cast<size_t>(rows * vocab) * 4;
  logits.resize(static_cast<size_t>(rows * vocab));
  Buffer last{static_cast<float *>(stack.in.data) + (n - rows) * d, {rows, d}};
  // On the host the head writes the logits in place; on a GPU they are
  // copied back.
  PlacedBuffer placed;
  if (model.memory != Place::Host) {
    auto taken = takeScratch(bytes);
    if (!taken)
      return taken.takeError();
    placed = std::move(*taken);
  }
  void *into = model.memory == Place::Host ? logits.data() : placed.data();
  if (llvm::Error error =
          callFunction(*model.head, 0, 0, stack.tokens, stack.positions, last,
                       {into, {rows, vocab}}))
    return error;
  llvm::Error error = copyOut(model.memory, logits.data(), into, bytes);
  keepScratch(std::move(placed));
  return error;
}

llvm::Error Batch::setSource(int64_t index, llvm::ArrayRef<int64_t> source) {
  const ModelConfig &config = model.config();
  if (config.family != Family::MemsizerSeq2Seq)
    return makeError(llvm::Twine("a ") + familyName(config.family) +
                     " model has no source (only memsizer_seq2seq models do)");
  if (llvm::Error error = checkIndex(index))
    return error;
  if (lengths[index] > 0)
    return makeError("the source must be set before the first target token");
  if (source.empty())
    return makeError("the source has no tokens");
  if (llvm::Error error = checkTokenIds(config, source, "source"))
    return error;
  int64_t n = static_cast<int64_t>(source.size()), d = config.hiddenSize;
  if (n > config.maxPositions)
    return makeError(llvm::formatv("the source has {0} tokens, more than the "
                                   "model's max_positions {1}",
                                   n, config.maxPositions)
                         .str());
  if (crossMemories.empty()) {
    size_t bytes = static_cast<size_t>(maxSize * crossFloats(config)) * 4;
    for (int64_t layer = 0; layer < config.numLayers; ++layer) {
      auto memory = PlacedBuffer::allocate(model.memory, bytes);
      if (!memory)
        return memory.takeError();
      crossMemories.push_back(std::move(*memory));
    }
  }
  std::vector<int64_t> positions(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    positions[i] = i;
  // Until every memory is built, the slot holds no source.
  slotSources[index] = 0;
  auto stack = runStack(*model.encoderEmbed, model.encoderLayers, source,
                        std::move(positions), index);
  if (!stack)
    return stack.takeError();
  // The encoder's output, then each decoder layer's memory of it.
  if (llvm::Error error =
          callFunction(*model.encoderNorm, 0, index, stack->tokens,
                       stack->positions, stack->in, stack->out))
    return error;
  for (int64_t layer = 0; layer < config.numLayers; ++layer) {
    float *memory = floatsAt(crossMemories[layer], index * crossFloats(config));
    if (llvm::Error error =
            callFunction(*model.crossMemoryLayers[layer], layer, index,
                         stack->tokens, stack->positions, stack->out,
                         {memory, {config.crossMemorySlots, d}}))
      return error;
  }
  slotSources[index] = nextSource++;
  keepScratch(*stack);
  return llvm::Error::success();
}

llvm::Error Batch::append(int64_t index, llvm::ArrayRef<int64_t> tokens,
                          std::vector<float> *logits, bool allRows) {
  const ModelConfig &config = model.config();
  if (llvm::Error error = checkIndex(index))
    return error;
  if (tokens.empty())
    return makeError("no tokens to run");
  int64_t n = static_cast<int64_t>(tokens.size());
  if (llvm::Error error = checkTokenIds(config, tokens, "tokens"))
    return error;
  if (config.family == Family::MemsizerSeq2Seq && slotSources[index] == 0)
    return makeError("set the source before running target tokens");
  int64_t start = lengths[index];
  if (start + n > config.maxPositions)
    return makeError(llvm::formatv("the sequence would hold {0} tokens, more "
                                   "than the model's max_positions {1}",
                                   start + n, config.maxPositions)
                         .str());
  if (llvm::Error error = config.isMemsizer() ? reserveStates()
                                              : reserveCaches(index, start + n))
    return error;

  failed = true; // until every layer has run
  std::vector<int64_t> positions(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    positions[i] = start + i;
  auto stack =
      runStack(*model.embed, n == 1 ? model.decodeLayers : model.prefillLayers,
               tokens, std::move(positions), index);
  if (!stack)
    return stack.takeError();
  lengths[index] += n;
  failed = false;
  llvm::Error error = logits ? headLogits(*stack, allRows ? n : 1, *logits)
                             : llvm::Error::success();
  keepScratch(*stack);
  return error;
}

llvm::Error Batch::step(llvm::ArrayRef<int64_t> tokens,
                        std::vector<float> *logits) {
  const ModelConfig &config = model.config();
  if (failed)
    return makeError("the batch failed before and can no longer be used");
  int64_t count = size();
  if (static_cast<int64_t>(tokens.size()) != count)
    return makeError(llvm::formatv("a step takes one token per sequence: {0} "
                                   "tokens for {1} sequences",
                                   tokens.size(), count)
                         .str());
  if (count == 0)
    return makeError("the batch holds no sequences");
  if (llvm::Error error = checkTokenIds(config, tokens, "tokens"))
    return error;
  for (int64_t i = 0; i < count; ++i) {
    if (config.family == Family::MemsizerSeq2Seq && slotSources[i] == 0)
      return makeError("sequence " + llvm::Twine(i) +
                       ": set the source before running target tokens");
    if (lengths[i] + 1 > config.maxPositions)
      return makeError(llvm::formatv("sequence {0} would hold {1} tokens, more "
                                     "than the model's max_positions {2}",
                                     i, lengths[i] + 1, config.maxPositions)
                           .str());
  }
  if (!config.isMemsizer()) {
    // Each sequence attends to its own caches: one after another.
    int64_t vocab = config.vocabSize;
    std::vector<float> row;
    if (logits)
      logits->resize(static_cast<size_t>(count * vocab));
    for (int64_t i = 0; i < count; ++i) {
      if (llvm::Error error =
              append(i, tokens.slice(i, 1), logits ? &row : nullptr))
        return error;
      if (logits)
        std::copy(row.begin(), row.end(), logits->begin() + i * vocab);
    }
    return llvm::Error::success();
  }
  if (llvm::Error error = reserveStates())
    return error;
  failed = true; // until every layer has run
  auto stack = runStack(*model.embed, model.decodeLayers, tokens,
                        {lengths.begin(), lengths.end()}, 0);
  if (!stack)
    return stack.takeError();
  for (int64_t &length : lengths)
    ++length;
  failed = false;
  llvm::Error error =
      logits ? headLogits(*stack, count, *logits) : llvm::Error::success();
  keepScratch(*stack);
  return error;
}

llvm::Error Batch::select(llvm::ArrayRef<int64_t> from) {
  const ModelConfig &config = model.config();
  if (failed)
    return makeError("the batch failed before and can no longer be used");
  int64_t count = static_cast<int64_t>(from.size());
  if (count > maxSize)
    return makeError(llvm::formatv("select: {0} sequences exceed the batch's "
                                   "capacity {1}",
                                   count, maxSize)
                         .str());
  for (int64_t i = 0; i < count; ++i)
    if (from[i] < -1 || from[i] >= size())
      return makeError(llvm::formatv("select: sequence {0} would come from "
                                     "{1}, but the batch holds sequences 0 "
                                     "to {2} (-1: a new sequence)",
                                     i, from[i], size() - 1)
                           .str());
  std::vector<int64_t> newLengths(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i)
    newLengths[i] = from[i] < 0 ? 0 : lengths[from[i]];

  failed = true; // until every sequence has moved
  if (!config.isMemsizer()) {
    // Each cache moves to its last new place and is copied to the others.
    std::vector<int64_t> uses(caches.size(), 0);
    for (int64_t source : from)
      if (source >= 0)
        ++uses[source];
    std::vector<Caches> selected(static_cast<size_t>(maxSize));
    for (int64_t i = 0; i < count; ++i) {
      int64_t source = from[i];
      if (source < 0)
        continue;
      if (--uses[source] == 0) {
        selected[i] = std::move(caches[source]);
        continue;
      }
      const Caches &original = caches[source];
      size_t bytes = static_cast<size_t>(original.rows * config.hiddenSize) * 4;
      size_t used =
          static_cast<size_t>(lengths[source] * config.hiddenSize) * 4;
      selected[i].rows = original.rows;
      for (int64_t layer = 0; layer < config.numLayers; ++layer) {
        for (auto [into, of] :
             {std::pair(&selected[i].keys, &original.keys),
              std::pair(&selected[i].values, &original.values)}) {
          auto copy = PlacedBuffer::allocate(model.memory, bytes);
          if (!copy)
            return copy.takeError();
          if (llvm::Error error = copyWithin(model.memory, copy->data(),
                                             (*of)[layer].data(), used))
            return error;
          into->push_back(std::move(*copy));
        }
      }
    }
    caches = std::move(selected);
    lengths = std::move(newLengths);
    failed = false;
    return llvm::Error::success();
  }

  // Memsizer: the memories are gathered into the spare buffers, which then
  // take their place (k x d floats per sequence and layer).
  bool identity = true;
  for (int64_t i = 0; i < count; ++i)
    identity &= from[i] == i;
  if (!states.empty() && !identity) {
    int64_t floats = stateFloats(config);
    size_t bytes = static_cast<size_t>(floats) * 4;
    for (int64_t layer = 0; layer < config.numLayers; ++layer) {
      if (spareStates.size() <= static_cast<size_t>(layer)) {
        auto spare = PlacedBuffer::allocate(model.memory, states[layer].size());
        if (!spare)
          return spare.takeError();
        spareStates.push_back(std::move(*spare));
      }
      for (int64_t i = 0; i < count; ++i) {
        float *into = floatsAt(spareStates[layer], i * floats);
        if (llvm::Error error =
                from[i] < 0
                    ? zeroAt(model.memory, into, bytes)
                    : copyWithin(model.memory, into,
                                 floatsAt(states[layer], from[i] * floats),
                                 bytes))
          return error;
      }
      std::swap(states[layer], spareStates[layer]);
    }
  }
  // Source memories are copied only into slots holding another source:
  // beams of one source never copy theirs.
  std::vector<uint64_t> wanted(static_cast<size_t>(count));
  std::vector<int64_t> moved;
  for (int64_t i = 0; i < count; ++i) {
    wanted[i] = from[i] < 0 ? 0 : slotSources[from[i]];
    if (wanted[i] != 0 && wanted[i] != slotSources[i])
      moved.push_back(i);
  }
  if (!moved.empty()) {
    int64_t floats = crossFloats(config);
    size_t bytes = static_cast<size_t>(floats) * 4;
    auto staged = PlacedBuffer::allocate(model.memory, moved.size() * bytes);
    if (!staged)
      return staged.takeError();
    for (int64_t layer = 0; layer < config.numLayers; ++layer) {
      for (size_t j = 0; j < moved.size(); ++j)
        if (llvm::Error error = copyWithin(
                model.memory, floatsAt(*staged, j * floats),
                floatsAt(crossMemories[layer], from[moved[j]] * floats), bytes))
          return error;
      for (size_t j = 0; j < moved.size(); ++j)
        if (llvm::Error error = copyWithin(
                model.memory, floatsAt(crossMemories[layer], moved[j] * floats),
                floatsAt(*staged, j * floats), bytes))
          return error;
    }
  }
  for (int64_t i = 0; i < count; ++i)
    slotSources[i] = wanted[i];
  lengths = std::move(newLengths);
  failed = false;
  return llvm::Error::success();
}

} // namespace mnemo
