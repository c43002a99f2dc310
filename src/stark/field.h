/*
 * field: arithmetic in Goldilocks, p = 2^64 - 2^32 + 1, and in its quadratic
 * extension F_p[X]/(X^2 - 7).
 *
 * Why Goldilocks: an element fits one machine word, a product fits one
 * 128-bit multiply, and p - 1 = 2^32 * 3 * 5 * 17 * 257 * 65537 has a large
 * power of two, so NTTs of every size up to 2^32 exist. The special form of p
 * gives a reduction of a 128-bit product with a few adds and shifts, because
 * 2^64 = 2^32 - 1 and 2^96 = -1 (mod p): no division, no Montgomery form, and
 * elements stay in plain canonical form [0, p) everywhere, which keeps
 * serialisation and equality trivial.
 *
 * Why an extension: random challenges drawn from a 64-bit field would give at
 * most ~64 bits against the out-of-domain and FRI folding checks, whose error
 * grows with the domain size. Challenges, out-of-domain values and everything
 * that depends on them (composition, DEEP and FRI polynomials) live in
 * F_p^2 (~128 bits). X^2 - 7 is irreducible because 7 is a quadratic
 * non-residue mod p (tests check Euler's criterion); the trace itself stays in
 * the base field.
 *
 * The small, hot operations are static inline here; exponentiation, inversion
 * and batch inversion live in field.c.
 */
#ifndef STARK_FIELD_H
#define STARK_FIELD_H

#include <stddef.h>
#include <stdint.h>

#define FIELD_P 0xffffffff00000001ull
/* 2^64 mod p = 2^32 - 1: what a carry out of 64 bits is worth. */
#define FIELD_EPSILON 0xffffffffull
/* A generator of the whole multiplicative group; also the coset offset. */
#define FIELD_GENERATOR 7ull
/* The largest power of two dividing p - 1. */
#define FIELD_TWO_ADICITY 32
/* The extension's non-residue: X^2 = FIELD_EXT_W. */
#define FIELD_EXT_W 7ull
/* Bytes of one encoded element (little-endian, canonical). */
#define FIELD_BYTES     8
#define FIELD_EXT_BYTES 16

struct field_ext {
    uint64_t c0, c1; /* c0 + c1 * X */
};

/*
 * Base field. Inputs and outputs are canonical (< p).
 *
 * The corrections below are computed with masks, not branches: for random
 * elements a + b overflows 2^64 half the time, and a mispredicted branch
 * costs more than the whole operation (measured: an NTT butterfly went from
 * 12 ns to 3 ns). field_mask(c) is all ones when c is 1, zero when 0.
 */

static inline uint64_t field_mask(uint64_t c)
{
    return (uint64_t)0 - c;
}

/* s < 2^64 -> s mod p, given s < 2p. */
static inline uint64_t field_canonical(uint64_t s)
{
    uint64_t r;
    uint64_t below = __builtin_sub_overflow(s, FIELD_P, &r);

    return r + (field_mask(below) & FIELD_P);
}

static inline uint64_t field_add(uint64_t a, uint64_t b)
{
    uint64_t s;
    uint64_t carry = __builtin_add_overflow(a, b, &s);

    /* A carry is worth 2^64 = EPSILON; a + b - p then is < p already. */
    return field_canonical(s + (field_mask(carry) & FIELD_EPSILON));
}

static inline uint64_t field_sub(uint64_t a, uint64_t b)
{
    uint64_t d;
    uint64_t borrow = __builtin_sub_overflow(a, b, &d);

    /* A borrow added 2^64; taking EPSILON back leaves a - b + p. */
    return d - (field_mask(borrow) & FIELD_EPSILON);
}

static inline uint64_t field_neg(uint64_t a)
{
    return field_sub(0, a);
}

/*
 * Reduces x < 2^128. Write x = lo + 2^64 * (hl + 2^32 * hh) with hl, hh
 * 32-bit: then x = lo - hh + hl * (2^32 - 1) (mod p), since 2^96 = -1 and
 * 2^64 = 2^32 - 1. Each correction step below cannot overflow again: hh and
 * hl * (2^32 - 1) are both far below 2^64 - 2^32.
 */
