/*
 * field: the slower field operations (see field.h for the field itself).
 *
 * Inversion uses Fermat's little theorem, a^(p-2), rather than the extended
 * Euclidean algorithm: it is constant-shape, needs no signed arithmetic, and
 * the provers and verifiers here invert in batches (Montgomery's trick), so a
 * single inversion is never on the hot path. Extension inversion goes
 * through the norm: 1 / (a0 + a1 X) = (a0 - a1 X) / (a0^2 - 7 a1^2), the
 * denominator being a nonzero base element whenever a is nonzero because 7 is
 * not a square.
 */
#include "field.h"

uint64_t field_pow(uint64_t a, uint64_t e)
{
    uint64_t r = 1;

    while (e != 0) {
        if (e & 1)
            r = field_mul(r, a);
        a = field_sqr(a);
        e >>= 1;
    }
    return r;
}

uint64_t field_inv(uint64_t a)
{
    return field_pow(a, FIELD_P - 2);
}

uint64_t field_root_of_unity(unsigned log_n)
{
    /* FIELD_GENERATOR has order p - 1, so this power has order 2^log_n. */
    return field_pow(FIELD_GENERATOR, (FIELD_P - 1) >> log_n);
}

int field_batch_inv(uint64_t *out, const uint64_t *in, size_t n, uint64_t *scratch)
{
    uint64_t acc = 1, inv;
    size_t i;

    if (n == 0)
        return 0;
    /* scratch[i] = in[0] * ... * in[i] */
    for (i = 0; i < n; i++) {
        if (in[i] == 0)
            return -1;
        acc = field_mul(acc, in[i]);
        scratch[i] = acc;
    }
    inv = field_inv(acc);
    /* Walk back: inv holds 1 / (in[0] * ... * in[i]). */
    for (i = n - 1; i > 0; i--) {
        uint64_t x = in[i];

        out[i] = field_mul(inv, scratch[i - 1]);
        inv = field_mul(inv, x);
    }
    out[0] = inv;
    return 0;
}

void field_write(uint8_t out[FIELD_BYTES], uint64_t a)
{
    for (int i = 0; i < FIELD_BYTES; i++)
        out[i] = (uint8_t)(a >> (8 * i));
}

int field_read(const uint8_t in[FIELD_BYTES], uint64_t *a)
{
    uint64_t v = 0;

    for (int i = FIELD_BYTES - 1; i >= 0; i--)
        v = (v << 8) | in[i];
    /* One encoding per element: a flipped bit can never mean the same. */
    if (v >= FIELD_P)
        return -1;
    *a = v;
    return 0;
}

struct field_ext field_ext_pow(struct field_ext a, uint64_t e)
{
    struct field_ext r = {1, 0};

    while (e != 0) {
        if (e & 1)
            r = field_ext_mul(r, a);
        a = field_ext_mul(a, a);
        e >>= 1;
    }
    return r;
}

struct field_ext field_ext_inv(struct field_ext a)
{
    uint64_t norm = field_sub(field_sqr(a.c0), field_mul(FIELD_EXT_W, field_sqr(a.c1)));
    uint64_t inv = field_inv(norm);

    return (struct field_ext){field_mul(a.c0, inv), field_neg(field_mul(a.c1, inv))};
}

int field_ext_batch_inv(struct field_ext *out, const struct field_ext *in, size_t n,
                        struct field_ext *scratch)
{
    struct field_ext acc = {1, 0}, inv;
    size_t i;

    if (n == 0)
        return 0;
    for (i = 0; i < n; i++) {
        if (field_ext_is_zero(in[i]))
            return -1;
        acc = field_ext_mul(acc, in[i]);
        scratch[i] = acc;
    }
    inv = field_ext_inv(acc);
    for (i = n - 1; i > 0; i--) {
        struct field_ext x = in[i];

        out[i] = field_ext_mul(inv, scratch[i - 1]);
        inv = field_ext_mul(inv, x);
    }
    out[0] = inv;
    return 0;
}

struct field_ext field_ext_poly_eval(const struct field_ext *coeffs, size_t n, struct field_ext x)
{
    struct field_ext acc = {0, 0};

    while (n-- > 0)
        acc = field_ext_add(field_ext_mul(acc, x), coeffs[n]);
    return acc;
}

struct field_ext field_poly_eval_at_ext(const uint64_t *coeffs, size_t n, struct field_ext x)
{
    struct field_ext acc = {0, 0};

    while (n-- > 0)
        acc = field_ext_add(field_ext_mul(acc, x), field_ext_from_base(coeffs[n]));
    return acc;
}

void field_ext_write(uint8_t out[FIELD_EXT_BYTES], struct field_ext a)
{
    field_write(out, a.c0);
    field_write(out + FIELD_BYTES, a.c1);
}

int field_ext_read(const uint8_t in[FIELD_EXT_BYTES], struct field_ext *a)
{
    struct field_ext v;

    if (field_read(in, &v.c0) != 0 || field_read(in + FIELD_BYTES, &v.c1) != 0)
        return -1;
    *a = v;
    return 0;
}
