//===- Init.cpp - Models with random weights (mnemoc init) ----------------===//

#include "mnemo/Model/ConfigFile.h"
#include "mnemo/Model/Model.h"
#include "mnemo/Support/Files.h"
#include "mnemo/Support/Float16.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>

namespace mnemo {

ModelConfig presetConfig(Family family, Preset preset) {
  ModelConfig c;
  c.family = family;
  c.vocabSize = 50304; // Pythia's vocabulary, as in the paper
  c.maxPositions = 2048;
  c.dtype = ElementType::F16;
  switch (preset) {
  case Preset::Tiny:
    c.hiddenSize = 512, c.numLayers = 6, c.numHeads = 8;
    break;
  case Preset::Small:
    c.hiddenSize = 768, c.numLayers = 12, c.numHeads = 12;
    break;
  case Preset::Base:
    c.hiddenSize = 1024, c.numLayers = 24, c.numHeads = 16;
    break;
  }
  if (family == Family::MemoryFormer) {
    c.bitsPerTable = 8;
    c.numTables = c.hiddenSize / c.bitsPerTable;
  } else {
    c.ffnSize = 4 * c.hiddenSize;
  }
  if (family == Family::MemsizerSeq2Seq) {
    // The authors' machine translation setting: as many encoder layers as
    // decoder layers, k = 4 for causal self-attention, 32 for the source.
    c.encoderLayers = c.numLayers;
    c.memorySlots = 4;
    c.crossMemorySlots = 32;
  }
  return c;
}

namespace {

/// SplitMix64: a counter-based generator, so that every block of a tensor
/// can be drawn independently (in parallel) and the result depends only on
/// the seed, the tensor's name and the position.
uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

uint64_t hashName(const std::string &name) {
  uint64_t h = 1469598103934665603ull; // FNV-1a
  for (char c : name)
    h = (h ^ static_cast<uint8_t>(c)) * 1099511628211ull;
  return h;
}

/// How a tensor's values are drawn: uniform in [center - scale, center +
/// scale].
struct Distribution {
  float center = 0.0f, scale = 0.0f;
};

Distribution distributionFor(const TensorSpec &spec, const ModelConfig &c) {
  llvm::StringRef name = spec.name;
  const float sqrt3 = std::sqrt(3.0f);
  auto uniformWithDeviation = [&](double deviation) {
    return Distribution{0.0f, static_cast<float>(sqrt3 * deviation)};
  };
  if (spec.role == TensorRole::Table)
    // y = sum over K tables of w_k * row: rows of deviation 1/sqrt(2K) keep
    // y near unit deviation for unit-RMS inputs (w_k is about 1.4 for
    // l1_prob at tau = 8).
    return uniformWithDeviation(1.0 / std::sqrt(2.0 * c.numTables));
  bool positions = name.ends_with("pos_embed.weight");
  if (spec.role == TensorRole::Embedding || positions)
    return uniformWithDeviation(positions ? 0.1 : 1.0);
  if (name.ends_with(".bias"))
    return {0.0f, 0.02f};
  if (spec.shape.size() == 1) // norm weights
    return {1.0f, 0.1f};
  // Linear layers [out, in], and the LM head.
  return uniformWithDeviation(1.0 / std::sqrt(double(spec.shape[1])));
}

void fillTensor(void *out, const TensorSpec &spec, ElementType dtype,
                Distribution dist, uint64_t seed) {
  int64_t count = 1;
  for (int64_t dim : spec.shape)
    count *= dim;
  uint64_t stream = mix(seed ^ hashName(spec.name));
  constexpr int64_t kBlock = 1 << 16;
  int64_t blocks = (count + kBlock - 1) / kBlock;
#pragma omp parallel for schedule(static)
  for (int64_t b = 0; b < blocks; ++b) {
    uint64_t state = mix(stream + static_cast<uint64_t>(b));
    int64_t end = std::min(count, (b + 1) * kBlock);
    for (int64_t i = b * kBlock; i < end; ++i) {
      state = mix(state);
      // 24 random bits -> [-1, 1).
      float unit =
          static_cast<float>(state >> 40) * (2.0f / 16777216.0f) - 1.0f;
      float value = dist.center + dist.scale * unit;
      switch (dtype) {
      case ElementType::F16:
        static_cast<uint16_t *>(out)[i] = floatToHalf(value);
        break;
      case ElementType::BF16:
        static_cast<uint16_t *>(out)[i] = floatToBf16(value);
        break;
      default:
        static_cast<float *>(out)[i] = value;
      }
    }
  }
}

} // namespace

llvm::Error writeRandomModel(const ModelConfig &config, uint64_t seed,
                             llvm::StringRef dir) {
  if (llvm::Error error = validateModelConfig(config, "config"))
    return error;
  if (std::error_code error = llvm::sys::fs::create_directories(dir))
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   dir + ": cannot create: " + error.message());
  std::vector<TensorData> tensors;
  for (const TensorSpec &spec : modelTensors(config)) {
    if (spec.optional)
      continue;
    TensorData data;
    data.name = spec.name;
    data.dtype = config.dtype;
    data.shape = spec.shape;
    Distribution dist = distributionFor(spec, config);
    data.fill = [spec, dist, seed, dtype = config.dtype](void *out) {
      fillTensor(out, spec, dtype, dist, seed);
    };
    tensors.push_back(std::move(data));
  }
  llvm::SmallString<256> weights(dir), configPath(dir);
  llvm::sys::path::append(weights, "model.safetensors");
  llvm::sys::path::append(configPath, "config.json");
  std::map<std::string, std::string> metadata = {
      {"format", "pt"},
      {"created_by", "mnemoc init"},
      {"seed", std::to_string(seed)}};
  if (llvm::Error error = writeSafeTensors(weights, tensors, metadata))
    return error;
  std::string json = modelConfigToJSON(config);
  return writeFileAtomically(configPath,
                             [&](llvm::raw_ostream &out) { out << json; });
}

} // namespace mnemo
