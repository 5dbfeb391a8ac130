//===- ConfigFile.cpp - config.json of a model directory ------------------===//

#include "mnemo/Model/ConfigFile.h"

#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MemoryBuffer.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <optional>

namespace mnemo {

const char *familyName(Family family) {
  switch (family) {
  case Family::MemoryFormer:
    return "memoryformer";
  case Family::Memsizer:
    return "memsizer";
  case Family::MemsizerSeq2Seq:
    return "memsizer_seq2seq";
  case Family::Transformer:
    return "transformer";
  }
  return "?";
}

const char *dtypeName(ElementType type) {
  switch (type) {
  case ElementType::F16:
    return "float16";
  case ElementType::BF16:
    return "bfloat16";
  default:
    return "float32";
  }
}

namespace {

using Json = nlohmann::json;

/// Deepest nesting accepted: configs are flat; this keeps a hostile file
/// from building a deep document.
constexpr int kMaxDepth = 16;

/// Reads fields of one JSON object and remembers the first error, so that
/// the parser below reads like the format's table.
class FieldReader {
public:
  FieldReader(const Json &object, llvm::StringRef path)
      : object(object), path(path.str()) {}

  bool has(const char *key) const { return object.contains(key); }

  /// An integer field in [min, max]; `fallback` when absent and optional.
  int64_t integer(const char *key, int64_t min, int64_t max,
                  std::optional<int64_t> fallback = std::nullopt) {
    const Json *value = find(key, fallback.has_value());
    if (!value)
      return fallback.value_or(0);
    if (!value->is_number_integer()) {
      fail(key, "expected an integer, got " + show(*value));
      return fallback.value_or(0);
    }
    // Unsigned values beyond int64 are out of range too.
    if (value->is_number_unsigned() &&
        value->get<uint64_t>() > static_cast<uint64_t>(max)) {
      fail(key, llvm::formatv("must be between {0} and {1}, got {2}", min, max,
                              value->dump())
                    .str());
      return fallback.value_or(0);
    }
    int64_t result = value->get<int64_t>();
    if (result < min || result > max)
      fail(key, llvm::formatv("must be between {0} and {1}, got {2}", min, max,
                              result)
                    .str());
    return result;
  }

  /// A finite number field; `fallback` when absent.
  double number(const char *key, double fallback) {
    const Json *value = find(key, /*optional=*/true);
    if (!value)
      return fallback;
    if (!value->is_number()) {
      fail(key, "expected a number, got " + show(*value));
      return fallback;
    }
    double result = value->get<double>();
    if (!std::isfinite(result))
      fail(key, "must be a finite number, got " + value->dump());
    return result;
  }

  /// A string field, one of `choices`; `fallback` when absent and optional.
  std::string choice(const char *key,
                     std::initializer_list<const char *> choices,
                     const char *fallback = nullptr) {
    const Json *value = find(key, fallback != nullptr);
    if (!value)
      return fallback ? fallback : "";
    std::string list;
    for (const char *c : choices)
      list += std::string(list.empty() ? "" : ", ") + c;
    if (!value->is_string()) {
      fail(key, "expected one of " + list + ", got " + show(*value));
      return fallback ? fallback : "";
    }
    std::string result = value->get<std::string>();
    for (const char *c : choices)
      if (result == c)
        return result;
    fail(key, "expected one of " + list + ", got " + show(*value));
    return fallback ? fallback : "";
  }

  void fail(const char *key, const std::string &message) {
    if (error.empty())
      error = path + ": " + key + ": " + message;
  }

  std::string error;

private:
  const Json *find(const char *key, bool optional) {
    auto it = object.find(key);
    if (it == object.end() || (optional && it->is_null())) {
      if (!optional && error.empty())
        error = path + ": missing field '" + key + "'";
      return nullptr;
    }
    return &*it;
  }

  /// A short rendering of a value for messages.
  static std::string show(const Json &value) {
    std::string text = value.dump();
    if (text.size() > 40)
      text = text.substr(0, 37) + "...";
    return text;
  }

