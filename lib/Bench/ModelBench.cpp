//===- ModelBench.cpp - A whole model against a dense Transformer ---------===//

#include "mnemo/Bench/ModelBench.h"

#include "mnemo/Bench/Median.h"
#include "mnemo/Model/Model.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"

#include <nlohmann/json.hpp>

#include <chrono>

namespace mnemo::bench {

namespace {

llvm::Error makeError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

double seconds(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
      .count();
}

/// One round: a prompt in one prefill, then greedy decoding steps.
llvm::Error round(const LoadedModel &model, const std::vector<int64_t> &prompt,
                  int64_t decodeTokens, std::vector<double> &prefill,
                  std::vector<double> &decode) {
  std::unique_ptr<Sequence> sequence = model.newSequence();
  std::vector<float> logits;
  auto start = std::chrono::steady_clock::now();
  if (llvm::Error error = sequence->append(prompt, &logits))
    return error;
  prefill.push_back(static_cast<double>(prompt.size()) / seconds(start));
  if (decodeTokens == 0)
    return llvm::Error::success();
  start = std::chrono::steady_clock::now();
  for (int64_t step = 0; step < decodeTokens; ++step) {
    int64_t next =
        std::max_element(logits.begin(), logits.end()) - logits.begin();
    if (llvm::Error error = sequence->append({next}, &logits))
      return error;
  }
  decode.push_back(static_cast<double>(decodeTokens) / seconds(start));
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
  result.threads = (*model)->threads();
  result.rounds = options.rounds;

  // The dense Transformer of the same shape, with random weights, in a
  // directory that is removed once loaded (its weights stay mapped).
  ModelConfig dense = config;
  dense.family = Family::Transformer;
  dense.ffnSize = 4 * config.hiddenSize;
  llvm::SmallString<128> tempDir;
  if (std::error_code error =
          llvm::sys::fs::createUniqueDirectory("mnemo-bench", tempDir))
    return makeError("cannot create a directory for the dense model: " +
                     error.message());
  if (options.engine.progress)
    options.engine.progress("writing a dense transformer of the same shape");
  if (llvm::Error error = writeRandomModel(dense, /*seed=*/1, tempDir)) {
    llvm::sys::fs::remove_directories(tempDir);
    return std::move(error);
  }
  start = std::chrono::steady_clock::now();
  auto denseModel = LoadedModel::load(tempDir, options.engine);
  llvm::sys::fs::remove_directories(tempDir);
  if (!denseModel)
    return denseModel.takeError();
  result.denseLoadSeconds = seconds(start);

  std::vector<int64_t> tokens(static_cast<size_t>(prompt));
  for (int64_t i = 0; i < prompt; ++i)
    tokens[i] = (i * 7919 + 13) % config.vocabSize;
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
    if (llvm::Error error = round(**denseModel, tokens, decode, c, d))
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
                      elementTypeName(config.dtype), threads)
     << llvm::formatv("{0,-28}{1,18}{2,18}\n", "tokens/s",
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
  nlohmann::json json = {
      {"model_type", familyName(config.family)},
      {"threads", threads},
      {"prompt_len", promptLength},
      {"decode_tokens", decodeTokens},
      {"prefill_tokens_per_s", model.prefillTokensPerSecond},
      {"decode_tokens_per_s", model.decodeTokensPerSecond},
      {"dense_prefill_tokens_per_s", dense.prefillTokensPerSecond},
      {"dense_decode_tokens_per_s", dense.decodeTokensPerSecond},
      {"prefill_speedup",
       ratio(model.prefillTokensPerSecond, dense.prefillTokensPerSecond)},
      {"decode_speedup",
       ratio(model.decodeTokensPerSecond, dense.decodeTokensPerSecond)},
      {"load_seconds", loadSeconds}};
  return json.dump();
}

} // namespace mnemo::bench
