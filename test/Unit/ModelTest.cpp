//===- ModelTest.cpp - config.json, safetensors, stats ----------*- C++ -*-===//
//
// The model directory readers against the corner cases a hostile or broken
// file can present, and the writers against the readers.
//
//===----------------------------------------------------------------------===//

#include "mnemo/Model/ConfigFile.h"
#include "mnemo/Model/Model.h"
#include "mnemo/Model/SafeTensors.h"
#include "mnemo/Model/Stats.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include "gtest/gtest.h"

#include <cstring>
#include <string>

using namespace mnemo;

namespace {

std::string errorOf(llvm::Expected<ModelConfig> config) {
  if (config)
    return "";
  return llvm::toString(config.takeError());
}

const char *kTransformer = R"({"model_type": "transformer", "vocab_size": 10,
  "hidden_size": 16, "num_layers": 1, "num_heads": 2})";

TEST(ConfigFile, DefaultsAreFilledIn) {
  auto config = parseModelConfig(kTransformer, "c.json");
  ASSERT_TRUE(static_cast<bool>(config)) << llvm::toString(config.takeError());
  EXPECT_EQ(config->family, Family::Transformer);
  EXPECT_EQ(config->ffnSize, 64);
  EXPECT_EQ(config->maxPositions, 2048);
  EXPECT_EQ(config->dtype, ElementType::F32);
  EXPECT_DOUBLE_EQ(config->layerNormEps, 1e-5);
  EXPECT_DOUBLE_EQ(config->rotaryPct, 0.25);
}

TEST(ConfigFile, RoundTripsThroughJSON) {
  ModelConfig config = presetConfig(Family::MemoryFormer, Preset::Small);
  config.weighting = Weighting::Prob;
  config.temperature = 0.5;
  auto back = parseModelConfig(modelConfigToJSON(config), "c.json");
  ASSERT_TRUE(static_cast<bool>(back)) << llvm::toString(back.takeError());
  EXPECT_EQ(back->hiddenSize, 768);
  EXPECT_EQ(back->numTables, 96);
  EXPECT_EQ(back->weighting, Weighting::Prob);
  EXPECT_DOUBLE_EQ(back->temperature, 0.5);
  EXPECT_EQ(back->dtype, ElementType::F16);
}

TEST(ConfigFile, RejectsValuesThatDoNotFit) {
  auto with = [](const std::string &field) {
    std::string text = R"({"model_type": "transformer", "vocab_size": 10,
      "hidden_size": 16, "num_layers": 1, "num_heads": 2, )" +
                       field + "}";
    return parseModelConfig(text, "c.json");
  };
  EXPECT_EQ(errorOf(with(R"("max_positions": 18446744073709551615)")),
            "c.json: max_positions: must be between 1 and 1048576, got "
            "18446744073709551615");
  EXPECT_EQ(errorOf(with(R"("max_positions": -1)")),
            "c.json: max_positions: must be between 1 and 1048576, got -1");
  EXPECT_EQ(errorOf(with(R"("max_positions": 2.5)")),
            "c.json: max_positions: expected an integer, got 2.5");
  EXPECT_EQ(errorOf(with(R"("layer_norm_eps": "small")")),
            "c.json: layer_norm_eps: expected a number, got \"small\"");
  EXPECT_EQ(errorOf(with(R"("layer_norm_eps": 0)")),
            "c.json: layer_norm_eps: must be positive");
  EXPECT_EQ(errorOf(with(R"("dtype": "float64")")),
            "c.json: dtype: expected one of float32, float16, bfloat16, got "
            "\"float64\"");
  // 0.3 of a head of 8 is 2 dims (even); 0.4 is 3.
  EXPECT_EQ(errorOf(with(R"("rotary_pct": 0.3)")), "");
  EXPECT_EQ(errorOf(with(R"("rotary_pct": 0.4)")),
            "c.json: rotary_pct: rotates int(8 * 0.4) = 3 dims of each head, "
            "which must be even");
  // null is "use the default".
  EXPECT_EQ(errorOf(with(R"("max_positions": null)")), "");
}