  const Json &object;
  std::string path;
};

llvm::Error makeError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

/// 0.4, 1e-08: the shortest form that reads back as the same double.
std::string shortNumber(double value) {
  char text[32];
  for (int digits = 1; digits <= 17; ++digits) {
    std::snprintf(text, sizeof(text), "%.*g", digits, value);
    if (std::strtod(text, nullptr) == value)
      break;
  }
  return text;
}

} // namespace

llvm::Expected<ModelConfig> parseModelConfig(llvm::StringRef text,
                                             llvm::StringRef path) {
  bool tooDeep = false;
  Json document;
  try {
    document = Json::parse(
        text.begin(), text.end(),
        [&](int depth, Json::parse_event_t, Json &) {
          if (depth > kMaxDepth)
            tooDeep = true;
          return depth <= kMaxDepth;
        },
        /*allow_exceptions=*/true);
  } catch (const Json::exception &e) {
    // nlohmann's message is "[json.exception.parse_error.101] parse error at
    // line 1, column 2: ..." (or out_of_range.406 for a number no double
    // holds); keep what follows the tag.
    std::string what = e.what();
    size_t tag = what.find("] ");
    return makeError(path + ": not valid JSON: " +
                     (tag == std::string::npos ? what : what.substr(tag + 2)));
  }
  if (tooDeep)
    return makeError(path + ": nested deeper than " + llvm::Twine(kMaxDepth) +
                     " levels");
  if (!document.is_object())
    return makeError(path + ": expected a JSON object");

  ModelConfig config;
  FieldReader fields(document, path);
  std::string family =
      fields.choice("model_type", {"memoryformer", "memsizer", "transformer",
                                   "memsizer_seq2seq"});
  if (!fields.error.empty())
    return makeError(fields.error);
  config.family = family == "memoryformer"       ? Family::MemoryFormer
                  : family == "memsizer"         ? Family::Memsizer
                  : family == "memsizer_seq2seq" ? Family::MemsizerSeq2Seq
                                                 : Family::Transformer;
  bool seq2seq = config.family == Family::MemsizerSeq2Seq;

  config.vocabSize = fields.integer("vocab_size", 1, kMaxVocabSize);
  config.hiddenSize = fields.integer("hidden_size", 1, kMaxHiddenSize);
  if (seq2seq) {
    config.encoderLayers = fields.integer("encoder_layers", 1, kMaxLayers);
    config.numLayers = fields.integer("decoder_layers", 1, kMaxLayers);
  } else {
    config.numLayers = fields.integer("num_layers", 1, kMaxLayers);
  }
  config.numHeads = fields.integer("num_heads", 1, kMaxHiddenSize);
  config.maxPositions =
      fields.integer("max_positions", 1, kMaxPositions, int64_t{2048});
  config.rmsNormEps = fields.number("rms_norm_eps", 1e-8);
  config.layerNormEps = fields.number("layer_norm_eps", 1e-5);
  std::string dtype =
      fields.choice("dtype", {"float32", "float16", "bfloat16"}, "float32");
  config.dtype = dtype == "float16"    ? ElementType::F16
                 : dtype == "bfloat16" ? ElementType::BF16
                                       : ElementType::F32;

  switch (config.family) {
  case Family::MemoryFormer: {
    config.numTables = fields.integer("num_tables", 1, kMaxHiddenSize);
    config.bitsPerTable = fields.integer("bits_per_table", 1, 16);
    config.expandBits = fields.integer("expand_bits", 0, 15, int64_t{2});
    std::string weighting =
        fields.choice("weighting", {"l1_prob", "prob"}, "l1_prob");
    config.weighting =
        weighting == "prob" ? Weighting::Prob : Weighting::L1Prob;
    config.temperature = fields.number("temperature", 1.0);
    config.rotaryPct = fields.number("rotary_pct", 0.25);
    config.rotaryBase = fields.number("rotary_base", 10000.0);
    break;
  }
  case Family::Memsizer:
    config.memorySlots =
        fields.integer("memory_slots", 1, kMaxHiddenSize, int64_t{32});
    config.embedScale = fields.number("embed_scale", 1.0);
    break;
  case Family::Transformer:
    config.rotaryPct = fields.number("rotary_pct", 0.25);
    config.rotaryBase = fields.number("rotary_base", 10000.0);
    break;
  case Family::MemsizerSeq2Seq: {
    config.memorySlots =
        fields.integer("memory_slots", 1, kMaxHiddenSize, int64_t{4});
    config.crossMemorySlots =
        fields.integer("cross_memory_slots", 1, kMaxHiddenSize, int64_t{32});
    config.encoderMemsizer =
        fields.choice("encoder_attention", {"softmax", "memsizer"},
                      "softmax") == "memsizer";
    config.embedScale = fields.number("embed_scale", 1.0);
    config.rotaryPct = fields.number("rotary_pct", 0.25);
    config.rotaryBase = fields.number("rotary_base", 10000.0);
    config.decoderStartToken =
        fields.integer("decoder_start_token_id", 0, kMaxVocabSize, int64_t{0});
    break;
  }
  }
  if (config.family != Family::MemoryFormer) {
    int64_t defaultFfn = 4 * config.hiddenSize;
    config.ffnSize =
        fields.integer("ffn_size", 1, 4 * kMaxHiddenSize, defaultFfn);
  }
  if (!fields.error.empty())
    return makeError(fields.error);
  if (llvm::Error error = validateModelConfig(config, path))
    return std::move(error);
  return config;
}

llvm::Expected<ModelConfig> readModelConfig(llvm::StringRef path) {
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/true);
  if (!buffer)
    return makeError(path + ": cannot read: " + buffer.getError().message());
  if ((*buffer)->getBufferSize() > (size_t{1} << 20))
    return makeError(path + ": larger than 1 MiB; not a model config");
  return parseModelConfig((*buffer)->getBuffer(), path);
}

