/*===- load.c - The C API's loading path and its options ------------------===*
 *
 * mnemo-capi-load-test: mnemo_model_load (kernels compiled at load time) as
 * an app calls it, for the lit tests in this directory.
 *
 *   mnemo-capi-load-test errors DIR
 *     runs each misuse of the loading and sequence calls and prints the
 *     error each gives, one line each;
 *   mnemo-capi-load-test generate DIR TARGET THREADS CACHE NEW TOKEN...
 *     loads DIR for TARGET with THREADS threads and the kernel cache at
 *     CACHE ("-": no cache), or with NULL options where TARGET is "-", then
 *     prints NEW greedy tokens after the prompt TOKEN..., as `mnemoc run`
 *     does.
 *
 *===----------------------------------------------------------------------===*/

#include "greedy.h"

#include <mnemo-c/Runtime.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Prints `what` and the error it gave (or that it gave none). */
static void report(const char *what, int failed, mnemo_error *error) {
  if (!failed)
    printf("%s: no error\n", what);
  else
    printf("%s: %s\n", what, error ? mnemo_error_message(error) : "(none)");
  mnemo_error_destroy(error);
}

static void reportLoad(const char *what, const char *dir,
                       const mnemo_load_options *options) {
  mnemo_error *error = NULL;
  mnemo_model *model = mnemo_model_load(dir, options, &error);
  report(what, model == NULL, error);
  mnemo_model_destroy(model);
}

static int errors(const char *dir) {
  reportLoad("null dir", NULL, NULL);
  reportLoad("missing dir", "/nonexistent/mnemo-model", NULL);
  mnemo_load_options options = {.threads = -1};
  reportLoad("negative threads", dir, &options);
  options = (mnemo_load_options){.threads = 1, .no_cache = 1, .target = "tpu"};
  reportLoad("unknown target", dir, &options);

  /* Failing without somewhere to put the error. */
  printf("no error pointer: %s\n",
         mnemo_model_load(NULL, NULL, NULL) ? "loaded" : "NULL");

  options = (mnemo_load_options){.threads = 1, .no_cache = 1};
  mnemo_error *error = NULL;
  mnemo_model *model = mnemo_model_load(dir, &options, &error);
  if (!model) {
    report("load", 1, error);
    return 1;
  }
  mnemo_sequence *sequence = mnemo_sequence_create(model, &error);
  int64_t tokens[] = {1, 2, 100000};
  report("no tokens", mnemo_sequence_append(sequence, tokens, 0, NULL, &error),
         error);
  error = NULL;
  report("token out of range",
         mnemo_sequence_append(sequence, tokens, 3, NULL, &error), error);
  error = NULL;
  /* Tokens are checked before anything runs: the sequence is untouched. */
  report("after a refused append",
         mnemo_sequence_append(sequence, tokens, 2, NULL, &error), error);
  printf("length: %lld\n", (long long)mnemo_sequence_length(sequence));
  printf("null model: vocab %lld, max positions %lld\n",
         (long long)mnemo_model_vocab_size(NULL),
         (long long)mnemo_model_max_positions(NULL));
  mnemo_sequence_destroy(sequence);
  mnemo_model_destroy(model);
  return 0;
}

static int fail(mnemo_error *error) {
  fprintf(stderr, "mnemo-capi-load-test: %s\n", mnemo_error_message(error));
  mnemo_error_destroy(error);
  return 1;
}

static int generate(int argc, char **argv) {
  if (argc < 8) {
    fprintf(stderr, "usage: mnemo-capi-load-test generate DIR TARGET THREADS "
                    "CACHE NEW TOKEN...\n");
    return 2;
  }
  const char *dir = argv[2], *target = argv[3], *cache = argv[5];
  mnemo_load_options options = {.threads = atoi(argv[4])};
  if (strcmp(cache, "-") == 0)
    options.no_cache = 1;
  else
    options.cache_dir = cache;
  options.target = target;
  int64_t newTokens = atoll(argv[6]), count = argc - 7;
  int64_t *prompt = malloc(sizeof(int64_t) * (size_t)count);
  for (int64_t i = 0; i < count; ++i)
    prompt[i] = atoll(argv[7 + i]);

  mnemo_error *error = NULL;
  mnemo_model *model =
      mnemo_model_load(dir, strcmp(target, "-") == 0 ? NULL : &options, &error);
  if (!model)
    return fail(error);
  mnemo_sequence *sequence = mnemo_sequence_create(model, &error);
  if (!sequence)
    return fail(error);
  if (greedy_generate(sequence, mnemo_model_vocab_size(model), prompt, count,
                      newTokens, &error))
    return fail(error);
  free(prompt);
  mnemo_sequence_destroy(sequence);
  mnemo_model_destroy(model);
  return 0;
}

int main(int argc, char **argv) {
  if (argc >= 3 && strcmp(argv[1], "errors") == 0)
    return errors(argv[2]);
  if (argc >= 2 && strcmp(argv[1], "generate") == 0)
    return generate(argc, argv);
  fprintf(stderr, "usage: mnemo-capi-load-test errors DIR | generate ...\n");
  return 2;
}
