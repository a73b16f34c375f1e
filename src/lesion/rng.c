/* rng.c: Philox4x32-10 and the machine-independent log, sin and cos that
 * turn its bits into lesion noise (the bit layout is documented in rng.h).
 *
 * Why our own log/sin/cos: libm implementations differ in the last bit
 * between systems, and a lesion with a given seed must write the same
 * bytes everywhere. These use only + - * / and frexp/floor/sqrt, which
 * IEEE 754 defines exactly; the file must not be compiled with FMA
 * contraction (gcc -std=c11 disables it; the pragma covers clang). */
#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif
#include "lesion/rng.h"

#include <math.h>

/* ---- Philox4x32-10 ---------------------------------------------------------- */

enum {
    PHILOX_M0 = 0xD2511F53u, /* round multipliers */
    PHILOX_M1 = 0xCD9E8D57u,
};
#define PHILOX_W0 0x9E3779B9u /* key schedule: golden ratio */
#define PHILOX_W1 0xBB67AE85u /* and sqrt(3) - 1 */

void ls_philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]) {
    uint32_t c0 = ctr[0], c1 = ctr[1], c2 = ctr[2], c3 = ctr[3];
    uint32_t k0 = key[0], k1 = key[1];
    for (int round = 0; round < 10; round++) {
        if (round > 0) k0 += PHILOX_W0, k1 += PHILOX_W1;
        uint64_t p0 = (uint64_t)PHILOX_M0 * c0, p1 = (uint64_t)PHILOX_M1 * c2;
        uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0;
        uint32_t n1 = (uint32_t)p1;
        uint32_t n2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1;
        uint32_t n3 = (uint32_t)p0;
        c0 = n0, c1 = n1, c2 = n2, c3 = n3;
    }
    out[0] = c0, out[1] = c1, out[2] = c2, out[3] = c3;
}

void ls_philox_at(uint64_t seed, ls_tensor_id id, uint64_t i, uint32_t purpose, uint32_t out[4]) {
    const uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
    const uint32_t ctr[4] = {(uint32_t)i, (uint32_t)(i >> 32), (uint32_t)id, purpose};
    ls_philox4x32_10(ctr, key, out);
}

/* 53 random bits from two words: hi's 32 and lo's top 21. */
static uint64_t bits53(uint32_t hi, uint32_t lo) { return ((uint64_t)hi << 21) | (lo >> 11); }

double ls_philox_gauss(uint64_t seed, ls_tensor_id id, uint64_t i) {
    uint32_t w[4];
    ls_philox_at(seed, id, i >> 1, LS_PURPOSE_GAUSS, w);
    double u1 = (double)(bits53(w[0], w[1]) + 1) * 0x1p-53; /* (0, 1]: log is finite */
    double u2 = (double)bits53(w[2], w[3]) * 0x1p-53;       /* [0, 1) */
    double r = sqrt(-2.0 * ls_det_log(u1));
    double s, c;
    ls_det_sincos_turns(u2, &s, &c);
    return (i & 1) ? r * s : r * c;
}

double ls_philox_uniform(uint64_t seed, ls_tensor_id id, uint64_t i) {
    uint32_t w[4];
    ls_philox_at(seed, id, i >> 1, LS_PURPOSE_UNIFORM, w);
    uint64_t b = (i & 1) ? bits53(w[2], w[3]) : bits53(w[0], w[1]);
    return (double)b * 0x1p-53;
}

/* High 64 bits of the 128-bit product a * b. */
static uint64_t mulhi64(uint64_t a, uint64_t b) {
    uint64_t a_lo = (uint32_t)a, a_hi = a >> 32, b_lo = (uint32_t)b, b_hi = b >> 32;
    uint64_t p0 = a_lo * b_lo, p1 = a_lo * b_hi, p2 = a_hi * b_lo, p3 = a_hi * b_hi;
    uint64_t mid = (p0 >> 32) + (uint32_t)p1 + (uint32_t)p2;
    return p3 + (p1 >> 32) + (p2 >> 32) + (mid >> 32);
}

