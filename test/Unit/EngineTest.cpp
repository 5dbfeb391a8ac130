//===- EngineTest.cpp - Batches of sequences against lib/Reference --------===//
//
// Small random models loaded through the engine: sequences of a batch grow
// by their own prompts, step together, and are rebuilt by `select` (beam
// search, dropping and starting sequences); every logit matches the
// reference's for that sequence's whole history, and a sequence run alone.
//
//===----------------------------------------------------------------------===//

#include "mnemo/Engine/Engine.h"
#include "mnemo/Model/ConfigFile.h"
#include "mnemo/Model/Model.h"
#include "mnemo/Reference/Reference.h"

#include "TestUtil.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

#include "gtest/gtest.h"

#include <algorithm>
#include <cstring>
#include <thread>

using namespace mnemo;
using test::expectClose;

namespace {

/// A model directory with random weights, removed at the end of the test.
class TestModel {
public:
  explicit TestModel(const ModelConfig &config) : config(config) {
    llvm::SmallString<128> path;
    EXPECT_FALSE(llvm::sys::fs::createUniqueDirectory("mnemo-engine", path));
    dir = std::string(path);
    llvm::Error error = validateModelConfig(config, "test");
    EXPECT_FALSE(static_cast<bool>(error)) << llvm::toString(std::move(error));
    error = writeRandomModel(config, /*seed=*/5, dir);
    EXPECT_FALSE(static_cast<bool>(error)) << llvm::toString(std::move(error));
  }
  ~TestModel() { llvm::sys::fs::remove_directories(dir); }

  std::unique_ptr<LoadedModel> load() {
    EngineOptions options;
    options.threads = 2;
    options.diskCache = false;
    auto model = LoadedModel::load(dir, options);
    if (!model) {
      ADD_FAILURE() << llvm::toString(model.takeError());
      return nullptr;
    }
    auto directory = ModelDirectory::open(dir);
    EXPECT_TRUE(static_cast<bool>(directory));
    if (directory)
      weights = referenceWeights(**directory);
    return std::move(*model);
  }

  /// The reference's logits of the last token of `tokens` (after `source`).
  std::vector<float> lastLogits(const std::vector<int64_t> &tokens,
                                const std::vector<int64_t> &source = {}) {
    std::vector<float> all =
        config.family == Family::MemsizerSeq2Seq
            ? ref::seq2seqLogits(config, weights, source, tokens)
            : ref::modelLogits(config, weights, tokens);
    return {all.end() - config.vocabSize, all.end()};
  }

