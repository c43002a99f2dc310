/*
 * test_fri: the low-degree test accepts low-degree polynomials for every
 * folding factor, and rejects functions above the degree bound, far from
 * any low-degree polynomial, or opened inconsistently.
 */
#include "test_util.h"

#include <stdlib.h>
#include <string.h>

#include "fri.h"

#define QUERIES 16

/* One FRI run: prover side, commitment, and the openings of all queries. */
struct run {
    struct fri_config cfg;
    struct fri_commitment com;
    struct fri_opening open[QUERIES][FRI_MAX_LAYERS];
    uint64_t pos[QUERIES];
    struct field_ext value[QUERIES]; /* f at each position */
    int prove_rc;
};

static void run_free(struct run *r)
{
    free(r->com.roots);
    free(r->com.remainder);
    for (int q = 0; q < QUERIES; q++) {
        for (unsigned l = 0; l < r->cfg.layers; l++) {
            free(r->open[q][l].values);
            free(r->open[q][l].path);
        }
    }
}

/*
 * Commits to f given by its 2^log_domain evaluations on 7 * <omega>, claimed
 * of degree < 2^log_degree, and opens QUERIES transcript-drawn positions.
 */
static void run_prove(struct run *r, struct sha256 *h, const struct field_ext *f,
                      unsigned log_domain, unsigned log_degree, unsigned log_fold, unsigned log_rem)
{
    size_t n = (size_t)1 << log_domain;
    struct field_ext *evals = malloc(n * sizeof(*evals));
    struct ntt_plan *plan = ntt_plan_new(log_domain);
    struct fri_prover fp;
    struct transcript t;
    char err[ERROR_MAX];

    memset(r, 0, sizeof(*r));
    assert_int_equal(
            fri_config_init(&r->cfg, log_domain, FIELD_GENERATOR, log_degree, log_fold, log_rem),
            0);
    r->com.roots = calloc(r->cfg.layers + 1, SHA256_LEN);
    r->com.remainder = calloc((size_t)1 << r->cfg.log_remainder, sizeof(struct field_ext));
    memcpy(evals, f, n * sizeof(*evals));
    transcript_init(&t, h, "fri test");
    r->prove_rc = fri_prove(&fp, &r->cfg, evals, h, &t, plan, &r->com, err);
    for (int q = 0; q < QUERIES; q++) {
        r->pos[q] = transcript_draw_index(&t, log_domain);
        r->value[q] = f[r->pos[q]];
        for (unsigned l = 0; l < r->cfg.layers; l++) {
            r->open[q][l].values = calloc((size_t)1 << log_fold, sizeof(struct field_ext));
            r->open[q][l].path = calloc(fri_layer_depth(&r->cfg, l), SHA256_LEN);
        }
        fri_open(&fp, r->pos[q], r->open[q]);
    }
    fri_prover_free(&fp);
    ntt_plan_free(plan);
}

/* Replays the verifier; returns how many queries it accepts. */
static int run_verify(const struct run *r, struct sha256 *h)
{
    struct fri_verifier fv;
    struct transcript t;
    char err[ERROR_MAX];
    int accepted = 0;

    transcript_init(&t, h, "fri test");
    fri_verifier_init(&fv, &r->cfg, &r->com, &t);
    for (int q = 0; q < QUERIES; q++) {
        /* As a verifier does: positions from its own transcript (they
         * differ from the prover's if a commitment was tampered with). */
        uint64_t pos = transcript_draw_index(&t, r->cfg.log_domain);

        if (fri_verify_query(&fv, h, pos, r->value[q], r->open[q], err) == 0)
            accepted++;
    }
    return accepted;
}

/* Evaluations of a random polynomial of degree < 2^log_degree. */
static struct field_ext *random_poly_evals(struct test_rng *rng, unsigned log_domain,
                                           size_t n_coeffs)
{
    size_t n = (size_t)1 << log_domain;
    struct field_ext *coeffs = calloc(n_coeffs, sizeof(*coeffs));
    struct field_ext *f = malloc(n * sizeof(*f));
    struct ntt_plan *plan = ntt_plan_new(log_domain);

    for (size_t k = 0; k < n_coeffs; k++)
        coeffs[k] = test_rng_ext(rng);
    ntt_coset_evaluate_ext(plan, coeffs, n_coeffs, f, log_domain, FIELD_GENERATOR);
    free(coeffs);
    ntt_plan_free(plan);
    return f;
}

static void test_accepts_low_degree_for_every_folding_factor(void **state)
{
    struct sha256 *h = sha256_new();
    struct test_rng rng = {20};

    (void)state;
    for (unsigned log_fold = 1; log_fold <= FRI_MAX_LOG_FOLD; log_fold++) {
        for (unsigned log_degree = 2; log_degree <= 10; log_degree += 4) {
            struct field_ext *f = random_poly_evals(&rng, log_degree + 3, (size_t)1 << log_degree);
            struct run r;

            run_prove(&r, h, f, log_degree + 3, log_degree, log_fold, 2);
            assert_int_equal(r.prove_rc, 0);
            assert_true(r.cfg.log_remainder <= 2);
            assert_int_equal(run_verify(&r, h), QUERIES);
            run_free(&r);
            free(f);
        }
    }
    sha256_free(h);
}

