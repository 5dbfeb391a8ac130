//===- Model.h - Model directories ------------------------------*- C++ -*-===//
//
// A model directory holds `config.json` and `model.safetensors`
// (docs/model-format.md). This header says which tensors each family has,
// opens a directory with every check a loader needs (the config, the
// safetensors structure, each tensor's presence, shape, dtype and values),
// and creates directories with random weights for `mnemoc init`.
//
//===----------------------------------------------------------------------===//

#ifndef MNEMO_MODEL_MODEL_H
#define MNEMO_MODEL_MODEL_H

#include "mnemo/Model/ModelConfig.h"
#include "mnemo/Model/SafeTensors.h"
#include "mnemo/Reference/Reference.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace mnemo {

/// What a tensor of a model is, as far as loading it goes.
enum class TensorRole {
  Table,     ///< Memory Layer tables: used as stored, in the config's dtype
  Embedding, ///< the token embedding: rows read as stored
  Dense,     ///< dense weights, norms, biases: widened to f32 on load
};

struct TensorSpec {
  std::string name;
  std::vector<int64_t> shape;
  TensorRole role = TensorRole::Dense;
  bool optional = false;
};

/// Every tensor a model of `config` has, in a fixed order: embedding, then
/// layer by layer, then the final norm and the LM head.
std::vector<TensorSpec> modelTensors(const ModelConfig &config);

/// Bytes of the tensors of `config` stored in `config.dtype`.
uint64_t modelBytes(const ModelConfig &config);

/// A validated model directory; its weights stay mapped while it lives.
class ModelDirectory {
public:
  /// Opens `dir` and checks everything: errors are one line naming the file
  /// and the field or tensor at fault.
  static llvm::Expected<std::unique_ptr<ModelDirectory>>
  open(llvm::StringRef dir);

  const ModelConfig &config() const { return modelConfig; }
  llvm::StringRef path() const { return directory; }
  const SafeTensorsFile &weights() const { return *file; }
  /// The tensor `name`; null only for an absent optional tensor.
  const TensorView *tensor(llvm::StringRef name) const {
    return file->find(name);
  }

private:
  std::string directory;
  ModelConfig modelConfig;
  std::unique_ptr<SafeTensorsFile> file;
};

/// Checks token ids against the vocabulary: `<what>: token id X at position
/// I is outside the vocabulary [0, V)`.
llvm::Error checkTokenIds(const ModelConfig &config,
                          llvm::ArrayRef<int64_t> tokens, llvm::StringRef what);

/// Every weight of `model` widened to f32, as lib/Reference reads them.
ref::Weights referenceWeights(const ModelDirectory &model);

//===----------------------------------------------------------------------===//
// Creating models (mnemoc init)
//===----------------------------------------------------------------------===//

enum class Preset { Tiny, Small, Base };

/// The configuration of a preset of SPEC §2 (and the Pythia shapes for the
/// other families): tiny d=512, 6 layers, 8 heads; small d=768, 12 layers,
/// 12 heads; base d=1024, 24 layers, 16 heads; MemoryFormer with tau = 8.
ModelConfig presetConfig(Family family, Preset preset);

/// Writes `config.json` and `model.safetensors` with random weights drawn
/// from `seed` into `dir` (created if missing). The weights are scaled so
/// that activations keep unit magnitude through the layers; the same seed
/// gives the same files.
llvm::Error writeRandomModel(const ModelConfig &config, uint64_t seed,
                             llvm::StringRef dir);

} // namespace mnemo

#endif // MNEMO_MODEL_MODEL_H
