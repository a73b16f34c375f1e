/* rng.h: the lesion layer's random numbers (internal to src/lesion and its tests).
 *
 * Two generators live here:
 *
 * 1. Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as
 *    1, 2, 3", SC 2011), counter-based: the output is a pure function of
 *    (key, counter), so any element's noise can be computed alone, in any
 *    order, on any thread. The lesion layer uses
 *        key     = (seed & 0xffffffff, seed >> 32)
 *        counter = (i & 0xffffffff, i >> 32, tensor id, purpose)
 *    and turns the four output words w0..w3 into numbers like this:
 *      gauss   (purpose 1) elements 2k and 2k+1 of a tensor share counter
 *              i = k: a = w0<<21 | w1>>11, b = w2<<21 | w3>>11 (53 bits each),
 *              u1 = (a + 1) / 2^53 in (0,1], u2 = b / 2^53 in [0,1),
 *              r = sqrt(-2 ln u1); element 2k gets r cos(2 pi u2), 2k+1 gets
 *              r sin(2 pi u2) (Box-Muller);
 *      uniform (purpose 2) elements 2k and 2k+1 share counter i = k:
 *              2k takes u = (w0<<21 | w1>>11) / 2^53, 2k+1 takes
 *              u = (w2<<21 | w3>>11) / 2^53, both in [0,1);
 *      shuffle (purpose 3) Fisher-Yates over the group's elements in
 *              block order (row-major within each block): for k = n-1 down
 *              to 1, swap element k with element j = floor(x (k+1) / 2^64),
 *              x = w0<<32 | w1 at counter i = the flat index of element k
 *              (sequential, but still a function of the seed and the
 *              elements' positions only; bias below 2^-32).
 *    ln, cos and sin are ls_det_log / ls_det_sincos_turns below: built from
 *    + - * / only (correctly rounded in IEEE 754, no contraction in this
 *    code), hence the same bits on every machine, unlike libm.
 *
 * 2. PyTorch 1.13's CPU generator (torch_rng.c): mt19937 seeded with the
 *    low 32 bits of the seed, torch.randn's two kernels, and torch's own
 *    float32 mean and std, so a lesion can reproduce a torch script exactly.
 */
#ifndef LESION_SRC_LESION_RNG_H
#define LESION_SRC_LESION_RNG_H
#include <lesion.h>

/* ---- Philox4x32-10 ------------------------------------------------------ */

void ls_philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]);

enum { LS_PURPOSE_GAUSS = 1, LS_PURPOSE_UNIFORM = 2, LS_PURPOSE_SHUFFLE = 3 };

/* The four words at (seed, tensor, i, purpose) as described above. */
void ls_philox_at(uint64_t seed, ls_tensor_id id, uint64_t i, uint32_t purpose, uint32_t out[4]);

/* Standard normal for element i of tensor id (Box-Muller, see above). */
double ls_philox_gauss(uint64_t seed, ls_tensor_id id, uint64_t i);
/* Uniform [0,1) for element i of tensor id. */
double ls_philox_uniform(uint64_t seed, ls_tensor_id id, uint64_t i);
/* Uniform integer in [0, bound) from counter i (purpose shuffle); bound >= 1. */
uint64_t ls_philox_below(uint64_t seed, ls_tensor_id id, uint64_t i, uint64_t bound);

/* Natural log of x in (0, +inf), finite; within 2 ulp of the true value. */
double ls_det_log(double x);
/* sin and cos of 2 pi u for u in [0, 1); within 2 ulp (absolute 2^-52). */
void ls_det_sincos_turns(double u, double *s, double *c);

/* ---- PyTorch 1.13 CPU generator (torch_rng.c) ------------------------------ */

/* Which of torch's CPU kernels to emulate (its ATEN_CPU_CAPABILITY). */
typedef enum ls_torch_kernel {
    LS_TORCH_AVX2,    /* x86-64 with AVX2: what 1.13 picks on nearly every PC */
    LS_TORCH_AVX512,  /* capability AVX512: randn as AVX2, sums in 16-lane vectors */
    LS_TORCH_DEFAULT, /* no AVX2 (other CPUs, or ATEN_CPU_CAPABILITY=default) */
} ls_torch_kernel;

/* torch.manual_seed(seed); out = torch.randn(n) for a float32 tensor. n >= 1. */
void ls_torch_randn(float *out, int64_t n, uint64_t seed, ls_torch_kernel kernel);

/* torch's float32 x.mean() and x.std() of a contiguous float32 tensor of n
 * elements, computed as torch 1.13 does with `threads` intra-op threads. */
float ls_torch_mean(const float *x, int64_t n, int threads, ls_torch_kernel kernel);
float ls_torch_std(const float *x, int64_t n, int threads, ls_torch_kernel kernel);

/* Overwrites x (n >= 2 contiguous elements, the slice) with
 *   torch.manual_seed(seed); torch.randn(n) * x.std() + x.mean()
 * in float32, as torch does it; scratch holds n floats. *mean and *std
 * (may be NULL) get torch's statistics. */
void ls_torch_gauss(float *x, int64_t n, uint64_t seed, ls_torch_kernel kernel, int threads, float *scratch, float *mean,
                    float *std);

/* A torch generator that lives across slices (rng torch-stream): seeded
 * once, as a notebook calls torch.manual_seed once before its loop, then
 * each slice draws the next numbers of the same stream. */
typedef struct ls_torch_gen ls_torch_gen;
ls_torch_gen *ls_torch_gen_new(void); /* NULL when out of memory */
void ls_torch_gen_free(ls_torch_gen *g);
void ls_torch_gen_seed(ls_torch_gen *g, uint64_t seed); /* torch.manual_seed(seed) */
/* As ls_torch_gauss, drawing from g without reseeding it. */
void ls_torch_gauss_stream(float *x, int64_t n, ls_torch_gen *g, ls_torch_kernel kernel, int threads, float *scratch,
                           float *mean, float *std);

#endif
