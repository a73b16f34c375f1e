/* error.c: the one error mechanism of the library.
 *
 * Library functions never print or exit; they write a one-line message into
 * the caller's ls_error and return -1. Callers that add context prefix the
 * message ("model.safetensors: h.3.attn.c_attn.weight: shape ..."), so the
 * line the CLI finally prints names the file, the object and the problem. */
#include "lesion.h"

#include <stdarg.h>
#include <string.h>

/* Copies src into dst (cap bytes), spelling control characters as \n, \r,
 * \t or \xNN: messages quote untrusted text (a tensor name, a spec typed
 * by hand) and must stay one line. */
static void copy_one_line(char *dst, size_t cap, const char *src) {
    size_t k = 0;
    for (const unsigned char *p = (const unsigned char *)src; *p; p++) {
        char esc[5];
        size_t n = 1;
        if (*p < 0x20 || *p == 0x7f) {
            if (*p == '\n') memcpy(esc, "\\n", n = 2);
            else if (*p == '\r') memcpy(esc, "\\r", n = 2);
            else if (*p == '\t') memcpy(esc, "\\t", n = 2);
            else n = (size_t)snprintf(esc, sizeof esc, "\\x%02x", *p);
        } else {
            esc[0] = (char)*p;
        }
        if (k + n >= cap) break;
        memcpy(dst + k, esc, n);
        k += n;
    }
    dst[k] = '\0';
}

int ls_fail(ls_error *err, const char *fmt, ...) {
    if (err) {
        char raw[sizeof err->msg];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(raw, sizeof raw, fmt, ap);
        va_end(ap);
        copy_one_line(err->msg, sizeof err->msg, raw);
    }
    return -1;
}

int ls_fail_context(ls_error *err, const char *fmt, ...) {
    if (err) {
        char prefix[256];
        va_list ap;
        char raw[sizeof prefix];
        va_start(ap, fmt);
        vsnprintf(raw, sizeof raw, fmt, ap);
        va_end(ap);
        copy_one_line(prefix, sizeof prefix, raw);
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
