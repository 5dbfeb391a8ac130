//===- ConfigFuzzer.cpp - libFuzzer target: the config.json reader --------===//
//
// Any text given as config.json is either refused with an error or gives a
// config that validates, whose tensors can be listed, whose costs can be
// computed and which can be imported into a program.
//
//===----------------------------------------------------------------------===//

#include "mnemo/Model/ConfigFile.h"
#include "mnemo/Model/Model.h"
#include "mnemo/Model/Program.h"
#include "mnemo/Model/Stats.h"

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  llvm::StringRef text(reinterpret_cast<const char *>(data), size);
  auto config = mnemo::parseModelConfig(text, "fuzz/config.json");
  if (!config) {
    llvm::consumeError(config.takeError());
    return 0;
  }
  if (llvm::Error error = mnemo::validateModelConfig(*config, "fuzz")) {
    llvm::consumeError(std::move(error));
    return 0;
  }
  (void)mnemo::modelTensors(*config);
  (void)mnemo::computeStats(*config, 2048).toJSON(*config);
  (void)mnemo::modelConfigToJSON(*config);
  (void)mnemo::importModel(*config);
  return 0;
}
