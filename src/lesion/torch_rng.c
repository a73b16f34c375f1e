/* torch_rng.c: PyTorch 1.13's CPU random normals, mean and std, bit for bit.
 *
 * Why: the seed experiment replaced weights with
 *     torch.manual_seed(S); torch.randn(w.shape) * w.std() + w.mean()
 * and `--rng torch` must reproduce those bytes exactly. Everything below
 * follows torch 1.13's source (aten/src/ATen/core/MT19937RNGEngine.h,
 * TransformationHelper.h, DistributionsHelper.h, native/cpu/
 * DistributionTemplates.h, avx_mathfun.h, SumKernel.cpp, ReduceOps.cpp)
 * and was checked element by element against the installed torch
 * (tests/e2e/torch_rng.sh).
 *
 * torch.randn(n) for float32 takes one of three paths:
 *  - n < 16: per element at::normal_distribution<double>: two 53-bit
 *    uniforms u1, u2 (each from two mt19937 words, hi<<32 | lo), r =
 *    sqrt(-2 log(1 - u2)), theta = 2 pi u1; r cos(theta) now and
 *    r sin(theta) cached for the next element; libm in double, then
 *    rounded to float.
 *  - n >= 16 with AVX2 (normal_fill_AVX2): fill all n with 24-bit uniforms,
 *    then Box-Muller on blocks of 16 (u1 = 1 - d[j], u2 = d[j+8],
 *    d[j] = r cos, d[j+8] = r sin) using avx_mathfun's log256_ps and
 *    sincos256_ps; a tail n % 16 != 0 redraws 16 fresh uniforms into the
 *    LAST 16 elements and transforms them again. torch's build compiles
 *    avx_mathfun with -mfma and GCC's default -ffp-contract=fast, so every
 *    multiply feeding an add became a fused multiply-add: emulated below
 *    with fmaf at those places. Fusing mattered (against 589824 torch
 *    values) in log's polynomial and its y*z + e*q1, and in the cosine's
 *    and sine's polynomials, y*z - z/2 and y*x + x; at the other places (the
 *    Cody-Waite reduction, z*0.5, e*q2) the products are exact or nearly
 *    so and the data could not tell, so they are fused too, as GCC did.
 *  - n >= 16 without AVX2 (normal_fill): the same layout with float logf,
 *    cosf, sinf of the C library, theta = (float)(2 pi (double) u2).
 *
 * normal_ has no AVX-512 kernel in 1.13, so capability AVX512 draws as AVX2.
 *
 * x.mean() of float32 is a float32 cascade sum (SumKernel.cpp: vectors of
 * 8 floats, 16 with AVX-512; 4 accumulators, 4 levels) divided by n;
 * x.std() accumulates (x - mean)^2 in double. Both split their work across
 * threads for 32768 or more elements, which changes the rounding: hence
 * the thread count parameter.
 *
 * Float arithmetic here must be exactly what is written: no contraction
 * (gcc -std=c11 disables it; the pragma covers clang), FLT_EVAL_METHOD 0. */
#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif
#include "lesion/rng.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- mt19937 as at::mt19937 --------------------------------------------------- */

enum { MT_N = 624, MT_M = 397 };

typedef struct mt19937 {
    uint32_t state[MT_N];
    int left, next;
} mt19937;

static void mt_seed(mt19937 *g, uint64_t seed) {
    g->state[0] = (uint32_t)(seed & 0xffffffffu); /* at::mt19937 keeps only the low 32 bits */
    for (int j = 1; j < MT_N; j++) g->state[j] = 1812433253u * (g->state[j - 1] ^ (g->state[j - 1] >> 30)) + (uint32_t)j;
    g->left = 1;
    g->next = 0;
}

static uint32_t mt_twist(uint32_t u, uint32_t v) {
    return (((u & 0x80000000u) | (v & 0x7fffffffu)) >> 1) ^ ((v & 1u) ? 0x9908b0dfu : 0u);
}

