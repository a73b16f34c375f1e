/* system.c: what the CLI settles about the machine before any command runs,
 * and `lesion --version`, which prints it.
 *
 *  - The BLAS kernel. OpenBLAS picks its kernels in a constructor when the
 *    library is loaded, from the CPU model; for models it does not know
 *    (Intel Sapphire/Emerald Rapids with Debian 12's 0.3.21) it falls back
 *    to SSE3 kernels, 4x slower. The only way to change the pick is
 *    OPENBLAS_CORETYPE in the environment before load, so when the pick is
 *    below what CPUID says the CPU runs, lesion sets the variable and
 *    executes itself again, once (LESION_BLAS_REEXEC, holding OpenBLAS's
 *    own pick, guards against a loop and lets --version say what
 *    happened). An OPENBLAS_CORETYPE the user set is kept as it is.
 *  - The ISA path of lesion's own kernels: the best the CPU runs, or
 *    $LESION_ISA (generic, avx2, avx512, auto); a path the CPU cannot run
 *    is a usage error. */
#include "cli/system.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define REEXEC_MARK "LESION_BLAS_REEXEC"

/* OpenMP's default wait policy lets an idle worker spin for a long while
 * at every barrier. Beside a busy neighbour (another process on the same
 * cores) the spinning thread takes the CPU the working one needs: measured
 * on the 2-core development machine beside a training run, a small sweep
 * took 80-121 s with 2 threads against 8.4-8.8 s with --threads 1, and
 * 6.3-10.3 s with 2 threads and the passive policy (docs/performance.md).
 * (A user's OMP_WAIT_POLICY, e.g. active for an idle benchmark, wins.)
 * libgomp reads OMP_WAIT_POLICY when it loads, before main, so the CLI sets
 * it (unless the user did) and runs itself again, once: the same restart
 * that gives OpenBLAS its kernel. */
static int passive_openmp(void) {
    return !getenv("OMP_WAIT_POLICY") && setenv("OMP_WAIT_POLICY", "passive", 1) == 0;
}

int cli_system_setup(char **argv) {
    ls_cpu_info cpu;
    ls_blas_status st;
    ls_cpu_detect(&cpu);
    ls_blas_status_get(&st, &cpu);
    const char *mark = getenv(REEXEC_MARK), *env = getenv("OPENBLAS_CORETYPE");
    const char *coretype = ls_blas_coretype_to_set(&st, env, mark != NULL);
    int restart = passive_openmp();
    if (coretype) {
        setenv(REEXEC_MARK, st.kernel, 1);
        setenv("OPENBLAS_CORETYPE", coretype, 1);
        restart = 1;
    }
    if (restart) execv("/proc/self/exe", argv); /* returns only on failure: then run as we are */
    if (coretype) {
        fprintf(stderr, "lesion: warning: OpenBLAS runs its %s kernels on this CPU, which runs %s's; restarting "
                        "with OPENBLAS_CORETYPE=%s failed, so dense products run slower\n", st.kernel, coretype, coretype);
        unsetenv("OPENBLAS_CORETYPE");
        unsetenv(REEXEC_MARK);
    } else if (mark && st.fell_back && env && strcmp(env, st.best_kernel) == 0) {
        fprintf(stderr, "lesion: warning: OpenBLAS still runs its %s kernels with OPENBLAS_CORETYPE=%s; dense "
                        "products run slower than this CPU allows\n", st.kernel, env);
    }
    const char *isa = getenv("LESION_ISA");
    ls_error err;
    if (isa && isa[0] && ls_isa_select_by_name(isa, &err) != 0) {
        fprintf(stderr, "lesion: LESION_ISA=%s: %s\n", isa, err.msg);
        return 2;
    }
    return 0;
}

static void cpu_flags(const ls_cpu_info *c, char *out, size_t n) {
    const struct {
        bool on;
        const char *name;
    } f[] = {{c->avx2, "avx2"},           {c->fma, "fma"},           {c->avx512f, "avx512f"},
             {c->avx512bw, "avx512bw"},   {c->avx512vl, "avx512vl"}, {c->avx512dq, "avx512dq"},
             {c->avx512_bf16, "avx512_bf16"}, {c->amx_bf16, "amx_bf16"}};
    out[0] = '\0';
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
        if (f[i].on) snprintf(out + strlen(out), n - strlen(out), "%s%s", out[0] ? " " : "", f[i].name);
}

