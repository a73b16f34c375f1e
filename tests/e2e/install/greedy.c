/* greedy.c: a program built only from what `make install` put in a prefix
 * (compiled with `pkg-config --cflags --libs lesion`): it opens a model
 * directory (argv[1]), encodes argv[2] and prints the library's version and
 * the greedy continuation's ids, comma-separated, on one line each. */
#include <lesion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: greedy MODEL_DIR PROMPT TOKENS\n");
        return 2;
    }
    ls_error err;
    ls_model *m = NULL;
    ls_tokenizer *tok = NULL;
    ls_state *s = NULL;
    int32_t *ids = NULL, out[256];
    size_t n = 0;
    int n_new = atoi(argv[3]), n_out = 0;
    ls_sampler greedy = {.temperature = 0, .top_k = 0, .top_p = 1, .seed = 0};
    if (n_new < 1 || n_new > 256 || ls_model_open(&m, argv[1], &err) != 0 ||
        ls_tokenizer_load_dir(&tok, argv[1], &err) != 0 ||
        ls_tokenizer_encode_input(tok, argv[2], strlen(argv[2]), &ids, &n, &err) != 0 ||
        ls_state_new(&s, ls_model_config(m), 1, (int)n + n_new, 1, &err) != 0) {
        fprintf(stderr, "greedy: %s\n", n_new < 1 || n_new > 256 ? "TOKENS: 1..256" : err.msg);
        return 1;
    }
    ls_weights w = ls_model_weights(m);
    if (ls_generate(s, &w, ids, (int)n, n_new, &greedy, -1, out, &n_out, &err) != 0) {
        fprintf(stderr, "greedy: %s\n", err.msg);
        return 1;
    }
    printf("%s\n", ls_version());
    for (int i = 0; i < n_out; i++) printf("%s%d", i ? "," : "", out[i]);
    printf("\n");
    free(ids);
    ls_state_free(s);
    ls_tokenizer_free(tok);
    ls_model_close(m);
    return 0;
}
