/* safetensors.h: private interface of the safetensors reader (src/io). */
#ifndef LESION_IO_SAFETENSORS_H
#define LESION_IO_SAFETENSORS_H
#include "lesion.h"

#define LS_ST_MAX_DIMS 8

typedef struct ls_st_tensor {
    char *name;
    char dtype[8];        /* as written: "F32", "F16", "BF16", "BOOL", ... */
    size_t elem_bytes;
    int ndim;
    int64_t shape[LS_ST_MAX_DIMS];
    uint64_t begin, end;  /* byte range relative to the data section */
} ls_st_tensor;

typedef struct ls_st_file {
    void *map;            /* whole file, mapped read-only */
    size_t size;
    const uint8_t *data;  /* start of the data section */
    uint64_t data_size;
    ls_st_tensor *tensors;
    int n_tensors;
    void *metadata;       /* cJSON object of "__metadata__", or NULL */
} ls_st_file;

/* Maps and validates path: header length within the file, header is a JSON
 * object, every entry has a known dtype, a shape whose byte size equals its
 * offsets, and the tensors tile the data section exactly (no gap, overlap or
 * out-of-range offset), as the safetensors format requires. */
int ls_st_open(ls_st_file *f, const char *path, ls_error *err);
void ls_st_close(ls_st_file *f);
const ls_st_tensor *ls_st_find(const ls_st_file *f, const char *name);
/* Drops the whole pages of the mapping inside [p, p+len) from this process's
 * memory (they read back from the file if touched again). */
void ls_st_release(const ls_st_file *f, const void *p, size_t len);

#endif
