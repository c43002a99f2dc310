/*
 * test_ntt: the transforms against a naive O(n^2) DFT and against direct
 * polynomial evaluation, for base and extension arrays.
 */
#include "test_util.h"

#include <stdlib.h>
#include <string.h>

#include "ntt.h"

/* out[i] = sum_k a[k] * (offset * omega^i)^k, the definition. */
static void naive_coset_eval(const uint64_t *a, size_t n_coeffs, uint64_t *out, unsigned log_n,
                             uint64_t offset)
{
    size_t n = (size_t)1 << log_n;
    uint64_t w = field_root_of_unity(log_n), x = offset;

    for (size_t i = 0; i < n; i++) {
        uint64_t acc = 0;

        for (size_t k = n_coeffs; k-- > 0;)
            acc = field_add(field_mul(acc, x), a[k]);
        out[i] = acc;
        x = field_mul(x, w);
    }
}

static void test_forward_matches_naive_dft(void **state)
{
    struct test_rng r = {10};
    struct ntt_plan *plan = ntt_plan_new(10);
    uint64_t a[1024], want[1024];

    (void)state;
    assert_non_null(plan);
    for (unsigned log_n = 0; log_n <= 10; log_n++) {
        size_t n = (size_t)1 << log_n;

        for (size_t i = 0; i < n; i++)
            a[i] = test_rng_field(&r);
        naive_coset_eval(a, n, want, log_n, 1);
        ntt_forward(plan, a, log_n, 1);
        assert_memory_equal(a, want, n * sizeof(uint64_t));
    }
    ntt_plan_free(plan);
}

static void test_strided_forward_transforms_one_component(void **state)
{
    struct test_rng r = {11};
    struct ntt_plan *plan = ntt_plan_new(8);
    uint64_t a[512], c0[256], c1[256];

    (void)state;
    for (size_t i = 0; i < 512; i++)
        a[i] = test_rng_field(&r);
    for (size_t i = 0; i < 256; i++) {
        c0[i] = a[2 * i];
        c1[i] = a[2 * i + 1];
    }
    ntt_forward(plan, a, 8, 2);
    ntt_forward(plan, c0, 8, 1);
    for (size_t i = 0; i < 256; i++) {
        assert_int_equal(a[2 * i], c0[i]);
        assert_int_equal(a[2 * i + 1], c1[i]); /* untouched */
    }
    ntt_plan_free(plan);
}

static void test_inverse_undoes_forward_up_to_2_16(void **state)
{
    struct test_rng r = {12};
    unsigned max_log = 16;
    struct ntt_plan *plan = ntt_plan_new(max_log);
    uint64_t *a = malloc(sizeof(uint64_t) << max_log);
    uint64_t *orig = malloc(sizeof(uint64_t) << max_log);

    (void)state;
    for (unsigned log_n = 0; log_n <= max_log; log_n += 4) {
        size_t n = (size_t)1 << log_n;

        for (size_t i = 0; i < n; i++)
            orig[i] = a[i] = test_rng_field(&r);
        ntt_forward(plan, a, log_n, 1);
        if (n > 1)
            assert_memory_not_equal(a, orig, n * sizeof(uint64_t));
        ntt_inverse(plan, a, log_n, 1);
        assert_memory_equal(a, orig, n * sizeof(uint64_t));
    }
    free(a);
    free(orig);
    ntt_plan_free(plan);
}

static void test_coset_evaluate_is_low_degree_extension(void **state)
{
    struct test_rng r = {13};
    struct ntt_plan *plan = ntt_plan_new(9);
    uint64_t coeffs[64], out[512], want[512];

    (void)state;
    for (size_t i = 0; i < 64; i++)
        coeffs[i] = test_rng_field(&r);
    /* 64 coefficients on 512 points of the coset 7 * <omega_512>. */
    ntt_coset_evaluate(plan, coeffs, 64, out, 9, FIELD_GENERATOR, 1);
    naive_coset_eval(coeffs, 64, want, 9, FIELD_GENERATOR);
    assert_memory_equal(out, want, sizeof(out));
    /* Interpolating the 512 values gives the 64 coefficients, then zeros. */
    ntt_coset_interpolate(plan, out, 9, FIELD_GENERATOR, 1);
    assert_memory_equal(out, coeffs, sizeof(coeffs));
    for (size_t i = 64; i < 512; i++)
        assert_int_equal(out[i], 0);
    ntt_plan_free(plan);
}

static void test_extension_coset_round_trip(void **state)
{
    struct test_rng r = {14};
    struct ntt_plan *plan = ntt_plan_new(7);
    struct field_ext coeffs[32], out[128];
    uint64_t w = field_root_of_unity(7), x = 3;

    (void)state;
    for (size_t i = 0; i < 32; i++)
        coeffs[i] = test_rng_ext(&r);
    ntt_coset_evaluate_ext(plan, coeffs, 32, out, 7, 3);
    for (size_t i = 0; i < 128; i++) {
        assert_true(field_ext_eq(out[i], field_ext_poly_eval(coeffs, 32, field_ext_from_base(x))));
        x = field_mul(x, w);
    }
    ntt_coset_interpolate_ext(plan, out, 7, 3);
    assert_memory_equal(out, coeffs, sizeof(coeffs));
    ntt_plan_free(plan);
}

static void test_plan_rejects_sizes_beyond_the_field(void **state)
{
    (void)state;
    assert_null(ntt_plan_new(FIELD_TWO_ADICITY + 1));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_forward_matches_naive_dft),
            cmocka_unit_test(test_strided_forward_transforms_one_component),
            cmocka_unit_test(test_inverse_undoes_forward_up_to_2_16),
            cmocka_unit_test(test_coset_evaluate_is_low_degree_extension),
            cmocka_unit_test(test_extension_coset_round_trip),
            cmocka_unit_test(test_plan_rejects_sizes_beyond_the_field),
    };

    return cmocka_run_group_tests_name("stark ntt", tests, NULL, NULL);
}
