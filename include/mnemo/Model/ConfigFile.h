//===- ConfigFile.h - config.json of a model directory ----------*- C++ -*-===//
//
// Reads, validates and writes the `config.json` of a model directory
// (docs/model-format.md). Every error is one line that names the file and
// the field: `DIR/config.json: hidden_size: 500 must equal num_tables *
// bits_per_table = 64 * 8 = 512`.
//
//===----------------------------------------------------------------------===//

#ifndef MNEMO_MODEL_CONFIGFILE_H
#define MNEMO_MODEL_CONFIGFILE_H

#include "mnemo/Model/ModelConfig.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <string>

namespace mnemo {

/// Largest values config.json may give (far beyond any model the paper
/// trains, small enough that sizes computed from them cannot overflow).
constexpr int64_t kMaxHiddenSize = 1 << 16;
constexpr int64_t kMaxVocabSize = 1 << 24;
constexpr int64_t kMaxLayers = 1 << 12;
constexpr int64_t kMaxPositions = 1 << 20;

/// Parses the JSON text of a config; `path` names the file in errors.
llvm::Expected<ModelConfig> parseModelConfig(llvm::StringRef text,
                                             llvm::StringRef path);

/// Reads and validates `path` (a config.json).
llvm::Expected<ModelConfig> readModelConfig(llvm::StringRef path);

/// Checks the relations between fields; errors are prefixed with `path`.
llvm::Error validateModelConfig(const ModelConfig &config,
                                llvm::StringRef path);

/// The config as config.json text: every field of its family, defaults
/// included, so that the file documents the model completely.
std::string modelConfigToJSON(const ModelConfig &config);

/// `float32`, `float16` or `bfloat16`.
const char *dtypeName(ElementType type);

} // namespace mnemo

#endif // MNEMO_MODEL_CONFIGFILE_H
