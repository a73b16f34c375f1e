/* fastmath.h: an exp that vectorises, for softmax and GELU.
 *
 * libm's expf is a scalar call in every loop it appears in; this one is
 * straight-line float arithmetic (Cephes' degree-5 polynomial after range
 * reduction by ln 2), which gcc turns into AVX2/AVX-512 code. Relative error
 * is within 2 ulp over the clamped range [-87.3, 88.3]; inputs beyond it
 * saturate (exp(-inf) -> ~1e-38, not 0, which softmax and GELU absorb).
 * No FMA contraction happens under -std=c11, so results do not depend on
 * the vector width the compiler picks. */
#ifndef LESION_KERNELS_FASTMATH_H
#define LESION_KERNELS_FASTMATH_H

#include <stdint.h>
#include <string.h>

static inline float ls_expf(float x) {
    x = x < -87.3f ? -87.3f : x;
    x = x > 88.3f ? 88.3f : x;
    /* n = round(x / ln 2) by the 1.5 * 2^23 shifter: adding it leaves the
     * integer part in the low mantissa bits, rounded to nearest even, with
     * no branch or conversion in the way of the vectoriser (|x / ln 2| < 128). */
    const float shifter = 12582912.0f;
    float nf = (x * 1.44269504088896341f + shifter) - shifter;
    int32_t n = (int32_t)nf;
    float r = x - nf * 0.693359375f;
    r = r - nf * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    int32_t bits = (n + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

#endif
