/* safetensors.c: reading and writing the safetensors format.
 *
 * Layout: u64 little-endian header length N, N bytes of JSON
 * {"name": {"dtype", "shape", "data_offsets": [begin, end]}, ...,
 *  "__metadata__": {string: string}}, then the data section. Files come
 * from the internet, so nothing in the header is trusted: every number is
 * range- and overflow-checked before any pointer is formed from it. */
#include "io/bf16.h"
#include "io/safetensors.h"

#include <cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* The reference implementation caps headers at 100 MB. */
#define MAX_HEADER_BYTES (100u * 1000u * 1000u)

static size_t dtype_bytes(const char *dt) {
    static const struct { const char *name; size_t bytes; } table[] = {
        {"BOOL", 1}, {"U8", 1},  {"I8", 1},  {"F8_E4M3", 1}, {"F8_E5M2", 1}, {"I16", 2}, {"U16", 2},
        {"F16", 2},  {"BF16", 2}, {"I32", 4}, {"U32", 4},     {"F32", 4},     {"I64", 8}, {"U64", 8},
        {"F64", 8},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (strcmp(dt, table[i].name) == 0) return table[i].bytes;
    return 0;
}

/* A JSON number that is a non-negative integer below 2^53 (exact in double). */
static int json_u64(const cJSON *v, uint64_t *out) {
    if (!cJSON_IsNumber(v)) return -1;
    double d = v->valuedouble;
    if (!(d >= 0 && d <= 9007199254740992.0) || d != floor(d)) return -1;
    *out = (uint64_t)d;
    return 0;
}

static int parse_entry(ls_st_tensor *t, const cJSON *item, uint64_t data_size, ls_error *err) {
    const char *name = item->string;
    if (!cJSON_IsObject(item)) return ls_fail(err, "tensor \"%s\": entry is not an object", name);
    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(item, "dtype");
    const cJSON *shape = cJSON_GetObjectItemCaseSensitive(item, "shape");
    const cJSON *offs = cJSON_GetObjectItemCaseSensitive(item, "data_offsets");
    if (!cJSON_IsString(dt) || !cJSON_IsArray(shape) || !cJSON_IsArray(offs))
        return ls_fail(err, "tensor \"%s\": needs \"dtype\" (string), \"shape\" and \"data_offsets\" (arrays)", name);
    t->elem_bytes = dtype_bytes(dt->valuestring);
    if (!t->elem_bytes || strlen(dt->valuestring) >= sizeof t->dtype)
        return ls_fail(err, "tensor \"%s\": unknown dtype \"%.16s\"", name, dt->valuestring);
    strcpy(t->dtype, dt->valuestring);
    int nd = cJSON_GetArraySize(shape);
    if (nd > LS_ST_MAX_DIMS) return ls_fail(err, "tensor \"%s\": %d dimensions (at most %d)", name, nd, LS_ST_MAX_DIMS);
    t->ndim = nd;
    uint64_t count = 1;
    for (int i = 0; i < nd; i++) {
        uint64_t d;
        if (json_u64(cJSON_GetArrayItem(shape, i), &d) != 0)
            return ls_fail(err, "tensor \"%s\": shape[%d] is not a non-negative integer", name, i);
        if (d != 0 && count > UINT64_MAX / d) return ls_fail(err, "tensor \"%s\": shape overflows", name);
        count *= d;
        t->shape[i] = (int64_t)d;
    }
    uint64_t b, e;
    if (cJSON_GetArraySize(offs) != 2 || json_u64(cJSON_GetArrayItem(offs, 0), &b) != 0 ||
        json_u64(cJSON_GetArrayItem(offs, 1), &e) != 0)
        return ls_fail(err, "tensor \"%s\": data_offsets must be two non-negative integers", name);
    if (b > e || e > data_size)
        return ls_fail(err, "tensor \"%s\": data_offsets [%llu, %llu] outside the %llu-byte data section", name,
                       (unsigned long long)b, (unsigned long long)e, (unsigned long long)data_size);
    if (count > UINT64_MAX / t->elem_bytes || count * t->elem_bytes != e - b)
        return ls_fail(err, "tensor \"%s\": shape needs %llu bytes of %s but data_offsets span %llu", name,
                       (unsigned long long)(count <= UINT64_MAX / t->elem_bytes ? count * t->elem_bytes : 0),
                       t->dtype, (unsigned long long)(e - b));
    t->begin = b;
    t->end = e;
    t->name = strdup(name);
    return t->name ? 0 : ls_fail(err, "out of memory");
}

/* Orders by (begin, end), as the reference implementation does, so that an
 * empty tensor sharing its offset with a non-empty one sorts first. */
static int by_offsets(const void *a, const void *b) {
    const ls_st_tensor *x = a, *y = b;
    if (x->begin != y->begin) return (x->begin > y->begin) - (x->begin < y->begin);
    return (x->end > y->end) - (x->end < y->end);
}

static int parse_header(ls_st_file *f, const char *json, size_t len, ls_error *err) {
    cJSON *root = cJSON_ParseWithLength(json, len);
    if (!root || !cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return ls_fail(err, "header is not a JSON object");
    }
    int n = cJSON_GetArraySize(root);
    f->tensors = calloc((size_t)n + 1, sizeof *f->tensors);
    if (!f->tensors) {
        cJSON_Delete(root);
        return ls_fail(err, "out of memory");
    }
    int rc = 0;
    for (cJSON *it = root->child; it && rc == 0; it = it->next) {
        if (!it->string) { rc = ls_fail(err, "header entry without a name"); break; }
        if (strcmp(it->string, "__metadata__") == 0) {
            if (!cJSON_IsObject(it)) { rc = ls_fail(err, "__metadata__ is not an object"); break; }
            f->metadata = cJSON_Duplicate(it, 1);
            continue;
        }
        rc = parse_entry(&f->tensors[f->n_tensors], it, f->data_size, err);
        if (rc == 0) f->n_tensors++;
    }
    cJSON_Delete(root);
    if (rc != 0) return rc;
    /* The tensors must tile the data section: sorted by offset, each starts
     * where the previous ended, and the last ends at the end of the file. */
    ls_st_tensor *sorted = malloc(((size_t)f->n_tensors + 1) * sizeof *sorted);
    if (!sorted) return ls_fail(err, "out of memory");
    memcpy(sorted, f->tensors, (size_t)f->n_tensors * sizeof *sorted);
    qsort(sorted, (size_t)f->n_tensors, sizeof *sorted, by_offsets);
    uint64_t at = 0;
    for (int i = 0; i < f->n_tensors && rc == 0; i++) {
        if (sorted[i].begin < at)
            rc = ls_fail(err, "tensor \"%s\" overlaps the tensor before it (offset %llu < %llu)", sorted[i].name,
                         (unsigned long long)sorted[i].begin, (unsigned long long)at);
        else if (sorted[i].begin > at)
            rc = ls_fail(err, "gap in the data section before tensor \"%s\" (offset %llu, expected %llu)",
                         sorted[i].name, (unsigned long long)sorted[i].begin, (unsigned long long)at);
        at = sorted[i].end;
    }
    if (rc == 0 && at != f->data_size)
        rc = ls_fail(err, "data section is %llu bytes but the tensors cover %llu", (unsigned long long)f->data_size,
                     (unsigned long long)at);
    free(sorted);
    return rc;
}

int ls_st_open(ls_st_file *f, const char *path, ls_error *err) {
    memset(f, 0, sizeof *f);
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC); /* a FIFO is refused below, not waited on */
    if (fd < 0) return ls_fail(err, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return ls_fail(err, "%s: not a regular file", path);
    }
    f->size = (size_t)st.st_size;
    if (f->size < 8) {
        close(fd);
        return ls_fail(err, "%s: %zu bytes is too short for a safetensors file (header length needs 8)", path, f->size);
    }
    f->map = mmap(NULL, f->size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (f->map == MAP_FAILED) {
        f->map = NULL;
        return ls_fail(err, "%s: cannot map: %s", path, strerror(errno));
    }
    const uint8_t *p = f->map;
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = hlen << 8 | p[i];
    if (hlen > f->size - 8 || hlen > MAX_HEADER_BYTES) {
        ls_fail(err, "%s: header length %llu exceeds the file (%zu bytes)", path, (unsigned long long)hlen, f->size);
        ls_st_close(f);
        return -1;
    }
    f->data = p + 8 + hlen;
    f->data_size = f->size - 8 - hlen;
    if (parse_header(f, (const char *)p + 8, (size_t)hlen, err) != 0) {
        ls_fail_context(err, "%s", path);
        ls_st_close(f);
        return -1;
    }
    return 0;
}

void ls_st_close(ls_st_file *f) {
    if (f->map) munmap(f->map, f->size);
    for (int i = 0; i < f->n_tensors; i++) free(f->tensors[i].name);
    free(f->tensors);
    cJSON_Delete(f->metadata);
    memset(f, 0, sizeof *f);
}

const ls_st_tensor *ls_st_find(const ls_st_file *f, const char *name) {
    for (int i = 0; i < f->n_tensors; i++)
        if (strcmp(f->tensors[i].name, name) == 0) return &f->tensors[i];
    return NULL;
}

void ls_st_release(const ls_st_file *f, const void *p, size_t len) {
    const uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE), lo = (uintptr_t)p, hi = lo + len;
    const uintptr_t first = (lo + page - 1) / page * page, last = hi / page * page;
    if ((const uint8_t *)p < (const uint8_t *)f->map || hi > (uintptr_t)f->map + f->size || last <= first) return;
    madvise((void *)first, last - first, MADV_DONTNEED); /* advisory: on failure the pages just stay */
}