static void test_config_counts_layers_down_to_the_remainder(void **state)
{
    struct fri_config cfg;

    (void)state;
    /* Degree 2^16 folded by 8 down to <= 2^4: 2^13, 2^10, 2^7, 2^4. */
    assert_int_equal(fri_config_init(&cfg, 19, FIELD_GENERATOR, 16, 3, 4), 0);
    assert_int_equal(cfg.layers, 4);
    assert_int_equal(cfg.log_remainder, 4);
    assert_int_equal(fri_layer_depth(&cfg, 0), 16);
    assert_int_equal(fri_layer_depth(&cfg, 3), 7);
    /* 2^6 by 8 down to <= 2^4: one layer, remainder 2^3. */
    assert_int_equal(fri_config_init(&cfg, 9, FIELD_GENERATOR, 6, 3, 4), 0);
    assert_int_equal(cfg.layers, 1);
    assert_int_equal(cfg.log_remainder, 3);
    /* Already small enough: no layer at all, the remainder is f. */
    assert_int_equal(fri_config_init(&cfg, 7, FIELD_GENERATOR, 4, 3, 4), 0);
    assert_int_equal(cfg.layers, 0);
    /* The domain must be larger than the degree. */
    assert_int_equal(fri_config_init(&cfg, 8, FIELD_GENERATOR, 8, 3, 4), -1);
    assert_int_equal(fri_config_init(&cfg, 10, FIELD_GENERATOR, 6, 5, 4), -1);
    /* Blowup 2 folded by 16 past the end of the domain. */
    assert_int_equal(fri_config_init(&cfg, 7, FIELD_GENERATOR, 6, 4, 1), -1);
}

static void test_rejects_degree_just_above_the_bound(void **state)
{
    struct sha256 *h = sha256_new();
    struct test_rng rng = {21};
    /* Degree exactly 2^8 where < 2^8 is claimed. */
    struct field_ext *f = random_poly_evals(&rng, 11, 257);
    struct run r;

    (void)state;
    run_prove(&r, h, f, 11, 8, 2, 2);
    assert_int_equal(r.prove_rc, 1); /* the honest prover notices */
    /* The truncated remainder differs from the last layer by c * x^R,
     * which vanishes nowhere on the domain: every query fails. */
    assert_int_equal(run_verify(&r, h), 0);
    run_free(&r);
    free(f);
    sha256_free(h);
}

static void test_rejects_a_function_far_from_low_degree(void **state)
{
    struct sha256 *h = sha256_new();
    struct test_rng rng = {22};
    struct field_ext f[1024];
    struct run r;

    (void)state;
    for (size_t i = 0; i < 1024; i++)
        f[i] = test_rng_ext(&rng);
    run_prove(&r, h, f, 10, 7, 3, 2);
    assert_int_equal(r.prove_rc, 1);
    assert_int_equal(run_verify(&r, h), 0);
    run_free(&r);
    sha256_free(h);
}

static void test_rejects_inconsistent_openings(void **state)
{
    struct sha256 *h = sha256_new();
    struct test_rng rng = {23};
    struct field_ext *f = random_poly_evals(&rng, 12, 512);
    struct run r;

    (void)state;
    run_prove(&r, h, f, 12, 9, 2, 3);
    assert_int_equal(run_verify(&r, h), QUERIES);
    /* A wrong claimed value: the slot in layer 0 does not match. */
    r.value[0].c0 = field_add(r.value[0].c0, 1);
    assert_int_equal(run_verify(&r, h), QUERIES - 1);
    r.value[0].c0 = field_sub(r.value[0].c0, 1);
    /* A changed value in any layer's leaf, or any path byte. */
    for (unsigned l = 0; l < r.cfg.layers; l++) {
        r.open[1][l].values[3].c1 ^= 1;
        assert_int_equal(run_verify(&r, h), QUERIES - 1);
        r.open[1][l].values[3].c1 ^= 1;
        r.open[2][l].path[0][5] ^= 0x40;
        assert_int_equal(run_verify(&r, h), QUERIES - 1);
        r.open[2][l].path[0][5] ^= 0x40;
    }
    /* A changed remainder coefficient: it is absorbed, so the positions
     * move, and the old openings match nothing. */
    r.com.remainder[0].c0 ^= 1;
    assert_int_equal(run_verify(&r, h), 0);
    run_free(&r);
    free(f);
    sha256_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_config_counts_layers_down_to_the_remainder),
            cmocka_unit_test(test_accepts_low_degree_for_every_folding_factor),
            cmocka_unit_test(test_rejects_degree_just_above_the_bound),
            cmocka_unit_test(test_rejects_a_function_far_from_low_degree),
            cmocka_unit_test(test_rejects_inconsistent_openings),
    };

    return cmocka_run_group_tests_name("stark fri", tests, NULL, NULL);
}
