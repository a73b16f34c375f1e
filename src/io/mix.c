/* mix.c: a stateless 64-bit hash of (seed, counter).
 *
 * Sampling and random initialisation draw their randomness from this rather
 * than from a running generator, so a draw depends only on its seed and its
 * index, never on thread count or on what else ran before. (Lesion noise
 * uses Philox, src/lesion/, which has published test vectors.) */
#include <lesion.h>

uint64_t ls_mix64(uint64_t seed, uint64_t counter) {
    uint64_t z = seed + 0x9e3779b97f4a7c15ull * (counter + 1);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
