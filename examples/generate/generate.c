/* Greedy generation with a model whose kernels were compiled ahead of time:
 *
 *   generate MODEL_DIR NEW_TOKENS TOKEN... [: SOURCE_TOKEN...]
 *
 * prints the generated token ids, as `mnemoc run MODEL_DIR --tokens ...
 * --max-new-tokens NEW_TOKENS` does (with `--source-tokens ...` for a
 * memsizer_seq2seq model, whose source follows ":"). */

#include "greedy.h"
#include "model_kernels.h"

#include <mnemo-c/Runtime.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failed(mnemo_error *error) {
  fprintf(stderr, "generate: %s\n", mnemo_error_message(error));
  mnemo_error_destroy(error);
  return 1;
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: generate MODEL_DIR NEW_TOKENS TOKEN... "
                    "[: SOURCE_TOKEN...]\n");
    return 2;
  }
  /* The prompt, then (memsizer_seq2seq models) the source after ":". */
  int64_t newTokens = atoll(argv[2]), count = 0, sourceCount = 0;
  int64_t *prompt = malloc(sizeof(int64_t) * (size_t)argc);
  int64_t *source = malloc(sizeof(int64_t) * (size_t)argc);
  int inSource = 0;
  for (int i = 3; i < argc; ++i) {
    if (strcmp(argv[i], ":") == 0)
      inSource = 1;
    else if (inSource)
      source[sourceCount++] = atoll(argv[i]);
    else
      prompt[count++] = atoll(argv[i]);
  }

  mnemo_error *error = NULL;
  mnemo_model *model =
      mnemo_model_load_kernels(argv[1], model_kernels(), NULL, &error);
  if (!model)
    return failed(error);
  mnemo_sequence *sequence = mnemo_sequence_create(model, &error);
  if (!sequence)
    return failed(error);

  if (sourceCount > 0 &&
      mnemo_sequence_set_source(sequence, source, sourceCount, &error))
    return failed(error);

  if (greedy_generate(sequence, mnemo_model_vocab_size(model), prompt, count,
                      newTokens, &error))
    return failed(error);

  free(prompt);
  free(source);
  mnemo_sequence_destroy(sequence);
  mnemo_model_destroy(model);
  return 0;
}
