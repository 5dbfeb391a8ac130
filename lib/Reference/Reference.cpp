//===- Reference.cpp - Plain C++ reference of SPEC.md -----------*- C++ -*-===//
//
// Each function is a direct transcription of an equation of docs/spec.md,
// computed in double precision. Keep it that way: this file is the oracle,
// and its value lies in being obviously right, not fast.
//
//===----------------------------------------------------------------------===//

#include "mnemo/Reference/Reference.h"

#include <cmath>
#include <stdexcept>

namespace mnemo::ref {

//===----------------------------------------------------------------------===//
// Memory Layer
//===----------------------------------------------------------------------===//

uint32_t bucketIndex(const float *chunk, int64_t tau) {
  uint32_t index = 0;
  for (int64_t j = 0; j < tau; ++j)
    if (chunk[j] >= 0.0f) // true for 0.0 and -0.0, false for NaN
      index |= 1u << (tau - 1 - j);
  return index;
}

double chunkWeight(const float *chunk, int64_t tau, Weighting weighting,
                   double temperature) {
  double t = weighting == Weighting::Prob ? temperature : 1.0;
  double probability = 1.0;
  double l1 = 0.0;
  for (int64_t j = 0; j < tau; ++j) {
    double a = std::fabs(static_cast<double>(chunk[j]));
    probability *= 1.0 / (1.0 + std::exp(-2.0 * a / t));
    l1 += a;
  }
  return weighting == Weighting::Prob ? probability : l1 * probability;
}

std::vector<float> memoryLayer(const float *x, int64_t n, const float *tables,
                               const float *bias,
                               const MemoryLayerShape &shape) {
  int64_t numTables = shape.numTables, tau = shape.bitsPerTable;
  int64_t h = shape.outputWidth, d = numTables * tau;
  int64_t rows = int64_t{1} << tau;
  std::vector<float> y(static_cast<size_t>(n * h));
  std::vector<double> acc(static_cast<size_t>(h));
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t c = 0; c < h; ++c)
      acc[c] = bias ? bias[c] : 0.0;
    for (int64_t k = 0; k < numTables; ++k) {
      const float *chunk = x + i * d + k * tau;
      uint32_t idx = bucketIndex(chunk, tau);
      double w = chunkWeight(chunk, tau, shape.weighting, shape.temperature);
      const float *row = tables + (k * rows + idx) * h;
      for (int64_t c = 0; c < h; ++c)
        acc[c] += w * row[c];
    }
    for (int64_t c = 0; c < h; ++c)
      y[i * h + c] = static_cast<float>(acc[c]);
  }
  return y;
}

//===----------------------------------------------------------------------===//
// Building blocks
//===----------------------------------------------------------------------===//

std::vector<float> rmsNorm(const float *x, int64_t n, int64_t d, const float *g,
                           double eps) {
  std::vector<float> y(static_cast<size_t>(n * d));
  for (int64_t i = 0; i < n; ++i) {
    double sumSquares = 0.0;
    for (int64_t j = 0; j < d; ++j)
      sumSquares += static_cast<double>(x[i * d + j]) * x[i * d + j];
    double scale = 1.0 / std::sqrt(sumSquares / d + eps);
    for (int64_t j = 0; j < d; ++j)
      y[i * d + j] = static_cast<float>(x[i * d + j] * scale * g[j]);
  }
  return y;
}

std::vector<float> layerNorm(const float *x, int64_t n, int64_t d,
                             const float *g, const float *b, double eps) {
  std::vector<float> y(static_cast<size_t>(n * d));
  for (int64_t i = 0; i < n; ++i) {
    double mean = 0.0;
    for (int64_t j = 0; j < d; ++j)
      mean += x[i * d + j];
    mean /= d;
    double variance = 0.0;
    for (int64_t j = 0; j < d; ++j)
      variance += (x[i * d + j] - mean) * (x[i * d + j] - mean);
    variance /= d;
    double scale = 1.0 / std::sqrt(variance + eps);
    for (int64_t j = 0; j < d; ++j)
      y[i * d + j] =
          static_cast<float>((x[i * d + j] - mean) * scale * g[j] + b[j]);
  }
  return y;
}

