/* Greedy decoding over Mnemo's C API, shared by the example apps (and the
 * test suite's C programs, test/CAPI). */

#ifndef MNEMO_EXAMPLES_GREEDY_H
#define MNEMO_EXAMPLES_GREEDY_H

#include <mnemo-c/Runtime.h>

#include <stdio.h>
#include <stdlib.h>

/* The index of the largest of `count` logits (the first, on ties). */
static int64_t argmax(const float *logits, int64_t count) {
  int64_t best = 0;
  for (int64_t i = 1; i < count; ++i)
    if (logits[i] > logits[best])
      best = i;
  return best;
}

/* Runs the `count` tokens of `prompt`, then prints the `new_tokens` tokens
 * greedy decoding gives, on one line, as `mnemoc run` does. Returns 0, or
 * 1 with `*error` set. */
static int greedy_generate(mnemo_sequence *sequence, int64_t vocab,
                           const int64_t *prompt, int64_t count,
                           int64_t new_tokens, mnemo_error **error) {
  float *logits = malloc(sizeof(float) * (size_t)vocab);
  int failed = logits == NULL ||
               mnemo_sequence_append(sequence, prompt, count, logits, error);
  for (int64_t step = 0; !failed && step < new_tokens; ++step) {
    int64_t next = argmax(logits, vocab);
    printf(step ? " %lld" : "%lld", (long long)next);
    if (step + 1 < new_tokens)
      failed = mnemo_sequence_append(sequence, &next, 1, logits, error);
  }
  if (!failed)
    printf("\n");
  free(logits);
  return failed;
}

#endif /* MNEMO_EXAMPLES_GREEDY_H */
