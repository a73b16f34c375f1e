/* fuzz_config.c: config.json, untrusted.
 *
 * ls_config_load must accept the input or fail with a one-line message.
 * When it accepts, the config passes ls_config_validate, so every later size
 * computation (n_layer * tensors, V * C, ...) stays far from overflow; and
 * writing it with ls_config_write and loading that back gives the same
 * config, field for field. */
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char path[512], path2[512];
    ls_error err = {{0}};
    ls_config cfg, back;
    fuzz_write("config.json", data, size, path, sizeof path);
    if (ls_config_load(&cfg, path, &err) != 0) {
        FUZZ_CHECK(err.msg[0] && strchr(err.msg, '\n') == NULL, "error message empty or not one line: %s", err.msg);
        return 0;
    }
    FUZZ_CHECK(ls_config_validate(&cfg, &err) == 0, "loaded config does not validate: %s", err.msg);
    FUZZ_CHECK((int64_t)cfg.vocab_size * cfg.n_embd <= (int64_t)LS_MAX_VOCAB * LS_MAX_EMBD, "sizes");
    snprintf(path2, sizeof path2, "%s/config2.json", fuzz_scratch());
    FUZZ_CHECK(ls_config_write(&cfg, path2, &err) == 0, "write: %s", err.msg);
    FUZZ_CHECK(ls_config_load(&back, path2, &err) == 0, "reload of a written config fails: %s", err.msg);
    /* Everything but the token ids (a GPT-2 file that names none gets vocab_size - 1 written). */
    back.bos_id = cfg.bos_id, back.eos_id = cfg.eos_id;
    FUZZ_CHECK(memcmp(&back, &cfg, sizeof cfg) == 0, "round trip changed the %s config (eps %.9g -> %.9g)",
               ls_arch_name(cfg.arch), (double)cfg.ln_eps, (double)back.ln_eps);
    return 0;
}
