/*
 * test_field: Goldilocks and its quadratic extension against slow
 * references computed with unsigned __int128 and the % operator.
 */
#include "test_util.h"

#include <string.h>

#include "field.h"

static const unsigned __int128 P = FIELD_P;

static uint64_t ref_add(uint64_t a, uint64_t b)
{
    return (uint64_t)(((unsigned __int128)a + b) % P);
}

static uint64_t ref_sub(uint64_t a, uint64_t b)
{
    return (uint64_t)(((unsigned __int128)a + P - b) % P);
}

static uint64_t ref_mul(uint64_t a, uint64_t b)
{
    return (uint64_t)(((unsigned __int128)a * b) % P);
}

static uint64_t ref_pow(uint64_t a, uint64_t e)
{
    uint64_t r = 1;

    for (; e != 0; e >>= 1, a = ref_mul(a, a))
        if (e & 1)
            r = ref_mul(r, a);
    return r;
}

/* Values around every boundary the reduction cares about. */
static const uint64_t edge[] = {
        0,
        1,
        2,
        0xffffffffull,
        0x100000000ull,
        0x100000001ull,
        0x7fffffffffffffffull,
        0x8000000000000000ull,
        FIELD_P - 1,
        FIELD_P - 2,
        FIELD_P - 0xffffffffull,
        0xfffffffe00000002ull,
        0xfffffffeffffffffull,
};
#define N_EDGE (sizeof(edge) / sizeof(edge[0]))

static void test_base_ops_match_reference_on_edge_values(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_EDGE; i++) {
        for (size_t j = 0; j < N_EDGE; j++) {
            uint64_t a = edge[i], b = edge[j];

            assert_int_equal(field_add(a, b), ref_add(a, b));
            assert_int_equal(field_sub(a, b), ref_sub(a, b));
            assert_int_equal(field_mul(a, b), ref_mul(a, b));
        }
        assert_int_equal(field_neg(edge[i]), ref_sub(0, edge[i]));
    }
}

static void test_base_ops_match_reference_on_random_values(void **state)
{
    struct test_rng r = {1};

    (void)state;
    for (int i = 0; i < 200000; i++) {
        uint64_t a = test_rng_field(&r), b = test_rng_field(&r);

        assert_int_equal(field_add(a, b), ref_add(a, b));
        assert_int_equal(field_sub(a, b), ref_sub(a, b));
        assert_int_equal(field_mul(a, b), ref_mul(a, b));
    }
}

static void test_reduce128_matches_reference_on_any_128_bit_value(void **state)
{
    struct test_rng r = {2};

    (void)state;
    for (int i = 0; i < 100000; i++) {
        unsigned __int128 x = ((unsigned __int128)test_rng_next(&r) << 64) | test_rng_next(&r);

        assert_int_equal(field_reduce128(x), (uint64_t)(x % P));
    }
    assert_int_equal(field_reduce128(~(unsigned __int128)0), (uint64_t)(~(unsigned __int128)0 % P));
}

static void test_pow_and_inverse(void **state)
{
    struct test_rng r = {3};

    (void)state;
    assert_int_equal(field_inv(0), 0);
    assert_int_equal(field_inv(1), 1);
    for (int i = 0; i < 2000; i++) {
        uint64_t a = test_rng_field(&r), e = test_rng_next(&r);

        assert_int_equal(field_pow(a, e), ref_pow(a, e));
        if (a != 0)
            assert_int_equal(field_mul(a, field_inv(a)), 1);
    }
}

static void test_batch_inverse_matches_single_inverses(void **state)
{
    struct test_rng r = {4};
    uint64_t in[257], out[257], scratch[257];
    struct field_ext ein[33], eout[33], escratch[33];

    (void)state;
    for (size_t i = 0; i < 257; i++)
        in[i] = test_rng_field(&r) | 1;
    assert_int_equal(field_batch_inv(out, in, 257, scratch), 0);
    for (size_t i = 0; i < 257; i++)
        assert_int_equal(out[i], field_inv(in[i]));
    /* In place, as the prover uses it. */
    assert_int_equal(field_batch_inv(in, in, 257, scratch), 0);
    assert_memory_equal(in, out, sizeof(out));
    in[100] = 0;
    assert_int_equal(field_batch_inv(out, in, 257, scratch), -1);

    for (size_t i = 0; i < 33; i++)
        ein[i] = test_rng_ext(&r);
    assert_int_equal(field_ext_batch_inv(eout, ein, 33, escratch), 0);
    for (size_t i = 0; i < 33; i++)
        assert_true(field_ext_eq(eout[i], field_ext_inv(ein[i])));
}

static void test_generator_and_roots_of_unity(void **state)
{
    (void)state;
    /* 7 generates F_p^*: 7^((p-1)/q) != 1 for each prime q | p - 1. */
    static const uint64_t q[] = {2, 3, 5, 17, 257, 65537};

    for (size_t i = 0; i < 6; i++)
        assert_int_not_equal(ref_pow(FIELD_GENERATOR, (FIELD_P - 1) / q[i]), 1);
    for (unsigned k = 1; k <= FIELD_TWO_ADICITY; k++) {
        uint64_t w = field_root_of_unity(k);

        /* Order exactly 2^k. */
        assert_int_equal(ref_pow(w, 1ull << (k - 1)), FIELD_P - 1);
        assert_int_equal(field_mul(ref_pow(w, 1ull << (k - 1)), ref_pow(w, 1ull << (k - 1))), 1);
    }
    assert_int_equal(field_root_of_unity(0), 1);
}

