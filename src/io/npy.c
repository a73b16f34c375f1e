/* npy.c: float32 .npy output, the format numpy.load reads directly.
 *
 * Version 1.0 header: magic, version, little-endian u16 header length, then a
 * Python dict literal padded with spaces so the data starts 64-byte aligned. */
#include "lesion.h"

#include <stdlib.h>
#include <string.h>

int ls_npy_write_f32(const char *path, const float *data, const int64_t *shape, int ndim, ls_error *err) {
    char dict[256];
    int n = snprintf(dict, sizeof dict, "{'descr': '<f4', 'fortran_order': False, 'shape': (");
    int64_t count = 1;
    for (int i = 0; i < ndim; i++) {
        n += snprintf(dict + n, sizeof dict - (size_t)n, "%lld,%s", (long long)shape[i], i + 1 < ndim ? " " : "");
        count *= shape[i];
    }
    n += snprintf(dict + n, sizeof dict - (size_t)n, "), }");
    size_t header_len = 10 + (size_t)n + 1; /* magic(6)+ver(2)+len(2) + dict + '\n' */
    size_t padded = (header_len + 63) / 64 * 64;
    size_t data_bytes = (size_t)count * sizeof(float);
    char *buf = malloc(padded + data_bytes);
    if (!buf) return ls_fail(err, "%s: out of memory", path);
    memcpy(buf, "\x93NUMPY\x01\x00", 8);
    uint16_t hl = (uint16_t)(padded - 10);
    buf[8] = (char)(hl & 0xff);
    buf[9] = (char)(hl >> 8);
    memcpy(buf + 10, dict, (size_t)n);
    memset(buf + 10 + n, ' ', padded - 10 - (size_t)n - 1);
    buf[padded - 1] = '\n';
    memcpy(buf + padded, data, data_bytes); /* x86 and arm64 are little-endian */
    int rc = ls_write_file_atomic(path, buf, padded + data_bytes, err);
    free(buf);
    return rc;
}
