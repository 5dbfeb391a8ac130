//===- ModelBench.cpp - A whole model against a dense Transformer ---------===//

#include "mnemo/Bench/ModelBench.h"

#include "mnemo/Bench/Median.h"
#include "mnemo/Model/Model.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <fstream>

#include <unistd.h>

namespace mnemo::bench {

namespace {

llvm::Error makeError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

double seconds(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
      .count();
}

/// The process's resident memory, bytes (0 where /proc is unavailable).
int64_t residentBytes() {
  std::ifstream statm("/proc/self/statm");
  int64_t size = 0, resident = 0;
  if (!(statm >> size >> resident))
    return 0;
  return resident * static_cast<int64_t>(sysconf(_SC_PAGESIZE));
}

/// The benchmark prompt's tokens at positions `first .. first + n - 1`: ids
/// spread over the vocabulary, the same on both sides.
std::vector<int64_t> promptTokens(int64_t first, int64_t n, int64_t vocab) {
  std::vector<int64_t> tokens(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    tokens[i] = ((first + i) * 7919 + 13) % vocab;
  return tokens;
}

/// The source each memsizer_seq2seq sequence is given before it is timed
/// (the decoder's timings are those of translating it): up to 64 tokens, at
/// most a quarter of the model's positions. None for other families.
std::vector<int64_t> benchSource(const ModelConfig &config) {
  if (config.family != Family::MemsizerSeq2Seq)
    return {};
  int64_t n =
      std::max<int64_t>(1, std::min<int64_t>(64, config.maxPositions / 4));
  return promptTokens(1000, n, config.vocabSize);
}

/// A new sequence of `model`, given the benchmark's source if it takes one.
llvm::Expected<std::unique_ptr<Sequence>>
startSequence(const LoadedModel &model) {
  std::unique_ptr<Sequence> sequence = model.newSequence();
  std::vector<int64_t> source = benchSource(model.config());
  if (!source.empty())
    if (llvm::Error error = sequence->setSource(source))
      return std::move(error);
  return std::move(sequence);
}

/// One round: a prompt in one prefill, then greedy decoding steps.
llvm::Error round(const LoadedModel &model, const std::vector<int64_t> &prompt,
                  int64_t decodeTokens, std::vector<double> &prefill,
                  std::vector<double> &decode) {
  auto sequence = startSequence(model);
  if (!sequence)
    return sequence.takeError();
  std::vector<float> logits;
  auto start = std::chrono::steady_clock::now();
  if (llvm::Error error = (*sequence)->append(prompt, &logits))
    return error;
  prefill.push_back(static_cast<double>(prompt.size()) / seconds(start));
  if (decodeTokens == 0)
    return llvm::Error::success();
  start = std::chrono::steady_clock::now();
  for (int64_t step = 0; step < decodeTokens; ++step) {
    int64_t next =
        std::max_element(logits.begin(), logits.end()) - logits.begin();
    if (llvm::Error error = (*sequence)->append({next}, &logits))
      return error;
  }
  decode.push_back(static_cast<double>(decodeTokens) / seconds(start));
  return llvm::Error::success();
}

/// Extends `sequence` with prompt tokens up to `length`, in prefills of at
/// most 2048 tokens.
llvm::Error extendTo(Sequence &sequence, int64_t length, int64_t vocab) {
  while (sequence.length() < length) {
    int64_t n = std::min<int64_t>(2048, length - sequence.length());
    if (llvm::Error error =
            sequence.append(promptTokens(sequence.length(), n, vocab), nullptr))
      return error;
  }
  return llvm::Error::success();
}

/// Seconds per token of `steps` greedy decoding steps of `sequence`.
llvm::Expected<double> timeSteps(Sequence &sequence, int64_t steps,
                                 std::vector<float> &logits) {
  auto start = std::chrono::steady_clock::now();
  for (int64_t step = 0; step < steps; ++step) {
    int64_t next =
        logits.empty()
            ? 0
            : std::max_element(logits.begin(), logits.end()) - logits.begin();
    if (llvm::Error error = sequence.append({next}, &logits))
      return std::move(error);
  }
  return seconds(start) / static_cast<double>(steps);
}

/// Per-token decoding latency of both models at each position: one
/// sequence per model, prefilled up to the next position, then rounds of
/// `steps` steps, interleaved between the models.
llvm::Error measurePositions(const LoadedModel &model, const LoadedModel &dense,
                             const ModelBenchOptions &options,
                             ModelBenchResult &result) {
  std::unique_ptr<Sequence> sequences[2];
  for (int side = 0; side < 2; ++side) {
    auto sequence = startSequence(side == 0 ? model : dense);
    if (!sequence)
      return sequence.takeError();
    sequences[side] = std::move(*sequence);
  }
  std::vector<float> logits[2];
  std::vector<int64_t> positions = options.decodePositions;
  llvm::sort(positions);
  int64_t vocab = model.config().vocabSize;
  for (int64_t position : positions) {
    if (options.engine.progress)
      options.engine.progress(
          llvm::formatv("decoding at position {0}", position).str());
    std::vector<double> times[2];
    for (int side = 0; side < 2; ++side)
      if (llvm::Error error = extendTo(*sequences[side], position, vocab))
        return error;
    for (int64_t r = -1; r < options.rounds; ++r)
      for (int side = 0; side < 2; ++side) {
        auto time =
            timeSteps(*sequences[side], options.stepsPerRound, logits[side]);
        if (!time)
          return time.takeError();
        if (r >= 0)
          times[side].push_back(*time);
      }
    result.positions.push_back({position, median(times[0]), median(times[1])});
  }
  return llvm::Error::success();
}

/// Prefill time of prompts of each length, interleaved between the models.
llvm::Error measurePrefills(const LoadedModel &model, const LoadedModel &dense,
                            const ModelBenchOptions &options,
                            ModelBenchResult &result) {
  int64_t vocab = model.config().vocabSize;
  for (int64_t length : options.prefillLengths) {
    if (options.engine.progress)
      options.engine.progress(
          llvm::formatv("prefilling {0} tokens", length).str());
    std::vector<double> times[2];
    std::vector<int64_t> tokens = promptTokens(0, length, vocab);
    for (int64_t r = -1; r < options.rounds; ++r)
      for (int side = 0; side < 2; ++side) {
        auto sequence = startSequence(side == 0 ? model : dense);
        if (!sequence)
          return sequence.takeError();
        std::vector<float> logits;
        auto start = std::chrono::steady_clock::now();
        if (llvm::Error error = (*sequence)->append(tokens, &logits))
          return error;
        if (r >= 0)
          times[side].push_back(seconds(start));
      }
    result.prefills.push_back({length, median(times[0]), median(times[1])});
  }
  return llvm::Error::success();
}

/// Resident memory after a tenth of `steps` decoding steps (at most 1000)
/// and after all of them.
llvm::Error measureMemory(const LoadedModel &model,
                          const ModelBenchOptions &options,
                          ModelBenchResult &result) {
  MemoryGrowth growth;
  growth.steps = options.memorySteps;
  growth.warmSteps =
      std::max<int64_t>(1, std::min<int64_t>(1000, options.memorySteps / 10));
  if (options.engine.progress)
    options.engine.progress(
        llvm::formatv("decoding {0} steps, watching resident memory",
                      growth.steps)
            .str());
  auto sequence = startSequence(model);
  if (!sequence)
    return sequence.takeError();
  std::vector<float> logits;
  if (auto time = timeSteps(**sequence, growth.warmSteps, logits); !time)
    return time.takeError();
  growth.warmBytes = residentBytes();
  if (auto time =
          timeSteps(**sequence, growth.steps - growth.warmSteps, logits);
      !time)
    return time.takeError();
  growth.endBytes = residentBytes();
  result.memory = growth;
  return llvm::Error::success();
}

/// The dense Transformer of the same shape as `config`, with random
/// weights, from a directory that is removed once loaded (its weights stay
/// mapped).
llvm::Expected<std::unique_ptr<LoadedModel>>
loadDenseTwin(const ModelConfig &config, const EngineOptions &engine) {
  ModelConfig dense = config;
  dense.family = Family::Transformer;
  dense.ffnSize = 4 * config.hiddenSize;
  llvm::SmallString<128> tempDir;
  if (std::error_code error =
          llvm::sys::fs::createUniqueDirectory("mnemo-bench", tempDir))
    return makeError("cannot create a directory for the dense model: " +
                     error.message());
  if (engine.progress)
    engine.progress("writing a dense transformer of the same shape");
  if (llvm::Error error = writeRandomModel(dense, /*seed=*/1, tempDir)) {
    llvm::sys::fs::remove_directories(tempDir);
    return std::move(error);
  }
  auto loaded = LoadedModel::load(tempDir, engine);
  llvm::sys::fs::remove_directories(tempDir);
  return loaded;
}

/// The tokens `sequence` runs at `step`: ids spread over the vocabulary.
int64_t stepToken(int64_t sequence, int64_t step, int64_t vocab) {
  return (sequence * 104729 + step * 7919 + 17) % vocab;
}

/// Decoding throughput of batches of each size: B sequences (prompts of
/// `result.batchPrompt` tokens) stepped together, against B sequences
/// stepped one at a time, interleaved rounds of `stepsPerRound` steps.
llvm::Error measureBatches(const LoadedModel &model,
                           const ModelBenchOptions &options,
                           ModelBenchResult &result) {
  int64_t vocab = model.config().vocabSize;
  int64_t steps = options.stepsPerRound;
  for (int64_t size : options.batchSizes) {
    if (options.engine.progress)
      options.engine.progress(
          llvm::formatv("decoding batches of {0} sequences", size).str());
    auto batch = model.newBatch(size);
    if (!batch)
      return batch.takeError();
    std::vector<std::unique_ptr<Sequence>> alone;
    std::vector<int64_t> source = benchSource(model.config());
    for (int64_t i = 0; i < size; ++i) {
      std::vector<int64_t> prompt = promptTokens(i, result.batchPrompt, vocab);
      if (!source.empty())
        if (llvm::Error error = (*batch)->setSource(i, source))
          return error;
      if (llvm::Error error = (*batch)->append(i, prompt, nullptr))
        return error;
      auto sequence = startSequence(model);
      if (!sequence)
        return sequence.takeError();
      alone.push_back(std::move(*sequence));
      if (llvm::Error error = alone.back()->append(prompt, nullptr))
        return error;
    }
    std::vector<double> together, oneByOne;
    std::vector<int64_t> tokens(static_cast<size_t>(size));
    std::vector<float> logits;
    for (int64_t r = -1, step = 0; r < options.rounds; ++r) {
      auto start = std::chrono::steady_clock::now();
      for (int64_t s = 0; s < steps; ++s) {
        for (int64_t i = 0; i < size; ++i)
          tokens[i] = stepToken(i, step + s, vocab);
        if (llvm::Error error = (*batch)->step(tokens, &logits))
          return error;
      }
      double batched = seconds(start) / static_cast<double>(steps);
      start = std::chrono::steady_clock::now();
      for (int64_t s = 0; s < steps; ++s)
        for (int64_t i = 0; i < size; ++i)
          if (llvm::Error error =
                  alone[i]->append({stepToken(i, step + s, vocab)}, &logits))
            return error;
      double sequential = seconds(start) / static_cast<double>(steps);
      step += steps;
      if (r >= 0) {
        together.push_back(batched);
        oneByOne.push_back(sequential);
      }
    }
    result.batches.push_back({size, median(together), median(oneByOne)});
  }
  return llvm::Error::success();
}

} // namespace

llvm::Expected<ModelBenchResult> runModelBench(ModelBenchOptions options) {
  auto start = std::chrono::steady_clock::now();
  auto model = LoadedModel::load(options.dir, options.engine);
  if (!model)
    return model.takeError();
  ModelBenchResult result;
  result.loadSeconds = seconds(start);
  const ModelConfig &config = (*model)->config();
  result.config = config;
  int64_t positions = config.maxPositions;
  int64_t prompt =
      options.promptLength > 0
          ? options.promptLength
          : std::max<int64_t>(1, std::min<int64_t>(512, positions / 2));
  int64_t decode = options.decodeTokens > 0
                       ? options.decodeTokens
                       : std::min<int64_t>(64, positions - prompt);
  if (prompt + decode > positions)
    return makeError(llvm::formatv("--prompt-len {0} and --decode-tokens {1} "
                                   "exceed the model's max_positions {2}",
                                   prompt, decode, positions)
                         .str());
  result.promptLength = prompt;
  result.decodeTokens = decode;
  result.sourceTokens = static_cast<int64_t>(benchSource(config).size());
  result.threads = (*model)->threads();
  result.rounds = options.rounds;
  result.standard = options.decodePositions.empty() &&
                    options.prefillLengths.empty() &&
                    options.memorySteps == 0 && options.batchSizes.empty();
  result.stepsPerRound = options.stepsPerRound;
  int64_t timedSteps = (options.rounds + 1) * options.stepsPerRound;
  for (int64_t position : options.decodePositions)
    if (position < 0 || position + timedSteps > positions)
      return makeError(
          llvm::formatv("--decode-positions: position {0} and {1} timed "
                        "steps exceed the model's max_positions {2}",
                        position, timedSteps, positions)
              .str());
  for (int64_t length : options.prefillLengths)
    if (length < 1 || length > positions)
      return makeError(llvm::formatv("--prefill-lengths: {0} tokens exceed the "
                                     "model's max_positions {1}",
                                     length, positions)
                           .str());
  // Batches decode after a prompt of up to 64 tokens.
  result.batchPrompt = std::min<int64_t>(64, positions / 2);
  for (int64_t size : options.batchSizes) {
    if (size < 1 || size > kMaxBatchSize)
      return makeError(llvm::formatv("--batch-sizes: {0} is outside [1, {1}]",
                                     size, kMaxBatchSize)
                           .str());
    if (result.batchPrompt + timedSteps > positions)
      return makeError(
          llvm::formatv("--batch-sizes: a prompt of {0} tokens and {1} timed "
                        "steps exceed the model's max_positions {2}",
                        result.batchPrompt, timedSteps, positions)
              .str());
  }
  if (options.memorySteps > positions)
    return makeError(llvm::formatv("--memory-steps: {0} steps exceed the "
                                   "model's max_positions {1}",
                                   options.memorySteps, positions)
                         .str());

  std::unique_ptr<LoadedModel> denseModel;
  if (result.standard || !options.decodePositions.empty() ||
      !options.prefillLengths.empty()) {
    start = std::chrono::steady_clock::now();
    auto loaded = loadDenseTwin(config, options.engine);
    if (!loaded)
      return loaded.takeError();
    denseModel = std::move(*loaded);
    result.denseLoadSeconds = seconds(start);
  }

  if (!result.standard) {
    if (denseModel) {
      if (llvm::Error error =
              measurePositions(**model, *denseModel, options, result))
        return std::move(error);
      if (llvm::Error error =
              measurePrefills(**model, *denseModel, options, result))
        return std::move(error);
    }
    if (options.memorySteps > 0)
      if (llvm::Error error = measureMemory(**model, options, result))
        return std::move(error);
    if (llvm::Error error = measureBatches(**model, options, result))
      return std::move(error);
    return result;
  }

  std::vector<int64_t> tokens = promptTokens(0, prompt, config.vocabSize);
  if (options.engine.progress)
    options.engine.progress(llvm::formatv("measuring {0} rounds: a prompt of "
                                          "{1} tokens, then {2} decoded",
                                          options.rounds, prompt, decode)
                                .str());
  std::vector<double> prefill, decodeRate, densePrefill, denseDecode;
  // A warm-up round each, then interleaved rounds.
  for (int64_t r = -1; r < options.rounds; ++r) {
    std::vector<double> a, b, c, d;
    if (llvm::Error error = round(**model, tokens, decode, a, b))
      return std::move(error);
    if (llvm::Error error = round(*denseModel, tokens, decode, c, d))
      return std::move(error);
    if (r < 0)
      continue;
    prefill.insert(prefill.end(), a.begin(), a.end());
    decodeRate.insert(decodeRate.end(), b.begin(), b.end());
    densePrefill.insert(densePrefill.end(), c.begin(), c.end());
    denseDecode.insert(denseDecode.end(), d.begin(), d.end());
  }
  result.model = {median(prefill), median(decodeRate)};
  result.dense = {median(densePrefill), median(denseDecode)};
  return result;
}

std::string ModelBenchResult::toText() const {
  auto ratio = [](double a, double b) { return b > 0 ? a / b : 0.0; };
  std::string text;
  llvm::raw_string_ostream os(text);
  os << llvm::formatv("{0} model: d = {1}, {2} layers, {3} heads, vocab {4}, "
                      "{5} weights; {6} threads\n",
                      familyName(config.family), config.hiddenSize,
                      config.numLayers, config.numHeads, config.vocabSize,
                      elementTypeName(config.dtype), threads);
  if (sourceTokens > 0)
    os << llvm::formatv("  each sequence is given a source of {0} tokens, "
                        "encoded before it is timed\n",
                        sourceTokens);
  if (!standard) {
    if (!positions.empty()) {
      os << llvm::formatv("{0,-28}{1,14}{2,14}{3,12}\n",
                          "decoding, ms per token at", "mnemo", "dense",
                          "speedup");
      for (const PositionLatency &p : positions)
        os << llvm::formatv("{0,-28}{1,14:F3}{2,14:F3}{3,11:F2}x\n",
                            llvm::formatv("  position {0}", p.position).str(),
                            p.modelSeconds * 1e3, p.denseSeconds * 1e3,
                            ratio(p.denseSeconds, p.modelSeconds));
      os << llvm::formatv("  medians of {0} rounds of {1} steps each after a "
                          "warm-up round\n",
                          rounds, stepsPerRound);
    }
    if (!prefills.empty()) {
      os << llvm::formatv("{0,-28}{1,14}{2,14}{3,12}\n", "prefill, seconds of",
                          "mnemo", "dense", "speedup");
      for (const PrefillTime &p : prefills)
        os << llvm::formatv("{0,-28}{1,14:F3}{2,14:F3}{3,11:F2}x\n",
                            llvm::formatv("  {0} tokens", p.tokens).str(),
                            p.modelSeconds, p.denseSeconds,
                            ratio(p.denseSeconds, p.modelSeconds));
      os << llvm::formatv("  medians of {0} rounds after a warm-up\n", rounds);
    }
    if (!batches.empty()) {
      os << llvm::formatv("{0,-28}{1,14}{2,14}{3,12}\n",
                          "decoding, tokens/s of", "together", "one by one",
                          "speedup");
      for (const BatchThroughput &b : batches)
        os << llvm::formatv("{0,-28}{1,14:F1}{2,14:F1}{3,11:F2}x\n",
                            llvm::formatv("  {0} sequences", b.batch).str(),
                            b.batch / b.batchedSeconds,
                            b.batch / b.sequentialSeconds,
                            ratio(b.sequentialSeconds, b.batchedSeconds));
      os << llvm::formatv("  after prompts of {0} tokens; medians of {1} "
                          "interleaved rounds of {2} steps after a warm-up\n",
                          batchPrompt, rounds, stepsPerRound);
    }
    if (memory)
      os << llvm::formatv("resident memory after {0} decoding steps: {1:F1} "
                          "MiB; after {2}: {3:F1} MiB ({4} KiB more)\n",
                          memory->warmSteps, memory->warmBytes / 1048576.0,
                          memory->steps, memory->endBytes / 1048576.0,
                          (memory->endBytes - memory->warmBytes) / 1024);
    return text;
  }
  os << llvm::formatv("{0,-28}{1,18}{2,18}\n", "tokens/s",
                      llvm::formatv("prefill ({0})", promptLength).str(),
                      llvm::formatv("decode ({0})", decodeTokens).str())
     << llvm::formatv("{0,-28}{1,18:F1}{2,18:F1}\n", "mnemo",
                      model.prefillTokensPerSecond, model.decodeTokensPerSecond)
     << llvm::formatv("{0,-28}{1,18:F1}{2,18:F1}\n", "dense transformer",
                      dense.prefillTokensPerSecond, dense.decodeTokensPerSecond)
     << llvm::formatv(
            "{0,-28}{1,17:F2}x{2,17:F2}x\n", "speedup (mnemo / dense)",
            ratio(model.prefillTokensPerSecond, dense.prefillTokensPerSecond),
            ratio(model.decodeTokensPerSecond, dense.decodeTokensPerSecond))
     << llvm::formatv("  medians of {0} interleaved rounds after a warm-up; "
                      "load (compile or cache, prepare) {1:F2} s, dense "
                      "{2:F2} s\n",
                      rounds, loadSeconds, denseLoadSeconds);
  return text;
}

std::string ModelBenchResult::toJSON() const {
  auto ratio = [](double a, double b) { return b > 0 ? a / b : 0.0; };
  nlohmann::json json = {{"model_type", familyName(config.family)},
                         {"threads", threads},
                         {"rounds", rounds},
                         {"load_seconds", loadSeconds}};
  if (sourceTokens > 0)
    json["source_tokens"] = sourceTokens;
  if (standard) {
    json["prompt_len"] = promptLength;
    json["decode_tokens"] = decodeTokens;
    json["prefill_tokens_per_s"] = model.prefillTokensPerSecond;
    json["decode_tokens_per_s"] = model.decodeTokensPerSecond;
    json["dense_prefill_tokens_per_s"] = dense.prefillTokensPerSecond;
    json["dense_decode_tokens_per_s"] = dense.decodeTokensPerSecond;
    json["prefill_speedup"] =
        ratio(model.prefillTokensPerSecond, dense.prefillTokensPerSecond);
    json["decode_speedup"] =
        ratio(model.decodeTokensPerSecond, dense.decodeTokensPerSecond);
  }
  if (!positions.empty()) {
    json["steps_per_round"] = stepsPerRound;
    nlohmann::json list = nlohmann::json::array();
    for (const PositionLatency &p : positions)
      list.push_back({{"position", p.position},
                      {"seconds_per_token", p.modelSeconds},
                      {"dense_seconds_per_token", p.denseSeconds},
                      {"speedup", ratio(p.denseSeconds, p.modelSeconds)}});
    json["decode_positions"] = list;
  }
  if (!prefills.empty()) {
    nlohmann::json list = nlohmann::json::array();
    for (const PrefillTime &p : prefills)
      list.push_back({{"tokens", p.tokens},
                      {"seconds", p.modelSeconds},
                      {"dense_seconds", p.denseSeconds},
                      {"speedup", ratio(p.denseSeconds, p.modelSeconds)}});
    json["prefill_lengths"] = list;
  }
  if (!batches.empty()) {
    json["steps_per_round"] = stepsPerRound;
    json["batch_prompt_len"] = batchPrompt;
    nlohmann::json list = nlohmann::json::array();
    for (const BatchThroughput &b : batches)
      list.push_back(
          {{"batch", b.batch},
           {"seconds_per_step", b.batchedSeconds},
           {"sequential_seconds_per_step", b.sequentialSeconds},
           {"tokens_per_s", b.batch / b.batchedSeconds},
           {"sequential_tokens_per_s", b.batch / b.sequentialSeconds},
           {"speedup", ratio(b.sequentialSeconds, b.batchedSeconds)}});
    json["batch_sizes"] = list;
  }
  if (memory)
    json["resident_memory"] = {
        {"steps", memory->steps},
        {"warm_steps", memory->warmSteps},
        {"warm_bytes", memory->warmBytes},
        {"end_bytes", memory->endBytes},
        {"growth_bytes", memory->endBytes - memory->warmBytes}};
  return json.dump();
}

} // namespace mnemo::bench
