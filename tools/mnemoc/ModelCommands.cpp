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
  // The weights must fit where they go: refuse before writing anything.
  llvm::SmallString<256> existing(opts.output);
  while (!existing.empty() && !llvm::sys::fs::exists(existing))
    llvm::sys::path::remove_filename(existing);
  if (existing.empty())
    existing = ".";
  uint64_t bytes = modelBytes(config);
  if (auto space = llvm::sys::fs::disk_space(existing);
      space && bytes > space->available)
    return reportError(llvm::formatv("-o {0}: the model's weights take {1:F1} "
                                     "GiB; its file system has {2:F1} GiB "
                                     "free",
                                     opts.output, bytes / double(1ull << 30),
                                     space->available / double(1ull << 30))
                           .str());
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
  bool quiet = false, noCache = false, gpuKernelsOnCPU = false;
  std::string target = "cpu";

  EngineOptions options() const {
    EngineOptions engine;
    engine.threads = threads;
    engine.diskCache = !noCache;
    engine.gpuKernelsOnCPU = gpuKernelsOnCPU;
    engine.target = target;
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
  app.add_flag("--gpu-kernels-on-cpu", flags.gpuKernelsOnCPU,
               "run the GPU kernels' loop nests on this CPU instead of the "
               "CPU kernels (slow: checks GPU code without a GPU)");
  app.add_option("--target", flags.target,
                 "cpu: this machine's CPU; cuda: the NVIDIA GPU (weights "
                 "uploaded once, states kept in device memory)")
      ->check(CLI::IsMember({"cpu", "cuda"}))
      ->default_str("cpu");
}

struct RunOptions {
  std::string dir, logitsOut, engine = "jit";
  /// One entry per prompt (and per source).
  std::vector<std::string> tokens, sourceTokens;
  int64_t maxNewTokens = 0, chunk = 0, beams = 1;
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

/// Sequences being decoded, as greedy decoding and beam search drive them,
/// by one engine or the other.
class Decoder {
public:
  virtual ~Decoder() = default;
  /// Runs sequence `index`'s source (memsizer_seq2seq) and prompt; `logits`
  /// receives the logits of its last token, or of every prompt token when
  /// `allRows`.
  virtual llvm::Error prefill(int64_t index, const std::vector<int64_t> &source,
                              const std::vector<int64_t> &prompt, bool allRows,
                              std::vector<float> &logits) = 0;
  /// Sequence i continues with tokens[i]; `logits` receives their logits.
  virtual llvm::Error step(llvm::ArrayRef<int64_t> tokens,
                           std::vector<float> &logits) = 0;
  /// Sequence i becomes a copy of sequence from[i].
  virtual llvm::Error select(llvm::ArrayRef<int64_t> from) = 0;
};

/// The compiled model: a batch of sequences.
class CompiledDecoder : public Decoder {
public:
  CompiledDecoder(std::unique_ptr<Batch> batch, int64_t chunk)
      : batch(std::move(batch)), chunk(chunk) {}

  llvm::Error prefill(int64_t index, const std::vector<int64_t> &source,
                      const std::vector<int64_t> &prompt, bool allRows,
                      std::vector<float> &logits) override {
    if (!source.empty())
      if (llvm::Error error = batch->setSource(index, source))
        return error;
    // The prompt in chunks of `chunk` tokens (all at once by default).
    size_t step = chunk > 0 ? static_cast<size_t>(chunk) : prompt.size();
    std::vector<float> chunkLogits;
    logits.clear();
    for (size_t begin = 0; begin < prompt.size(); begin += step) {
      llvm::ArrayRef<int64_t> part = llvm::ArrayRef(prompt).slice(
          begin, std::min(step, prompt.size() - begin));
      if (llvm::Error error = batch->append(index, part, &chunkLogits, allRows))
        return error;
      if (allRows || begin + step >= prompt.size())
        logits.insert(logits.end(), chunkLogits.begin(), chunkLogits.end());
    }
    return llvm::Error::success();
  }
  llvm::Error step(llvm::ArrayRef<int64_t> tokens,
                   std::vector<float> &logits) override {
    return batch->step(tokens, &logits);
  }
  llvm::Error select(llvm::ArrayRef<int64_t> from) override {
    return batch->select(from);
  }

private:
  std::unique_ptr<Batch> batch;
  int64_t chunk;
};

/// lib/Reference: every step recomputes each sequence from its first token.
class ReferenceDecoder : public Decoder {
public:
  ReferenceDecoder(const ModelDirectory &model, int64_t count)
      : config(model.config()), weights(referenceWeights(model)),
        sequences(static_cast<size_t>(count)) {}