TEST(ConfigFile, RejectsMalformedDocuments) {
  EXPECT_EQ(errorOf(parseModelConfig("", "c.json")),
            "c.json: not valid JSON: parse error at line 1, column 1: syntax "
            "error while parsing value - unexpected end of input; expected "
            "'[', '{', or a literal");
  EXPECT_EQ(errorOf(parseModelConfig("{}", "c.json")),
            "c.json: missing field 'model_type'");
  std::string deep(100000, '[');
  EXPECT_EQ(errorOf(parseModelConfig(deep, "c.json")).substr(0, 24),
            "c.json: not valid JSON: ");
  std::string nested = std::string(40, '[') + std::string(40, ']');
  EXPECT_EQ(errorOf(parseModelConfig(nested, "c.json")),
            "c.json: nested deeper than 16 levels");
  EXPECT_EQ(errorOf(parseModelConfig(
                R"({"model_type": "memoryformer", "vocab_size": 10,
                    "hidden_size": 16, "num_layers": 1, "num_heads": 2,
                    "num_tables": 2, "bits_per_table": 8, "expand_bits": 9})",
                "c.json")),
            "c.json: expand_bits: bits_per_table + expand_bits = 8 + 9 = 17 "
            "exceeds 16");
  EXPECT_EQ(errorOf(parseModelConfig(
                R"({"model_type": "memoryformer", "vocab_size": 10,
                    "hidden_size": 16, "num_layers": 1, "num_heads": 2,
                    "num_tables": 2, "bits_per_table": 8,
                    "temperature": 0.5})",
                "c.json")),
            "c.json: temperature: applies to the prob weighting only; "
            "l1_prob has none");
}

/// A scratch directory removed at the end of a test.
struct TempDir {
  llvm::SmallString<128> path;
  TempDir() { llvm::sys::fs::createUniqueDirectory("mnemo-model-test", path); }
  ~TempDir() { llvm::sys::fs::remove_directories(path); }
  std::string file(const char *name) const {
    llvm::SmallString<128> p(path);
    llvm::sys::path::append(p, name);
    return std::string(p);
  }
};

TEST(SafeTensors, RoundTripsTensorsAndMetadata) {
  TempDir dir;
  std::vector<float> a = {1.0f, 2.0f, 3.0f};
  std::vector<uint16_t> b = {0x3c00, 0x4000, 0x4200, 0x4400, 0x4500};
  std::vector<TensorData> tensors = {
      {"b", ElementType::F16, {5}, b.data(), {}},
      {"a", ElementType::F32, {3, 1}, a.data(), {}},
      {"empty", ElementType::BF16, {0, 4}, nullptr,
       [](void *) {}},
  };
  ASSERT_FALSE(static_cast<bool>(
      writeSafeTensors(dir.file("w.safetensors"), tensors, {{"k", "v"}})));
  auto file = SafeTensorsFile::open(dir.file("w.safetensors"));
  ASSERT_TRUE(static_cast<bool>(file)) << llvm::toString(file.takeError());
  ASSERT_EQ((*file)->tensors().size(), 3u);
  const TensorView *va = (*file)->find("a");
  ASSERT_NE(va, nullptr);
  EXPECT_EQ(va->shape, (std::vector<int64_t>{3, 1}));
  float values[3];
  std::memcpy(values, va->data, sizeof(values));
  EXPECT_EQ(values[2], 3.0f);
  // The f16 tensor is 10 bytes, so the f32 one after it is 2-byte aligned
  // only: readers must not assume alignment.
  EXPECT_EQ(reinterpret_cast<uintptr_t>(va->data) % 4, 2u);
  EXPECT_EQ((*file)->find("empty")->numElements(), 0);
  EXPECT_EQ((*file)->metadata().at("k"), "v");
}

/// Writes a safetensors file from raw parts: the declared header length, the
/// header text and the data.
void writeRaw(const std::string &path, uint64_t length,
              const std::string &header, const std::string &data) {
  std::error_code ec;
  llvm::raw_fd_ostream out(path, ec);
  char bytes[8];
  for (int i = 0; i < 8; ++i)
    bytes[i] = static_cast<char>(length >> (8 * i));
  out.write(bytes, 8);
  out << header << data;
}

std::string openError(const std::string &path) {
  auto file = SafeTensorsFile::open(path);
  if (file)
    return "";
  return llvm::toString(file.takeError());
}

