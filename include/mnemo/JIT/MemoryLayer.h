//===- MemoryLayer.h - One Memory Layer, compiled for the host --*- C++ -*-===//
//
// Builds the mnemo IR of one Memory Layer configuration, compiles it with
// the JIT (once per configuration and options, cached in-process), prepares
// (packs) a set of tables for it once, and runs it on any number of tokens.
// `mnemoc eval-layer`, `mnemoc bench layer`, the benchmarks and the tests use
// it; whole models use the same pipeline through the runtime.
//
//===----------------------------------------------------------------------===//

#ifndef MNEMO_JIT_MEMORYLAYER_H
#define MNEMO_JIT_MEMORYLAYER_H

#include "mnemo/JIT/JIT.h"

#include <memory>
#include <string>
#include <vector>

namespace mnemo {

/// A normalization folded into the layer's input (SPEC §2), if any.
enum class LayerNorm { None, RMSNorm, LayerNorm };

/// What a compiled Memory Layer is specialized on.
struct MemoryLayerConfig {
  /// The largest tau (SPEC §1): 2^16 rows per table.
  static constexpr int64_t kMaxBitsPerTable = 16;

  int64_t numTables = 0;    ///< K
  int64_t bitsPerTable = 0; ///< tau, in [1, kMaxBitsPerTable]
  int64_t outputWidth = 0;  ///< h
  ElementType tableType = ElementType::F32;
  Weighting weighting = Weighting::L1Prob;
  float temperature = 1.0f;
  bool hasBias = false;
  LayerNorm norm = LayerNorm::None;
  float normEpsilon = 1e-5f;
  /// Tokens per call when known (tiling may use it); 0 for any count.
  int64_t numTokens = 0;

  int64_t inputWidth() const { return numTables * bitsPerTable; }
  int64_t numBuckets() const { return int64_t{1} << bitsPerTable; }
  /// Elements of the tables `[K, 2^tau, h]`.
  int64_t tableElements() const {
    return numTables * numBuckets() * outputWidth;
  }

  /// Checks the configuration; the message names the offending field.
  llvm::Error validate() const;
  /// The mnemo IR of the layer: @layer(x, tables, [bias], [norm params]).
  std::string toMLIR() const;
};

/// The weights of one layer as the compiled kernel reads them: the caller's
/// tables, bias and norm parameters, and the buffers the weight preparation
/// computed from them (packed tables).
struct PreparedLayer {
  const void *tables = nullptr;
  const float *bias = nullptr;
  const float *normWeight = nullptr;
  const float *normBias = nullptr;
  PreparedWeights prepared;
};

/// A Memory Layer configuration compiled for the host, or for an NVIDIA GPU
/// (JITOptions::target "cuda"): then every pointer given to `prepare` and
/// `run` is a device address (cuda::DeviceBuffer::data()), and `run`
/// returns when the kernels are done.
class MemoryLayerKernel {
public:
  /// Compiles `config` (cached per configuration and options).
  static llvm::Expected<std::shared_ptr<MemoryLayerKernel>>
  compile(const MemoryLayerConfig &config, const JITOptions &options);

  /// Prepares a set of weights once: `tables` is `[K, 2^tau, h]` in the
  /// configured element type; the pointers must outlive the result.
  llvm::Expected<PreparedLayer> prepare(const void *tables, const float *bias,
                                        const float *normWeight = nullptr,
                                        const float *normBias = nullptr) const;

  /// y[n, h] = layer(x[n, d]) with prepared weights.
  llvm::Error run(const PreparedLayer &weights, const float *x,
                  int64_t numTokens, float *y) const;

  const MemoryLayerConfig &getConfig() const { return config; }
  double compileSeconds() const { return module->compileSeconds(); }

private:
  MemoryLayerKernel(MemoryLayerConfig config,
                    std::shared_ptr<const CompiledModule> module)
      : config(std::move(config)), module(std::move(module)) {}

  /// The buffers of the weight arguments of @layer, in order.
  std::vector<Buffer> weightBuffers(const PreparedLayer &weights) const;

  MemoryLayerConfig config;
  std::shared_ptr<const CompiledModule> module;
};

} // namespace mnemo

#endif // MNEMO_JIT_MEMORYLAYER_H
