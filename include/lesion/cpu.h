/* cpu.h: what this CPU can run, which of lesion's kernel paths is in use,
 * and whether the BLAS chose a kernel that matches the CPU.
 *
 * lesion is built portable (no -march=native). Its own kernels (gemv,
 * layernorm, GELU, attention loops, bf16 widening) exist in three builds of
 * the same C source, one per instruction-set path, and a dispatch table
 * picks one at run time from CPUID (see src/kernels/simd/). The dense
 * products go through OpenBLAS, which picks its own kernel when it is
 * loaded: ls_blas_status tells whether that pick is the best this CPU can
 * run, so that the CLI can restart itself with OPENBLAS_CORETYPE set (the
 * library itself never re-executes anything). */
#ifndef LESION_CPU_H
#define LESION_CPU_H
#include <lesion.h>

#pragma GCC visibility push(default) /* public API: see lesion.h */

#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

/* What CPUID and the operating system say (XGETBV: the OS saves the
 * registers). A flag is true only when the instructions can run in this
 * process (AMX: also after Linux's per-process grant, which a future AMX
 * path must request; nothing uses AMX yet). */
typedef struct ls_cpu_info {
    char vendor[13];      /* "GenuineIntel", "AuthenticAMD", ... */
    char model_name[49];  /* the brand string, as lscpu's "Model name" */
    int family, model, stepping;
    bool sse2, avx, avx2, fma, f16c;
    bool avx512f, avx512dq, avx512cd, avx512bw, avx512vl; /* the Skylake-X set */
    bool avx512_bf16;     /* vdpbf16ps, vcvtne2ps2bf16 */
    bool amx_bf16;        /* AMX tiles with bf16 (tdpbf16ps), tile state saved by the OS */
} ls_cpu_info;

/* Reads CPUID (cheap: a few hundred cycles); no side effects. */
void ls_cpu_detect(ls_cpu_info *out);

/* lesion's kernel paths, from the portable baseline up. */
typedef enum ls_isa {
    LS_ISA_GENERIC, /* x86-64 baseline (SSE2): runs on every x86-64 CPU */
    LS_ISA_AVX2,    /* AVX2 + FMA (Haswell, Zen 1 and later) */
    LS_ISA_AVX512,  /* AVX-512 F/BW/VL/DQ (Skylake-X, Ice Lake, Sapphire Rapids, Zen 4/5) */
    LS_ISA_AVX512_BF16, /* the same, and AVX512-BF16 for --compute bf16 (Cooper Lake, Sapphire Rapids, Zen 4/5) */
    LS_ISA_COUNT
} ls_isa;

const char *ls_isa_name(ls_isa isa);
/* The best path this CPU can run. */
ls_isa ls_isa_best(const ls_cpu_info *cpu);
/* Whether this CPU can run path isa. */
bool ls_isa_supported(const ls_cpu_info *cpu, ls_isa isa);

/* The path the kernels take in this process: ls_isa_best() of this CPU
 * until ls_isa_select() narrows it. This is the library's one piece of
 * process-wide state: a fact about the hardware, resolved once, like the
 * BLAS's own kernel choice. */
ls_isa ls_isa_active(void);
/* Forces path isa for every kernel call that starts afterwards; refuses
 * (-1, err) a path this CPU cannot run. Not to be called while kernels run
 * on other threads. */
int ls_isa_select(ls_isa isa, ls_error *err);
/* Parses "generic", "avx2", "avx512", "avx512bf16" or "auto" (the best) and selects it:
 * what the CLI does with $LESION_ISA. */
int ls_isa_select_by_name(const char *name, ls_error *err);

/* What the BLAS (OpenBLAS, linked) runs, against what this CPU could run. */
typedef struct ls_blas_status {
    char config[160];       /* openblas_get_config(): version and build options */
    char kernel[32];        /* openblas_get_corename(): "Haswell", "SkylakeX", "Prescott", ... */
    char best_kernel[32];   /* the OPENBLAS_CORETYPE that fits this CPU best, "" if none is better known */
    int kernel_level;       /* 0 older than AVX2, 1 AVX2 (Haswell, Zen), 2 AVX-512 (SkylakeX), 3 AVX-512 + BF16 */
    int best_level;         /* the level of best_kernel (= kernel_level when there is nothing better) */
    bool fell_back;         /* kernel_level < best_level: OpenBLAS runs slower kernels than the CPU allows */
} ls_blas_status;

void ls_blas_status_get(ls_blas_status *out, const ls_cpu_info *cpu);

/* The OPENBLAS_CORETYPE a program should restart itself with, or NULL:
 * only when OpenBLAS fell back on its own (env_coretype, the current
 * $OPENBLAS_CORETYPE, is unset or empty: a value the user set is theirs to
 * keep) and the program has not restarted for this already (restarted). */
const char *ls_blas_coretype_to_set(const ls_blas_status *st, const char *env_coretype, bool restarted);

#ifdef __cplusplus
}
#endif
#pragma GCC visibility pop
#endif