uint64_t ls_philox_below(uint64_t seed, ls_tensor_id id, uint64_t i, uint64_t bound) {
    uint32_t w[4];
    ls_philox_at(seed, id, i, LS_PURPOSE_SHUFFLE, w);
    return mulhi64(((uint64_t)w[0] << 32) | w[1], bound);
}

/* ---- deterministic log, sin, cos ---------------------------------------------- */

/* ln 2 split so that e * LN2_HI is exact for |e| < 2^11 (fdlibm's constants). */
#define LN2_HI 6.93147180369123816490e-01
#define LN2_LO 1.90821492927058770002e-10

double ls_det_log(double x) {
    int e;
    double m = frexp(x, &e); /* x = m 2^e, m in [0.5, 1) */
    if (m < 0.70710678118654752440) {
        m = m * 2.0;
        e = e - 1;
    } /* m in [sqrt(1/2), sqrt(2)) */
    /* ln m = 2 atanh(s), s = (m-1)/(m+1), |s| < 0.1716: the series to s^23
     * leaves an error below 1e-19. m - 1 is exact (Sterbenz). */
    double s = (m - 1.0) / (m + 1.0);
    double s2 = s * s;
    double p = 1.0 / 23.0;
    p = p * s2 + 1.0 / 21.0;
    p = p * s2 + 1.0 / 19.0;
    p = p * s2 + 1.0 / 17.0;
    p = p * s2 + 1.0 / 15.0;
    p = p * s2 + 1.0 / 13.0;
    p = p * s2 + 1.0 / 11.0;
    p = p * s2 + 1.0 / 9.0;
    p = p * s2 + 1.0 / 7.0;
    p = p * s2 + 1.0 / 5.0;
    p = p * s2 + 1.0 / 3.0;
    double ln_m = 2.0 * s + 2.0 * s * (s2 * p);
    double de = (double)e;
    return de * LN2_HI + (de * LN2_LO + ln_m);
}

#define TWO_PI 6.28318530717958647693

void ls_det_sincos_turns(double u, double *s_out, double *c_out) {
    /* 2 pi u = q pi/2 + t: q the nearest quarter turn, |t| <= pi/4. u - q/4
     * is exact (both are multiples of 2^-53 and the result is small). */
    double q = floor(u * 4.0 + 0.5);
    double f = u - q * 0.25;
    double t = f * TWO_PI;
    double t2 = t * t;
    /* Taylor series to t^17 (sin) and t^18 (cos): error below 1e-17 on |t| <= pi/4. */
    double ps = 1.0 / 355687428096000.0;              /* +1/17! */
    ps = ps * t2 - 1.0 / 1307674368000.0;             /* -1/15! */
    ps = ps * t2 + 1.0 / 6227020800.0;                /* +1/13! */
    ps = ps * t2 - 1.0 / 39916800.0;                  /* -1/11! */
    ps = ps * t2 + 1.0 / 362880.0;                    /* +1/9! */
    ps = ps * t2 - 1.0 / 5040.0;                      /* -1/7! */
    ps = ps * t2 + 1.0 / 120.0;                       /* +1/5! */
    ps = ps * t2 - 1.0 / 6.0;                         /* -1/3! */
    double sn = t + t * (t2 * ps);
    double pc = 1.0 / 6402373705728000.0;             /* +1/18! */
    pc = pc * t2 - 1.0 / 20922789888000.0;            /* -1/16! */
    pc = pc * t2 + 1.0 / 87178291200.0;               /* +1/14! */
    pc = pc * t2 - 1.0 / 479001600.0;                 /* -1/12! */
    pc = pc * t2 + 1.0 / 3628800.0;                   /* +1/10! */
    pc = pc * t2 - 1.0 / 40320.0;                     /* -1/8! */
    pc = pc * t2 + 1.0 / 720.0;                       /* +1/6! */
    pc = pc * t2 - 1.0 / 24.0;                        /* -1/4! */
    pc = pc * t2 + 0.5;                               /* +1/2! with the sign below */
    double cs = 1.0 - t2 * pc;
    switch ((int)q & 3) {
    case 0: *s_out = sn, *c_out = cs; break;
    case 1: *s_out = cs, *c_out = -sn; break;
    case 2: *s_out = -sn, *c_out = -cs; break;
    default: *s_out = -cs, *c_out = sn; break;
    }
}
