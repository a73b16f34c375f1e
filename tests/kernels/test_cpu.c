/* test_cpu.c: proves that CPU detection agrees with the Linux kernel's own
 * view (/proc/cpuinfo: vendor, family, model and the flags avx2, fma,
 * avx512f/bw/vl/dq, avx512_bf16); that the ISA paths a CPU may run follow
 * from its flags (known answers on hand-made feature sets); that
 * ls_isa_select follows the active path and refuses unknown names; and that
 * the BLAS check asks for a restart exactly when OpenBLAS fell back on its
 * own: never when the user set OPENBLAS_CORETYPE, never twice. */
#include "test_util.h"
#include "kernels/simd.h"

/* The value of "key" in the first processor block of /proc/cpuinfo. */
static int cpuinfo_value(const char *key, char *out, size_t n) {
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[8192];
    int found = 0;
    if (!f) return 0;
    while (!found && fgets(line, sizeof line, f)) {
        char *colon = strchr(line, ':');
        if (!colon || strncmp(line, key, strlen(key)) != 0) continue;
        char *k_end = line + strlen(key);
        while (k_end < colon && (*k_end == ' ' || *k_end == '\t')) k_end++;
        if (k_end != colon) continue;
        char *v = colon + 1;
        while (*v == ' ') v++;
        v[strcspn(v, "\n")] = '\0';
        snprintf(out, n, "%s", v);
        found = 1;
    }
    fclose(f);
    return found;
}