static void mt_next_state(mt19937 *g) {
    uint32_t *p = g->state;
    g->left = MT_N;
    g->next = 0;
    for (int j = MT_N - MT_M + 1; --j; p++) *p = p[MT_M] ^ mt_twist(p[0], p[1]);
    for (int j = MT_M; --j; p++) *p = p[MT_M - MT_N] ^ mt_twist(p[0], p[1]);
    *p = p[MT_M - MT_N] ^ mt_twist(p[0], g->state[0]);
}

static uint32_t mt_u32(mt19937 *g) {
    if (--g->left == 0) mt_next_state(g);
    uint32_t y = g->state[g->next++];
    y ^= (y >> 11);
    y ^= (y << 7) & 0x9d2c5680u;
    y ^= (y << 15) & 0xefc60000u;
    y ^= (y >> 18);
    return y;
}

/* uniform_real_distribution<float>(0, 1): 24 bits of one word. */
static float uniform_f32(mt19937 *g) { return (float)(mt_u32(g) & 0xffffffu) * (1.0f / 16777216.0f); }

/* uniform_real_distribution<double>(0, 1): 53 bits of random64() = first<<32 | second. */
static double uniform_f64(mt19937 *g) {
    uint64_t hi = mt_u32(g), lo = mt_u32(g);
    return (double)(((hi << 32) | lo) & ((UINT64_C(1) << 53) - 1)) * (1.0 / 9007199254740992.0);
}

/* ---- avx_mathfun.h, one lane, with the compiler's fused multiply-adds ------- */

