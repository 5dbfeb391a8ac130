//===- Program.h - A model as mnemo IR --------------------------*- C++ -*-===//
//
// The importer turns a model's config into one mnemo module, and says how
// its functions are called: the contract between the importer, which writes
// the functions, and the runtime, which binds a sequence's buffers and the
// model's weights to their arguments.
//
// Every family has the same functions:
//
//   @embed(tokens [n] i64, positions [n] i64, weights...) -> hidden [n, d]
//   @layer_prefill(hidden [n, d], positions [n], state..., weights...)
//       -> hidden [n, d]
//   @layer_decode(...)   the same for one token, tiled for decoding; for
//       Memsizer, one token of each of a batch of sequences
//   @head(hidden [n, d], weights...) -> logits [n, vocab]
//
// A layer's state is written in place. MemoryFormer and the dense
// Transformer take their key and value caches as `memref<? x d>` views of
// the rows `0 .. start + n` of the sequence's caches: the function writes the
// (rotated) keys and the values of its `n` new positions into the last `n`
// rows, then attends over all of them. Memsizer prefill takes its `[k, d]`
// memory, the unscaled sum over the positions before `positions[0]`, and
// updates it. Memsizer's @layer_decode takes `[B, k, d]`, the memories of B
// sequences, and `positions[b]`, the tokens sequence b has seen. Positions are
// 0-based and consecutive; the runtime checks that before calling. Every layer
// calls the same layer functions with its own weights, so that each distinct
// kernel configuration is compiled once and shared across layers.
//
//===----------------------------------------------------------------------===//

#ifndef MNEMO_MODEL_PROGRAM_H
#define MNEMO_MODEL_PROGRAM_H

#include "mnemo/Model/ModelConfig.h"

#include <map>
#include <string>
#include <vector>

namespace mnemo {

/// What the runtime binds to an argument of a model function.
enum class ArgRole {
  Tokens,      ///< i64 token ids [n]
  Positions,   ///< i64 positions [n]
  Hidden,      ///< f32 activations [n, d]
  KeyCache,    ///< f32 rows 0 .. start + n of the key cache [?, d]
  ValueCache,  ///< f32 rows 0 .. start + n of the value cache [?, d]
  State,       ///< Memsizer's memory [k, d] ([B, k, d] to decode), in place
  CrossMemory, ///< memsizer_seq2seq: a decoder layer's source memory [kc, d]
               ///< ([B, kc, d] to decode: one per sequence, or one for all)
  Weight,      ///< a tensor of model.safetensors
};

struct ProgramArg {
  ArgRole role = ArgRole::Hidden;
  /// For weights: the tensor's name; `{layer}` stands for the layer index.
  std::string weight;
  /// For weights: the element type the kernels take, the tensor's stored
  /// type or f32 (a dense weight widened at load for BLAS).
  ElementType type = ElementType::F32;
};

struct ProgramFunction {
  std::string name;
  std::vector<ProgramArg> args;
  /// Whether the result is logits `[n, vocab]` (@head) rather than hidden
  /// states `[n, d]`.
  bool returnsLogits = false;
  /// Whether its rows are tokens of different sequences (Memsizer's
  /// @layer_decode: one token of each of B sequences, State [B, k, d]);
  /// otherwise they are consecutive tokens of one sequence.
  bool batched = false;
};

struct ModelProgram {
  /// The mnemo module, as text.
  std::string mlir;
  std::vector<ProgramFunction> functions;

  const ProgramFunction *find(const std::string &name) const;
};

struct ImportOptions {
  /// Memsizer: the model has `pos_embed.weight` (added to the embedding);
  /// memsizer_seq2seq: `decoder.pos_embed.weight`.
  bool positionEmbedding = false;
  /// memsizer_seq2seq: the model has `encoder.pos_embed.weight`.
  bool encoderPositionEmbedding = false;
  /// The type each tensor is stored in, by name. Tensors the kernels take
  /// as stored (embeddings, the LM head) are declared in it; one missing
  /// here is taken to be config.json's dtype.
  std::map<std::string, ElementType> storedTypes;
};

/// The names of the model functions.
constexpr const char *kEmbedFunction = "embed";
constexpr const char *kLayerPrefillFunction = "layer_prefill";
constexpr const char *kLayerDecodeFunction = "layer_decode";
constexpr const char *kHeadFunction = "head";
/// memsizer_seq2seq's encoder, run once per source:
///   @encoder_embed(tokens, positions, weights...) -> hidden [s, d]
///   @encoder_layer(hidden [s, d], positions [s], weights...) -> [s, d]
///   @encoder_norm(hidden [s, d], weights...) -> the encoder's output
///   @cross_memory(output [s, d], weights...) -> [kc, d], per decoder layer
/// and its decoder layers take their source memory as a CrossMemory
/// argument.
constexpr const char *kEncoderEmbedFunction = "encoder_embed";
constexpr const char *kEncoderLayerFunction = "encoder_layer";
constexpr const char *kEncoderNormFunction = "encoder_norm";
constexpr const char *kCrossMemoryFunction = "cross_memory";

/// The mnemo module of a model and how to call its functions. The config
/// must have been validated (ConfigFile.h).
ModelProgram importModel(const ModelConfig &config,
                         const ImportOptions &options = {});

/// `name` with `{layer}` replaced by `layer`.
std::string weightName(const std::string &name, int64_t layer);

} // namespace mnemo

#endif // MNEMO_MODEL_PROGRAM_H
