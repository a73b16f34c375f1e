/* torch_rng_driver.c: the lesion side of tests/e2e/torch_rng.sh.
 *
 *   torch_rng_driver [--kernel avx2|avx512|default] [--threads T] SEED N IN.f32 OUT.f32
 *
 * Reads N raw float32 values (the slice, row-major), replaces them as
 * `--rng torch` does (torch.manual_seed(SEED); torch.randn(N) * x.std() +
 * x.mean(), see src/lesion/torch_rng.c) and writes them raw to OUT. With IN
 * "-" it writes torch.randn(N) alone. Prints "mean XXXXXXXX std XXXXXXXX",
 * the float32 bit patterns of torch's statistics (0 0 with IN "-").
 *
 * Not named test_*.c, so the Makefile does not run it as a unit test; its
 * pattern rule still builds it with the suite's exact flags. */
#include <lesion.h>
#include "lesion/rng.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint32_t bits(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

int main(int argc, char **argv) {
    int threads = 1, a = 1;
    ls_torch_kernel kernel = LS_TORCH_AVX2;
    for (; a < argc && strncmp(argv[a], "--", 2) == 0; a++) {
        if (strcmp(argv[a], "--kernel") == 0 && a + 1 < argc) {
            a++;
            kernel = strcmp(argv[a], "avx512") == 0 ? LS_TORCH_AVX512 : strcmp(argv[a], "default") == 0 ? LS_TORCH_DEFAULT : LS_TORCH_AVX2;
        } else if (strcmp(argv[a], "--threads") == 0 && a + 1 < argc) threads = atoi(argv[++a]);
        else break;
    }
    if (argc - a != 4) {
        fprintf(stderr, "usage: torch_rng_driver [--kernel avx2|avx512|default] [--threads T] SEED N IN.f32|- OUT.f32\n");
        return 2;
    }
    uint64_t seed = strtoull(argv[a], NULL, 10);
    int64_t n = strtoll(argv[a + 1], NULL, 10);
    float *x = n > 0 ? malloc((size_t)n * sizeof *x) : NULL;
    if (!x) return fprintf(stderr, "torch_rng_driver: bad N\n"), 1;
    float mean = 0, std = 0;
    if (strcmp(argv[a + 2], "-") == 0) {
        ls_torch_randn(x, n, seed, kernel);
    } else {
        FILE *f = fopen(argv[a + 2], "rb");
        if (!f || fread(x, sizeof *x, (size_t)n, f) != (size_t)n) return fprintf(stderr, "torch_rng_driver: cannot read %s\n", argv[a + 2]), 1;
        fclose(f);
        float *scratch = n >= 2 ? malloc((size_t)n * sizeof *scratch) : NULL;
        if (!scratch) return fprintf(stderr, "torch_rng_driver: N must be >= 2 with an input slice\n"), 1;
        ls_torch_gauss(x, n, seed, kernel, threads, scratch, &mean, &std);
        free(scratch);
    }
    FILE *f = fopen(argv[a + 3], "wb");
    if (!f || fwrite(x, sizeof *x, (size_t)n, f) != (size_t)n || fclose(f) != 0)
        return fprintf(stderr, "torch_rng_driver: cannot write %s\n", argv[a + 3]), 1;
    printf("mean %08x std %08x\n", (unsigned)bits(mean), (unsigned)bits(std));
    free(x);
    return 0;
}