/* ---- writer ---------------------------------------------------------------- */

static uint16_t f32_to_f16(float x);

/* IEEE half from float, round to nearest even (what numpy and torch do). */
static uint16_t f32_to_f16(float x) {
    uint32_t u;
    memcpy(&u, &x, 4);
    uint32_t sign = (u >> 16) & 0x8000u;
    uint32_t a = u & 0x7fffffffu;
    if (a >= 0x7f800000u) return (uint16_t)(sign | 0x7c00u | (a > 0x7f800000u ? 0x200u : 0));
    if (a >= 0x477ff000u) return (uint16_t)(sign | 0x7c00u); /* overflows to inf */
    if (a < 0x38800000u) {                                   /* subnormal or zero in half */
        if (a < 0x33000000u) return (uint16_t)sign;
        uint32_t mant = (a & 0x7fffffu) | 0x800000u;
        /* value = mant * 2^(e-150) = half * 2^-24, so half = mant >> (126 - e); e in [102, 112]. */
        int shift = 126 - (int)(a >> 23); /* bits to drop: 14..24 */
        uint32_t half = mant >> shift;
        uint32_t rem = mant & ((1u << shift) - 1);
        uint32_t mid = 1u << (shift - 1);
        if (rem > mid || (rem == mid && (half & 1))) half++;
        return (uint16_t)(sign | half);
    }
    uint32_t h = ((a >> 13) - (112u << 10));
    uint32_t rem = a & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (h & 1))) h++;
    return (uint16_t)(sign | h);
}

