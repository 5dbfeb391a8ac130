//===- Model.cpp - Model directories
//---------------------------------------===//

#include "mnemo/Model/Model.h"

#include "mnemo/Model/ConfigFile.h"
#include "mnemo/Support/Float16.h"

#include "llvm/ADT/StringSet.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/Path.h"

#include <cmath>
#include <cstring>

namespace mnemo {

namespace {

llvm::Error makeError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

std::string shapeText(const std::vector<int64_t> &shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

/// The index of the first element of `view` that is NaN or infinite (every
/// exponent bit set), or -1. Blocks are tested without branches, so this
/// runs at memory speed; the data may be unaligned, so it is read by memcpy.
int64_t firstNonFinite(const TensorView &view) {
  int64_t count = view.numElements();
  const uint8_t *bytes = static_cast<const uint8_t *>(view.data);
  auto scan = [&](auto isBad) -> int64_t {
    constexpr int64_t kBlock = 4096;
    for (int64_t start = 0; start < count; start += kBlock) {
      int64_t end = std::min(count, start + kBlock);
      bool any = false;
      for (int64_t i = start; i < end; ++i)
        any |= isBad(i);
      if (any)
        for (int64_t i = start; i < end; ++i)
          if (isBad(i))
            return i;
    }
    return -1;
  };
  if (view.dtype == ElementType::F32)
    return scan([&](int64_t i) {
      uint32_t bits;
      std::memcpy(&bits, bytes + 4 * i, 4);
      return (bits & 0x7f800000u) == 0x7f800000u;
    });
  uint16_t mask = view.dtype == ElementType::F16 ? 0x7c00 : 0x7f80;
  return scan([&](int64_t i) {
    uint16_t bits;
    std::memcpy(&bits, bytes + 2 * i, 2);
    return (bits & mask) == mask;
  });
}

} // namespace

std::vector<TensorSpec> modelTensors(const ModelConfig &c) {
  std::vector<TensorSpec> specs;
  int64_t d = c.hiddenSize, v = c.vocabSize;
  auto add = [&](std::string name, std::vector<int64_t> shape,
                 TensorRole role = TensorRole::Dense, bool optional = false) {
    specs.push_back({std::move(name), std::move(shape), role, optional});
  };
  auto affine = [&](const std::string &prefix, int64_t width, bool bias) {
    add(prefix + ".weight", {width});
    if (bias)
      add(prefix + ".bias", {width});
  };
  auto linear = [&](const std::string &prefix, int64_t out, int64_t in) {
    add(prefix + ".weight", {out, in});
    add(prefix + ".bias", {out});
  };
  auto memoryLayer = [&](const std::string &prefix, int64_t tau, int64_t h) {
    add(prefix + ".tables", {c.numTables, int64_t{1} << tau, h},
        TensorRole::Table);
    add(prefix + ".bias", {h});
  };

  auto memsizerAttention = [&](const std::string &prefix, int64_t k) {
    linear(prefix + ".phi", c.numHeads * k, d);
    linear(prefix + ".wl", k, d);
    linear(prefix + ".wr", d, d);
    affine(prefix + ".norm_k", k, true);
    affine(prefix + ".norm_v", d, true);
  };
  auto ffn = [&](const std::string &p) {
    affine(p + "norm_ffn", d, true);
    linear(p + "ffn.fc1", c.ffnSize, d);
    linear(p + "ffn.fc2", d, c.ffnSize);
  };
  auto softmaxAttention = [&](const std::string &p) {
    for (const char *proj : {"q", "k", "v", "o"})
      linear(p + "attn." + proj, d, d);
  };

  if (c.family == Family::MemsizerSeq2Seq) {
    // Encoder: pre-norm layers of softmax (or Memsizer) self-attention and
    // FFN, then a final LayerNorm; decoder: Memsizer causal self-attention,
    // Memsizer cross-attention over the encoder's output, FFN.
    add("encoder.embed.weight", {v, d}, TensorRole::Embedding);
    add("encoder.pos_embed.weight", {c.maxPositions, d}, TensorRole::Dense,
        /*optional=*/true);
    for (int64_t layer = 0; layer < c.encoderLayers; ++layer) {
      std::string p = "encoder.layers." + std::to_string(layer) + ".";
      affine(p + "norm_attn", d, true);
      if (c.encoderMemsizer)
        memsizerAttention(p + "attn", c.crossMemorySlots);
      else
        softmaxAttention(p);
      ffn(p);
    }
    affine("encoder.norm_out", d, true);
    add("decoder.embed.weight", {v, d}, TensorRole::Embedding);
    add("decoder.pos_embed.weight", {c.maxPositions, d}, TensorRole::Dense,
        /*optional=*/true);
    for (int64_t layer = 0; layer < c.numLayers; ++layer) {
      std::string p = "decoder.layers." + std::to_string(layer) + ".";
      affine(p + "norm_attn", d, true);
      memsizerAttention(p + "self_attn", c.memorySlots);
      affine(p + "norm_cross", d, true);
      memsizerAttention(p + "cross_attn", c.crossMemorySlots);
      ffn(p);
    }
    affine("decoder.norm_out", d, true);
    add("lm_head.weight", {v, d});
    return specs;
  }

  add("embed.weight", {v, d}, TensorRole::Embedding);
  if (c.family == Family::Memsizer)
    add("pos_embed.weight", {c.maxPositions, d}, TensorRole::Dense,
        /*optional=*/true);
  for (int64_t layer = 0; layer < c.numLayers; ++layer) {
    std::string p = "layers." + std::to_string(layer) + ".";
    switch (c.family) {
    case Family::MemoryFormer: {
      int64_t tau = c.bitsPerTable, wide = c.expandedWidth();
      affine(p + "norm_in", d, /*bias=*/false);
      for (const char *proj : {"q", "k", "v"})
        memoryLayer(p + "attn." + proj, tau, d);
      affine(p + "norm_post", d, /*bias=*/false);
      memoryLayer(p + "block.ml1", tau, wide);
      affine(p + "block.norm_mid", wide, /*bias=*/true);
      memoryLayer(p + "block.ml2", tau + c.expandBits, d);
      break;
    }
    case Family::Memsizer:
      affine(p + "norm_attn", d, true);
      memsizerAttention(p + "attn", c.memorySlots);
      ffn(p);
      break;
    case Family::Transformer:
      affine(p + "norm_attn", d, true);
      softmaxAttention(p);
      ffn(p);
      break;
    case Family::MemsizerSeq2Seq:
      break; // above
    }
  }
  affine("norm_out", d, /*bias=*/c.family != Family::MemoryFormer);
  add("lm_head.weight", {v, d});
  return specs;
}

uint64_t modelBytes(const ModelConfig &config) {
  uint64_t total = 0;
  for (const TensorSpec &spec : modelTensors(config)) {
    if (spec.optional)
      continue;
    uint64_t count = 1;
    for (int64_t dim : spec.shape)
      count *= static_cast<uint64_t>(dim);
    total += count * elementBytes(config.dtype);
  }
  return total;
}

llvm::Expected<std::unique_ptr<ModelDirectory>>
ModelDirectory::open(llvm::StringRef dir) {
  if (!llvm::sys::fs::is_directory(dir))
    return makeError(dir + ": not a model directory (it must hold config.json "
                           "and model.safetensors)");
  llvm::SmallString<256> configPath(dir), weightsPath(dir);
  llvm::sys::path::append(configPath, "config.json");
  llvm::sys::path::append(weightsPath, "model.safetensors");

  auto config = readModelConfig(configPath);
  if (!config)
    return config.takeError();
  auto file = SafeTensorsFile::open(weightsPath);
  if (!file)
    return file.takeError();

  auto model = std::unique_ptr<ModelDirectory>(new ModelDirectory());
  model->directory = dir.str();
  model->modelConfig = *config;

  llvm::StringSet<> expected;
  for (const TensorSpec &spec : modelTensors(*config)) {
    expected.insert(spec.name);
    const TensorView *view = (*file)->find(spec.name);
    auto fail = [&](const llvm::Twine &message) {
      return makeError(weightsPath + ": tensor '" + spec.name +
                       "': " + message);
    };
    if (!view) {
      if (spec.optional)
        continue;
      return makeError(weightsPath + ": missing tensor '" + spec.name +
                       "' (expected shape " + shapeText(spec.shape) + ")");
    }
    if (view->shape != spec.shape)
      return fail("shape " + shapeText(view->shape) + " does not match " +
                  shapeText(spec.shape) + " from config.json");
    if (spec.role == TensorRole::Table && view->dtype != config->dtype)
      return fail(llvm::Twine("stored as ") + safeTensorsDtype(view->dtype) +
                  " but config.json's dtype is " + dtypeName(config->dtype));
    int64_t bad = firstNonFinite(*view);
    if (bad >= 0)
      return fail("element " + llvm::Twine(bad) +
                  " is NaN or infinite (weights must be finite)");
  }
  for (const TensorView &view : (*file)->tensors())
    if (!expected.contains(view.name))
      return makeError(weightsPath + ": unexpected tensor '" + view.name +
                       "' (not part of a " + familyName(config->family) +
                       " model with " + llvm::Twine(config->numLayers) +
                       " layers)");
  model->file = std::move(*file);
  return std::move(model);
}

ref::Weights referenceWeights(const ModelDirectory &model) {
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

llvm::Error checkTokenIds(const ModelConfig &config,
                          llvm::ArrayRef<int64_t> tokens,
                          llvm::StringRef what) {
  for (size_t i = 0; i < tokens.size(); ++i)
    if (tokens[i] < 0 || tokens[i] >= config.vocabSize)
      return makeError(what + ": token id " + llvm::Twine(tokens[i]) +
                       " at position " + llvm::Twine(i) +
                       " is outside the vocabulary [0, " +
                       llvm::Twine(config.vocabSize) + ")");
  return llvm::Error::success();
}

} // namespace mnemo