static inline uint64_t field_reduce128(unsigned __int128 x)
{
    uint64_t lo = (uint64_t)x;
    uint64_t hi = (uint64_t)(x >> 64);
    uint64_t hh = hi >> 32;
    uint64_t hl = hi & FIELD_EPSILON;
    uint64_t t0, t1, t2;
    uint64_t borrow = __builtin_sub_overflow(lo, hh, &t0);
    uint64_t carry;

    t0 -= field_mask(borrow) & FIELD_EPSILON;
    t1 = hl * FIELD_EPSILON;
    carry = __builtin_add_overflow(t0, t1, &t2);
    return field_canonical(t2 + (field_mask(carry) & FIELD_EPSILON));
}

static inline uint64_t field_mul(uint64_t a, uint64_t b)
{
    return field_reduce128((unsigned __int128)a * b);
}

static inline uint64_t field_sqr(uint64_t a)
{
    return field_mul(a, a);
}

uint64_t field_pow(uint64_t a, uint64_t e);
/* a must be nonzero; the inverse of 0 is returned as 0. */
uint64_t field_inv(uint64_t a);
/* A primitive 2^log_n-th root of unity, log_n <= FIELD_TWO_ADICITY. */
uint64_t field_root_of_unity(unsigned log_n);

/*
 * out[i] = 1 / in[i] with one inversion and 3(n - 1) multiplications
 * (Montgomery's trick). Every input must be nonzero; returns -1 otherwise.
 * out may alias in; scratch needs n elements.
 */
int field_batch_inv(uint64_t *out, const uint64_t *in, size_t n, uint64_t *scratch);

/* Little-endian encoding; decoding rejects non-canonical values. */
void field_write(uint8_t out[FIELD_BYTES], uint64_t a);
int field_read(const uint8_t in[FIELD_BYTES], uint64_t *a);

/* Extension field F_p[X]/(X^2 - 7). */

static inline struct field_ext field_ext_from_base(uint64_t a)
{
    return (struct field_ext){a, 0};
}

static inline struct field_ext field_ext_add(struct field_ext a, struct field_ext b)
{
    return (struct field_ext){field_add(a.c0, b.c0), field_add(a.c1, b.c1)};
}

static inline struct field_ext field_ext_sub(struct field_ext a, struct field_ext b)
{
    return (struct field_ext){field_sub(a.c0, b.c0), field_sub(a.c1, b.c1)};
}

static inline struct field_ext field_ext_mul(struct field_ext a, struct field_ext b)
{
    uint64_t a0b0 = field_mul(a.c0, b.c0);
    uint64_t a1b1 = field_mul(a.c1, b.c1);
    uint64_t cross = field_add(field_mul(a.c0, b.c1), field_mul(a.c1, b.c0));

    return (struct field_ext){field_add(a0b0, field_mul(a1b1, FIELD_EXT_W)), cross};
}

/* Multiplication by a base-field element: two base products. */
static inline struct field_ext field_ext_scale(struct field_ext a, uint64_t b)
{
    return (struct field_ext){field_mul(a.c0, b), field_mul(a.c1, b)};
}

static inline int field_ext_eq(struct field_ext a, struct field_ext b)
{
    return a.c0 == b.c0 && a.c1 == b.c1;
}

static inline int field_ext_is_zero(struct field_ext a)
{
    return a.c0 == 0 && a.c1 == 0;
}

struct field_ext field_ext_pow(struct field_ext a, uint64_t e);
/* a must be nonzero; the inverse of 0 is returned as 0. */
struct field_ext field_ext_inv(struct field_ext a);
/* As field_batch_inv, over the extension. */
int field_ext_batch_inv(struct field_ext *out, const struct field_ext *in, size_t n,
                        struct field_ext *scratch);
/* Evaluates sum coeffs[i] * x^i by Horner's rule. */
struct field_ext field_ext_poly_eval(const struct field_ext *coeffs, size_t n, struct field_ext x);
/* The same, for a polynomial with base-field coefficients. */
struct field_ext field_poly_eval_at_ext(const uint64_t *coeffs, size_t n, struct field_ext x);

void field_ext_write(uint8_t out[FIELD_EXT_BYTES], struct field_ext a);
int field_ext_read(const uint8_t in[FIELD_EXT_BYTES], struct field_ext *a);

#endif