static float f32_from_bits(uint32_t u) {
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}
static uint32_t bits_from_f32(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

/* log256_ps (Cephes logf). */
static float avx_log(float x) {
    int invalid = x <= 0.0f;
    if (!(x >= f32_from_bits(0x00800000u))) x = f32_from_bits(0x00800000u); /* _mm256_max_ps(x, min_norm_pos) */
    int32_t imm0 = (int32_t)(bits_from_f32(x) >> 23);
    x = f32_from_bits((bits_from_f32(x) & ~0x7f800000u) | bits_from_f32(0.5f)); /* mantissa in [0.5, 1) */
    imm0 = imm0 - 0x7f;
    float e = (float)imm0;
    e = e + 1.0f;
    int below = x < 0.707106781186547524f; /* SQRTHF */
    float tmp = below ? x : 0.0f;
    x = x - 1.0f;
    e = e - (below ? 1.0f : 0.0f);
    x = x + tmp;
    float z = x * x;
    float y = 7.0376836292E-2f;
    y = fmaf(y, x, -1.1514610310E-1f);
    y = fmaf(y, x, 1.1676998740E-1f);
    y = fmaf(y, x, -1.2420140846E-1f);
    y = fmaf(y, x, +1.4249322787E-1f);
    y = fmaf(y, x, -1.6668057665E-1f);
    y = fmaf(y, x, +2.0000714765E-1f);
    y = fmaf(y, x, -2.4999993993E-1f);
    y = fmaf(y, x, +3.3333331174E-1f);
    y = y * x;
    float eq1 = e * -2.12194440e-4f;
    y = fmaf(y, z, eq1);          /* y*z + e*q1: the first multiply was fused */
    y = fmaf(-z, 0.5f, y);        /* y - z*0.5 (the product is exact) */
    float eq2 = e * 0.693359375f; /* exact */
    x = x + y;
    x = x + eq2;
    if (invalid) x = f32_from_bits(0xffffffffu); /* NaN, as the or with the mask */
    return x;
}

/* sincos256_ps (Cephes sinf/cosf). */
static void avx_sincos(float x, float *s_out, float *c_out) {
    uint32_t sign_sin = bits_from_f32(x) & 0x80000000u;
    x = f32_from_bits(bits_from_f32(x) & 0x7fffffffu);
    float y = x * 1.27323954473516f; /* 4/pi */
    int32_t j = (int32_t)y;         /* cvttps: truncation */
    j = (j + 1) & ~1;
    y = (float)j;
    uint32_t swap_sin = (uint32_t)(j & 4) << 29;
    int poly = (j & 2) == 0;
    x = fmaf(y, -0.78515625f, x); /* extended precision modular arithmetic */
    x = fmaf(y, -2.4187564849853515625e-4f, x);
    x = fmaf(y, -3.77489497744594108e-8f, x);
    int32_t j4 = j - 2;
    uint32_t sign_cos = (uint32_t)(~j4 & 4) << 29;
    sign_sin ^= swap_sin;
    float z = x * x;
    float yc = 2.443315711809948E-005f;
    yc = fmaf(yc, z, -1.388731625493765E-003f);
    yc = fmaf(yc, z, 4.166664568298827E-002f);
    yc = yc * z;
    float half_z = z * 0.5f;
    yc = fmaf(yc, z, -half_z);
    yc = yc + 1.0f;
    float ys = -1.9515295891E-4f;
    ys = fmaf(ys, z, 8.3321608736E-3f);
    ys = fmaf(ys, z, -1.6666654611E-1f);
    ys = ys * z;
    ys = fmaf(ys, x, x);
    float ysin2 = poly ? ys : 0.0f, ysin1 = poly ? 0.0f : yc;
    ys = ys - ysin2;
    yc = yc - ysin1;
    float rs = ysin1 + ysin2, rc = yc + ys;
    *s_out = f32_from_bits(bits_from_f32(rs) ^ sign_sin);
    *c_out = f32_from_bits(bits_from_f32(rc) ^ sign_cos);
}

/* normal_fill_16_AVX2 with mean 0, std 1 (the final fmadd is then exact). */
static void fill16_avx2(float *d) {
    const float two_pi = (float)(2.0 * 3.14159265358979323846);
    for (int j = 0; j < 8; j++) {
        float u1 = 1.0f - d[j];
        float u2 = d[j + 8];
        float l = avx_log(u1);
        float radius = sqrtf(-2.0f * l);
        float theta = two_pi * u2;
        float s, c;
        avx_sincos(theta, &s, &c);
        d[j] = radius * c;
        d[j + 8] = radius * s;
    }
}

/* normal_fill_16<float> of the portable kernel. */
static void fill16_scalar(float *d) {
    for (int j = 0; j < 8; j++) {
        float u1 = 1.0f - d[j];
        float u2 = d[j + 8];
        float radius = sqrtf(-2.0f * logf(u1));
        float theta = (float)(2.0 * 3.14159265358979323846 * (double)u2);
        d[j] = radius * cosf(theta);
        d[j + 8] = radius * sinf(theta);
    }
}

/* torch.randn(n) from generator g as it stands (g continues past the draws). */
static void randn_from(mt19937 *g, int *has_cached, double *cached_value, float *out, int64_t n, ls_torch_kernel kernel) {
    if (n < 16) { /* at::normal_distribution<double>, with the generator's one-sample cache */
        for (int64_t i = 0; i < n; i++) {
            double v;
            if (*has_cached) {
                v = *cached_value;
                *has_cached = 0;
            } else {
                double u1 = uniform_f64(g);
                double u2 = uniform_f64(g);
                double r = sqrt(-2.0 * log(1.0 - u2));
                double theta = 2.0 * 3.14159265358979323846 * u1;
                *cached_value = r * sin(theta);
                *has_cached = 1;
                v = r * cos(theta);
            }
            out[i] = (float)v;
        }
        return;
    }
    void (*fill16)(float *) = kernel == LS_TORCH_DEFAULT ? fill16_scalar : fill16_avx2; /* normal_ has no AVX-512 kernel */
    for (int64_t i = 0; i < n; i++) out[i] = uniform_f32(g);
    for (int64_t i = 0; i + 16 <= n; i += 16) fill16(out + i);
    if (n % 16 != 0) {
        float *tail = out + n - 16;
        for (int i = 0; i < 16; i++) tail[i] = uniform_f32(g);
        fill16(tail);
    }
}

void ls_torch_randn(float *out, int64_t n, uint64_t seed, ls_torch_kernel kernel) {
    mt19937 g;
    mt_seed(&g, seed);
    int has_cached = 0;
    double cached = 0.0;
    randn_from(&g, &has_cached, &cached, out, n, kernel);
}

/* The stream generator: an mt19937 plus torch's cached second normal sample. */
struct ls_torch_gen {
    mt19937 mt;
    int has_cached;
    double cached;
};

ls_torch_gen *ls_torch_gen_new(void) { return calloc(1, sizeof(ls_torch_gen)); }
void ls_torch_gen_free(ls_torch_gen *g) { free(g); }
void ls_torch_gen_seed(ls_torch_gen *g, uint64_t seed) {
    mt_seed(&g->mt, seed);
    g->has_cached = 0;
    g->cached = 0.0;
}

/* ---- torch's float32 sum (SumKernel.cpp cascade_sum) ------------------------- */

/* Vectorized<float> holds 8 floats (AVX2, and the portable 32-byte
 * fallback) or 16 (AVX-512); the order of additions follows from it. */
enum { MAX_LANES = 16, ILP = 4, LEVELS = 4 };
#define TORCH_GRAIN 32768 /* at::internal::GRAIN_SIZE */

static int lanes_of(ls_torch_kernel kernel) { return kernel == LS_TORCH_AVX512 ? 16 : 8; }

typedef struct vec {
    float v[MAX_LANES];
} vec;

static void vec_add(vec *a, const vec *b, int lanes) {
    for (int i = 0; i < lanes; i++) a->v[i] = a->v[i] + b->v[i];
}

static int64_t ceil_log2(int64_t x) {
    if (x <= 2) return 1;
    uint64_t v = (uint64_t)x - 1;
    int b = 63;
    while (!((v >> b) & 1)) b--;
    return b + 1;
}

/* row_sum over `count` items of `lanes` floats each (a vector, or one
 * float): item i*ILP+k goes to accumulator k, with multi_row_sum's levels. */
static void row_sum(const float *p, int64_t count, int lanes, float *result /* [lanes] */) {
    const int64_t size = count / ILP;
    int64_t level_power = ceil_log2(size) / LEVELS;
    if (level_power < 4) level_power = 4;
    const int64_t level_step = (int64_t)1 << level_power, level_mask = level_step - 1;
    const size_t item_bytes = sizeof(float) * (size_t)lanes;
    vec acc[LEVELS][ILP];
    memset(acc, 0, sizeof acc);
    vec item = {{0}};
    int64_t i = 0;
    while (i + level_step <= size) {
        for (int64_t j = 0; j < level_step; j++, i++)
            for (int k = 0; k < ILP; k++) {
                memcpy(item.v, p + (i * ILP + k) * lanes, item_bytes);
                vec_add(&acc[0][k], &item, lanes);
            }
        for (int j = 1; j < LEVELS; j++) {
            for (int k = 0; k < ILP; k++) {
                vec_add(&acc[j][k], &acc[j - 1][k], lanes);
                memset(&acc[j - 1][k], 0, sizeof(vec));
            }
            if ((i & (level_mask << (j * level_power))) != 0) break;
        }
    }
    for (; i < size; i++)
        for (int k = 0; k < ILP; k++) {
            memcpy(item.v, p + (i * ILP + k) * lanes, item_bytes);
            vec_add(&acc[0][k], &item, lanes);
        }
    for (int j = 1; j < LEVELS; j++)
        for (int k = 0; k < ILP; k++) vec_add(&acc[0][k], &acc[j][k], lanes);
    vec r = acc[0][0];
    for (int64_t q = size * ILP; q < count; q++) {
        memcpy(item.v, p + q * lanes, item_bytes);
        vec_add(&r, &item, lanes);
    }
    for (int k = 1; k < ILP; k++) vec_add(&r, &acc[0][k], lanes);
    memcpy(result, r.v, item_bytes);
}

/* One call of cascade_sum's loop over contiguous x[0..n): the vectorized
 * inner sum when n holds a vector, else the scalar one; then `*out += value`. */
static float loop_sum(const float *x, int64_t n, int lanes) {
    float value;
    if (n >= lanes) {
        int64_t n_vec = n / lanes;
        float partial[MAX_LANES];
        row_sum(x, n_vec, lanes, partial);
        value = 0.0f;
        for (int64_t k = n_vec * lanes; k < n; k++) value = value + x[k];
        for (int k = 0; k < lanes; k++) value = value + partial[k];
    } else {
        row_sum(x, n, 1, &value);
    }
    return 0.0f + value; /* the output was filled with 0 */
}

/* at::parallel_for's split of [0, n) over min(threads, ceil(n / grain)) chunks. */
static int64_t split(int64_t n, int threads, int64_t *chunk) {
    int64_t nt = (n + TORCH_GRAIN - 1) / TORCH_GRAIN;
    if (nt > threads) nt = threads;
    *chunk = (n + nt - 1) / nt;
    return nt;
}

static float torch_sum(const float *x, int64_t n, int threads, int lanes) {
    if (n < TORCH_GRAIN || threads <= 1) return loop_sum(x, n, lanes);
    /* two_pass_reduction: one partial per thread slot, then a sum over all slots. */
    float slots[1024] = {0}; /* threads <= 1024 (ls_lesion_parse) */
    if (threads > 1024) threads = 1024;
    int64_t chunk, nt = split(n, threads, &chunk);
    for (int64_t t = 0; t < nt; t++) {
        int64_t b = t * chunk, e = b + chunk < n ? b + chunk : n;
        if (b < n) slots[t] = loop_sum(x + b, e - b, lanes);
    }
    return loop_sum(slots, threads, lanes);
}

float ls_torch_mean(const float *x, int64_t n, int threads, ls_torch_kernel kernel) {
    float s = torch_sum(x, n, threads, lanes_of(kernel));
    return s / (float)n; /* sum_out(...).div_(n) */
}

/* std_var_all_cpu: sum of (x - mean)^2 in double (not vectorized), per
 * thread chunk, then the chunks' sums in order. */
float ls_torch_std(const float *x, int64_t n, int threads, ls_torch_kernel kernel) {
    double mean = (double)ls_torch_mean(x, n, threads, kernel);
    double total = 0.0;
    int64_t chunk = n, nt = 1;
    if (n > TORCH_GRAIN && threads > 1) nt = split(n, threads, &chunk);
    for (int64_t t = 0; t < nt; t++) {
        int64_t b = t * chunk, e = b + chunk < n ? b + chunk : n;
        double local = 0.0;
        for (int64_t i = b; i < e; i++) {
            double dx = (double)x[i] - mean;
            local = local + dx * dx;
        }
        total = total + (0.0 + local);
    }
    double var = total / (double)(n - 1);
    return (float)sqrt(var);
}

void ls_torch_gauss(float *x, int64_t n, uint64_t seed, ls_torch_kernel kernel, int threads, float *scratch, float *mean,
                    float *std) {
    ls_torch_gen g;
    ls_torch_gen_seed(&g, seed);
    ls_torch_gauss_stream(x, n, &g, kernel, threads, scratch, mean, std);
}

void ls_torch_gauss_stream(float *x, int64_t n, ls_torch_gen *g, ls_torch_kernel kernel, int threads, float *scratch,
                           float *mean, float *std) {
    float mu = ls_torch_mean(x, n, threads, kernel), sd = ls_torch_std(x, n, threads, kernel);
    randn_from(&g->mt, &g->has_cached, &g->cached, scratch, n, kernel);
    for (int64_t i = 0; i < n; i++) {
        float scaled = scratch[i] * sd; /* two float ops, two roundings: torch's mul, then add */
        x[i] = scaled + mu;
    }
    if (mean) *mean = mu;
    if (std) *std = sd;
}
