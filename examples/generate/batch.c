/* Decoding several sequences together with a batch (mnemo_batch_*):
 *
 *   batch MODEL_DIR NEW_TOKENS PROMPT...
 *   batch MODEL_DIR NEW_TOKENS --beams N PROMPT
 *
 * Each PROMPT is token ids "1,2,3"; for a memsizer_seq2seq model, the
 * source and the target prefix, "5,6,7:0". Greedy decoding prints a line of
 * generated ids per prompt, as `mnemoc run MODEL_DIR --tokens P1 --tokens
 * P2 ... --max-new-tokens NEW_TOKENS` does; with --beams, the likeliest
 * continuation of one prompt by beam search, as `mnemoc run ... --beams N`
 * (same scores, same ties). */

#include "greedy.h"
#include "model_kernels.h"

#include <mnemo-c/Runtime.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failed(mnemo_error *error) {
  fprintf(stderr, "batch: %s\n", mnemo_error_message(error));
  mnemo_error_destroy(error);
  return 1;
}

/* Parses "1,2,3" into `ids` (room for `max`); returns the count, or -1. */
static int64_t parseIds(const char *text, int64_t *ids, int64_t max) {
  int64_t count = 0;
  while (*text) {
    char *end;
    if (count == max)
      return -1;
    ids[count++] = strtoll(text, &end, 10);
    if (end == text || (*end && *end != ','))
      return -1;
    text = *end ? end + 1 : end;
  }
  return count;
}

/* Runs PROMPT (with its source after ':' or before it, for seq2seq) as
 * sequence `index`; `logits` receives its last token's logits. */
static int prefill(mnemo_batch *batch, int64_t index, const char *prompt,
                   float *logits, mnemo_error **error) {
  int64_t ids[4096], count;
  const char *colon = strchr(prompt, ':');
  if (colon) {
    char source[16384];
    size_t length = (size_t)(colon - prompt);
    if (length >= sizeof(source))
      length = sizeof(source) - 1;
    memcpy(source, prompt, length);
    source[length] = 0;
    count = parseIds(source, ids, 4096);
    if (count < 0) {
      fprintf(stderr, "batch: '%s' is not a list of token ids\n", source);
      return 2;
    }
    if (mnemo_batch_set_source(batch, index, ids, count, error))
      return 1;
    prompt = colon + 1;
  }
  count = parseIds(prompt, ids, 4096);
  if (count < 0) {
    fprintf(stderr, "batch: '%s' is not a list of token ids\n", prompt);
    return 2;
  }
  return mnemo_batch_append(batch, index, ids, count, logits, error);
}

typedef struct {
  double score;
  int64_t beam, token;
} candidate;

static int compareCandidates(const void *a, const void *b) {
  const candidate *x = a, *y = b;
  if (x->score != y->score)
    return x->score > y->score ? -1 : 1;
  if (x->beam != y->beam)
    return x->beam < y->beam ? -1 : 1;
  return x->token < y->token ? -1 : (x->token > y->token);
}

/* Beam search from sequence 0 of `batch`, whose last logits are `logits`
 * (room for `beams` rows); prints the likeliest continuation. */
