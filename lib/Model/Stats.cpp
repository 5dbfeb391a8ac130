//===- Stats.cpp - What a model costs (mnemoc stats) ----------------------===//

#include "mnemo/Model/Stats.h"

#include "mnemo/Model/ConfigFile.h"
#include "mnemo/Model/Model.h"

#include "llvm/Support/FormatVariadic.h"

#include <nlohmann/json.hpp>

namespace mnemo {

namespace {

uint64_t count(const std::vector<int64_t> &shape) {
  uint64_t n = 1;
  for (int64_t dim : shape)
    n *= static_cast<uint64_t>(dim);
  return n;
}

/// "1.23 G", "456.7 M".
std::string giga(double flops) {
  if (flops >= 1e9)
    return llvm::formatv("{0:F2} G", flops / 1e9).str();
  return llvm::formatv("{0:F1} M", flops / 1e6).str();
}

/// Decimal megabytes, as the paper's Table 3 reports table sizes.
std::string megabytes(double bytes) {
  return llvm::formatv("{0:F1} MB", bytes / 1e6).str();
}

} // namespace

ModelStats computeStats(const ModelConfig &c, int64_t seqLen) {
  ModelStats s;
  s.seqLen = seqLen;
  const double n = static_cast<double>(seqLen);
  const double d = static_cast<double>(c.hiddenSize);
  // Causal attention: query i sees i + 1 keys; QK^T and PV each cost
  // (keys * d) multiply-adds per query.
  const double causalAttention = n * (n + 1) * d;
  const uint64_t elem = elementBytes(c.dtype);

  switch (c.family) {
  case Family::MemoryFormer: {
    double k = static_cast<double>(c.numTables);
    double wide = static_cast<double>(c.expandedWidth());
    s.paperFlopsWithoutAttention = 6 * k * n * d;
    s.paperFlopsAttention = 2 * n * n * d;
    // Q, K, V (h = d), ML1 (h = K (tau + e)), ML2 (K tables, h = d).
    s.flopsWithoutAttention = n * k * (3 * d + wide + d);
    s.flopsAttention = causalAttention;
    s.hashedValues = n * (d + d + wide);
    break;
  }
  case Family::Transformer: {
    double ffn = static_cast<double>(c.ffnSize);
    s.paperFlopsWithoutAttention = 4 * n * d * d + 2 * n * d * ffn;
    s.paperFlopsAttention = 2 * n * n * d;
    s.flopsWithoutAttention = s.paperFlopsWithoutAttention;
    s.flopsAttention = causalAttention;
    break;
  }
  case Family::Memsizer: {
    double k = static_cast<double>(c.memorySlots);
    double h = static_cast<double>(c.numHeads);
    double ffn = static_cast<double>(c.ffnSize);
    // Phi (H k), W_l (k), W_r (d), FFN; the memory: a rank-1 update and a
    // read of the k x d state per token.
    s.flopsWithoutAttention = n * d * (h * k + k + d) + 2 * n * d * ffn;
    s.flopsAttention = 2 * n * k * d;
    break;
  }
  case Family::MemsizerSeq2Seq: {
    // A decoder block: self-attention as Memsizer's; cross-attention's
    // alpha (H kc) and its read of the source memory (kc x d, built once
    // per source); FFN.
    double k = static_cast<double>(c.memorySlots);
    double kc = static_cast<double>(c.crossMemorySlots);
    double h = static_cast<double>(c.numHeads);
    double ffn = static_cast<double>(c.ffnSize);
    s.flopsWithoutAttention =
        n * d * (h * k + k + d) + n * d * h * kc + 2 * n * d * ffn;
    s.flopsAttention = 2 * n * k * d + n * kc * d;
    break;
  }
  }

  // Weights of block 0 (every block has the same), the model, and what a
  // decoded token reads.
  bool seq2seq = c.family == Family::MemsizerSeq2Seq;
  const std::string first = seq2seq ? "decoder.layers.0." : "layers.0.";
  uint64_t rowBytes = 0;
  for (const TensorSpec &spec : modelTensors(c)) {
    if (spec.optional)
      continue;
    uint64_t bytes = count(spec.shape) * elem;
    s.modelBytes += bytes;
    if (spec.role == TensorRole::Table)
      s.modelTableBytes += bytes;
    bool inFirst = spec.name.rfind(first, 0) == 0;
    bool inBlock = spec.name.rfind("layers.", 0) == 0 ||
                   spec.name.rfind("decoder.layers.", 0) == 0;
    // The encoder runs once per source, not per decoded token.
    bool inEncoder = spec.name.rfind("encoder.", 0) == 0;
    if (inFirst) {
      std::string part = spec.name.substr(first.size());
      s.blockParts.push_back({part, bytes});
      s.blockWeightBytes += bytes;
      if (spec.role == TensorRole::Table) {
        s.blockTableBytes += bytes;
        // One row of each table per token: K rows of h values.
        rowBytes += static_cast<uint64_t>(spec.shape[0] * spec.shape[2]) * elem;
      } else {
        s.decodeWeightBytesPerBlock += count(spec.shape) * 4;
      }
    } else if (!inBlock && !inEncoder) {
      // Per token: a row of each embedding (positions widened to f32), the
      // LM head as stored (generated code reads it), the final norm in f32.
      uint64_t row = static_cast<uint64_t>(c.hiddenSize);
      llvm::StringRef name(spec.name);
      s.decodeHeadBytes += spec.role == TensorRole::Embedding   ? row * elem
                           : name.ends_with("pos_embed.weight") ? row * 4
                           : name == "lm_head.weight" ? count(spec.shape) * elem
                                                      : count(spec.shape) * 4;
    }
  }
  s.decodeWeightBytesPerBlock += rowBytes;
  uint64_t position = static_cast<uint64_t>(seqLen);
  uint64_t width = static_cast<uint64_t>(c.hiddenSize);
  s.decodeStateBytesPerBlock =
      c.isMemsizer()
          // The k x d state is read and written back (and the kc x d source
          // memory read).
          ? (2 * static_cast<uint64_t>(c.memorySlots) +
             (seq2seq ? static_cast<uint64_t>(c.crossMemorySlots) : 0)) *
                width * 4
          // Keys and values of every earlier position.
          : 2 * position * width * 4;
  s.decodeBytes =
      static_cast<uint64_t>(c.numLayers) *
          (s.decodeWeightBytesPerBlock + s.decodeStateBytesPerBlock) +
      s.decodeHeadBytes;
  return s;
}

std::string ModelStats::toText(const ModelConfig &c) const {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << familyName(c.family) << ": d=" << c.hiddenSize << ", " << c.numLayers
     << " layers, " << c.numHeads << " heads";
  if (c.family == Family::MemoryFormer)
    os << ", K=" << c.numTables << " tables of tau=" << c.bitsPerTable
       << " bits (+" << c.expandBits << " expanding)";
  if (c.family == Family::Memsizer)
    os << ", k=" << c.memorySlots << " memory slots";
  if (c.family == Family::MemsizerSeq2Seq)
    os << " (decoder), k=" << c.memorySlots << " self / " << c.crossMemorySlots
       << " cross memory slots, " << c.encoderLayers << " encoder layers of "
       << (c.encoderMemsizer ? "Memsizer" : "softmax") << " attention";
  os << ", vocab " << c.vocabSize << ", " << dtypeName(c.dtype)
     << " weights\n\n";

  os << "FLOPs of one block at sequence length " << seqLen
     << " (a multiply-add is one FLOP):\n";
  bool paper =
      c.family == Family::MemoryFormer || c.family == Family::Transformer;
  os << llvm::formatv("  {0,-22}{1,-16}{2}\n", "",
                      paper ? "paper's method" : "", "as executed");
  auto row = [&](const char *name, double paperValue, double executed) {
    os << llvm::formatv("  {0,-22}{1,-16}{2}\n", name,
                        paper ? giga(paperValue) : "", giga(executed));
  };
  row("without attention", paperFlopsWithoutAttention, flopsWithoutAttention);
  row("attention", paperFlopsAttention, flopsAttention);
  row("total", paperFlopsWithoutAttention + paperFlopsAttention,
      flopsWithoutAttention + flopsAttention);
  if (c.family == Family::MemoryFormer)
    os << llvm::formatv("  (and {0} values hashed: a sign test and an "
                        "exponential each)\n",
                        giga(hashedValues));
  if (paper)
    os << "  paper: attention counted as 2 s^2 d (every key), Memory Layers "
          "as 6 K s d;\n  as executed: causal attention, each Memory Layer's "
          "K * h multiply-adds\n";

  os << "\nWeights as stored:\n";
  for (const auto &[part, bytes] : blockParts)
    if (part.find(".tables") != std::string::npos)
      os << llvm::formatv("  {0,-28}{1}\n", part, megabytes(bytes));
  if (blockTableBytes)
    os << llvm::formatv("  {0,-28}{1}\n", "tables of one block",
                        megabytes(blockTableBytes));
  os << llvm::formatv("  {0,-28}{1}\n", "one block",
                      megabytes(blockWeightBytes));
  if (modelTableBytes)
    os << llvm::formatv("  {0,-28}{1}\n", "all tables",
                        megabytes(modelTableBytes));
  os << llvm::formatv("  {0,-28}{1}\n", "whole model", megabytes(modelBytes));

  os << "\nBytes read per decoded token at position " << seqLen << ":\n";
  os << llvm::formatv("  {0,-28}{1}\n", "weights of one block",
                      megabytes(decodeWeightBytesPerBlock));
  os << llvm::formatv("  {0,-28}{1}\n",
                      c.isMemsizer() ? "memory state of one block"
                                     : "KV cache of one block",
                      megabytes(decodeStateBytesPerBlock));
  os << llvm::formatv("  {0,-28}{1}\n", "embedding row and LM head",
                      megabytes(decodeHeadBytes));
  os << llvm::formatv("  {0,-28}{1}\n", "total", megabytes(decodeBytes));
  return text;
}

std::string ModelStats::toJSON(const ModelConfig &c) const {
  nlohmann::json j;
  j["model_type"] = familyName(c.family);
  j["seq_len"] = seqLen;
  if (c.family == Family::MemoryFormer || c.family == Family::Transformer) {
    j["paper_flops_without_attention"] = paperFlopsWithoutAttention;
    j["paper_flops_attention"] = paperFlopsAttention;
    j["paper_flops_total"] = paperFlopsWithoutAttention + paperFlopsAttention;
  }
  j["flops_without_attention"] = flopsWithoutAttention;
  j["flops_attention"] = flopsAttention;
  j["flops_total"] = flopsWithoutAttention + flopsAttention;
  if (c.family == Family::MemoryFormer)
    j["hashed_values"] = hashedValues;
  nlohmann::json parts = nlohmann::json::object();
  for (const auto &[part, bytes] : blockParts)
    parts[part] = bytes;
  j["block_tensor_bytes"] = parts;
  j["block_table_bytes"] = blockTableBytes;
  j["block_weight_bytes"] = blockWeightBytes;
  j["model_table_bytes"] = modelTableBytes;
  j["model_bytes"] = modelBytes;
  j["decode_weight_bytes_per_block"] = decodeWeightBytesPerBlock;
  j["decode_state_bytes_per_block"] = decodeStateBytesPerBlock;
  j["decode_head_bytes"] = decodeHeadBytes;
  j["decode_bytes_per_token"] = decodeBytes;
  return j.dump();
}

} // namespace mnemo
