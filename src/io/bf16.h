/* bf16.h: bfloat16, the upper half of an IEEE fp32.
 *
 * Widening is exact (a shift); narrowing rounds to nearest even, as
 * PyTorch's .to(torch.bfloat16) does, and keeps NaNs NaN. Shared by the
 * safetensors reader and writer, the model's 16-bit weight storage and the
 * matmul kernels that widen bf16 weights on the fly. */
#ifndef LESION_IO_BF16_H
#define LESION_IO_BF16_H

#include <stdint.h>
#include <string.h>

static inline float ls_bf16_to_f32(uint16_t h) {
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static inline uint16_t ls_f32_to_bf16(float x) {
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40); /* quiet NaN */
    u += 0x7fffu + ((u >> 16) & 1u);                                          /* round to nearest even */
    return (uint16_t)(u >> 16);
}

#endif