TEST(SafeTensors, RejectsHostileHeaders) {
  TempDir dir;
  std::string p = dir.file("x.safetensors");
  auto header = [&](const std::string &text, const std::string &data) {
    writeRaw(p, text.size(), text, data);
    return openError(p);
  };
  EXPECT_EQ(header(R"({"t": {"dtype": "F32", "shape": [4611686018427387904,
                    4], "data_offsets": [0, 0]}})",
                   ""),
            p + ": tensor 't': shape [4611686018427387904,4] is too large");
  EXPECT_EQ(header(R"({"t": {"dtype": "F32", "shape": [65536, 65536, 65536],
                    "data_offsets": [0, 0]}})",
                   ""),
            p + ": tensor 't': shape [65536,65536,65536] is too large");
  EXPECT_EQ(header(R"({"t": {"dtype": "F32", "shape": [-1],
                    "data_offsets": [0, 0]}})",
                   ""),
            p + ": tensor 't': shape must hold non-negative integers, got "
                "[-1]");
  EXPECT_EQ(header(R"({"t": {"dtype": "F32", "shape": [1],
                    "data_offsets": [4, 0]}})",
                   "abcd"),
            p + ": tensor 't': data_offsets [4, 0] end before they begin");
  EXPECT_EQ(header(R"({"t": {"dtype": "F32", "shape": [2],
                    "data_offsets": [0, 4]}})",
                   "abcd"),
            p + ": tensor 't': data_offsets [0, 4] hold 4 bytes; shape [2] "
                "of F32 needs 8");
  EXPECT_EQ(header(R"({"t": {"dtype": "I8", "shape": [4],
                    "data_offsets": [0, 4]}})",
                   "abcd"),
            p + ": tensor 't': dtype I8 is not a weight type (Mnemo reads "
                "F32, F16 and BF16)");
  EXPECT_EQ(header(R"({"a": {"dtype": "F16", "shape": [1],
                    "data_offsets": [2, 4]}})",
                   "abcd"),
            p + ": bytes 0 to 2 of the data belong to no tensor");
  EXPECT_EQ(header(R"({"__metadata__": {"k": 1}})", ""),
            p + ": __metadata__.k: expected a string");
  EXPECT_EQ(header("[[[[[[[[[[]]]]]]]]]]", ""),
            p + ": header is not a JSON object of tensors");
  // A header length of 2^64 - 1 must not wrap around.
  writeRaw(p, ~uint64_t{0}, "{}", "");
  EXPECT_EQ(openError(p), p + ": header length 18446744073709551615 runs past "
                              "the end of the file (10 bytes)");
  writeRaw(p, 0, "", "");
  EXPECT_EQ(openError(p).substr(0, p.size() + 28),
            p + ": header is not valid JSON: ");
}

TEST(ModelTensors, MemoryFormerTablesFollowTheConfig) {
  ModelConfig config = presetConfig(Family::MemoryFormer, Preset::Tiny);
  config.numLayers = 1;
  std::vector<TensorSpec> specs = modelTensors(config);
  auto find = [&](const std::string &name) -> const TensorSpec * {
    for (const TensorSpec &spec : specs)
      if (spec.name == name)
        return &spec;
    return nullptr;
  };
  ASSERT_NE(find("layers.0.block.ml1.tables"), nullptr);
  EXPECT_EQ(find("layers.0.block.ml1.tables")->shape,
            (std::vector<int64_t>{64, 256, 640}));
  EXPECT_EQ(find("layers.0.block.ml2.tables")->shape,
            (std::vector<int64_t>{64, 1024, 512}));
  EXPECT_EQ(find("layers.0.block.ml2.tables")->role, TensorRole::Table);
  EXPECT_EQ(find("norm_out.bias"), nullptr);
  EXPECT_EQ(find("layers.1.norm_in.weight"), nullptr);
  // embedding, 14 per layer, final norm, head.
  EXPECT_EQ(specs.size(), 1u + 14u + 1u + 1u);
}

TEST(Stats, DecodeBytesCountTheRowsATokenReads) {
  ModelConfig config = presetConfig(Family::MemoryFormer, Preset::Tiny);
  ModelStats stats = computeStats(config, 1);
  // Rows: K * h * 2 bytes for Q, K, V (h = 512), ML1 (h = 640), ML2
  // (h = 512); plus f32 norm weights and biases of one block.
  uint64_t rows = 64 * (512 * 3 + 640 + 512) * 2;
  uint64_t small = (512 + 512 * 3 + 512 + 640 + 640 * 2 + 512) * 4;
  EXPECT_EQ(stats.decodeWeightBytesPerBlock, rows + small);
  EXPECT_EQ(stats.decodeStateBytesPerBlock, 2u * 1 * 512 * 4);
}

} // namespace