static void test_encoding_is_canonical(void **state)
{
    uint8_t b[8];
    uint64_t v;

    (void)state;
    field_write(b, FIELD_P - 1);
    assert_int_equal(field_read(b, &v), 0);
    assert_int_equal(v, FIELD_P - 1);
    assert_int_equal(b[0], 0x00);
    assert_int_equal(b[7], 0xff);
    memset(b, 0xff, sizeof(b));
    assert_int_equal(field_read(b, &v), -1);
    field_write(b, 0);
    b[0] = 0x01, b[4] = 0xff, b[5] = 0xff, b[6] = 0xff, b[7] = 0xff; /* p */
    assert_int_equal(field_read(b, &v), -1);
}

/* (a0 + a1 X)(b0 + b1 X) with X^2 = 7, schoolbook with %. */
static struct field_ext ref_ext_mul(struct field_ext a, struct field_ext b)
{
    struct field_ext c;

    c.c0 = ref_add(ref_mul(a.c0, b.c0), ref_mul(7, ref_mul(a.c1, b.c1)));
    c.c1 = ref_add(ref_mul(a.c0, b.c1), ref_mul(a.c1, b.c0));
    return c;
}

static void test_extension_is_a_field(void **state)
{
    struct test_rng r = {5};
    struct field_ext one = {1, 0};

    (void)state;
    /* X^2 - 7 is irreducible: 7 is not a square (Euler's criterion). */
    assert_int_equal(ref_pow(FIELD_EXT_W, (FIELD_P - 1) / 2), FIELD_P - 1);
    for (int i = 0; i < 20000; i++) {
        struct field_ext a = test_rng_ext(&r), b = test_rng_ext(&r);
        struct field_ext c = test_rng_ext(&r);

        assert_true(field_ext_eq(field_ext_mul(a, b), ref_ext_mul(a, b)));
        assert_true(field_ext_eq(field_ext_mul(a, field_ext_add(b, c)),
                                 field_ext_add(field_ext_mul(a, b), field_ext_mul(a, c))));
        assert_true(field_ext_eq(field_ext_sub(field_ext_add(a, b), b), a));
        assert_true(field_ext_eq(field_ext_scale(a, b.c0),
                                 field_ext_mul(a, field_ext_from_base(b.c0))));
        if (!field_ext_is_zero(a))
            assert_true(field_ext_eq(field_ext_mul(a, field_ext_inv(a)), one));
    }
}

static void test_extension_pow_and_polynomials(void **state)
{
    struct test_rng r = {6};
    struct field_ext a = test_rng_ext(&r), acc = {1, 0}, x = test_rng_ext(&r);
    struct field_ext coeffs[5], want = {0, 0}, xp = {1, 0};
    uint64_t base[5];
    uint8_t b[16];
    struct field_ext back;

    (void)state;
    for (int e = 0; e < 100; e++) {
        assert_true(field_ext_eq(field_ext_pow(a, (uint64_t)e), acc));
        acc = field_ext_mul(acc, a);
    }
    /* a^(p^2 - 1) = 1: check via (a^(p-1))^(p+1). */
    assert_true(field_ext_eq(field_ext_pow(field_ext_pow(a, FIELD_P - 1), FIELD_P + 1),
                             (struct field_ext){1, 0}));
    for (int k = 0; k < 5; k++) {
        coeffs[k] = test_rng_ext(&r);
        base[k] = coeffs[k].c0;
        want = field_ext_add(want, field_ext_mul(coeffs[k], xp));
        xp = field_ext_mul(xp, x);
    }
    assert_true(field_ext_eq(field_ext_poly_eval(coeffs, 5, x), want));
    want = (struct field_ext){0, 0};
    xp = (struct field_ext){1, 0};
    for (int k = 0; k < 5; k++) {
        want = field_ext_add(want, field_ext_scale(xp, base[k]));
        xp = field_ext_mul(xp, x);
    }
    assert_true(field_ext_eq(field_poly_eval_at_ext(base, 5, x), want));
    field_ext_write(b, x);
    assert_int_equal(field_ext_read(b, &back), 0);
    assert_true(field_ext_eq(back, x));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_base_ops_match_reference_on_edge_values),
            cmocka_unit_test(test_base_ops_match_reference_on_random_values),
            cmocka_unit_test(test_reduce128_matches_reference_on_any_128_bit_value),
            cmocka_unit_test(test_pow_and_inverse),
            cmocka_unit_test(test_batch_inverse_matches_single_inverses),
            cmocka_unit_test(test_generator_and_roots_of_unity),
            cmocka_unit_test(test_encoding_is_canonical),
            cmocka_unit_test(test_extension_is_a_field),
            cmocka_unit_test(test_extension_pow_and_polynomials),
    };

    return cmocka_run_group_tests_name("stark field", tests, NULL, NULL);
}
