/*
 * test_util: what every STARK test file shares — cmocka, and a seeded,
 * reproducible random source (splitmix64) so a failing property test can
 * be replayed exactly.
 */
#ifndef STARK_TEST_UTIL_H
#define STARK_TEST_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "field.h"

struct test_rng {
    uint64_t s;
};

static inline uint64_t test_rng_next(struct test_rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Uniform below p, by rejection. */
static inline uint64_t test_rng_field(struct test_rng *r)
{
    for (;;) {
        uint64_t v = test_rng_next(r);

        if (v < FIELD_P)
            return v;
    }
}

static inline struct field_ext test_rng_ext(struct test_rng *r)
{
    struct field_ext e;

    e.c0 = test_rng_field(r);
    e.c1 = test_rng_field(r);
    return e;
}

#endif