static int has_flag(const char *flags, const char *flag) {
    size_t n = strlen(flag);
    for (const char *p = flags; (p = strstr(p, flag)) != NULL; p += n)
        if ((p == flags || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0')) return 1;
    return 0;
}

static void test_detect_matches_proc_cpuinfo(void **state) {
    (void)state;
    ls_cpu_info c;
    ls_cpu_detect(&c);
    char flags[8192], name[256], num[32];
    if (!cpuinfo_value("flags", flags, sizeof flags)) skip();
    assert_true(c.sse2); /* every x86-64 CPU */
    struct {
        const char *flag;
        bool got;
    } f[] = {{"avx2", c.avx2},         {"fma", c.fma},           {"avx512f", c.avx512f}, {"avx512bw", c.avx512bw},
             {"avx512vl", c.avx512vl}, {"avx512dq", c.avx512dq}, {"avx512_bf16", c.avx512_bf16}};
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
        if (f[i].got != has_flag(flags, f[i].flag))
            fail_msg("%s: CPUID says %d, /proc/cpuinfo says %d", f[i].flag, f[i].got, has_flag(flags, f[i].flag));
    if (cpuinfo_value("vendor_id", name, sizeof name)) assert_string_equal(c.vendor, name);
    if (cpuinfo_value("cpu family", num, sizeof num)) assert_int_equal(c.family, atoi(num));
    if (cpuinfo_value("model", num, sizeof num)) assert_int_equal(c.model, atoi(num));
    assert_true(strcmp(c.vendor, "GenuineIntel") == 0 || strcmp(c.vendor, "AuthenticAMD") == 0 || c.vendor[0]);
    /* The name is CPUID's brand string, trimmed. /proc/cpuinfo's "model name"
     * usually is the same string, but a hypervisor's kernel may rewrite it
     * (seen: CPUID "Oxide Virtual Turin-like Processor", /proc/cpuinfo and
     * lscpu "AMD EPYC"), so only its form is checked here. */
    size_t len = strlen(c.model_name);
    assert_true(len > 0 && c.model_name[0] != ' ' && c.model_name[len - 1] != ' ');
    for (size_t i = 0; i < len; i++) assert_true(c.model_name[i] >= 0x20 && c.model_name[i] < 0x7f);
}

static void test_isa_paths_follow_flags(void **state) {
    (void)state;
    ls_cpu_info none = {.sse2 = true}, avx2 = none, avx2_no_fma = none, skx = none, skx_no_bw = none;
    avx2.avx = avx2.avx2 = avx2.fma = true;
    avx2_no_fma.avx = avx2_no_fma.avx2 = true;
    skx = avx2;
    skx.avx512f = skx.avx512bw = skx.avx512vl = skx.avx512dq = skx.avx512cd = true;
    skx_no_bw = skx;
    skx_no_bw.avx512bw = false;
    ls_cpu_info cpx = skx, bf16_no_bw = skx_no_bw;
    cpx.avx512_bf16 = bf16_no_bw.avx512_bf16 = true;
    assert_int_equal(ls_isa_best(&none), LS_ISA_GENERIC);
    assert_int_equal(ls_isa_best(&avx2_no_fma), LS_ISA_GENERIC);
    assert_int_equal(ls_isa_best(&avx2), LS_ISA_AVX2);
    assert_int_equal(ls_isa_best(&skx), LS_ISA_AVX512);
    assert_int_equal(ls_isa_best(&skx_no_bw), LS_ISA_AVX2);
    assert_int_equal(ls_isa_best(&cpx), LS_ISA_AVX512_BF16);
    assert_int_equal(ls_isa_best(&bf16_no_bw), LS_ISA_AVX2);
    assert_false(ls_isa_supported(&avx2, LS_ISA_AVX512));
    assert_true(ls_isa_supported(&none, LS_ISA_GENERIC));
    assert_string_equal(ls_isa_name(LS_ISA_AVX512), "avx512");
}

static void test_isa_select(void **state) {
    (void)state;
    ls_cpu_info c;
    ls_error err;
    ls_cpu_detect(&c);
    assert_int_equal(ls_isa_select_by_name("auto", &err), 0);
    assert_int_equal(ls_isa_active(), ls_isa_best(&c));
    assert_int_equal(ls_isa_select_by_name("generic", &err), 0);
    assert_int_equal(ls_isa_active(), LS_ISA_GENERIC);
    assert_ptr_equal(ls_simd(), &ls_simd_generic);
    assert_int_equal(ls_isa_select_by_name("avx-512", &err), -1);
    assert_contains(err.msg, "expected generic, avx2, avx512, avx512bf16 or auto");
    assert_int_equal(ls_isa_active(), LS_ISA_GENERIC); /* a refused name changes nothing */
    /* The three builds really are three different functions. */
    assert_ptr_not_equal(ls_simd_generic.gemv_f32, ls_simd_avx2.gemv_f32);
    assert_ptr_not_equal(ls_simd_avx2.gelu, ls_simd_avx512.gelu);
    for (int i = 0; i < LS_ISA_COUNT; i++) {
        int ok = ls_isa_select((ls_isa)i, &err) == 0;
        assert_int_equal(ok, ls_isa_supported(&c, (ls_isa)i));
        if (!ok) assert_contains(err.msg, "cannot run");
    }
    assert_int_equal(ls_isa_select(ls_isa_best(&c), &err), 0);
}

static void test_blas_status(void **state) {
    (void)state;
    ls_cpu_info c, old = {.sse2 = true};
    ls_blas_status st;
    ls_cpu_detect(&c);
    ls_blas_status_get(&st, &c);
    assert_contains(st.config, "OpenBLAS");
    assert_true(st.kernel[0] != '\0');
    assert_contains(st.config, st.kernel); /* openblas_get_config names the kernel in use */
    assert_int_equal(st.fell_back, st.kernel_level < st.best_level);
    if (ls_isa_supported(&c, LS_ISA_AVX2)) assert_true(st.best_level >= 1);
    /* A CPU without AVX2 has nothing better to ask for. */
    ls_blas_status_get(&st, &old);
    assert_false(st.fell_back);
    assert_string_equal(st.best_kernel, st.kernel);
}

static void test_blas_restart_decision(void **state) {
    (void)state;
    ls_blas_status fell = {.kernel = "Prescott", .best_kernel = "Cooperlake", .kernel_level = 0, .best_level = 3,
                           .fell_back = true};
    ls_blas_status fine = {.kernel = "Haswell", .best_kernel = "Haswell", .kernel_level = 1, .best_level = 1};
    assert_string_equal(ls_blas_coretype_to_set(&fell, NULL, false), "Cooperlake");
    assert_string_equal(ls_blas_coretype_to_set(&fell, "", false), "Cooperlake");
    assert_null(ls_blas_coretype_to_set(&fell, "Prescott", false)); /* the user's choice */
    assert_null(ls_blas_coretype_to_set(&fell, NULL, true));        /* restarted once already */
    assert_null(ls_blas_coretype_to_set(&fine, NULL, false));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_detect_matches_proc_cpuinfo),
        cmocka_unit_test(test_isa_paths_follow_flags),
        cmocka_unit_test(test_isa_select),
        cmocka_unit_test(test_blas_status),
        cmocka_unit_test(test_blas_restart_decision),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
