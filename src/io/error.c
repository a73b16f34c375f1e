/* error.c: the one error mechanism of the library.
 *
 * Library functions never print or exit; they write a one-line message into
 * the caller's ls_error and return -1. Callers that add context prefix the
 * message ("model.safetensors: h.3.attn.c_attn.weight: shape ..."), so the
 * line the CLI finally prints names the file, the object and the problem. */
#include "lesion.h"

#include <stdarg.h>
#include <string.h>

int ls_fail(ls_error *err, const char *fmt, ...) {
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return -1;
}

int ls_fail_context(ls_error *err, const char *fmt, ...) {
    if (err) {
        char prefix[256];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(prefix, sizeof prefix, fmt, ap);
        va_end(ap);
        char old[sizeof err->msg];
        memcpy(old, err->msg, sizeof old);
        snprintf(err->msg, sizeof err->msg, "%s: %s", prefix, old);
    }
    return -1;
}