std::vector<float> linear(const float *x, int64_t n, int64_t in, const float *w,
                          const float *b, int64_t out) {
  std::vector<float> y(static_cast<size_t>(n * out));
  for (int64_t i = 0; i < n; ++i)
    for (int64_t o = 0; o < out; ++o) {
      double acc = b ? b[o] : 0.0;
      for (int64_t j = 0; j < in; ++j)
        acc += static_cast<double>(x[i * in + j]) * w[o * in + j];
      y[i * out + o] = static_cast<float>(acc);
    }
  return y;
}

void rotary(float *x, int64_t n, int64_t numHeads, int64_t headDim,
            int64_t rotaryDims, double base, const int64_t *positions) {
  int64_t half = rotaryDims / 2;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t h = 0; h < numHeads; ++h) {
      float *head = x + i * numHeads * headDim + h * headDim;
      for (int64_t j = 0; j < half; ++j) {
        double invFreq = std::pow(base, -2.0 * j / rotaryDims);
        double theta = static_cast<double>(positions[i]) * invFreq;
        double c = std::cos(theta), s = std::sin(theta);
        double x1 = head[j], x2 = head[j + half];
        head[j] = static_cast<float>(x1 * c - x2 * s);
        head[j + half] = static_cast<float>(x2 * c + x1 * s);
      }
    }
}

std::vector<float> causalAttention(const float *q, int64_t n, const float *k,
                                   const float *v, int64_t m, int64_t numHeads,
                                   int64_t headDim, double scale, bool causal) {
  int64_t width = numHeads * headDim;
  std::vector<float> out(static_cast<size_t>(n * width));
  std::vector<double> scores(static_cast<size_t>(m));
  for (int64_t i = 0; i < n; ++i) {
    int64_t last = causal ? m - n + i : m - 1; // the last key it sees
    for (int64_t h = 0; h < numHeads; ++h) {
      double maxScore = -INFINITY;
      for (int64_t j = 0; j <= last; ++j) {
        double dot = 0.0;
        for (int64_t c = 0; c < headDim; ++c)
          dot += static_cast<double>(q[i * width + h * headDim + c]) *
                 k[j * width + h * headDim + c];
        scores[j] = dot * scale;
        maxScore = std::max(maxScore, scores[j]);
      }
      double total = 0.0;
      for (int64_t j = 0; j <= last; ++j) {
        scores[j] = std::exp(scores[j] - maxScore);
        total += scores[j];
      }
      for (int64_t c = 0; c < headDim; ++c) {
        double acc = 0.0;
        for (int64_t j = 0; j <= last; ++j)
          acc += scores[j] / total * v[j * width + h * headDim + c];
        out[i * width + h * headDim + c] = static_cast<float>(acc);
      }
    }
  }
  return out;
}

std::vector<float> memsizerAlpha(const float *logits, int64_t t,
                                 int64_t numHeads, int64_t slots) {
  std::vector<float> alpha(static_cast<size_t>(t * slots));
  std::vector<double> sum(static_cast<size_t>(slots));
  for (int64_t i = 0; i < t; ++i) {
    std::fill(sum.begin(), sum.end(), 0.0);
    for (int64_t h = 0; h < numHeads; ++h) {
      const float *row = logits + i * numHeads * slots + h * slots;
      double maxLogit = -INFINITY;
      for (int64_t s = 0; s < slots; ++s)
        maxLogit = std::max(maxLogit, static_cast<double>(row[s]));
      double total = 0.0;
      for (int64_t s = 0; s < slots; ++s)
        total += std::exp(row[s] - maxLogit);
      for (int64_t s = 0; s < slots; ++s)
        sum[s] += std::exp(row[s] - maxLogit) / total;
    }
    for (int64_t s = 0; s < slots; ++s)
      alpha[i * slots + s] = static_cast<float>(sum[s] / numHeads);
  }
  return alpha;
}

