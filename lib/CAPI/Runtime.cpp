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

struct mnemo_batch {
  std::unique_ptr<mnemo::Batch> batch;
};

namespace {

/// Stores `message` in `*error` (when asked for); returns null.
template <typename T = void> T *fail(mnemo_error **error, std::string message) {
  if (error)
    *error = new (std::nothrow) mnemo_error{std::move(message)};
  return nullptr;
}

/// 0 on success; otherwise stores the error's message and returns 1.
int status(llvm::Error result, mnemo_error **error) {
  if (!result)
    return 0;
  fail(error, llvm::toString(std::move(result)));
  return 1;
}

/// Runs `call` with somewhere for the logits when the caller wants them
/// (`logits` not null), then copies them there; 0 on success.
template <typename Call>
int withLogits(float *logits, mnemo_error **error, Call call) {
  std::vector<float> out;
  if (int failed = status(call(logits ? &out : nullptr), error))
    return failed;
  if (logits)
    std::copy(out.begin(), out.end(), logits);
  return 0;
}

mnemo::EngineOptions engineOptions(const mnemo_load_options *options) {
  mnemo::EngineOptions engine;
  if (!options)
    return engine;
  engine.threads = options->threads;
  if (options->cache_dir)
    engine.cacheDirectory = options->cache_dir;
  engine.diskCache = options->no_cache == 0;
  if (options->target)
    engine.target = options->target;
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
  return withLogits(logits, error, [&](std::vector<float> *out) {
    return sequence->sequence->append(
        llvm::ArrayRef<int64_t>(tokens, static_cast<size_t>(count)), out);
  });
}

int mnemo_sequence_set_source(mnemo_sequence *sequence, const int64_t *tokens,
                              int64_t count, mnemo_error **error) {
  if (!sequence || (!tokens && count) || count <= 0) {
    fail(error, "mnemo_sequence_set_source: no sequence or no tokens");
    return 1;
  }
  return status(sequence->sequence->setSource(llvm::ArrayRef<int64_t>(
                    tokens, static_cast<size_t>(count))),
                error);
}

mnemo_batch *mnemo_batch_create(const mnemo_model *model, int64_t size,
                                mnemo_error **error) {
  if (!model)
    return fail<mnemo_batch>(error, "mnemo_batch_create: model is NULL");
  auto batch = model->model->newBatch(size);
  if (!batch)
    return fail<mnemo_batch>(error, "mnemo_batch_create: " +
                                        llvm::toString(batch.takeError()));
  return new (std::nothrow) mnemo_batch{std::move(*batch)};
}

void mnemo_batch_destroy(mnemo_batch *batch) { delete batch; }

int64_t mnemo_batch_size(const mnemo_batch *batch) {
  return batch ? batch->batch->size() : 0;
}

int64_t mnemo_batch_length(const mnemo_batch *batch, int64_t index) {
  if (!batch || index < 0 || index >= batch->batch->size())
    return -1;
  return batch->batch->length(index);
}

int mnemo_batch_set_source(mnemo_batch *batch, int64_t index,
                           const int64_t *tokens, int64_t count,
                           mnemo_error **error) {
  if (!batch || (!tokens && count) || count <= 0) {
    fail(error, "mnemo_batch_set_source: no batch or no tokens");
    return 1;
  }
  return status(
      batch->batch->setSource(
          index, llvm::ArrayRef<int64_t>(tokens, static_cast<size_t>(count))),
      error);
}

int mnemo_batch_append(mnemo_batch *batch, int64_t index, const int64_t *tokens,
                       int64_t count, float *logits, mnemo_error **error) {
  if (!batch || (!tokens && count) || count <= 0) {
    fail(error, "mnemo_batch_append: no batch or no tokens");
    return 1;
  }
  return withLogits(logits, error, [&](std::vector<float> *out) {
    return batch->batch->append(
        index, llvm::ArrayRef<int64_t>(tokens, static_cast<size_t>(count)),
        out);
  });
}

int mnemo_batch_step(mnemo_batch *batch, const int64_t *tokens, float *logits,
                     mnemo_error **error) {
  if (!batch || !tokens) {
    fail(error, "mnemo_batch_step: no batch or no tokens");
    return 1;
  }
  return withLogits(logits, error, [&](std::vector<float> *out) {
    return batch->batch->step(
        llvm::ArrayRef<int64_t>(tokens,
                                static_cast<size_t>(batch->batch->size())),
        out);
  });
}

int mnemo_batch_select(mnemo_batch *batch, const int64_t *from, int64_t count,
                       mnemo_error **error) {
  if (!batch || (!from && count) || count < 0) {
    fail(error, "mnemo_batch_select: no batch, or no indices");
    return 1;
  }
  return status(batch->batch->select(
                    llvm::ArrayRef<int64_t>(from, static_cast<size_t>(count))),
                error);
}

} // extern "C"
