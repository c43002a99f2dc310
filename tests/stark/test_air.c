/*
 * test_air: the hash-chain AIR. The matrix is MDS, the trace satisfies
 * every constraint and ends in the directly computed output, any change to
 * a trace cell breaks a constraint, and the periodic round-constant
 * polynomials agree with the constant table.
 */
#include "test_util.h"

#include <stdlib.h>
#include <string.h>

#include "air.h"

static struct sha256 *h;
static struct air air;

static int setup(void **state)
{
    (void)state;
    h = sha256_new();
    return h == NULL || air_init(&air, h, NULL) != 0;
}

static int teardown(void **state)
{
    (void)state;
    sha256_free(h);
    return 0;
}

/* Determinant mod p of the k x k submatrix on rows/cols given as masks. */
static uint64_t minor_det(unsigned rows, unsigned cols)
{
    unsigned r = 0, sign = 0;
    uint64_t det = 0;

    if (rows == 0)
        return 1;
    while (!(rows & (1u << r)))
        r++;
    /* Laplace expansion along the first remaining row. */
    for (unsigned c = 0; c < AIR_STATE; c++) {
        uint64_t term;

        if (!(cols & (1u << c)))
            continue;
        term = field_mul(air_mds(r, c), minor_det(rows & ~(1u << r), cols & ~(1u << c)));
        det = (sign & 1) ? field_sub(det, term) : field_add(det, term);
        sign++;
    }
    return det;
}

static void test_mds_matrix_has_no_singular_square_submatrix(void **state)
{
    unsigned checked = 0;

    (void)state;
    for (unsigned rows = 1; rows < 16; rows++) {
        for (unsigned cols = 1; cols < 16; cols++) {
            if (__builtin_popcount(rows) != __builtin_popcount(cols))
                continue;
            assert_int_not_equal(minor_det(rows, cols), 0);
            checked++;
        }
    }
    assert_int_equal(checked, 69); /* 16 + 36 + 16 + 1 */
}

static void test_round_constants_are_canonical_and_distinct(void **state)
{
    struct air again;

    (void)state;
    for (unsigned r = 0; r < AIR_PERIOD; r++)
        for (unsigned k = 0; k < AIR_STATE; k++) {
            assert_true(air.rc[r][k] < FIELD_P);
            if (r > 0)
                assert_int_not_equal(air.rc[r][k], air.rc[r - 1][k]);
        }
    assert_int_equal(air_init(&again, h, NULL), 0);
    assert_memory_equal(&again, &air, sizeof(air));
}

static uint64_t *alloc_trace(uint64_t *cols[AIR_WIDTH], unsigned log_steps)
{
    size_t n = (size_t)1 << log_steps;
    uint64_t *buf = malloc(AIR_WIDTH * n * sizeof(uint64_t));

    for (unsigned j = 0; j < AIR_WIDTH; j++)
        cols[j] = buf + j * n;
    return buf;
}

static void test_trace_satisfies_the_air_and_ends_in_the_output(void **state)
{
    struct test_rng r = {30};

    (void)state;
    for (unsigned log_steps = AIR_LOG_STEPS_MIN; log_steps <= 10; log_steps++) {
        uint64_t *cols[AIR_WIDTH], *buf = alloc_trace(cols, log_steps);
        uint64_t x[2] = {test_rng_field(&r), test_rng_field(&r)}, y[2];
        uint64_t s0[AIR_STATE];
        size_t n = (size_t)1 << log_steps;

        air_initial_state(x, s0);
        assert_int_equal(s0[2], 0);
        assert_int_equal(s0[3], 0);
        air_trace(&air, s0, log_steps, cols);
        air_hash(&air, x, log_steps, y);
        assert_int_equal(cols[0][0], x[0]);
        assert_int_equal(cols[1][0], x[1]);
        assert_int_equal(cols[0][n - 1], y[0]);
        assert_int_equal(cols[1][n - 1], y[1]);
        assert_int_equal(air_check_trace(&air, log_steps, cols, y), -1);
        free(buf);
    }
}