std::vector<float> memsizerCausal(const float *alpha, const float *keys,
                                  const float *values, int64_t t, int64_t slots,
                                  int64_t d, std::vector<float> &state,
                                  int64_t start, bool scaled) {
  std::vector<double> memory(state.begin(), state.end());
  std::vector<float> out(static_cast<size_t>(t * d));
  for (int64_t i = 0; i < t; ++i) {
    // S_t = S_{t-1} + key_t value_t^T
    for (int64_t s = 0; s < slots; ++s)
      for (int64_t c = 0; c < d; ++c)
        memory[s * d + c] +=
            static_cast<double>(keys[i * slots + s]) * values[i * d + c];
    // y_t = alpha_t^T S_t / sqrt(t), t the 1-based position
    double position = static_cast<double>(start + i + 1);
    double scale = scaled ? 1.0 / std::sqrt(position) : 1.0;
    for (int64_t c = 0; c < d; ++c) {
      double acc = 0.0;
      for (int64_t s = 0; s < slots; ++s)
        acc += alpha[i * slots + s] * memory[s * d + c];
      out[i * d + c] = static_cast<float>(acc * scale);
    }
  }
  for (size_t j = 0; j < state.size(); ++j)
    state[j] = static_cast<float>(memory[j]);
  return out;
}

std::vector<float> memsizerSourceMemory(const float *keys, const float *values,
                                        const uint8_t *mask, int64_t s,
                                        int64_t slots, int64_t d, bool scaled) {
  std::vector<double> memory(static_cast<size_t>(slots * d), 0.0);
  int64_t count = 0;
  for (int64_t i = 0; i < s; ++i) {
    if (mask && !mask[i])
      continue;
    ++count;
    for (int64_t j = 0; j < slots; ++j)
      for (int64_t c = 0; c < d; ++c)
        memory[j * d + c] +=
            static_cast<double>(keys[i * slots + j]) * values[i * d + c];
  }
  double scale = (scaled && count > 0) ? 1.0 / std::sqrt(count) : 1.0;
  std::vector<float> out(memory.size());
  for (size_t j = 0; j < memory.size(); ++j)
    out[j] = static_cast<float>(memory[j] * scale);
  return out;
}

std::vector<float> memsizerCross(const float *alpha, int64_t t,
                                 const float *memory, int64_t slots,
                                 int64_t d) {
  std::vector<float> out(static_cast<size_t>(t * d));
  for (int64_t i = 0; i < t; ++i)
    for (int64_t c = 0; c < d; ++c) {
      double acc = 0.0;
      for (int64_t s = 0; s < slots; ++s)
        acc += static_cast<double>(alpha[i * slots + s]) * memory[s * d + c];
      out[i * d + c] = static_cast<float>(acc);
    }
  return out;
}

double gelu(double x) { return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0))); }

//===----------------------------------------------------------------------===//
// Model families
//===----------------------------------------------------------------------===//

