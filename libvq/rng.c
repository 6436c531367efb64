/* Deterministic pseudo-random numbers: xoshiro256** seeded by splitmix64.
 * Same seed, same sequence, on every platform. */
#include "config.h"
#include "internal.h"

static uint64_t splitmix64(uint64_t *x) {
  uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

void vq_rng_seed(vq_rng *r, uint64_t seed) {
  int i;
  for (i = 0; i < 4; i++) r->s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t vq_rng_next(vq_rng *r) {
  uint64_t *s = r->s;
  uint64_t result = rotl(s[1] * 5, 7) * 9;
  uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return result;
}

uint64_t vq_rng_below(vq_rng *r, uint64_t n) {
  /* Rejection sampling keeps the draw unbiased for any n. */
  uint64_t limit = UINT64_MAX - UINT64_MAX % n;
  uint64_t v;
  do {
    v = vq_rng_next(r);
  } while (v >= limit);
  return v % n;
}

double vq_rng_double(vq_rng *r) {
  return (double)(vq_rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}
