//===- ModelConfig.h - The hyper-parameters of a model ----------*- C++ -*-===//
//
// What `config.json` of a model directory says (docs/model-format.md), as a
// plain struct: the reference, the importer, the runtime and `mnemoc stats`
// all read it. Reading and validating the file is in ConfigFile.h.
//
//===----------------------------------------------------------------------===//

#ifndef MNEMO_MODEL_MODELCONFIG_H
#define MNEMO_MODEL_MODELCONFIG_H

#include "mnemo/Support/Types.h"

#include <cstdint>

namespace mnemo {

/// The model families of SPEC §2-§4, and Memsizer's encoder-decoder.
enum class Family { MemoryFormer, Memsizer, Transformer, MemsizerSeq2Seq };

/// `memoryformer`, `memsizer`, `transformer` or `memsizer_seq2seq`
/// (config.json's model_type).
const char *familyName(Family family);

struct ModelConfig {
  Family family = Family::MemoryFormer;
  int64_t vocabSize = 0;
  int64_t hiddenSize = 0; ///< d
  /// Layers; for memsizer_seq2seq, the decoder's (`decoder_layers`).
  int64_t numLayers = 0;
  int64_t numHeads = 0; ///< H
  int64_t maxPositions = 2048;
  double rmsNormEps = 1e-8;
  double layerNormEps = 1e-5;
  /// Storage type of the weights; Memory Layer tables are used as stored,
  /// everything else is widened to f32 when a model is loaded.
  ElementType dtype = ElementType::F32;

  // memoryformer
  int64_t numTables = 0;    ///< K
  int64_t bitsPerTable = 0; ///< tau
  int64_t expandBits = 2;
  Weighting weighting = Weighting::L1Prob;
  double temperature = 1.0;
  // memoryformer and transformer
  double rotaryPct = 0.25;
  double rotaryBase = 10000.0;
  // memsizer
  int64_t memorySlots = 32; ///< k
  double embedScale = 1.0;
  // memsizer and transformer: the FFN's inner width (default 4d)
  int64_t ffnSize = 0;
  // memsizer_seq2seq (memorySlots is the decoder self-attention's k)
  int64_t encoderLayers = 0;
  int64_t crossMemorySlots = 32;
  /// The encoder's self-attention: Memsizer (over the whole source, with
  /// crossMemorySlots slots) rather than softmax with rotary embedding.
  bool encoderMemsizer = false;
  /// The token the decoder starts from when no target prefix is given.
  int64_t decoderStartToken = 0;

  int64_t headDim() const { return hiddenSize / numHeads; }
  /// Dims of each head that rotary embedding rotates (GPT-NeoX's
  /// `int(head_dim * rotary_pct)`).
  int64_t rotaryDims() const {
    return static_cast<int64_t>(static_cast<double>(headDim()) * rotaryPct);
  }
  /// The Memory Block's expanded width `K * (tau + expand_bits)`.
  int64_t expandedWidth() const {
    return numTables * (bitsPerTable + expandBits);
  }
  bool usesRotary() const {
    return family == Family::MemoryFormer || family == Family::Transformer ||
           (family == Family::MemsizerSeq2Seq && !encoderMemsizer);
  }
  /// Whether the decoder's self-attention is Memsizer's.
  bool isMemsizer() const {
    return family == Family::Memsizer || family == Family::MemsizerSeq2Seq;
  }
};

} // namespace mnemo

#endif // MNEMO_MODEL_MODELCONFIG_H