llvm::Error validateModelConfig(const ModelConfig &c, llvm::StringRef path) {
  auto fail = [&](const char *field, const llvm::Twine &message) {
    return makeError(path + ": " + field + ": " + message);
  };
  if (c.hiddenSize % c.numHeads != 0)
    return fail("num_heads", "hidden_size " + llvm::Twine(c.hiddenSize) +
                                 " is not divisible by num_heads " +
                                 llvm::Twine(c.numHeads));
  if (!(c.rmsNormEps > 0))
    return fail("rms_norm_eps", "must be positive");
  if (!(c.layerNormEps > 0))
    return fail("layer_norm_eps", "must be positive");
  if (c.family == Family::MemoryFormer) {
    if (c.hiddenSize != c.numTables * c.bitsPerTable)
      return fail("hidden_size",
                  llvm::formatv("{0} must equal num_tables * bits_per_table = "
                                "{1} * {2} = {3}",
                                c.hiddenSize, c.numTables, c.bitsPerTable,
                                c.numTables * c.bitsPerTable));
    if (c.bitsPerTable + c.expandBits > 16)
      return fail("expand_bits",
                  llvm::formatv("bits_per_table + expand_bits = {0} + {1} = "
                                "{2} exceeds 16",
                                c.bitsPerTable, c.expandBits,
                                c.bitsPerTable + c.expandBits));
    if (!(c.temperature > 0))
      return fail("temperature", "must be positive");
    if (c.weighting == Weighting::L1Prob && c.temperature != 1.0)
      return fail("temperature",
                  "applies to the prob weighting only; l1_prob has none");
  }
  if (c.family == Family::MemsizerSeq2Seq && c.decoderStartToken >= c.vocabSize)
    return fail("decoder_start_token_id",
                llvm::formatv("{0} is outside the vocabulary [0, {1})",
                              c.decoderStartToken, c.vocabSize)
                    .str());
  if (c.usesRotary()) {
    if (!(c.rotaryPct >= 0 && c.rotaryPct <= 1))
      return fail("rotary_pct",
                  "must be between 0 and 1, got " + shortNumber(c.rotaryPct));
    if (c.rotaryDims() % 2 != 0)
      return fail("rotary_pct",
                  llvm::formatv("rotates int({0} * {1}) = {2} dims of each "
                                "head, which must be even",
                                c.headDim(), shortNumber(c.rotaryPct),
                                c.rotaryDims()));
    if (!(c.rotaryBase > 0))
      return fail("rotary_base", "must be positive");
  }
  return llvm::Error::success();
}

std::string modelConfigToJSON(const ModelConfig &c) {
  Json j = Json::object();
  j["model_type"] = familyName(c.family);
  j["vocab_size"] = c.vocabSize;
  j["hidden_size"] = c.hiddenSize;
  if (c.family == Family::MemsizerSeq2Seq) {
    j["encoder_layers"] = c.encoderLayers;
    j["decoder_layers"] = c.numLayers;
  } else {
    j["num_layers"] = c.numLayers;
  }
  j["num_heads"] = c.numHeads;
  j["max_positions"] = c.maxPositions;
  j["rms_norm_eps"] = c.rmsNormEps;
  j["layer_norm_eps"] = c.layerNormEps;
  j["dtype"] = dtypeName(c.dtype);
  switch (c.family) {
  case Family::MemoryFormer:
    j["num_tables"] = c.numTables;
    j["bits_per_table"] = c.bitsPerTable;
    j["expand_bits"] = c.expandBits;
    j["weighting"] = weightingName(c.weighting);
    j["temperature"] = c.temperature;
    j["rotary_pct"] = c.rotaryPct;
    j["rotary_base"] = c.rotaryBase;
    break;
  case Family::Memsizer:
    j["memory_slots"] = c.memorySlots;
    j["ffn_size"] = c.ffnSize;
    j["embed_scale"] = c.embedScale;
    break;
  case Family::Transformer:
    j["ffn_size"] = c.ffnSize;
    j["rotary_pct"] = c.rotaryPct;
    j["rotary_base"] = c.rotaryBase;
    break;
  case Family::MemsizerSeq2Seq:
    j["memory_slots"] = c.memorySlots;
    j["cross_memory_slots"] = c.crossMemorySlots;
    j["encoder_attention"] = c.encoderMemsizer ? "memsizer" : "softmax";
    j["ffn_size"] = c.ffnSize;
    j["embed_scale"] = c.embedScale;
    j["rotary_pct"] = c.rotaryPct;
    j["rotary_base"] = c.rotaryBase;
    j["decoder_start_token_id"] = c.decoderStartToken;
    break;
  }
  return j.dump(2) + "\n";
}

} // namespace mnemo
