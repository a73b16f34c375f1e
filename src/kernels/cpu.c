/* cpu.c: what this CPU can run (CPUID + XGETBV), and whether OpenBLAS
 * picked a kernel to match.
 *
 * Why the BLAS check exists: Debian 12's OpenBLAS 0.3.21 chooses its
 * kernels by CPU model number, and a model it does not know gets its
 * generic "Prescott" (SSE3) kernels: on Intel Sapphire/Emerald Rapids a
 * 2048^3 sgemm then runs at ~30 GFLOP/s instead of ~180 with
 * OPENBLAS_CORETYPE=COOPERLAKE. Nothing in OpenBLAS says so. Here the
 * kernel it reports is ranked against what CPUID says the CPU can run;
 * the CLI restarts itself with OPENBLAS_CORETYPE set when OpenBLAS fell
 * back (OpenBLAS reads the variable in its load-time constructor, so it
 * cannot be changed from inside a running process). */
#include "lesion/cpu.h"

#include <cblas.h>
#include <cpuid.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* XCR0 bits (Intel SDM vol. 1, 13.1): which register states the OS saves. */
#define XCR0_SSE (1u << 1)
#define XCR0_AVX (1u << 2)
#define XCR0_AVX512 (7u << 5)    /* opmask, ZMM_Hi256, Hi16_ZMM */
#define XCR0_AMX (3u << 17)      /* XTILECFG, XTILEDATA */

static uint64_t xgetbv0(void) {
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
}

void ls_cpu_detect(ls_cpu_info *c) {
    memset(c, 0, sizeof *c);
    unsigned a = 0, b = 0, cx = 0, d = 0, max_leaf = 0;
    if (!__get_cpuid(0, &max_leaf, &b, &cx, &d)) return;
    memcpy(c->vendor, &b, 4);
    memcpy(c->vendor + 4, &d, 4);
    memcpy(c->vendor + 8, &cx, 4);
    __get_cpuid(1, &a, &b, &cx, &d);
    int base_family = (int)(a >> 8 & 0xf), base_model = (int)(a >> 4 & 0xf);
    c->family = base_family == 0xf ? base_family + (int)(a >> 20 & 0xff) : base_family;
    c->model = base_family == 0x6 || base_family == 0xf ? base_model | (int)(a >> 16 & 0xf) << 4 : base_model;
    c->stepping = (int)(a & 0xf);
    c->sse2 = d >> 26 & 1;
    bool osxsave = cx >> 27 & 1, avx_bit = cx >> 28 & 1;
    bool fma = cx >> 12 & 1, f16c = cx >> 29 & 1;
    uint64_t xcr0 = osxsave ? xgetbv0() : 0;
    bool os_avx = (xcr0 & (XCR0_SSE | XCR0_AVX)) == (XCR0_SSE | XCR0_AVX);
    bool os_avx512 = os_avx && (xcr0 & XCR0_AVX512) == XCR0_AVX512;
    bool os_amx = (xcr0 & XCR0_AMX) == XCR0_AMX;
    c->avx = avx_bit && os_avx;
    c->fma = fma && c->avx;
    c->f16c = f16c && c->avx;
    if (max_leaf >= 7) {
        unsigned eax7 = 0, ebx7 = 0, ecx7 = 0, edx7 = 0;
        __get_cpuid_count(7, 0, &eax7, &ebx7, &ecx7, &edx7);
        c->avx2 = (ebx7 >> 5 & 1) && c->avx;
        c->avx512f = (ebx7 >> 16 & 1) && os_avx512;
        c->avx512dq = (ebx7 >> 17 & 1) && os_avx512;
        c->avx512cd = (ebx7 >> 28 & 1) && os_avx512;
        c->avx512bw = (ebx7 >> 30 & 1) && os_avx512;
        c->avx512vl = (ebx7 >> 31 & 1) && os_avx512;
        bool amx_bf16 = edx7 >> 22 & 1, amx_tile = edx7 >> 24 & 1;
        if (eax7 >= 1) {
            unsigned a1 = 0, b1 = 0, c1 = 0, d1 = 0;
            __get_cpuid_count(7, 1, &a1, &b1, &c1, &d1);
            c->avx512_bf16 = (a1 >> 5 & 1) && c->avx512f;
        }
        /* AMX needs the OS to save tile state. A path that uses it must also ask
         * Linux for the per-process grant first (arch_prctl ARCH_REQ_XCOMP_PERM,
         * XFEATURE_XTILEDATA); nothing does yet, so detection asks for nothing. */
        c->amx_bf16 = amx_bf16 && amx_tile && os_amx;
    }
    unsigned max_ext = 0, t = 0;
    __get_cpuid(0x80000000u, &max_ext, &t, &t, &t);
    if (max_ext >= 0x80000004u) {
        unsigned r[12] = {0};
        for (unsigned i = 0; i < 3; i++) __get_cpuid(0x80000002u + i, &r[4 * i], &r[4 * i + 1], &r[4 * i + 2], &r[4 * i + 3]);
        char brand[49];
        memcpy(brand, r, 48);
        brand[48] = '\0';
        /* Trim the padding some CPUs put around the name. */
        char *s = brand, *e = brand + strlen(brand);
        while (*s == ' ') s++;
        while (e > s && e[-1] == ' ') *--e = '\0';
        snprintf(c->model_name, sizeof c->model_name, "%s", s);
    }
}