/* Where the BLAS kernel came from, in words. */
static void blas_origin(const ls_blas_status *st, char *out, size_t n) {
    const char *mark = getenv(REEXEC_MARK), *env = getenv("OPENBLAS_CORETYPE");
    if (mark && env) snprintf(out, n, "OPENBLAS_CORETYPE=%s set by lesion; OpenBLAS had chosen %s", env, mark);
    else if (env && env[0]) snprintf(out, n, "OPENBLAS_CORETYPE=%s set in the environment", env);
    else snprintf(out, n, "chosen by OpenBLAS");
    if (st->fell_back)
        snprintf(out + strlen(out), n - strlen(out), "; this CPU runs %s's, faster%s", st->best_kernel,
                 env && env[0] && !mark ? ": unset OPENBLAS_CORETYPE to let lesion choose" : "");
}

void cli_print_version(int json) {
    ls_cpu_info cpu;
    ls_blas_status st;
    ls_cpu_detect(&cpu);
    ls_blas_status_get(&st, &cpu);
    char flags[160], origin[256], paths[64] = "";
    cpu_flags(&cpu, flags, sizeof flags);
    blas_origin(&st, origin, sizeof origin);
    for (int i = 0; i < LS_ISA_COUNT; i++)
        if (ls_isa_supported(&cpu, (ls_isa)i))
            snprintf(paths + strlen(paths), sizeof paths - strlen(paths), "%s%s", paths[0] ? " " : "",
                     ls_isa_name((ls_isa)i));
    const char *isa_env = getenv("LESION_ISA");
    const char *bf16_unit = ls_isa_active() == LS_ISA_AVX512_BF16
                                ? (cpu.amx_bf16 ? "avx512_bf16 (vdpbf16ps; AMX-BF16 present, not used)"
                                                : "avx512_bf16 (vdpbf16ps)")
                            : cpu.avx512_bf16 ? "portable code (the avx512bf16 path is not selected: same results, slower)"
                                              : "portable code (no AVX512-BF16 on this CPU: same results, slower)";
    if (json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "compiler", __VERSION__);
        cJSON_AddStringToObject(o, "cpu", cpu.model_name);
        cJSON_AddStringToObject(o, "cpu_vendor", cpu.vendor);
        cJSON_AddNumberToObject(o, "cpu_family", cpu.family);
        cJSON_AddNumberToObject(o, "cpu_model", cpu.model);
        cJSON_AddStringToObject(o, "cpu_flags", flags);
        cJSON_AddStringToObject(o, "isa", ls_isa_name(ls_isa_active()));
        cJSON_AddStringToObject(o, "isa_supported", paths);
        cJSON_AddStringToObject(o, "compute_bf16", bf16_unit);
        cJSON_AddStringToObject(o, "blas", st.config);
        cJSON_AddStringToObject(o, "blas_kernel", st.kernel);
        cJSON_AddStringToObject(o, "blas_best_kernel", st.best_kernel);
        cJSON_AddBoolToObject(o, "blas_fell_back", st.fell_back);
        cJSON_AddStringToObject(o, "blas_kernel_origin", origin);
        cli_print_json(o);
        return;
    }
    printf("lesion, built by gcc %s for any x86-64 CPU\n", __VERSION__);
    printf("cpu:      %s (%s family %d model %d): %s\n", cpu.model_name, cpu.vendor, cpu.family, cpu.model,
           flags[0] ? flags : "no AVX2");
    printf("kernels:  %s (%s; this CPU runs: %s)\n", ls_isa_name(ls_isa_active()),
           isa_env && isa_env[0] ? "forced by LESION_ISA" : "best for this CPU", paths);
    printf("bf16:     --compute bf16 runs on %s\n", bf16_unit);
    printf("blas:     %s\n", st.config);
    printf("blas kernel: %s (%s)\n", st.kernel, origin);
}
