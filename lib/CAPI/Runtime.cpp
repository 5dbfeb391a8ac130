//===- Runtime.cpp - Mnemo's C API over lib/Engine ------------------------===//

#include "mnemo-c/Runtime.h"

#include "mnemo/Engine/Engine.h"
#include "mnemo/Version.h"

#include <new>
#include <string>

struct mnemo_error {
  std::string message;
};

struct mnemo_model {
  std::unique_ptr<mnemo::LoadedModel> model;
};

struct mnemo_sequence {
  std::unique_ptr<mnemo::Sequence> sequence;
};

namespace {

/// Stores `message` in `*error` (when asked for); returns null.
template <typename T = void> T *fail(mnemo_error **error, std::string message) {
  if (error)
    *error = new (std::nothrow) mnemo_error{std::move(message)};
  return nullptr;
}

mnemo::EngineOptions engineOptions(const mnemo_load_options *options) {
  mnemo::EngineOptions engine;
  if (!options)
    return engine;
  engine.threads = options->threads;
  if (options->cache_dir)
    engine.cacheDirectory = options->cache_dir;
  engine.diskCache = options->no_cache == 0;
  return engine;
}

mnemo_model *wrap(llvm::Expected<std::unique_ptr<mnemo::LoadedModel>> loaded,
                  mnemo_error **error) {
  if (!loaded)
    return fail<mnemo_model>(error, llvm::toString(loaded.takeError()));
  return new (std::nothrow) mnemo_model{std::move(*loaded)};
}

} // namespace

extern "C" {

const char *mnemo_version(void) { return MNEMO_VERSION_STRING; }

const char *mnemo_error_message(const mnemo_error *error) {
  return error ? error->message.c_str() : "";
}

void mnemo_error_destroy(mnemo_error *error) { delete error; }

mnemo_model *mnemo_model_load(const char *dir,
                              const mnemo_load_options *options,
                              mnemo_error **error) {
  if (!dir)
    return fail<mnemo_model>(error, "mnemo_model_load: dir is NULL");
  if (options && options->threads < 0)
    return fail<mnemo_model>(error, "mnemo_model_load: threads is negative");
  return wrap(mnemo::LoadedModel::load(dir, engineOptions(options)), error);
}

mnemo_model *mnemo_model_load_kernels(const char *dir,
                                      const mnemo_kernels *kernels,
                                      const mnemo_load_options *options,
                                      mnemo_error **error) {
  if (!dir || !kernels)
    return fail<mnemo_model>(
        error, "mnemo_model_load_kernels: dir or kernels is NULL");
  if (kernels->abi_version != 1 || !kernels->manifest ||
      (kernels->count && (!kernels->names || !kernels->entries)))
    return fail<mnemo_model>(error, "mnemo_model_load_kernels: the kernel "
                                    "table is not one of this version");
  mnemo::AheadOfTimeKernels aot;
  aot.manifest = kernels->manifest;
  for (uint64_t i = 0; i < kernels->count; ++i)
    aot.entries[kernels->names[i]] = kernels->entries[i];
  return wrap(mnemo::LoadedModel::load(dir, aot, engineOptions(options)),
              error);
}

void mnemo_model_destroy(mnemo_model *model) { delete model; }

int64_t mnemo_model_vocab_size(const mnemo_model *model) {
  return model ? model->model->config().vocabSize : 0;
}

int64_t mnemo_model_max_positions(const mnemo_model *model) {
  return model ? model->model->config().maxPositions : 0;
}

mnemo_sequence *mnemo_sequence_create(const mnemo_model *model,
                                      mnemo_error **error) {
  if (!model)
    return fail<mnemo_sequence>(error, "mnemo_sequence_create: model is NULL");
  return new (std::nothrow) mnemo_sequence{model->model->newSequence()};
}

void mnemo_sequence_destroy(mnemo_sequence *sequence) { delete sequence; }

int64_t mnemo_sequence_length(const mnemo_sequence *sequence) {
  return sequence ? sequence->sequence->length() : 0;
}

int mnemo_sequence_append(mnemo_sequence *sequence, const int64_t *tokens,
                          int64_t count, float *logits, mnemo_error **error) {
  if (!sequence || (!tokens && count) || count <= 0) {
    fail(error, "mnemo_sequence_append: no sequence or no tokens");
    return 1;
  }
  std::vector<float> out;
  if (llvm::Error e = sequence->sequence->append(
          llvm::ArrayRef<int64_t>(tokens, static_cast<size_t>(count)),
          logits ? &out : nullptr)) {
    fail(error, llvm::toString(std::move(e)));
    return 1;
  }
  if (logits)
    std::copy(out.begin(), out.end(), logits);
  return 0;
}

int mnemo_sequence_set_source(mnemo_sequence *sequence, const int64_t *tokens,
                              int64_t count, mnemo_error **error) {
  if (!sequence || (!tokens && count) || count <= 0) {
    fail(error, "mnemo_sequence_set_source: no sequence or no tokens");
    return 1;
  }
  if (llvm::Error e = sequence->sequence->setSource(
          llvm::ArrayRef<int64_t>(tokens, static_cast<size_t>(count)))) {
    fail(error, llvm::toString(std::move(e)));
    return 1;
  }
  return 0;
}

} // extern "C"
