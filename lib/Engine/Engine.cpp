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

llvm::Error checkThreads(const EngineOptions &options) {
  if (options.threads < 0 || options.threads > kMaxThreads)
    return makeError("threads: " + llvm::Twine(options.threads) +
                     " is outside [0, " + llvm::Twine(kMaxThreads) + "]");
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
  if (llvm::Error error = checkThreads(options))
    return std::move(error);
  llvm::StringRef dir = imported.directory->path();
  std::unique_ptr<mlir::MLIRContext> context = createProgramContext();
  auto module = parseProgram(*imported.program, *context, dir);
  if (!module)
    return module.takeError();
  JITOptions jit;
  jit.threads = threadCount(options);
  jit.cacheDirectory = kernelCacheDirectory(options);
  if (options.progress)
    options.progress("compiling the kernels for " +
                     llvm::sys::getHostCPUName().str() + ", " +
                     std::to_string(jit.threads) + " threads");
  auto compiled = compileModuleCached(**module, jit);
  if (!compiled)
    return makeError(
        dir + ": compiling the model: " + llvm::toString(compiled.takeError()));
  return create(std::move(imported), std::move(*compiled), options);
}

llvm::Expected<std::unique_ptr<LoadedModel>>
LoadedModel::load(llvm::StringRef dir, const AheadOfTimeKernels &kernels,
                  const EngineOptions &options) {
  if (llvm::Error error = checkThreads(options))
    return std::move(error);
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
  if (llvm::Error error = model->bind(options))
    return std::move(error);
  return std::move(model);
}