  ~ReferenceDecoder() override {
    // Hashing is discontinuous at zero: say when a result hinges on it.
    if (margin.relative < kHashMarginNote)
      llvm::errs() << llvm::formatv(
          "mnemoc: note: a hashed value of layer {0}, token {1} is {2:e2} of "
          "its row's RMS from zero: an f32 engine may hash it into the other "
          "bucket (the reference computes in double)\n",
          margin.layer, margin.row, margin.relative);
  }

  llvm::Error prefill(int64_t index, const std::vector<int64_t> &source,
                      const std::vector<int64_t> &prompt, bool allRows,
                      std::vector<float> &logits) override {
    sequences[index] = {source, prompt};
    logits = logitsOf(sequences[index]);
    if (!allRows)
      logits.erase(logits.begin(), logits.end() - config.vocabSize);
    return llvm::Error::success();
  }
  llvm::Error step(llvm::ArrayRef<int64_t> tokens,
                   std::vector<float> &logits) override {
    logits.clear();
    for (size_t i = 0; i < sequences.size(); ++i) {
      sequences[i].second.push_back(tokens[i]);
      std::vector<float> all = logitsOf(sequences[i]);
      logits.insert(logits.end(), all.end() - config.vocabSize, all.end());
    }
    return llvm::Error::success();
  }
  llvm::Error select(llvm::ArrayRef<int64_t> from) override {
    std::vector<Hypothesis> selected;
    for (int64_t i : from)
      selected.push_back(sequences[i]);
    sequences = std::move(selected);
    return llvm::Error::success();
  }

private:
  /// A source (memsizer_seq2seq) and the tokens after it.
  using Hypothesis = std::pair<std::vector<int64_t>, std::vector<int64_t>>;

  std::vector<float> logitsOf(const Hypothesis &sequence) {
    return config.family == Family::MemsizerSeq2Seq
               ? ref::seq2seqLogits(config, weights, sequence.first,
                                    sequence.second)
               : ref::modelLogits(config, weights, sequence.second, &margin);
  }