int ls_safetensors_write(const char *path, const ls_st_entry *e, int n, const char *const *metadata, ls_error *err) {
    cJSON *h = cJSON_CreateObject();
    if (metadata && metadata[0]) {
        cJSON *m = cJSON_AddObjectToObject(h, "__metadata__");
        for (int i = 0; metadata[i] && metadata[i + 1]; i += 2) cJSON_AddStringToObject(m, metadata[i], metadata[i + 1]);
    }
    uint64_t off = 0;
    for (int i = 0; i < n; i++) {
        cJSON *t = cJSON_AddObjectToObject(h, e[i].name);
        cJSON_AddStringToObject(t, "dtype", ls_dtype_name(e[i].dtype));
        cJSON *shape = cJSON_AddArrayToObject(t, "shape");
        int64_t count = 1;
        for (int d = 0; d < e[i].ndim; d++) {
            cJSON_AddItemToArray(shape, cJSON_CreateNumber((double)e[i].shape[d]));
            count *= e[i].shape[d];
        }
        uint64_t bytes = (uint64_t)count * (e[i].dtype == LS_DTYPE_F32 ? 4u : 2u);
        cJSON *offs = cJSON_AddArrayToObject(t, "data_offsets");
        cJSON_AddItemToArray(offs, cJSON_CreateNumber((double)off));
        cJSON_AddItemToArray(offs, cJSON_CreateNumber((double)(off + bytes)));
        off += bytes;
    }
    char *json = cJSON_PrintUnformatted(h);
    cJSON_Delete(h);
    if (!json) return ls_fail(err, "%s: out of memory", path);
    size_t jlen = strlen(json);
    size_t hlen = (jlen + 7) / 8 * 8; /* pad with spaces: tensor data stays 8-byte aligned */
    size_t total = 8 + hlen + (size_t)off;
    uint8_t *buf = malloc(total);
    if (!buf) {
        free(json);
        return ls_fail(err, "%s: out of memory (%zu bytes)", path, total);
    }
    for (int i = 0; i < 8; i++) buf[i] = (uint8_t)((uint64_t)hlen >> (8 * i));
    memcpy(buf + 8, json, jlen);
    memset(buf + 8 + jlen, ' ', hlen - jlen);
    free(json);
    uint8_t *p = buf + 8 + hlen;
    for (int i = 0; i < n; i++) {
        int64_t count = e[i].ndim == 2 ? e[i].shape[0] * e[i].shape[1] : e[i].shape[0];
        if (e[i].dtype == LS_DTYPE_F32) {
            memcpy(p, e[i].data, (size_t)count * 4);
            p += count * 4;
        } else {
            for (int64_t k = 0; k < count; k++) {
                uint16_t v = e[i].dtype == LS_DTYPE_F16 ? f32_to_f16(e[i].data[k]) : ls_f32_to_bf16(e[i].data[k]);
                *p++ = (uint8_t)(v & 0xff);
                *p++ = (uint8_t)(v >> 8);
            }
        }
    }
    int rc = ls_write_file_atomic(path, buf, total, err);
    free(buf);
    return rc;
}
