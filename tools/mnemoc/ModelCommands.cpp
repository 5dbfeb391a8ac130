//===- ModelCommands.cpp - mnemoc init, stats, run --------------*- C++ -*-===//
//
// Whole models: create one with random weights (init), count what it costs
// (stats), run a prompt and greedy decoding (run).
//
//===----------------------------------------------------------------------===//

#include "Commands.h"

#include "mnemo/Bench/ModelBench.h"
#include "mnemo/Engine/Engine.h"
#include "mnemo/Model/ConfigFile.h"
#include "mnemo/Model/Model.h"
#include "mnemo/Model/Stats.h"
#include "mnemo/Reference/Reference.h"
#include "mnemo/Support/Files.h"
#include "mnemo/Support/Npy.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <memory>
#include <optional>

using namespace mnemo;

namespace mnemoc {

namespace {

//===----------------------------------------------------------------------===//
// init
//===----------------------------------------------------------------------===//

struct InitOptions {
  std::string family, preset = "tiny", output, dtype;
  uint64_t seed = 0;
  std::optional<int64_t> vocabSize, layers, hiddenSize, heads, tables, bits,
      memorySlots, maxPositions, encoderLayers, crossMemorySlots;
  std::string encoderAttention;
  bool configOnly = false, force = false;
};

int init(const InitOptions &opts) {
  Family family = opts.family == "memoryformer"       ? Family::MemoryFormer
                  : opts.family == "memsizer"         ? Family::Memsizer
                  : opts.family == "memsizer_seq2seq" ? Family::MemsizerSeq2Seq
                                                      : Family::Transformer;
  Preset preset = opts.preset == "small"  ? Preset::Small
                  : opts.preset == "base" ? Preset::Base
                                          : Preset::Tiny;
  ModelConfig config = presetConfig(family, preset);
  if (!opts.dtype.empty())
    config.dtype = opts.dtype == "float32"   ? ElementType::F32
                   : opts.dtype == "float16" ? ElementType::F16
                                             : ElementType::BF16;
  if (opts.vocabSize)
    config.vocabSize = *opts.vocabSize;
  if (opts.layers) {
    config.numLayers = *opts.layers;
    if (family == Family::MemsizerSeq2Seq)
      config.encoderLayers = *opts.layers;
  }
  if (opts.encoderLayers)
    config.encoderLayers = *opts.encoderLayers;
  if (opts.crossMemorySlots)
    config.crossMemorySlots = *opts.crossMemorySlots;
  if (!opts.encoderAttention.empty())
    config.encoderMemsizer = opts.encoderAttention == "memsizer";
  if (opts.heads)
    config.numHeads = *opts.heads;
  if (opts.maxPositions)
    config.maxPositions = *opts.maxPositions;
  if (opts.hiddenSize) {
    config.hiddenSize = *opts.hiddenSize;
    config.ffnSize = family == Family::MemoryFormer ? 0 : 4 * *opts.hiddenSize;
  }
  if (opts.memorySlots)
    config.memorySlots = *opts.memorySlots;
  if (family == Family::MemoryFormer) {
    // K and tau follow the hidden size unless given: tau = 8 by default.
    if (opts.bits)
      config.bitsPerTable = *opts.bits;
    if (opts.tables)
      config.numTables = *opts.tables;
    if (opts.tables && !opts.bits && config.hiddenSize % *opts.tables == 0)
      config.bitsPerTable = config.hiddenSize / *opts.tables;
    else if (!opts.tables)
      config.numTables = config.hiddenSize / config.bitsPerTable;
    if (config.hiddenSize != config.numTables * config.bitsPerTable)
      return reportError(
          "--hidden-size " + llvm::Twine(config.hiddenSize) +
          " must equal --tables * --bits = " + llvm::Twine(config.numTables) +
          " * " + llvm::Twine(config.bitsPerTable));
  }
  if (llvm::Error error = validateModelConfig(config, "mnemoc init"))
    return reportError(std::move(error));

  llvm::SmallString<256> configPath(opts.output), weightsPath(opts.output);
  llvm::sys::path::append(configPath, "config.json");
  llvm::sys::path::append(weightsPath, "model.safetensors");
  if (!opts.force &&
      (llvm::sys::fs::exists(configPath) || llvm::sys::fs::exists(weightsPath)))
    return reportError(opts.output +
                       ": already holds a model (use --force to replace it)");
  if (opts.configOnly) {
    if (std::error_code error = llvm::sys::fs::create_directories(opts.output))
      return reportError(opts.output + ": cannot create: " + error.message());
    std::string json = modelConfigToJSON(config);
    if (llvm::Error error = writeFileAtomically(
            configPath, [&](llvm::raw_ostream &out) { out << json; }))
      return reportError(std::move(error));
    return 0;
  }
  if (llvm::Error error = writeRandomModel(config, opts.seed, opts.output))
    return reportError(std::move(error));
  return 0;
}

//===----------------------------------------------------------------------===//
// stats
//===----------------------------------------------------------------------===//

struct StatsOptions {
  std::string dir;
  int64_t seqLen = 2048;
  bool json = false;
};

int stats(const StatsOptions &opts) {
  llvm::SmallString<256> configPath(opts.dir);
  llvm::sys::path::append(configPath, "config.json");
  auto config = readModelConfig(configPath);
  if (!config)
    return reportError(config.takeError());
  ModelStats result = computeStats(*config, opts.seqLen);
  llvm::outs() << (opts.json ? result.toJSON(*config) + "\n"
                             : result.toText(*config));
  return 0;
}

//===----------------------------------------------------------------------===//
// run
//===----------------------------------------------------------------------===//

/// The options of every command that loads a model.
struct EngineFlags {
  int threads = 0;
  bool quiet = false, noCache = false;