  const ModelConfig &config;
  ref::Weights weights;
  std::vector<Hypothesis> sequences;
  ref::HashMargin margin;
};

/// Greedy decoding of every sequence of `decoder`, whose last logits are
/// `logits` (`[n, vocab]`): `steps` tokens each.
llvm::Error decodeGreedily(Decoder &decoder, std::vector<float> logits,
                           int64_t vocab, int64_t steps,
                           std::vector<std::vector<int64_t>> &generated) {
  size_t count = logits.size() / static_cast<size_t>(vocab);
  generated.assign(count, {});
  std::vector<int64_t> next(count);
  for (int64_t step = 0; step < steps; ++step) {
    for (size_t i = 0; i < count; ++i) {
      next[i] = argmax(logits.data() + i * vocab, vocab);
      generated[i].push_back(next[i]);
    }
    if (step + 1 < steps)
      if (llvm::Error error = decoder.step(next, logits))
        return error;
  }
  return llvm::Error::success();
}

/// Beam search from the one sequence of `decoder`, whose last logits are
/// `logits`: keeps the `beams` likeliest continuations (sum of log-softmax
/// scores; ties to the earlier beam, then the smaller id) and returns the
/// likeliest after `steps` tokens.
llvm::Error beamSearch(Decoder &decoder, std::vector<float> logits,
                       int64_t vocab, int64_t beams, int64_t steps,
                       std::vector<int64_t> &best) {
  struct Candidate {
    double score;
    int64_t beam, token;
  };
  std::vector<double> scores = {0.0};
  std::vector<std::vector<int64_t>> hypotheses = {{}};
  for (int64_t step = 0; step < steps; ++step) {
    std::vector<Candidate> candidates;
    for (size_t b = 0; b < hypotheses.size(); ++b) {
      const float *row = logits.data() + b * vocab;
      double top = *std::max_element(row, row + vocab), sum = 0;
      for (int64_t v = 0; v < vocab; ++v)
        sum += std::exp(double(row[v]) - top);
      double logSum = top + std::log(sum);
      for (int64_t v = 0; v < vocab; ++v)
        candidates.push_back(
            {scores[b] + double(row[v]) - logSum, static_cast<int64_t>(b), v});
    }
    size_t kept = std::min(candidates.size(), static_cast<size_t>(beams));
    std::partial_sort(
        candidates.begin(), candidates.begin() + kept, candidates.end(),
        [](const Candidate &a, const Candidate &b) {
          if (a.score != b.score)
            return a.score > b.score;
          return a.beam != b.beam ? a.beam < b.beam : a.token < b.token;
        });
    std::vector<std::vector<int64_t>> next;
    std::vector<int64_t> from, tokens;
    scores.clear();
    for (size_t i = 0; i < kept; ++i) {
      const Candidate &c = candidates[i];
      next.push_back(hypotheses[c.beam]);
      next.back().push_back(c.token);
      scores.push_back(c.score);
      from.push_back(c.beam);
      tokens.push_back(c.token);
    }
    hypotheses = std::move(next);
    if (step + 1 == steps)
      break;
    if (llvm::Error error = decoder.select(from))
      return error;
    if (llvm::Error error = decoder.step(tokens, logits))
      return error;
  }
  best = hypotheses.front();
  return llvm::Error::success();
}

/// Parses every entry of `texts` as token ids checked against the model.
llvm::Expected<std::vector<std::vector<int64_t>>>
parsePrompts(const std::vector<std::string> &texts, const ModelConfig &config,
             llvm::StringRef option) {
  std::vector<std::vector<int64_t>> prompts;
  for (const std::string &text : texts) {
    auto parsed = parseTokens(text, option);
    if (!parsed)
      return parsed.takeError();
    if (llvm::Error error = checkTokenIds(config, *parsed, option))
      return std::move(error);
    prompts.push_back(std::move(*parsed));
  }
  return prompts;
}

int run(const RunOptions &opts) {
  // The directory, the token ids and the lengths are checked before
  // anything is compiled.
  EngineOptions engine = opts.engineFlags.options();
  auto imported = importModelDirectory(opts.dir, engine.progress);
  if (!imported)
    return reportError(imported.takeError());
  ModelConfig config = imported->directory->config();
  bool seq2seq = config.family == Family::MemsizerSeq2Seq;
  auto sources = parsePrompts(opts.sourceTokens, config, "--source-tokens");
  if (!sources)
    return reportError(sources.takeError());
  if (seq2seq && sources->empty())
    return reportError("--source-tokens: a memsizer_seq2seq model needs a "
                       "source (give ids like 1,2,3)");
  if (!seq2seq && !sources->empty())
    return reportError(llvm::Twine("--source-tokens: a ") +
                       familyName(config.family) +
                       " model has no source (only memsizer_seq2seq models "
                       "do)");
  for (const std::vector<int64_t> &source : *sources)
    if (static_cast<int64_t>(source.size()) > config.maxPositions)
      return reportError("--source-tokens: " + llvm::Twine(source.size()) +
                         " tokens exceed the model's max_positions " +
                         llvm::Twine(config.maxPositions));
  // The prompts; a memsizer_seq2seq decoder starts from its start token by
  // default.
  auto prompts = parsePrompts(opts.tokens, config, "--tokens");
  if (!prompts)
    return reportError(prompts.takeError());
  if (prompts->empty()) {
    if (!seq2seq)
      return reportError("--tokens: give the prompt's token ids (1,2,3)");
    prompts->assign(sources->size(), {config.decoderStartToken});
  }
  if (seq2seq && prompts->size() != sources->size())
    return reportError("--tokens: " + llvm::Twine(sources->size()) +
                       " sources need as many target prefixes, got " +
                       llvm::Twine(prompts->size()));
  for (const std::vector<int64_t> &prompt : *prompts) {
    int64_t total = static_cast<int64_t>(prompt.size()) + opts.maxNewTokens;
    if (total > config.maxPositions)
      return reportError("--max-new-tokens: the prompt's " +
                         llvm::Twine(prompt.size()) + " tokens and " +
                         llvm::Twine(opts.maxNewTokens) +
                         " new ones exceed the model's max_positions " +
                         llvm::Twine(config.maxPositions));
  }
  int64_t count = static_cast<int64_t>(prompts->size());
  if (count > 1 && opts.beams > 1)
    return reportError("--beams: beam search decodes one prompt, not " +
                       llvm::Twine(count));
  if (count > 1 && !opts.logitsOut.empty())
    return reportError("--logits-out: writes the logits of one prompt, not " +
                       llvm::Twine(count));

  std::unique_ptr<LoadedModel> model;
  std::unique_ptr<Decoder> decoder;
  if (opts.engine == "reference") {
    decoder = std::make_unique<ReferenceDecoder>(*imported->directory, count);
  } else {
    auto loaded = LoadedModel::load(std::move(*imported), engine);
    if (!loaded)
      return reportError(loaded.takeError());
    model = std::move(*loaded);
    auto batch = model->newBatch(std::max(count, opts.beams));
    if (!batch)
      return reportError(batch.takeError());
    std::vector<int64_t> fresh(static_cast<size_t>(count), -1);
    if (llvm::Error error = (*batch)->select(fresh))
      return reportError(std::move(error));
    decoder = std::make_unique<CompiledDecoder>(std::move(*batch), opts.chunk);
  }

  // Every prompt, then greedy decoding or beam search.
  std::vector<float> promptLogits, last;
  int64_t vocab = config.vocabSize;
  bool allRows = !opts.logitsOut.empty();
  for (int64_t i = 0; i < count; ++i) {
    std::vector<int64_t> source =
        seq2seq ? (*sources)[i] : std::vector<int64_t>{};
    if (llvm::Error error =
            decoder->prefill(i, source, (*prompts)[i], allRows, promptLogits))
      return reportError(opts.dir + ": " + llvm::toString(std::move(error)));
    last.insert(last.end(), promptLogits.end() - vocab, promptLogits.end());
  }
  std::vector<std::vector<int64_t>> generated(1);
  llvm::Error error =
      opts.beams > 1
          ? beamSearch(*decoder, last, vocab, opts.beams, opts.maxNewTokens,
                       generated[0])
          : decodeGreedily(*decoder, last, vocab, opts.maxNewTokens, generated);
  if (error)
    return reportError(opts.dir + ": " + llvm::toString(std::move(error)));
  decoder.reset();
  if (allRows)
    if (llvm::Error error =
            writeNpy(opts.logitsOut, NpyType::F32,
                     {static_cast<int64_t>(prompts->front().size()), vocab},
                     promptLogits.data()))
      return reportError(std::move(error));
  for (const std::vector<int64_t> &tokens : generated)
    llvm::outs() << llvm::join(llvm::map_range(tokens,
                                               [](int64_t id) {
                                                 return std::to_string(id);
                                               }),
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
  std::vector<int64_t> decodePositions, prefillLengths, batchSizes;
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
  options.batchSizes = opts.batchSizes;
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
  bench
      .add_option("--batch-sizes", benchOpts->batchSizes,
                  "decoding throughput of this many sequences stepped "
                  "together, and one at a time: 1,4,16")
      ->delimiter(',')
      ->check(CLI::Range(int64_t{1}, kMaxBatchSize));
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
      "run", "Run prompts through a model and decode greedily or by beam "
             "search; prints the generated token ids, a line per prompt");
  runCmd->add_option("dir", runOpts->dir, "model directory")->required();
  runCmd
      ->add_option("--tokens", runOpts->tokens,
                   "prompt token ids: 1,2,3 (memsizer_seq2seq: the target "
                   "prefix, default the decoder's start token); repeat the "
                   "option to decode several prompts as one batch")
      ->allow_extra_args(false);
  runCmd
      ->add_option("--source-tokens", runOpts->sourceTokens,
                   "memsizer_seq2seq: the source's token ids: 1,2,3; repeat "
                   "it with --tokens for a batch")
      ->allow_extra_args(false);
  runCmd
      ->add_option("--beams", runOpts->beams,
                   "beam search with this many beams (default 1: greedy)")
      ->check(CLI::Range(int64_t{1}, int64_t{1024}));
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
