/* cmd_tokenize.c: `lesion tokenize` and `lesion detokenize`. */
#include "cli/commands.h"
#include "cli/common.h"

#include <cJSON.h>
#include <stdlib.h>

static const cli_opt tok_opts[] = {
    CLI_MODEL_OPTS,
    {"text", "TEXT", "text to tokenize"},
    {"file", "F", "file to tokenize (instead of --text)"},
    {"bos", NULL, "prepend what the tokenizer puts before a text (Llama's <s>), as the commands that run the model do"},
    {"json", NULL, "print {\"ids\":[...]} instead of comma-separated ids"},
    {0},
};

int cmd_tokenize(int argc, char **argv) {
    cli_args a;
    int rc = cli_parse(&a, "tokenize", "Prints the token ids of --text or --file.", tok_opts, argc, argv);
    if (rc) return rc == 1 ? 0 : rc;
    char *text;
    size_t len;
    if ((rc = cli_read_text_or_file(&a, "text", "file", &text, &len))) return rc;
    char dir[4096];
    ls_tokenizer *tok;
    ls_error err;
    cli_model_dir(&a, dir, sizeof dir);
    if (ls_tokenizer_load_dir(&tok, dir, &err) != 0) {
        free(text);
        return cli_error(a.cmd, 1, "%s", err.msg);
    }
    int32_t *ids;
    size_t n;
    if ((cli_has(&a, "bos") ? ls_tokenizer_encode_input : ls_tokenizer_encode)(tok, text, len, &ids, &n, &err) != 0) {
        rc = cli_error(a.cmd, 1, "%s: %s", cli_str(&a, "file", "--text"), err.msg);
    } else if (cli_has(&a, "json")) {
        cJSON *o = cJSON_CreateObject();
        cJSON *arr = cJSON_AddArrayToObject(o, "ids");
        for (size_t i = 0; i < n; i++) cJSON_AddItemToArray(arr, cJSON_CreateNumber(ids[i]));
        cli_print_json(o);
        free(ids);
    } else {
        for (size_t i = 0; i < n; i++) printf("%s%d", i ? "," : "", ids[i]);
        putchar('\n');
        free(ids);
    }
    free(text);
    ls_tokenizer_free(tok);
    return rc;
}

static const cli_opt detok_opts[] = {
    CLI_MODEL_OPTS,
    {"ids", "1,2,3", "token ids to decode (required)"},
    {0},
};

int cmd_detokenize(int argc, char **argv) {
    cli_args a;
    int rc = cli_parse(&a, "detokenize", "Prints the exact bytes that --ids decode to.", detok_opts, argc, argv);
    if (rc) return rc == 1 ? 0 : rc;
    if (!cli_has(&a, "ids")) return cli_error(a.cmd, 2, "needs --ids 1,2,3");
    int32_t *ids;
    int n;
    if ((rc = cli_parse_ids(a.cmd, cli_str(&a, "ids", ""), &ids, &n))) return rc;
    char dir[4096];
    ls_tokenizer *tok;
    ls_error err;
    cli_model_dir(&a, dir, sizeof dir);
    if (ls_tokenizer_load_dir(&tok, dir, &err) != 0) {
        free(ids);
        return cli_error(a.cmd, 1, "%s", err.msg);
    }
    char *text;
    size_t len;
    if (ls_tokenizer_decode(tok, ids, (size_t)n, &text, &len, &err) != 0) {
        rc = cli_error(a.cmd, 2, "--ids: %s", err.msg);
    } else {
        fwrite(text, 1, len, stdout);
        free(text);
    }
    free(ids);
    ls_tokenizer_free(tok);
    return rc;
}