namespace {

const float *get(const Weights &weights, const std::string &name) {
  auto it = weights.find(name);
  if (it == weights.end())
    throw std::out_of_range("missing tensor '" + name + "'");
  return it->second.data.data();
}

const Tensor &getTensor(const Weights &weights, const std::string &name) {
  auto it = weights.find(name);
  if (it == weights.end())
    throw std::out_of_range("missing tensor '" + name + "'");
  return it->second;
}

void addInPlace(std::vector<float> &x, const std::vector<float> &y) {
  for (size_t i = 0; i < x.size(); ++i)
    x[i] = static_cast<float>(static_cast<double>(x[i]) + y[i]);
}

/// A Memory Layer whose tables and bias are named `<prefix>.tables` and
/// `<prefix>.bias`.
/// Records in `margin` the hashed value of `x` (`[n, width]`) closest to
/// zero relative to its row's root mean square.
void trackMargin(HashMargin *margin, const std::vector<float> &x, int64_t n,
                 int64_t layer) {
  if (!margin || n == 0)
    return;
  int64_t width = static_cast<int64_t>(x.size()) / n;
  for (int64_t r = 0; r < n; ++r) {
    double sum = 0, least = INFINITY;
    for (int64_t j = 0; j < width; ++j) {
      double v = x[r * width + j];
      sum += v * v;
      least = std::min(least, std::fabs(v));
    }
    double rms = std::sqrt(sum / static_cast<double>(width));
    double relative = rms > 0 ? least / rms : INFINITY;
    if (relative < margin->relative)
      *margin = HashMargin{relative, layer, r};
  }
}

std::vector<float>
memoryLayerNamed(const Weights &weights, const std::string &prefix,
                 const std::vector<float> &x, int64_t n, int64_t bitsPerTable,
                 const ModelConfig &config, HashMargin *margin = nullptr,
                 int64_t layer = 0) {
  trackMargin(margin, x, n, layer);
  const Tensor &tables = getTensor(weights, prefix + ".tables");
  MemoryLayerShape shape;
  shape.numTables = tables.shape.at(0);
  shape.bitsPerTable = bitsPerTable;
  shape.outputWidth = tables.shape.at(2);
  shape.weighting = config.weighting;
  shape.temperature = config.temperature;
  return memoryLayer(x.data(), n, tables.data.data(),
                     get(weights, prefix + ".bias"), shape);
}

std::vector<float> linearNamed(const Weights &weights,
                               const std::string &prefix,
                               const std::vector<float> &x, int64_t n) {
  const Tensor &w = getTensor(weights, prefix + ".weight");
  return linear(x.data(), n, w.shape.at(1), w.data.data(),
                get(weights, prefix + ".bias"), w.shape.at(0));
}

std::vector<float> layerNormNamed(const Weights &weights,
                                  const std::string &prefix,
                                  const std::vector<float> &x, int64_t n,
                                  int64_t d, double eps) {
  return layerNorm(x.data(), n, d, get(weights, prefix + ".weight"),
                   get(weights, prefix + ".bias"), eps);
}

/// Softmax attention of one layer on already-projected q, k, v (`[n, d]`),
/// with rotary embedding on positions 0..n-1.
std::vector<float> rotaryAttention(const ModelConfig &config,
                                   std::vector<float> q, std::vector<float> k,
                                   const std::vector<float> &v, int64_t n,
                                   bool causal = true) {
  std::vector<int64_t> positions(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    positions[i] = i;
  int64_t heads = config.numHeads, headDim = config.headDim();
  if (config.rotaryDims() > 0) {
    rotary(q.data(), n, heads, headDim, config.rotaryDims(), config.rotaryBase,
           positions.data());
    rotary(k.data(), n, heads, headDim, config.rotaryDims(), config.rotaryBase,
           positions.data());
  }
  return causalAttention(q.data(), n, k.data(), v.data(), n, heads, headDim,
                         1.0 / std::sqrt(static_cast<double>(headDim)), causal);
}

void memoryFormerLayer(const ModelConfig &config, const Weights &weights,
                       const std::string &p, std::vector<float> &x, int64_t n,
                       HashMargin *margin, int64_t layer) {
  int64_t d = config.hiddenSize, tau = config.bitsPerTable;
  // a = x + Attn(RMSNorm_in(x)); Q, K, V are Memory Layers on one input.
  std::vector<float> u = rmsNorm(
      x.data(), n, d, get(weights, p + "norm_in.weight"), config.rmsNormEps);
  std::vector<float> q =
      memoryLayerNamed(weights, p + "attn.q", u, n, tau, config, margin, layer);
  std::vector<float> k =
      memoryLayerNamed(weights, p + "attn.k", u, n, tau, config);
  std::vector<float> v =
      memoryLayerNamed(weights, p + "attn.v", u, n, tau, config);
  addInPlace(x, rotaryAttention(config, q, k, v, n));
  // out = a + ML2(LayerNorm_mid(ML1(RMSNorm_post(a))))
  std::vector<float> post = rmsNorm(
      x.data(), n, d, get(weights, p + "norm_post.weight"), config.rmsNormEps);
  std::vector<float> mid = memoryLayerNamed(weights, p + "block.ml1", post, n,
                                            tau, config, margin, layer);
  int64_t expanded = config.numTables * (tau + config.expandBits);
  std::vector<float> midNorm = layerNormNamed(
      weights, p + "block.norm_mid", mid, n, expanded, config.layerNormEps);
  addInPlace(x,
             memoryLayerNamed(weights, p + "block.ml2", midNorm, n,
                              tau + config.expandBits, config, margin, layer));
}

/// Memsizer's alpha, keys and values of `u` with the projections under
/// `prefix` (`phi`, `wl`, `wr`, `norm_k`, `norm_v`) and `slots` slots.
struct MemsizerProjections {
  std::vector<float> alpha, keys, values;
};
MemsizerProjections memsizerProject(const ModelConfig &config,
                                    const Weights &weights,
                                    const std::string &prefix,
                                    const std::vector<float> &u, int64_t n,
                                    int64_t slots, bool keysAndValues = true) {
  int64_t d = config.hiddenSize;
  MemsizerProjections p;
  std::vector<float> logits = linearNamed(weights, prefix + ".phi", u, n);
  p.alpha = memsizerAlpha(logits.data(), n, config.numHeads, slots);
  if (!keysAndValues)
    return p;
  p.keys = layerNormNamed(weights, prefix + ".norm_k",
                          linearNamed(weights, prefix + ".wl", u, n), n, slots,
                          config.layerNormEps);
  p.values = layerNormNamed(weights, prefix + ".norm_v",
                            linearNamed(weights, prefix + ".wr", u, n), n, d,
                            config.layerNormEps);
  return p;
}

/// x += FFN(LayerNorm(x)) with `relu` or exact GELU.
void ffnBlock(const ModelConfig &config, const Weights &weights,
              const std::string &p, std::vector<float> &x, int64_t n,
              bool relu) {
  std::vector<float> f = layerNormNamed(weights, p + "norm_ffn", x, n,
                                        config.hiddenSize, config.layerNormEps);
  std::vector<float> hidden = linearNamed(weights, p + "ffn.fc1", f, n);
  for (float &value : hidden)
    value = relu ? std::max(value, 0.0f) : static_cast<float>(gelu(value));
  addInPlace(x, linearNamed(weights, p + "ffn.fc2", hidden, n));
}

/// x += Memsizer's causal self-attention on LayerNorm(x) (`norm_attn`).
void memsizerSelfAttention(const ModelConfig &config, const Weights &weights,
                           const std::string &p, const std::string &attn,
                           std::vector<float> &x, int64_t n) {
  int64_t d = config.hiddenSize, slots = config.memorySlots;
  std::vector<float> u =
      layerNormNamed(weights, p + "norm_attn", x, n, d, config.layerNormEps);
  MemsizerProjections m =
      memsizerProject(config, weights, p + attn, u, n, slots);
  std::vector<float> state(static_cast<size_t>(slots * d), 0.0f);
  addInPlace(x, memsizerCausal(m.alpha.data(), m.keys.data(), m.values.data(),
                               n, slots, d, state, /*start=*/0));
}

void memsizerLayer(const ModelConfig &config, const Weights &weights,
                   const std::string &p, std::vector<float> &x, int64_t n) {
  // a = x + MemsizerAttn(LayerNorm(x)); out = a + fc2(ReLU(fc1(LN(a))))
  memsizerSelfAttention(config, weights, p, "attn", x, n);
  ffnBlock(config, weights, p, x, n, /*relu=*/true);
}

void transformerLayer(const ModelConfig &config, const Weights &weights,
                      const std::string &p, std::vector<float> &x, int64_t n,
                      bool causal = true, bool relu = false) {
  int64_t d = config.hiddenSize;
  // a = x + O(Attn(Q, K, V)) on LayerNorm(x)
  std::vector<float> u =
      layerNormNamed(weights, p + "norm_attn", x, n, d, config.layerNormEps);
  std::vector<float> q = linearNamed(weights, p + "attn.q", u, n);
  std::vector<float> k = linearNamed(weights, p + "attn.k", u, n);
  std::vector<float> v = linearNamed(weights, p + "attn.v", u, n);
  std::vector<float> attn = rotaryAttention(config, q, k, v, n, causal);
  addInPlace(x, linearNamed(weights, p + "attn.o", attn, n));
  // out = a + fc2(GELU(fc1(LayerNorm(a)))) (ReLU in memsizer_seq2seq)
  ffnBlock(config, weights, p, x, n, relu);
}

/// Token embeddings of `tokens` from `prefix`embed.weight, scaled by
/// `scale`, plus `prefix`pos_embed.weight when the model has it.
std::vector<float> embedTokens(const Weights &weights,
                               const std::string &prefix,
                               const std::vector<int64_t> &tokens, int64_t d,
                               double scale) {
  int64_t n = static_cast<int64_t>(tokens.size());
  const float *embed = get(weights, prefix + "embed.weight");
  auto posEmbed = weights.find(prefix + "pos_embed.weight");
  std::vector<float> x(static_cast<size_t>(n * d));
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < d; ++j) {
      double value = embed[tokens[i] * d + j] * scale;
      if (posEmbed != weights.end())
        value += posEmbed->second.data[i * d + j];
      x[i * d + j] = static_cast<float>(value);
    }
  return x;
}

std::vector<float> lmHead(const Weights &weights, const std::vector<float> &x,
                          int64_t n, int64_t d) {
  const Tensor &head = getTensor(weights, "lm_head.weight");
  return linear(x.data(), n, d, head.data.data(), nullptr, head.shape.at(0));
}

} // namespace

