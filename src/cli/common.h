/* common.h: what every command does the same way: find and open the model,
 * its tokenizer, thread counts, reading ids and text, JSON output. */
#ifndef LESION_CLI_COMMON_H
#define LESION_CLI_COMMON_H
#include <lesion.h>

#include "cli/args.h"

/* Options shared by every command that opens a model. */
#define CLI_MODEL_OPTS                                                                                        \
    {"model", "DIR", "model directory in Hugging Face layout (default: the bundled models/kjv-gpt2)"},      \
    {"threads", "N", "worker threads (default and most: the CPUs this process may run on)"}

/* The option of commands that run the model: how its matrices are stored. */
#define CLI_WEIGHTS_OPT \
    {"weights", "STORAGE", "f32 (default: mapped from the file), f32-copy (private 2 MiB pages: faster decode, slower start) or bf16 (half the memory, fp32 arithmetic)"}, \
    {"compute", "f32|bf16", "f32 (default), or bf16 with --weights bf16: activations rounded to bf16 in the weight products of 4+ rows (AVX512-BF16 where present; faster, less accurate: see docs/performance.md)"}

/* Resolves the model directory: --model, else $LESION_MODEL, else the
 * bundled model next to the executable (../models/kjv-gpt2 from build/, or
 * ../share/lesion/models/kjv-gpt2 when installed). */
int cli_model_dir(const cli_args *a, char *out, size_t n);

/* Parses --threads: default the CPUs this process may run on
 * (sched_getaffinity); more is capped to that, with a one-line note. 0 ok,
 * 2 usage error. */
int cli_threads(const cli_args *a, int *out);

/* Opens the model (and, if tok is not NULL, its tokenizer), in the storage
 * --weights asks for (commands without that option get f32). Prints the error. */
int cli_open_model(const cli_args *a, ls_model **model, ls_tokenizer **tok);

/* The one input sequence of --prompt, --ids or --file (the first context-
 * length tokens of the file), checked against the model. 0 or the exit status. */
int cli_input_ids(const cli_args *a, const ls_tokenizer *tok, const ls_config *cfg, int32_t **ids, int *n);

/* Parses "1,2,3" (commas and/or whitespace) into a malloc'd id array. */
int cli_parse_ids(const char *cmd, const char *s, int32_t **ids, int *n);

/* Text of --text/--prompt or the contents of --file. */
int cli_read_text_or_file(const cli_args *a, const char *text_opt, const char *file_opt, char **text, size_t *len);

/* A copy of len bytes of decoded text fit for JSON (malloc'd, NUL-terminated):
 * tokens may decode to invalid UTF-8 (half of an emoji, a lone byte), and
 * JSON must be UTF-8, so each byte that does not start a valid sequence, and
 * each NUL, becomes U+FFFD. NULL when out of memory. */
char *cli_json_text(const char *s, size_t len);

/* Prints a cJSON value (consumed) as one line on stdout. */
void cli_print_json(void *cjson);

#endif
