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
        /* Shift the old message right and put "prefix: " in front of it,
         * truncating at the end if the whole no longer fits. */
        size_t plen = strlen(prefix), cap = sizeof err->msg - 1;
        if (plen + 2 > cap) plen = cap - 2;
        size_t olen = strnlen(err->msg, cap);
        if (plen + 2 + olen > cap) olen = cap - plen - 2;
        memmove(err->msg + plen + 2, err->msg, olen);
        memcpy(err->msg, prefix, plen);
        memcpy(err->msg + plen, ": ", 2);
        err->msg[plen + 2 + olen] = '\0';
    }
    return -1;
}