static void test_output_depends_on_input_and_length(void **state)
{
    uint64_t x[2] = {1, 2}, y[2], y2[2];

    (void)state;
    air_hash(&air, x, 6, y);
    x[1] = 3;
    air_hash(&air, x, 6, y2);
    assert_true(y[0] != y2[0] && y[1] != y2[1]);
    air_hash(&air, x, 7, y);
    assert_true(y[0] != y2[0] && y[1] != y2[1]);
}

static void test_any_changed_cell_breaks_a_constraint(void **state)
{
    unsigned log_steps = 7;
    size_t n = (size_t)1 << log_steps;
    uint64_t *cols[AIR_WIDTH], *buf = alloc_trace(cols, log_steps);
    uint64_t x[2] = {42, 43}, y[2], s0[AIR_STATE];

    (void)state;
    air_initial_state(x, s0);
    air_trace(&air, s0, log_steps, cols);
    air_hash(&air, x, log_steps, y);
    for (unsigned j = 0; j < AIR_WIDTH; j++) {
        for (size_t i = 0; i < n; i++) {
            uint64_t saved = cols[j][i];
            long bad;

            /* The last row's cubes feed no constraint (no next row). */
            if (j >= AIR_STATE && i == n - 1)
                continue;
            /* Including row 0's s_0, s_1 (the input): the cubes and
             * the next state computed from them no longer match. */
            cols[j][i] = field_add(saved, 1);
            bad = air_check_trace(&air, log_steps, cols, y);
            assert_true(bad >= 0);
            cols[j][i] = saved;
        }
    }
    assert_int_equal(air_check_trace(&air, log_steps, cols, y), -1);
    y[1] ^= 1;
    assert_int_equal(air_check_trace(&air, log_steps, cols, y), (long)(n - 1));
    free(buf);
}

static void test_periodic_columns_interpolate_the_constants(void **state)
{
    unsigned log_steps = 9, log_blowup = 3;
    uint64_t w = field_root_of_unity(log_steps);
    size_t n_lde = (size_t)AIR_PERIOD << log_blowup;
    struct ntt_plan *plan = ntt_plan_new(AIR_LOG_PERIOD + log_blowup);
    uint64_t *lde[AIR_STATE];
    uint64_t w_lde = field_root_of_unity(log_steps + log_blowup);

    (void)state;
    /* On the trace domain, row i reads constant i mod 64. */
    for (size_t i = 0; i < ((size_t)1 << log_steps); i += 7) {
        struct field_ext c[AIR_STATE];

        air_periodic_at(&air, log_steps, field_ext_from_base(field_pow(w, i)), c);
        for (unsigned k = 0; k < AIR_STATE; k++)
            assert_true(field_ext_eq(c[k], field_ext_from_base(air.rc[i % AIR_PERIOD][k])));
    }
    /* On the LDE coset, the prover's table agrees with direct evaluation. */
    for (unsigned k = 0; k < AIR_STATE; k++)
        lde[k] = malloc(n_lde * sizeof(uint64_t));
    air_periodic_lde(&air, plan, log_steps, log_blowup, FIELD_GENERATOR, lde);
    for (size_t i = 0; i < ((size_t)1 << (log_steps + log_blowup)); i += 13) {
        struct field_ext c[AIR_STATE];
        uint64_t xl = field_mul(FIELD_GENERATOR, field_pow(w_lde, i));
        air_periodic_at(&air, log_steps, field_ext_from_base(xl), c);
        for (unsigned k = 0; k < AIR_STATE; k++)
            assert_true(field_ext_eq(c[k], field_ext_from_base(lde[k][i % n_lde])));
    }
    for (unsigned k = 0; k < AIR_STATE; k++)
        free(lde[k]);
    ntt_plan_free(plan);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_mds_matrix_has_no_singular_square_submatrix),
            cmocka_unit_test(test_round_constants_are_canonical_and_distinct),
            cmocka_unit_test(test_trace_satisfies_the_air_and_ends_in_the_output),
            cmocka_unit_test(test_output_depends_on_input_and_length),
            cmocka_unit_test(test_any_changed_cell_breaks_a_constraint),
            cmocka_unit_test(test_periodic_columns_interpolate_the_constants),
    };

    return cmocka_run_group_tests_name("stark air", tests, setup, teardown);
}