std::vector<float> modelLogits(const ModelConfig &config,
                               const Weights &weights,
                               const std::vector<int64_t> &tokens,
                               HashMargin *margin) {
  int64_t n = static_cast<int64_t>(tokens.size()), d = config.hiddenSize;
  std::vector<float> x =
      embedTokens(weights, "", tokens, d,
                  config.family == Family::Memsizer ? config.embedScale : 1.0);

  for (int64_t layer = 0; layer < config.numLayers; ++layer) {
    std::string prefix = "layers." + std::to_string(layer) + ".";
    switch (config.family) {
    case Family::MemoryFormer:
      memoryFormerLayer(config, weights, prefix, x, n, margin, layer);
      break;
    case Family::Memsizer:
      memsizerLayer(config, weights, prefix, x, n);
      break;
    case Family::Transformer:
      transformerLayer(config, weights, prefix, x, n);
      break;
    case Family::MemsizerSeq2Seq:
      throw std::invalid_argument("memsizer_seq2seq: use seq2seqLogits");
    }
  }

  std::vector<float> final =
      config.family == Family::MemoryFormer
          ? rmsNorm(x.data(), n, d, get(weights, "norm_out.weight"),
                    config.rmsNormEps)
          : layerNormNamed(weights, "norm_out", x, n, d, config.layerNormEps);
  return lmHead(weights, final, n, d);
}

