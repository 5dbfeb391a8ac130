/*===- mnemo-c/Runtime.h - Mnemo's C API ---------------------------*- C -*-===*
 *
 * Load a model directory (docs/model-format.md), compiling its kernels for
 * this CPU at load time (through the on-disk kernel cache) or using kernels
 * compiled ahead of time by `mnemoc compile DIR --emit lib`; then run
 * sequences: a prompt, then one token at a time.
 *
 * Conventions: every object comes from a create/load function and goes back
 * to its destroy function (destroying NULL does nothing). A function that
 * can fail takes `mnemo_error **error` last: on failure it returns NULL (or
 * a non-zero status) and, when `error` is not NULL, stores an error that
 * the caller destroys with mnemo_error_destroy. A loaded model may be used
 * from several threads at once; one sequence (or batch) by one thread at a
 * time.
 *
 * See docs/c-api.md.
 *
 *===----------------------------------------------------------------------===*/

#ifndef MNEMO_C_RUNTIME_H
#define MNEMO_C_RUNTIME_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The version of the library, "MAJOR.MINOR.PATCH". */
const char *mnemo_version(void);

/*--- Errors ---------------------------------------------------------------*/

typedef struct mnemo_error mnemo_error;

/* One line saying what failed, naming the file and field at fault. */
const char *mnemo_error_message(const mnemo_error *error);
void mnemo_error_destroy(mnemo_error *error);

/*--- Kernels compiled ahead of time ----------------------------------------*/

/* What `mnemoc compile --emit obj|lib` puts in an object: the generated
 * header declares a function returning it. */
typedef struct mnemo_kernels {
  uint32_t abi_version; /* 1 */
  const char *manifest; /* JSON: signatures, the model program, the CPU */
  uint64_t count;
  const char *const *names;
  void (*const *entries)(void **);
} mnemo_kernels;

/*--- Models ---------------------------------------------------------------*/

typedef struct mnemo_model mnemo_model;

typedef struct mnemo_load_options {
  /* Threads of each call; 0: every core. */
  int32_t threads;
  /* Where compiled kernels are cached between processes; NULL: the default
   * ($MNEMO_CACHE_DIR, else $XDG_CACHE_HOME/mnemo, else ~/.cache/mnemo). */
  const char *cache_dir;
  /* Non-zero: neither read nor write the kernel cache. */
  int32_t no_cache;
  /* What runs the kernels: NULL or "cpu": this CPU; "cuda": the first
   * NVIDIA GPU (or $MNEMO_CUDA_DEVICE), with the weights uploaded once at
   * load and the states in device memory, only token ids and logits
   * crossing. Loading fails with the reason where there is no usable GPU or
   * CUDA driver. */
  const char *target;
} mnemo_load_options;

/* Loads `dir`, compiling its kernels for the target (this CPU unless
 * `options` says otherwise). `options` may be NULL. */
mnemo_model *mnemo_model_load(const char *dir,
                              const mnemo_load_options *options,
                              mnemo_error **error);

/* Loads `dir` with kernels compiled ahead of time for it; fails when they
 * were compiled for another model configuration or another CPU, or when
 * `options` names a target other than the CPU. */
mnemo_model *mnemo_model_load_kernels(const char *dir,
                                      const mnemo_kernels *kernels,
                                      const mnemo_load_options *options,
                                      mnemo_error **error);

void mnemo_model_destroy(mnemo_model *model);

int64_t mnemo_model_vocab_size(const mnemo_model *model);
int64_t mnemo_model_max_positions(const mnemo_model *model);

/*--- Sequences --------------------------------------------------------------*/

typedef struct mnemo_sequence mnemo_sequence;

mnemo_sequence *mnemo_sequence_create(const mnemo_model *model,
                                      mnemo_error **error);
void mnemo_sequence_destroy(mnemo_sequence *sequence);

/* Tokens run so far. */
int64_t mnemo_sequence_length(const mnemo_sequence *sequence);

/* Runs `count` tokens that continue the sequence (a prompt, or one token
 * when decoding). When `logits` is not NULL it receives the vocab_size
 * logits of the last token. Returns 0 on success. */
int mnemo_sequence_append(mnemo_sequence *sequence, const int64_t *tokens,
                          int64_t count, float *logits, mnemo_error **error);

/* memsizer_seq2seq models: runs the encoder over the `count` source tokens
 * and keeps each decoder layer's source memory. Call it once, before the
 * first target token. Returns 0 on success; other families fail. */
int mnemo_sequence_set_source(mnemo_sequence *sequence, const int64_t *tokens,
                              int64_t count, mnemo_error **error);

/*--- Batches ----------------------------------------------------------------*/

/* Sequences decoded together: each grows by its own prompt
 * (mnemo_batch_append), then mnemo_batch_step runs one new token of every
 * sequence. Memsizer models step the whole batch through each layer in one
 * call (one pass over the weights per step); the other families step the
 * sequences one after another. Sequences are numbered 0 .. size - 1. */
typedef struct mnemo_batch mnemo_batch;

/* A batch of `size` new, empty sequences; it may hold up to `size`. */
mnemo_batch *mnemo_batch_create(const mnemo_model *model, int64_t size,
                                mnemo_error **error);
void mnemo_batch_destroy(mnemo_batch *batch);

/* Sequences in the batch. */
int64_t mnemo_batch_size(const mnemo_batch *batch);

/* Tokens that sequence `index` has run; -1 when there is no such
 * sequence. */
int64_t mnemo_batch_length(const mnemo_batch *batch, int64_t index);

/* memsizer_seq2seq models: the source of sequence `index`, before its first
 * target token (as mnemo_sequence_set_source). Returns 0 on success. */
int mnemo_batch_set_source(mnemo_batch *batch, int64_t index,
                           const int64_t *tokens, int64_t count,
                           mnemo_error **error);

/* Runs `count` tokens that continue sequence `index`; `logits`, when not
 * NULL, receives the vocab_size logits of the last one. Returns 0 on
 * success. */
int mnemo_batch_append(mnemo_batch *batch, int64_t index, const int64_t *tokens,
                       int64_t count, float *logits, mnemo_error **error);

/* Runs tokens[i] as the next token of sequence i, for each of the size
 * sequences; `logits`, when not NULL, receives size * vocab_size logits,
 * sequence by sequence. Returns 0 on success. */
int mnemo_batch_step(mnemo_batch *batch, const int64_t *tokens, float *logits,
                     mnemo_error **error);

/* Rebuilds the batch from its sequences: sequence i becomes a copy of what
 * sequence from[i] was, or a new, empty sequence where from[i] is -1; the
 * batch then holds `count` (at most its creation size) sequences. For beam
 * search (a Memsizer beam is copied as k x d floats per layer, never its
 * source), dropping finished sequences and starting new ones. Returns 0 on
 * success. */
int mnemo_batch_select(mnemo_batch *batch, const int64_t *from, int64_t count,
                       mnemo_error **error);

#ifdef __cplusplus
}
#endif

#endif /* MNEMO_C_RUNTIME_H */