  EngineOptions options() const {
    EngineOptions engine;
    engine.threads = threads;
    engine.diskCache = !noCache;
    engine.progress = progressPrinter(quiet);
    return engine;
  }
};

void addEngineFlags(CLI::App &app, EngineFlags &flags) {
  app.add_option("--threads", flags.threads, "threads (default: all cores)")
      ->check(CLI::Range(1, 1024));
  app.add_flag("--quiet", flags.quiet, "no progress on stderr");
  app.add_flag("--no-cache", flags.noCache,
               "neither read nor write the on-disk kernel cache");
}

struct RunOptions {
  std::string dir, tokens, sourceTokens, logitsOut, engine = "jit";
  int64_t maxNewTokens = 0, chunk = 0;
  EngineFlags engineFlags;
};

/// Parses "1,2,3" (spaces allowed around ids) given to `option`.
llvm::Expected<std::vector<int64_t>> parseTokens(llvm::StringRef text,
                                                 llvm::StringRef option) {
  std::vector<int64_t> tokens;
  llvm::SmallVector<llvm::StringRef> parts;
  text.split(parts, ',');
  for (llvm::StringRef part : parts) {
    part = part.trim();
    int64_t id = 0;
    if (part.empty() || part.getAsInteger(10, id))
      return llvm::createStringError(
          llvm::inconvertibleErrorCode(),
          option + ": '" + part + "' is not a token id (give ids like 1,2,3)");
    tokens.push_back(id);
  }
  return tokens;
}

/// The weights of a model widened to f32, as the reference reads them.
ref::Weights widenWeights(const ModelDirectory &model) {
  ref::Weights weights;
  for (const TensorView &view : model.weights().tensors()) {
    ref::Tensor tensor;
    tensor.shape = view.shape;
    tensor.data.resize(static_cast<size_t>(view.numElements()));
    view.widenToF32(tensor.data.data());
    weights[view.name] = std::move(tensor);
  }
  return weights;
}

/// Hashed values closer to zero than this (relative to their row's RMS)
/// are reported by the reference engine.
constexpr double kHashMarginNote = 1e-6;

/// The index of the largest logit (the first of equal ones).
int64_t argmax(const float *logits, int64_t count) {
  int64_t best = 0;
  for (int64_t i = 1; i < count; ++i)
    if (logits[i] > logits[best])
      best = i;
  return best;
}

/// The prompt's logits and the greedily generated tokens, by the reference.
llvm::Error runReference(const ModelDirectory &model,
                         const std::vector<int64_t> &source,
                         const std::vector<int64_t> &tokens,
                         int64_t maxNewTokens, std::vector<float> &promptLogits,
                         std::vector<int64_t> &generated) {
  const ModelConfig &config = model.config();
  int64_t vocab = config.vocabSize;
  ref::Weights weights = widenWeights(model);
  std::vector<int64_t> sequence = tokens;
  ref::HashMargin margin;
  auto logitsOf = [&](const std::vector<int64_t> &target) {
    return config.family == Family::MemsizerSeq2Seq
               ? ref::seq2seqLogits(config, weights, source, target)
               : ref::modelLogits(config, weights, target, &margin);
  };
  std::vector<float> logits = logitsOf(sequence);
  promptLogits = logits;
  for (int64_t step = 0; step < maxNewTokens; ++step) {
    const float *last = logits.data() + (sequence.size() - 1) * vocab;
    int64_t next = argmax(last, vocab);
    generated.push_back(next);
    sequence.push_back(next);
    if (step + 1 < maxNewTokens)
      logits = logitsOf(sequence);
  }
  // Hashing is discontinuous at zero: say when a result hinges on it.
  if (margin.relative < kHashMarginNote)
    llvm::errs() << llvm::formatv(
        "mnemoc: note: a hashed value of layer {0}, token {1} is {2:e2} of "
        "its row's RMS from zero: an f32 engine may hash it into the other "
        "bucket (the reference computes in double)\n",
        margin.layer, margin.row, margin.relative);
  return llvm::Error::success();
}

/// The same with the compiled model: prefill, then one decoding step per
/// generated token.
llvm::Error runCompiled(const LoadedModel &model,
                        const std::vector<int64_t> &source,
                        const std::vector<int64_t> &tokens,
                        int64_t maxNewTokens, int64_t chunk, bool allLogits,
                        std::vector<float> &promptLogits,
                        std::vector<int64_t> &generated) {
  int64_t vocab = model.config().vocabSize;
  std::unique_ptr<Sequence> sequence = model.newSequence();
  if (!source.empty())
    if (llvm::Error error = sequence->setSource(source))
      return error;
  // The prompt in chunks of `chunk` tokens (all at once by default).
  size_t step = chunk > 0 ? static_cast<size_t>(chunk) : tokens.size();
  std::vector<float> chunkLogits;
  for (size_t begin = 0; begin < tokens.size(); begin += step) {
    llvm::ArrayRef<int64_t> part = llvm::ArrayRef(tokens).slice(
        begin, std::min(step, tokens.size() - begin));
    if (llvm::Error error = sequence->append(part, &chunkLogits, allLogits))
      return error;
    if (allLogits || begin + step >= tokens.size())
      promptLogits.insert(promptLogits.end(), chunkLogits.begin(),
                          chunkLogits.end());
  }
  const float *last =
      promptLogits.data() + promptLogits.size() - static_cast<size_t>(vocab);
  std::vector<float> logits;
  for (int64_t step = 0; step < maxNewTokens; ++step) {
    int64_t next = argmax(last, vocab);
    generated.push_back(next);
    if (step + 1 == maxNewTokens)
      break;
    if (llvm::Error error = sequence->append({next}, &logits))
      return error;
    last = logits.data();
  }
  return llvm::Error::success();
}

int run(const RunOptions &opts) {
  // The directory, the token ids and the length are checked before
  // anything is compiled.
  EngineOptions engine = opts.engineFlags.options();
  auto imported = importModelDirectory(opts.dir, engine.progress);
  if (!imported)
    return reportError(imported.takeError());
  ModelConfig config = imported->directory->config();
  bool seq2seq = config.family == Family::MemsizerSeq2Seq;
  std::vector<int64_t> source;
  if (seq2seq) {
    if (opts.sourceTokens.empty())
      return reportError("--source-tokens: a memsizer_seq2seq model needs a "
                         "source (give ids like 1,2,3)");
    auto parsed = parseTokens(opts.sourceTokens, "--source-tokens");
    if (!parsed)
      return reportError(parsed.takeError());
    source = std::move(*parsed);
    if (llvm::Error error = checkTokenIds(config, source, "--source-tokens"))
      return reportError(std::move(error));
    if (static_cast<int64_t>(source.size()) > config.maxPositions)
      return reportError("--source-tokens: " + llvm::Twine(source.size()) +
                         " tokens exceed the model's max_positions " +
                         llvm::Twine(config.maxPositions));
  } else if (!opts.sourceTokens.empty()) {
    return reportError(llvm::Twine("--source-tokens: a ") +
                       familyName(config.family) +
                       " model has no source (only memsizer_seq2seq models "
                       "do)");
  }
  // The target prefix; a memsizer_seq2seq decoder starts from its start
  // token by default.
  std::vector<int64_t> tokens;
  if (!opts.tokens.empty()) {
    auto parsed = parseTokens(opts.tokens, "--tokens");
    if (!parsed)
      return reportError(parsed.takeError());
    tokens = std::move(*parsed);
  } else if (seq2seq) {
    tokens = {config.decoderStartToken};
  } else {
    return reportError("--tokens: give the prompt's token ids (1,2,3)");
  }
  if (llvm::Error error = checkTokenIds(config, tokens, "--tokens"))
    return reportError(std::move(error));
  int64_t total = static_cast<int64_t>(tokens.size()) + opts.maxNewTokens;
  if (total > config.maxPositions)
    return reportError("--max-new-tokens: the prompt's " +
                       llvm::Twine(tokens.size()) + " tokens and " +
                       llvm::Twine(opts.maxNewTokens) +
                       " new ones exceed the model's max_positions " +
                       llvm::Twine(config.maxPositions));

  std::vector<float> logits;
  std::vector<int64_t> generated;
  if (opts.engine == "reference") {
    if (llvm::Error error = runReference(*imported->directory, source, tokens,
                                         opts.maxNewTokens, logits, generated))
      return reportError(std::move(error));
  } else {
    auto model = LoadedModel::load(std::move(*imported), engine);
    if (!model)
      return reportError(model.takeError());
    if (llvm::Error error =
            runCompiled(**model, source, tokens, opts.maxNewTokens, opts.chunk,
                        !opts.logitsOut.empty(), logits, generated))
      return reportError(opts.dir + ": " + llvm::toString(std::move(error)));
  }
  if (!opts.logitsOut.empty())
    if (llvm::Error error =
            writeNpy(opts.logitsOut, NpyType::F32,
                     {static_cast<int64_t>(tokens.size()), config.vocabSize},
                     logits.data()))
      return reportError(std::move(error));
  llvm::outs() << llvm::join(llvm::map_range(
                                 generated,
                                 [](int64_t id) { return std::to_string(id); }),
                             " ")
               << "\n";
  return 0;
}

//===----------------------------------------------------------------------===//
// bench DIR
//===----------------------------------------------------------------------===//

struct BenchOptions {
  std::string dir;
  int64_t promptLength = 0, decodeTokens = 0, rounds = 5;
  std::vector<int64_t> decodePositions, prefillLengths;
  int64_t stepsPerRound = 16, memorySteps = 0;
  EngineFlags engine;
  bool json = false;
};

int benchModel(const BenchOptions &opts) {
  if (opts.dir.empty())
    return reportError("bench: give a model directory (mnemoc bench DIR) or "
                       "a layer (mnemoc bench layer ...)");
  bench::ModelBenchOptions options;
  options.dir = opts.dir;
  options.promptLength = opts.promptLength;
  options.decodeTokens = opts.decodeTokens;
  options.rounds = opts.rounds;
  options.decodePositions = opts.decodePositions;
  options.stepsPerRound = opts.stepsPerRound;
  options.prefillLengths = opts.prefillLengths;
  options.memorySteps = opts.memorySteps;
  options.engine = opts.engine.options();
  auto result = bench::runModelBench(options);
  if (!result)
    return reportError(result.takeError());
  llvm::outs() << (opts.json ? result->toJSON() + "\n" : result->toText());
  return 0;
}

} // namespace

void addModelCommands(CLI::App &app, CLI::App &bench,
                      std::vector<Command> &commands) {
  // bench DIR (bench layer is a subcommand of the same group)
  bench.require_subcommand(0, 1);
  auto benchOpts = std::make_shared<BenchOptions>();
  bench.add_option("dir", benchOpts->dir, "model directory");
  bench
      .add_option("--prompt-len", benchOpts->promptLength,
                  "prompt tokens of each prefill (default: min(512, "
                  "max_positions / 2))")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 24));
  bench
      .add_option("--decode-tokens", benchOpts->decodeTokens,
                  "tokens decoded after the prompt (default: min(64, the "
                  "positions left))")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 24));
  bench.add_option("--rounds", benchOpts->rounds, "rounds (default 5)")
      ->check(CLI::Range(int64_t{1}, int64_t{1000}));
  bench
      .add_option("--decode-positions", benchOpts->decodePositions,
                  "per-token decoding latency at these positions: 16,1024")
      ->delimiter(',')
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 24));
  bench
      .add_option("--steps-per-round", benchOpts->stepsPerRound,
                  "decoding steps timed per round at each position "
                  "(default 16)")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 20));
  bench
      .add_option("--prefill-lengths", benchOpts->prefillLengths,
                  "prefill time of prompts of these lengths: 1024,2048")
      ->delimiter(',')
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 24));
  bench
      .add_option("--memory-steps", benchOpts->memorySteps,
                  "decode this many steps of one sequence and report resident "
                  "memory after a tenth of them and at the end")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 30));
  bench.add_flag("--json", benchOpts->json, "print one JSON object");
  addEngineFlags(bench, benchOpts->engine);
  commands.push_back({&bench, [benchOpts] { return benchModel(*benchOpts); }});

  // init
  auto initOpts = std::make_shared<InitOptions>();
  CLI::App *initCmd = app.add_subcommand(
      "init", "Create a model directory with random weights (config.json and "
              "model.safetensors)");
  initCmd->add_option("--family", initOpts->family, "model family")
      ->required()
      ->check(CLI::IsMember(
          {"memoryformer", "memsizer", "transformer", "memsizer_seq2seq"}));
  initCmd->add_option("--preset", initOpts->preset, "model size")
      ->check(CLI::IsMember({"tiny", "small", "base"}))
      ->default_str("tiny");
  initCmd->add_option("-o,--output", initOpts->output, "model directory")
      ->required();
  initCmd->add_option("--seed", initOpts->seed, "random seed (default 0)");
  initCmd
      ->add_option("--dtype", initOpts->dtype,
                   "storage type of the weights (default float16)")
      ->check(CLI::IsMember({"float32", "float16", "bfloat16"}));
  auto positive = CLI::Range(int64_t{1}, int64_t{1} << 24);
  initCmd->add_option("--vocab-size", initOpts->vocabSize, "vocabulary size")
      ->check(positive);
  initCmd->add_option("--layers", initOpts->layers, "number of layers")
      ->check(positive);
  initCmd->add_option("--hidden-size", initOpts->hiddenSize, "hidden size d")
      ->check(positive);
  initCmd->add_option("--heads", initOpts->heads, "attention heads")
      ->check(positive);
  initCmd
      ->add_option("--tables", initOpts->tables,
                   "memoryformer: tables K per Memory Layer")
      ->check(positive);
  initCmd
      ->add_option("--bits", initOpts->bits,
                   "memoryformer: bits tau per table (default 8)")
      ->check(CLI::Range(1, 16));
  initCmd
      ->add_option("--memory-slots", initOpts->memorySlots,
                   "memsizer: memory slots k (default 32; memsizer_seq2seq: "
                   "the decoder's self-attention, default 4)")
      ->check(positive);
  initCmd
      ->add_option("--encoder-layers", initOpts->encoderLayers,
                   "memsizer_seq2seq: encoder layers (default: --layers)")
      ->check(positive);
  initCmd
      ->add_option("--cross-memory-slots", initOpts->crossMemorySlots,
                   "memsizer_seq2seq: memory slots of cross-attention and of "
                   "a Memsizer encoder (default 32)")
      ->check(positive);
  initCmd
      ->add_option("--encoder-attention", initOpts->encoderAttention,
                   "memsizer_seq2seq: the encoder's self-attention (default "
                   "softmax)")
      ->check(CLI::IsMember({"softmax", "memsizer"}));
  initCmd
      ->add_option("--max-positions", initOpts->maxPositions,
                   "longest sequence (default 2048)")
      ->check(positive);
  initCmd->add_flag("--config-only", initOpts->configOnly,
                    "write config.json only (for mnemoc stats)");
  initCmd->add_flag("--force", initOpts->force,
                    "replace a model already in the directory");
  commands.push_back({initCmd, [initOpts] { return init(*initOpts); }});

  // stats
  auto statsOpts = std::make_shared<StatsOptions>();
  CLI::App *statsCmd = app.add_subcommand(
      "stats", "FLOPs, weight and table bytes, and bytes read per decoded "
               "token of a model");
  statsCmd->add_option("dir", statsOpts->dir, "model directory")->required();
  statsCmd
      ->add_option("--seq-len", statsOpts->seqLen,
                   "sequence length (default 2048)")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 24));
  statsCmd->add_flag("--json", statsOpts->json, "print one JSON object");
  commands.push_back({statsCmd, [statsOpts] { return stats(*statsOpts); }});

  // run
  auto runOpts = std::make_shared<RunOptions>();
  CLI::App *runCmd = app.add_subcommand(
      "run", "Run a prompt through a model and decode greedily; prints the "
             "generated token ids");
  runCmd->add_option("dir", runOpts->dir, "model directory")->required();
  runCmd->add_option("--tokens", runOpts->tokens,
                     "prompt token ids: 1,2,3 (memsizer_seq2seq: the target "
                     "prefix, default the decoder's start token)");
  runCmd->add_option("--source-tokens", runOpts->sourceTokens,
                     "memsizer_seq2seq: the source's token ids: 1,2,3");
  runCmd
      ->add_option("--max-new-tokens", runOpts->maxNewTokens,
                   "tokens to generate (default 0)")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 20));
  runCmd->add_option("--logits-out", runOpts->logitsOut,
                     "write the prompt's logits [tokens, vocab] as float32 "
                     ".npy");
  runCmd
      ->add_option("--engine", runOpts->engine,
                   "jit: the model compiled for this CPU (default); "
                   "reference: lib/Reference, the plain C++ oracle")
      ->check(CLI::IsMember({"jit", "reference"}))
      ->default_str("jit");
  runCmd
      ->add_option("--chunk", runOpts->chunk,
                   "run the prompt in chunks of this many tokens (1: token "
                   "by token, as decoding does; default: all at once)")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 24));
  addEngineFlags(*runCmd, runOpts->engineFlags);
  commands.push_back({runCmd, [runOpts] { return run(*runOpts); }});
}

} // namespace mnemoc