std::vector<float> seq2seqLogits(const ModelConfig &config,
                                 const Weights &weights,
                                 const std::vector<int64_t> &source,
                                 const std::vector<int64_t> &target) {
  int64_t d = config.hiddenSize, kc = config.crossMemorySlots;
  int64_t s = static_cast<int64_t>(source.size());
  int64_t t = static_cast<int64_t>(target.size());
  // Encoder: pre-norm layers over the whole source (no causal mask).
  std::vector<float> h =
      embedTokens(weights, "encoder.", source, d, config.embedScale);
  for (int64_t layer = 0; layer < config.encoderLayers; ++layer) {
    std::string p = "encoder.layers." + std::to_string(layer) + ".";
    if (config.encoderMemsizer) {
      // Memsizer over the whole source: every token reads the source memory.
      std::vector<float> u = layerNormNamed(weights, p + "norm_attn", h, s, d,
                                            config.layerNormEps);
      MemsizerProjections m =
          memsizerProject(config, weights, p + "attn", u, s, kc);
      std::vector<float> memory = memsizerSourceMemory(
          m.keys.data(), m.values.data(), nullptr, s, kc, d);
      addInPlace(h, memsizerCross(m.alpha.data(), s, memory.data(), kc, d));
      ffnBlock(config, weights, p, h, s, /*relu=*/true);
    } else {
      transformerLayer(config, weights, p, h, s, /*causal=*/false,
                       /*relu=*/true);
    }
  }
  h = layerNormNamed(weights, "encoder.norm_out", h, s, d, config.layerNormEps);

  // Decoder: Memsizer causal self-attention, cross-attention over the
  // source memory of the encoder's output, FFN.
  std::vector<float> x =
      embedTokens(weights, "decoder.", target, d, config.embedScale);
  for (int64_t layer = 0; layer < config.numLayers; ++layer) {
    std::string p = "decoder.layers." + std::to_string(layer) + ".";
    memsizerSelfAttention(config, weights, p, "self_attn", x, t);
    MemsizerProjections source =
        memsizerProject(config, weights, p + "cross_attn", h, s, kc);
    std::vector<float> memory = memsizerSourceMemory(
        source.keys.data(), source.values.data(), nullptr, s, kc, d);
    std::vector<float> u =
        layerNormNamed(weights, p + "norm_cross", x, t, d, config.layerNormEps);
    MemsizerProjections query = memsizerProject(
        config, weights, p + "cross_attn", u, t, kc, /*keysAndValues=*/false);
    addInPlace(x, memsizerCross(query.alpha.data(), t, memory.data(), kc, d));
    ffnBlock(config, weights, p, x, t, /*relu=*/true);
  }
  std::vector<float> final =
      layerNormNamed(weights, "decoder.norm_out", x, t, d, config.layerNormEps);
  return lmHead(weights, final, t, d);
}

} // namespace mnemo::ref