llvm::Error LoadedModel::bind(const EngineOptions &options) {
  const ModelConfig &config = directory->config();
  std::map<std::string, TensorRole> roles;
  for (const TensorSpec &spec : modelTensors(config))
    roles[spec.name] = spec.role;

  // A weight as the kernels take it: f32 for dense weights, tables and
  // embeddings as stored; copied only when it must be widened or the file
  // leaves it misaligned.
  auto weightBuffer = [&](const std::string &name) -> llvm::Expected<Buffer> {
    const TensorView *view = directory->tensor(name);
    if (!view)
      return makeError(directory->path() + ": no tensor " + name);
    Buffer buffer{const_cast<void *>(view->data), view->shape};
    bool dense = roles[name] == TensorRole::Dense;
    size_t bytes = elementBytes(view->dtype);
    bool aligned = reinterpret_cast<uintptr_t>(view->data) % bytes == 0;
    if ((!dense || view->dtype == ElementType::F32) && aligned)
      return buffer;
    auto it = copies.find(name);
    if (it == copies.end()) {
      ElementType type = dense ? ElementType::F32 : view->dtype;
      auto copy = AlignedBuffer::allocate(
          static_cast<size_t>(view->numElements()) * elementBytes(type));
      if (!copy)
        return makeError(name + ": " + llvm::toString(copy.takeError()));
      if (type == view->dtype)
        std::memcpy(copy->data(), view->data, view->bytes);
      else
        view->widenToF32(static_cast<float *>(copy->data()));
      it = copies.emplace(name, std::move(*copy)).first;
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
      auto buffer = weightBuffer(weightName(arg.weight, layer));
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
  return std::unique_ptr<Sequence>(new Sequence(*this));
}

//===----------------------------------------------------------------------===//
// Sequence
//===----------------------------------------------------------------------===//

Sequence::Sequence(const LoadedModel &model) : model(model) {}
Sequence::~Sequence() = default;

llvm::Error Sequence::reserve(int64_t rows) {
  const ModelConfig &config = model.config();
  int64_t d = config.hiddenSize, layers = config.numLayers;
  if (config.isMemsizer()) {
    if (!states.empty())
      return llvm::Error::success();
    for (int64_t i = 0; i < layers; ++i) {
      size_t bytes = static_cast<size_t>(config.memorySlots * d) * 4;
      auto state = AlignedBuffer::allocate(bytes);
      if (!state)
        return state.takeError();
      std::memset(state->data(), 0, bytes);
      states.push_back(std::move(*state));
    }
    return llvm::Error::success();
  }
  if (rows <= capacity)
    return llvm::Error::success();
  // Caches grow geometrically up to max_positions.
  int64_t grown = std::min(config.maxPositions,
                           std::max({rows, capacity * 2, int64_t{64}}));
  size_t bytes = static_cast<size_t>(grown * d) * 4;
  size_t used = static_cast<size_t>(position * d) * 4;
  std::vector<AlignedBuffer> newKeys, newValues;
  for (int64_t i = 0; i < layers; ++i) {
    auto k = AlignedBuffer::allocate(bytes);
    if (!k)
      return k.takeError();
    auto v = AlignedBuffer::allocate(bytes);
    if (!v)
      return v.takeError();
    if (used) {
      std::memcpy(k->data(), keys[i].data(), used);
      std::memcpy(v->data(), values[i].data(), used);
    }
    newKeys.push_back(std::move(*k));
    newValues.push_back(std::move(*v));
  }
  keys = std::move(newKeys);
  values = std::move(newValues);
  capacity = grown;
  return llvm::Error::success();
}

llvm::Error Sequence::callFunction(const LoadedModel::Function &fn,
                                   int64_t layer,
                                   llvm::ArrayRef<int64_t> tokens,
                                   llvm::ArrayRef<int64_t> positions,
                                   const Buffer &input,
                                   const Buffer &output) const {
  const ModelConfig &config = model.config();
  int64_t n = static_cast<int64_t>(positions.size()), d = config.hiddenSize;
  std::vector<Buffer> args;
  for (size_t i = 0; i < fn.function->args.size(); ++i) {
    switch (fn.function->args[i].role) {
    case ArgRole::Tokens:
      args.push_back({const_cast<int64_t *>(tokens.data()), {n}});
      break;
    case ArgRole::Positions:
      args.push_back({const_cast<int64_t *>(positions.data()), {n}});
      break;
    case ArgRole::Hidden:
      args.push_back(input);
      break;
    case ArgRole::KeyCache:
      args.push_back({keys[layer].data(), {position + n, d}});
      break;
    case ArgRole::ValueCache:
      args.push_back({values[layer].data(), {position + n, d}});
      break;
    case ArgRole::State:
      // Decoding steps a batch of one.
      if (n == 1)
        args.push_back({states[layer].data(), {1, config.memorySlots, d}});
      else
        args.push_back({states[layer].data(), {config.memorySlots, d}});
      break;
    case ArgRole::CrossMemory:
      args.push_back(
          {crossMemories[layer].data(), {config.crossMemorySlots, d}});
      break;
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
/// layer's result), and the tokens' positions.
struct Sequence::Stack {
  AlignedBuffer first, second;
  Buffer in, out;
  std::vector<int64_t> positions;
};

llvm::Expected<Sequence::Stack>
Sequence::runStack(const LoadedModel::Function &embed,
                   llvm::ArrayRef<const LoadedModel::Function *> layers,
                   llvm::ArrayRef<int64_t> tokens, int64_t start) const {
  int64_t n = static_cast<int64_t>(tokens.size());
  int64_t d = model.config().hiddenSize;
  omp_set_num_threads(static_cast<int>(model.numThreads));
  Stack stack;
  stack.positions.resize(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    stack.positions[i] = start + i;
  for (AlignedBuffer *buffer : {&stack.first, &stack.second}) {
    auto allocated = AlignedBuffer::allocate(static_cast<size_t>(n * d) * 4);
    if (!allocated)
      return allocated.takeError();
    *buffer = std::move(*allocated);
  }
  stack.in = {stack.first.data(), {n, d}};
  stack.out = {stack.second.data(), {n, d}};
  if (llvm::Error error =
          callFunction(embed, 0, tokens, stack.positions, {}, stack.in))
    return std::move(error);
  for (size_t layer = 0; layer < layers.size(); ++layer) {
    if (llvm::Error error =
            callFunction(*layers[layer], static_cast<int64_t>(layer), tokens,
                         stack.positions, stack.in, stack.out))
      return std::move(error);
    std::swap(stack.in, stack.out);
  }
  return std::move(stack);
}

llvm::Error Sequence::setSource(llvm::ArrayRef<int64_t> source) {
  const ModelConfig &config = model.config();
  if (config.family != Family::MemsizerSeq2Seq)
    return makeError(llvm::Twine("a ") + familyName(config.family) +
                     " model has no source (only memsizer_seq2seq models do)");
  if (position > 0)
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
  failed = true; // until every memory is built
  auto stack = runStack(*model.encoderEmbed, model.encoderLayers, source, 0);
  if (!stack)
    return stack.takeError();
  // The encoder's output, then each decoder layer's memory of it.
  if (llvm::Error error = callFunction(*model.encoderNorm, 0, source,
                                       stack->positions, stack->in, stack->out))
    return error;
  std::vector<AlignedBuffer> memories;
  size_t bytes = static_cast<size_t>(config.crossMemorySlots * d) * 4;
  for (int64_t layer = 0; layer < config.numLayers; ++layer) {
    auto memory = AlignedBuffer::allocate(bytes);
    if (!memory)
      return memory.takeError();
    if (llvm::Error error = callFunction(
            *model.crossMemoryLayers[layer], layer, source, stack->positions,
            stack->out, {memory->data(), {config.crossMemorySlots, d}}))
      return error;
    memories.push_back(std::move(*memory));
  }
  crossMemories = std::move(memories);
  failed = false;
  return llvm::Error::success();
}

llvm::Error Sequence::append(llvm::ArrayRef<int64_t> tokens,
                             std::vector<float> *logits, bool allRows) {
  const ModelConfig &config = model.config();
  if (failed)
    return makeError("the sequence failed before and can no longer be used");
  if (tokens.empty())
    return makeError("no tokens to run");
  int64_t n = static_cast<int64_t>(tokens.size()), d = config.hiddenSize;
  if (llvm::Error error = checkTokenIds(config, tokens, "tokens"))
    return error;
  if (config.family == Family::MemsizerSeq2Seq && crossMemories.empty())
    return makeError("set the source before running target tokens");
  if (position + n > config.maxPositions)
    return makeError(llvm::formatv("the sequence would hold {0} tokens, more "
                                   "than the model's max_positions {1}",
                                   position + n, config.maxPositions)
                         .str());
  if (llvm::Error error = reserve(position + n))
    return error;

  failed = true; // until every layer has run
  auto stack =
      runStack(*model.embed, n == 1 ? model.decodeLayers : model.prefillLayers,
               tokens, position);
  if (!stack)
    return stack.takeError();
  position += n;
  failed = false;

  if (logits) {
    int64_t rows = allRows ? n : 1, vocab = config.vocabSize;
    logits->resize(static_cast<size_t>(rows * vocab));
    Buffer last{static_cast<float *>(stack->in.data) + (n - rows) * d,
                {rows, d}};
    if (llvm::Error error =
            callFunction(*model.head, 0, tokens, stack->positions, last,
                         {logits->data(), {rows, vocab}}))
      return error;
  }
  return llvm::Error::success();
}

} // namespace mnemo