static const char *const isa_names[LS_ISA_COUNT] = {"generic", "avx2", "avx512", "avx512bf16"};

const char *ls_isa_name(ls_isa isa) { return isa >= 0 && isa < LS_ISA_COUNT ? isa_names[isa] : "?"; }

bool ls_isa_supported(const ls_cpu_info *c, ls_isa isa) {
    switch (isa) {
    case LS_ISA_GENERIC: return true;
    case LS_ISA_AVX2: return c->avx2 && c->fma;
    case LS_ISA_AVX512: return c->avx2 && c->fma && c->avx512f && c->avx512bw && c->avx512vl && c->avx512dq;
    case LS_ISA_AVX512_BF16: return ls_isa_supported(c, LS_ISA_AVX512) && c->avx512_bf16;
    default: return false;
    }
}

ls_isa ls_isa_best(const ls_cpu_info *c) {
    ls_isa best = LS_ISA_GENERIC;
    for (int i = 0; i < LS_ISA_COUNT; i++)
        if (ls_isa_supported(c, (ls_isa)i)) best = (ls_isa)i;
    return best;
}

/* OpenBLAS's x86-64 kernel names (driver/others/dynamic.c), ranked by the
 * vector units their sgemm uses. Names not listed rank 0. */
static const struct {
    const char *name;
    int level;
} blas_kernels[] = {
    {"Haswell", 1}, {"Zen", 1}, {"SkylakeX", 2}, {"Cooperlake", 3}, {"SapphireRapids", 3},
};

static int blas_level(const char *name) {
    for (size_t i = 0; i < sizeof blas_kernels / sizeof blas_kernels[0]; i++)
        if (strcasecmp(name, blas_kernels[i].name) == 0) return blas_kernels[i].level;
    return 0;
}

void ls_blas_status_get(ls_blas_status *s, const ls_cpu_info *c) {
    memset(s, 0, sizeof *s);
    snprintf(s->config, sizeof s->config, "%s", openblas_get_config());
    snprintf(s->kernel, sizeof s->kernel, "%s", openblas_get_corename());
    /* Trailing blanks in OpenBLAS's config string. */
    for (size_t n = strlen(s->config); n > 0 && s->config[n - 1] == ' '; n--) s->config[n - 1] = '\0';
    s->kernel_level = blas_level(s->kernel);
    /* The kernel this CPU deserves: Cooperlake's (AVX-512 + BF16) where
     * the CPU has AVX512-BF16, SkylakeX's with AVX-512, Haswell's with AVX2
     * and FMA. On AMD Zen 5 (2 cores, beside a training run) the AVX-512
     * kernels ran lesion's sgemm shapes at 215-240 GFLOP/s per call against
     * 115-125 for Haswell's (docs/performance.md). */
    const char *best = "";
    int level = 0;
    if (ls_isa_supported(c, LS_ISA_AVX512) && c->avx512cd && c->avx512_bf16) best = "Cooperlake", level = 3;
    else if (ls_isa_supported(c, LS_ISA_AVX512) && c->avx512cd) best = "SkylakeX", level = 2;
    else if (ls_isa_supported(c, LS_ISA_AVX2)) best = "Haswell", level = 1;
    if (level > s->kernel_level) {
        snprintf(s->best_kernel, sizeof s->best_kernel, "%s", best);
        s->best_level = level;
        s->fell_back = true;
    } else {
        snprintf(s->best_kernel, sizeof s->best_kernel, "%s", s->kernel);
        s->best_level = s->kernel_level;
    }
}

const char *ls_blas_coretype_to_set(const ls_blas_status *st, const char *env_coretype, bool restarted) {
    if (!st->fell_back || restarted || (env_coretype && env_coretype[0])) return NULL;
    return st->best_kernel;
}