static int beamSearch(mnemo_batch *batch, float *logits, int64_t vocab,
                      int64_t beams, int64_t steps, mnemo_error **error) {
  int64_t live = 1;
  double *scores = calloc((size_t)beams, sizeof(double));
  int64_t *tokens = malloc(sizeof(int64_t) * (size_t)(beams * steps));
  int64_t *next = malloc(sizeof(int64_t) * (size_t)(beams * steps));
  int64_t *from = malloc(sizeof(int64_t) * (size_t)beams);
  candidate *candidates = malloc(sizeof(candidate) * (size_t)(beams * vocab));
  for (int64_t step = 0; step < steps; ++step) {
    for (int64_t b = 0; b < live; ++b) {
      const float *row = logits + b * vocab;
      double top = row[argmax(row, vocab)], sum = 0;
      for (int64_t v = 0; v < vocab; ++v)
        sum += exp((double)row[v] - top);
      for (int64_t v = 0; v < vocab; ++v)
        candidates[b * vocab + v] =
            (candidate){scores[b] + (double)row[v] - top - log(sum), b, v};
    }
    qsort(candidates, (size_t)(live * vocab), sizeof(candidate),
          compareCandidates);
    int64_t kept = live * vocab < beams ? live * vocab : beams;
    for (int64_t i = 0; i < kept; ++i) {
      const candidate *c = &candidates[i];
      memcpy(next + i * steps, tokens + c->beam * steps,
             sizeof(int64_t) * (size_t)step);
      next[i * steps + step] = c->token;
      scores[i] = c->score;
      from[i] = c->beam;
    }
    memcpy(tokens, next, sizeof(int64_t) * (size_t)(kept * steps));
    live = kept;
    if (step + 1 == steps)
      break;
    int64_t chosen[1024];
    for (int64_t i = 0; i < live; ++i)
      chosen[i] = tokens[i * steps + step];
    if (mnemo_batch_select(batch, from, live, error) ||
        mnemo_batch_step(batch, chosen, logits, error))
      return 1;
  }
  for (int64_t i = 0; i < steps; ++i)
    printf(i ? " %lld" : "%lld", (long long)tokens[i]);
  printf("\n");
  free(scores);
  free(tokens);
  free(next);
  free(from);
  free(candidates);
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr,
            "usage: batch MODEL_DIR NEW_TOKENS [--beams N] PROMPT...\n");
    return 2;
  }
  int64_t steps = atoll(argv[2]), beams = 0;
  int first = 3;
  if (strcmp(argv[3], "--beams") == 0) {
    if (argc != 6) {
      fprintf(stderr, "batch: --beams N takes one prompt\n");
      return 2;
    }
    beams = atoll(argv[4]);
    first = 5;
    if (beams < 1 || beams > 1024) {
      fprintf(stderr, "batch: --beams must lie in [1, 1024]\n");
      return 2;
    }
  }
  int64_t count = argc - first;

  mnemo_error *error = NULL;
  mnemo_model *model =
      mnemo_model_load_kernels(argv[1], model_kernels(), NULL, &error);
  if (!model)
    return failed(error);
  int64_t size = beams > count ? beams : count;
  mnemo_batch *batch = mnemo_batch_create(model, size, &error);
  if (!batch)
    return failed(error);
  /* The batch starts with `size` empty sequences: keep one per prompt. */
  int64_t *fresh = malloc(sizeof(int64_t) * (size_t)count);
  for (int64_t i = 0; i < count; ++i)
    fresh[i] = -1;
  if (mnemo_batch_select(batch, fresh, count, &error))
    return failed(error);

  int64_t vocab = mnemo_model_vocab_size(model);
  float *logits = malloc(sizeof(float) * (size_t)(size * vocab));
  for (int64_t i = 0; i < count; ++i) {
    int status = prefill(batch, i, argv[first + i], logits + i * vocab, &error);
    if (status)
      return status == 1 ? failed(error) : status;
  }

  if (beams > 0) {
    if (beamSearch(batch, logits, vocab, beams, steps, &error))
      return failed(error);
  } else {
    int64_t *next = malloc(sizeof(int64_t) * (size_t)count);
    int64_t *generated = malloc(sizeof(int64_t) * (size_t)(count * steps));
    for (int64_t step = 0; step < steps; ++step) {
      for (int64_t i = 0; i < count; ++i) {
        next[i] = argmax(logits + i * vocab, vocab);
        generated[i * steps + step] = next[i];
      }
      if (step + 1 < steps && mnemo_batch_step(batch, next, logits, &error))
        return failed(error);
    }
    for (int64_t i = 0; i < count; ++i) {
      for (int64_t step = 0; step < steps; ++step)
        printf(step ? " %lld" : "%lld", (long long)generated[i * steps + step]);
      printf("\n");
    }
    free(next);
    free(generated);
  }

  free(fresh);
  free(logits);
  mnemo_batch_destroy(batch);
  mnemo_model_destroy(model);
  return 0;
}