  ModelConfig config;
  std::string dir;
  ref::Weights weights;
};

ModelConfig smallConfig(Family family) {
  ModelConfig config = presetConfig(family, Preset::Tiny);
  config.hiddenSize = 64;
  config.numHeads = 4;
  config.numLayers = 2;
  config.ffnSize = 128;
  config.vocabSize = 97;
  config.maxPositions = 48;
  if (family == Family::MemsizerSeq2Seq) {
    config.encoderLayers = 2;
    config.crossMemorySlots = 8;
  } else if (family == Family::Memsizer) {
    config.memorySlots = 8;
  } else if (family == Family::MemoryFormer) {
    config.ffnSize = 0;
    config.numTables = config.hiddenSize / config.bitsPerTable;
  }
  return config;
}

std::vector<float> row(const std::vector<float> &logits, int64_t index,
                       int64_t vocab) {
  return {logits.begin() + index * vocab, logits.begin() + (index + 1) * vocab};
}

#define ASSERT_OK(expr)                                                        \
  do {                                                                         \
    llvm::Error error_ = (expr);                                               \
    ASSERT_FALSE(static_cast<bool>(error_))                                    \
        << llvm::toString(std::move(error_));                                  \
  } while (false)

/// Runs the batch scenario on a model of `family`: three sequences with
/// prompts of 5, 1 and 9 tokens (seq2seq: each with its own source), three
/// steps together, then `select({2, 0, 0, -1})` (a copy of sequence 2,
/// two beams of sequence 0, a new sequence), and three more steps. Each
/// step's logits match the reference for each sequence's history.
void checkBatch(Family family) {
  TestModel test(smallConfig(family));
  std::unique_ptr<LoadedModel> model = test.load();
  ASSERT_TRUE(model);
  int64_t vocab = test.config.vocabSize;
  bool seq2seq = family == Family::MemsizerSeq2Seq;
  auto batch = model->newBatch(4);
  ASSERT_OK(batch.takeError());
  ASSERT_OK((*batch)->select({-1, -1, -1}));
  ASSERT_EQ((*batch)->size(), 3);

  std::vector<std::vector<int64_t>> sources = {
      {3, 14, 15, 92, 65}, {35, 89, 79}, {3, 14, 15, 92, 65, 35, 8}};
  std::vector<std::vector<int64_t>> history = {
      {1, 2, 3, 4, 5}, {7}, {9, 8, 7, 6, 5, 4, 3, 2, 1}};
  for (int64_t i = 0; i < 3; ++i) {
    if (seq2seq)
      ASSERT_OK((*batch)->setSource(i, sources[i]));
    std::vector<float> logits;
    ASSERT_OK((*batch)->append(i, history[i], &logits));
    expectClose(logits, test.lastLogits(history[i], sources[i]), 1e-4);
    ASSERT_EQ((*batch)->length(i), static_cast<int64_t>(history[i].size()));
  }

  auto stepAll = [&](int64_t round) {
    std::vector<int64_t> tokens;
    for (size_t i = 0; i < history.size(); ++i)
      tokens.push_back((round * 31 + static_cast<int64_t>(i) * 17) % vocab);
    std::vector<float> logits;
    ASSERT_OK((*batch)->step(tokens, &logits));
    ASSERT_EQ(logits.size(), history.size() * vocab);
    for (size_t i = 0; i < history.size(); ++i) {
      history[i].push_back(tokens[i]);
      SCOPED_TRACE("round " + std::to_string(round) + ", sequence " +
                   std::to_string(i));
      expectClose(row(logits, i, vocab),
                  test.lastLogits(history[i], sources[i]), 1e-4);
    }
  };
  for (int64_t round = 0; round < 3; ++round)
    stepAll(round);

  // Each sequence alone, token by token, gives the batch's logits.
  for (int64_t i = 0; i < 3; ++i) {
    std::unique_ptr<Sequence> alone = model->newSequence();
    if (seq2seq)
      ASSERT_OK(alone->setSource(sources[i]));
    std::vector<float> logits;
    for (int64_t token : history[i])
      ASSERT_OK(alone->append({token}, &logits));
    expectClose(logits, test.lastLogits(history[i], sources[i]), 1e-4);
  }

  ASSERT_OK((*batch)->select({2, 0, 0, -1}));
  ASSERT_EQ((*batch)->size(), 4);
  history = {history[2], history[0], history[0], {}};
  sources = {sources[2], sources[0], sources[0], {11, 12}};
  ASSERT_EQ((*batch)->length(0), static_cast<int64_t>(history[0].size()));
  ASSERT_EQ((*batch)->length(3), 0);
  if (seq2seq)
    ASSERT_OK((*batch)->setSource(3, sources[3]));
  for (int64_t round = 3; round < 6; ++round)
    stepAll(round);

  // Swapping two sequences of different sources moves their memories.
  ASSERT_OK((*batch)->select({1, 0}));
  history = {history[1], history[0]};
  sources = {sources[1], sources[0]};
  stepAll(6);
}

TEST(Batch, MemsizerStepsTogether) { checkBatch(Family::Memsizer); }
TEST(Batch, MemsizerSeq2SeqStepsWithOneSourcePerSequence) {
  checkBatch(Family::MemsizerSeq2Seq);
}
TEST(Batch, TransformerStepsEachSequence) { checkBatch(Family::Transformer); }

/// `error` fails with exactly `message`.
void expectError(llvm::Error error, const std::string &message) {
  ASSERT_TRUE(static_cast<bool>(error));
  EXPECT_EQ(llvm::toString(std::move(error)), message);
}

TEST(Batch, RejectsMisuse) {
  TestModel test(smallConfig(Family::MemsizerSeq2Seq));
  std::unique_ptr<LoadedModel> model = test.load();
  ASSERT_TRUE(model);
  expectError(model->newBatch(0).takeError(),
              "batch size: 0 is outside [1, 65536]");
  auto batch = model->newBatch(2);
  ASSERT_OK(batch.takeError());
  std::vector<float> logits;
  expectError((*batch)->step({1}, &logits),
              "a step takes one token per sequence: 1 tokens for 2 sequences");
  expectError((*batch)->step({1, 2}, &logits),
              "sequence 0: set the source before running target tokens");
  expectError((*batch)->append(2, {1}, &logits),
              "sequence 2: the batch holds sequences 0 to 1");
  ASSERT_OK((*batch)->setSource(0, {5, 6}));
  ASSERT_OK((*batch)->setSource(1, {7}));
  expectError((*batch)->step({1, 97}, &logits),
              "tokens: token id 97 at position 1 is outside the vocabulary "
              "[0, 97)");
  expectError((*batch)->select({0, 1, 1}),
              "select: 3 sequences exceed the batch's capacity 2");
  expectError((*batch)->select({0, 2}),
              "select: sequence 1 would come from 2, but the batch holds "
              "sequences 0 to 1 (-1: a new sequence)");
  ASSERT_OK((*batch)->append(1, std::vector<int64_t>(47, 3), nullptr));
  ASSERT_OK((*batch)->step({1, 2}, &logits));
  expectError((*batch)->step({1, 2}, &logits),
              "sequence 1 would hold 49 tokens, more than the model's "
              "max_positions 48");
  expectError((*batch)->setSource(1, {1}),
              "the source must be set before the first target token");
  // A failed call leaves the batch usable.
  ASSERT_OK((*batch)->select({0}));
  ASSERT_OK((*batch)->step({4}, &logits));
  expectClose(logits, test.lastLogits({1, 4}, {5, 6}), 1e-4);
}

/// The logits of `prompt` and of `steps` greedy tokens after it, run as one
/// sequence of `model`.
std::vector<float> greedyLogits(const LoadedModel &model,
                                const std::vector<int64_t> &prompt,
                                int64_t steps) {
  std::unique_ptr<Sequence> sequence = model.newSequence();
  std::vector<float> all, logits;
  llvm::Error error = sequence->append(prompt, &logits);
  for (int64_t step = 0; !error && step < steps; ++step) {
    all.insert(all.end(), logits.begin(), logits.end());
    int64_t next =
        std::max_element(logits.begin(), logits.end()) - logits.begin();
    error = sequence->append({next}, &logits);
  }
  EXPECT_FALSE(static_cast<bool>(error)) << llvm::toString(std::move(error));
  all.insert(all.end(), logits.begin(), logits.end());
  return all;
}

/// Several threads running independent sequences on one loaded model get
/// bit-identical logits to the same sequences run one after another.
void checkConcurrentSequences(Family family) {
  TestModel test(smallConfig(family));
  std::unique_ptr<LoadedModel> model = test.load();
  ASSERT_TRUE(model);
  constexpr int kThreads = 4;
  std::vector<std::vector<int64_t>> prompts;
  for (int i = 0; i < kThreads; ++i)
    prompts.push_back({i + 1, 2 * i + 3, 40 - i, 7});
  std::vector<std::vector<float>> alone, together(kThreads);
  for (const std::vector<int64_t> &prompt : prompts)
    alone.push_back(greedyLogits(*model, prompt, 12));
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i)
    threads.emplace_back(
        [&, i] { together[i] = greedyLogits(*model, prompts[i], 12); });
  for (std::thread &thread : threads)
    thread.join();
  for (int i = 0; i < kThreads; ++i) {
    ASSERT_EQ(together[i].size(), alone[i].size());
    EXPECT_EQ(std::memcmp(together[i].data(), alone[i].data(),
                          alone[i].size() * sizeof(float)),
              0)
        << "sequence " << i << " differs when run beside the others";
  }
}

TEST(Concurrency, MemsizerSequencesOnThreadsAreBitIdentical) {
  checkConcurrentSequences(Family::Memsizer);
}
TEST(Concurrency, MemoryFormerSequencesOnThreadsAreBitIdentical) {
  checkConcurrentSequences(Family::MemoryFormer);
}
TEST(Concurrency, TransformerSequencesOnThreadsAreBitIdentical) {
  checkConcurrentSequences(Family::Transformer);
}

} // namespace
