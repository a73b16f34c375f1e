/* test_rng.c: proves the lesion layer's random numbers.
 *  - Philox4x32-10 gives the Random123 known answers (kat_vectors);
 *  - ls_det_log and ls_det_sincos_turns are within 2 ulp of long double
 *    references, and the Philox normals/uniforms/integers keep the exact
 *    bits recorded here (the "same bytes on every machine" promise);
 *  - the normals and uniforms have the right moments and tails;
 *  - the torch emulation gives torch 1.13's exact randn bits for seeds 0
 *    and 123 on all three paths (n < 16, AVX2, portable), and torch's exact
 *    float32 mean and std for 1, 2 and 3 threads and each CPU capability
 *    (values printed by torch 1.13.1 on x86-64). tests/e2e/torch_rng.sh compares many more shapes
 *    against a live torch. */
#include "test_util.h"

#include "lesion/rng.h"

#include <math.h>

static void test_philox_known_answers(void **state) {
    (void)state;
    static const struct {
        uint32_t ctr[4], key[2], out[4];
    } kat[] = {
        {{0, 0, 0, 0}, {0, 0}, {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
        {{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}, {0xffffffff, 0xffffffff}, {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
        {{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}, {0xa4093822, 0x299f31d0}, {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}},
    };
    for (size_t i = 0; i < sizeof kat / sizeof kat[0]; i++) {
        uint32_t out[4];
        ls_philox4x32_10(kat[i].ctr, kat[i].key, out);
        for (int w = 0; w < 4; w++) assert_int_equal(out[w], kat[i].out[w]);
    }
    /* the lesion layout: key = seed halves, counter = (i lo, i hi, tensor, purpose) */
    uint32_t a[4], b[4];
    ls_philox_at(0xa4093822299f31d0ull, 0, 0, 0, a);
    const uint32_t ctr[4] = {0, 0, 0, 0}, key[2] = {0x299f31d0, 0xa4093822};
    ls_philox4x32_10(ctr, key, b);
    assert_memory_equal(a, b, sizeof a);
}

static void test_deterministic_math(void **state) {
    (void)state;
    for (int k = 1; k < 200000; k++) {
        double x = k * 0.00731 + 1e-9 * (k % 13);
        if (k % 1000 == 0) x = ldexp(1.0 + k * 1e-6, -k / 1000); /* tiny arguments too */
        long double ref = logl((long double)x);
        double ulp = nextafter(fabs((double)ref), INFINITY) - fabs((double)ref);
        double e = (double)fabsl((long double)ls_det_log(x) - ref) / ulp;
        if (e > 2.0) fail_msg("ls_det_log(%a) off by %.2f ulp", x, e);
    }
    assert_true(ls_det_log(1.0) == 0.0);
    const long double two_pi = 6.283185307179586476925286766559L;
    for (int k = 0; k < 200000; k++) {
        double u = k / 200000.0 + 1e-9 * (k % 7), s, c;
        ls_det_sincos_turns(u, &s, &c);
        long double es = fabsl(s - sinl(two_pi * u)), ec = fabsl(c - cosl(two_pi * u));
        if (es > 0x1p-52 || ec > 0x1p-52) fail_msg("sincos(2 pi %a) off by %Lg, %Lg", u, es, ec);
    }
    double s, c;
    ls_det_sincos_turns(0.25, &s, &c);
    assert_true(s == 1.0 && c == 0.0);
}

/* Recorded once; any change here changes every lesion ever made with a seed. */
static void test_philox_golden_bits(void **state) {
    (void)state;
    assert_true(ls_philox_gauss(42, 7, 0) == 0x1.98171a6c6a062p-1);
    assert_true(ls_philox_gauss(42, 7, 1) == -0x1.95af4861a3eb6p-1);
    assert_true(ls_philox_gauss(42, 7, 2) == -0x1.0fd4ec091f5fcp+0);
    assert_true(ls_philox_gauss(42, 7, 3) == 0x1.5ac31346807e6p-1);
    assert_true(ls_philox_uniform(42, 7, 0) == 0x1.957d8b0df5376p-2);
    assert_true(ls_philox_uniform(42, 7, 1) == 0x1.9848549794b14p-1);
    assert_int_equal(ls_philox_below(42, 7, 5, 1000), 377);
    /* a different seed, tensor or element gives a different number */
    assert_true(ls_philox_gauss(43, 7, 0) != ls_philox_gauss(42, 7, 0));
    assert_true(ls_philox_gauss(42, 8, 0) != ls_philox_gauss(42, 7, 0));
    assert_true(ls_philox_gauss(1ull << 32 | 42, 7, 0) != ls_philox_gauss(42, 7, 0)); /* all 64 seed bits count */
}

static void test_distributions(void **state) {
    (void)state;
    const int n = 400000;
    double s1 = 0, s2 = 0, s4 = 0, tail = 0, us = 0, uss = 0, umin = 1, umax = 0;
    for (int i = 0; i < n; i++) {
        double z = ls_philox_gauss(9, 3, (uint64_t)i);
        s1 += z, s2 += z * z, s4 += z * z * z * z;
        tail += fabs(z) > 1.959963985;
        double u = ls_philox_uniform(9, 3, (uint64_t)i);
        us += u, uss += u * u;
        umin = fmin(umin, u), umax = fmax(umax, u);
    }
    double mean = s1 / n, var = s2 / n - mean * mean;
    assert_true(fabs(mean) < 5.0 / sqrt(n));
    assert_true(fabs(var - 1.0) < 5.0 * sqrt(2.0 / n));
    assert_true(fabs(s4 / n - 3.0) < 0.05); /* kurtosis of a normal */
    assert_true(fabs(tail / n - 0.05) < 5.0 * sqrt(0.05 * 0.95 / n));
    assert_true(fabs(us / n - 0.5) < 5.0 * sqrt(1.0 / 12 / n));
    assert_true(fabs(uss / n - us * us / n / n - 1.0 / 12) < 0.001);
    assert_true(umin >= 0 && umin < 1e-4 && umax < 1 && umax > 1 - 1e-4);
    /* uniform integers: every value of [0, 10) about equally often */
    int counts[10] = {0};
    for (int i = 0; i < 100000; i++) {
        uint64_t j = ls_philox_below(1, 2, (uint64_t)i, 10);
        assert_true(j < 10);
        counts[j]++;
    }
    for (int v = 0; v < 10; v++) assert_true(abs(counts[v] - 10000) < 500);
}

static uint32_t bits(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static void expect_randn(uint64_t seed, int n, ls_torch_kernel kernel, const uint32_t *want) {
    float out[32];
    ls_torch_randn(out, n, seed, kernel);
    for (int i = 0; i < n; i++)
        if (bits(out[i]) != want[i]) fail_msg("seed %llu n %d element %d: %08x, torch %08x", (unsigned long long)seed, n, i, bits(out[i]), want[i]);
}

static void test_torch_randn(void **state) {
    (void)state;
    /* torch.manual_seed(0); torch.randn(5): the famous 1.5410, -0.2934, -2.1788, 0.5684, -1.0845 (n < 16) */
    expect_randn(0, 5, LS_TORCH_AVX2, (const uint32_t[]){0x3fc53f5c, 0xbe963c50, 0xc00b7149, 0x3f1184b6, 0xbf8ad1a1});
    expect_randn(123, 3, LS_TORCH_DEFAULT, (const uint32_t[]){0xbde448df, 0x3df680d9, 0xbebd40bc});
    /* n = 16: one AVX2 block */
    expect_randn(0, 16, LS_TORCH_AVX512, /* normal_ has no AVX-512 kernel: AVX2's */
                 (const uint32_t[]){0xbf901b85, 0xbf93808a, 0xbe804bd6, 0xbede255d, 0x3f594515, 0x3f312783, 0xbea1cc6d, 0xc0075fc1,
                                    0x3ea50138, 0xbfa1b4f4, 0x3eb330ff, 0x3e9dc3bb, 0x3df56f77, 0x3f9e6b93, 0x3f8ef28e, 0xbe7d367c});
    /* n = 21: the last 16 are redrawn; AVX2 and portable kernels differ by an ulp here and there */
    expect_randn(0, 21, LS_TORCH_AVX2,
                 (const uint32_t[]){0xbf901b85, 0xbf93808a, 0xbe804bd6, 0xbede255d, 0x3f594515, 0xbfc70d5b, 0xbeaec6ca,
                                    0x3fed2f4e, 0x3eefaa55, 0xbe217f5f, 0x3fb8c9db, 0x3e8837a1, 0x3e2a7345, 0x3fcb0d00,
                                    0x3f72409c, 0xbf57fb33, 0x3f6e8c30, 0x3fa12737, 0x4000519a, 0x3d5c1b3a, 0x3f1e38f6});
    expect_randn(0, 21, LS_TORCH_DEFAULT,
                 (const uint32_t[]){0xbf901b85, 0xbf93808a, 0xbe804bd6, 0xbede255e, 0x3f594515, 0xbfc70d5b, 0xbeaec6c7,
                                    0x3fed2f4e, 0x3eefaa55, 0xbe217f5f, 0x3fb8c9db, 0x3e8837a1, 0x3e2a7344, 0x3fcb0d01,
                                    0x3f72409c, 0xbf57fb34, 0x3f6e8c31, 0x3fa12737, 0x4000519a, 0x3d5c1b39, 0x3f1e38f6});
    /* torch keeps only the seed's low 32 bits */
    float a[20], b[20];
    ls_torch_randn(a, 20, 5, LS_TORCH_AVX2);
    ls_torch_randn(b, 20, (1ull << 32) + 5, LS_TORCH_AVX2);
    assert_memory_equal(a, b, sizeof a);
}

static void test_torch_mean_std(void **state) {
    (void)state;
    /* x[k] = ((k * 2654435761) mod 1000003) / 1000003 - 0.5 in float32, k < 40000 */
    enum { N = 40000 };
    float *x = malloc(N * sizeof *x);
    assert_non_null(x);
    for (uint64_t k = 0; k < N; k++) x[k] = (float)((k * 2654435761ull) % 1000003) / 1000003.0f - 0.5f;
    /* torch.set_num_threads(T); t.mean(), t.std(); AVX2 and the portable kernel sum alike */
    for (int k = 0; k < 2; k++) {
        ls_torch_kernel kernel = k ? LS_TORCH_DEFAULT : LS_TORCH_AVX2;
        assert_int_equal(bits(ls_torch_mean(x, N, 1, kernel)), 0x38e313a9);
        assert_int_equal(bits(ls_torch_mean(x, N, 2, kernel)), 0x38e313ab);
        assert_int_equal(bits(ls_torch_mean(x, N, 3, kernel)), 0x38e313ab);
    }
    /* ATEN_CPU_CAPABILITY=avx512: 16-lane vectors */
    assert_int_equal(bits(ls_torch_mean(x, N, 1, LS_TORCH_AVX512)), 0x38e3139f);
    assert_int_equal(bits(ls_torch_mean(x, N, 2, LS_TORCH_AVX512)), 0x38e31397);
    assert_int_equal(bits(ls_torch_mean(x, N, 3, LS_TORCH_AVX512)), 0x38e31397);
    for (int t = 1; t <= 3; t++)
        for (int k = 0; k < 3; k++) assert_int_equal(bits(ls_torch_std(x, N, t, (ls_torch_kernel)k)), 0x3e93cdc6);
    /* below 32768 elements the thread count does not matter */
    assert_int_equal(bits(ls_torch_mean(x, 1000, 1, LS_TORCH_AVX2)), bits(ls_torch_mean(x, 1000, 4, LS_TORCH_AVX2)));
    free(x);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_philox_known_answers),
        cmocka_unit_test(test_deterministic_math),
        cmocka_unit_test(test_philox_golden_bits),
        cmocka_unit_test(test_distributions),
        cmocka_unit_test(test_torch_randn),
        cmocka_unit_test(test_torch_mean_std),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
