/*
 * prover: the STARK prover, top to bottom in the order of the protocol.
 *
 *  1. Trace: run the hash chain, T rows of 8 columns (air.h).
 *  2. Commit to the trace: interpolate each column over the trace domain
 *     <omega_T>, evaluate it on the LDE coset g * <omega_N>, N = blowup * T,
 *     and Merkle-commit the N rows.
 *  3. Composition: with random weights alpha, combine all constraints,
 *     divided by their vanishing polynomials, into one function on the LDE
 *     coset; it is a polynomial of degree < 2T exactly when the trace
 *     satisfies the AIR. Interpolate it, split it into 2 chunks of degree < T
 *     (H = H_0 + x^T H_1), evaluate and commit the chunks.
 *  4. Out-of-domain: at a random z, send t_j(z), t_j(omega z), H_i(z).
 *  5. DEEP: combine everything into D of degree < T (deep.h) on the coset.
 *  6. FRI on D; grinding; query positions drawn from the transcript; open
 *     the trace, the chunks and the FRI layers at each position.
 *
 * Every challenge comes from the transcript right after the commitment it
 * must not be known before, in the same calls verifier.c makes.
 *
 * Memory: the LDE columns, the composition chunks, the DEEP values and the
 * Merkle trees are all N-sized; about 2.5 KB per step at the peak (167 MB
 * at 2^16 steps, 2.6 GB at 2^20). Intermediate arrays are freed as soon as
 * the next step no longer needs them.
 */
#include "prover.h"

#include <stdlib.h>
#include <string.h>

#include "air.h"
#include "deep.h"
#include "fri.h"
#include "mem.h"
#include "merkle.h"
#include "ntt.h"
#include "sha256.h"
#include "transcript.h"

/* Everything a proof in progress holds; freed in one place. */
struct prover {
    const struct params *params;
    unsigned log_steps, log_lde;
    size_t n_trace, n_lde; /* T and N */
    uint64_t omega;        /* generator of the trace domain */
    struct sha256 *h;
    struct ntt_plan *plan;
    struct air air;
    struct transcript t;
    struct air_coeffs ac;
    struct proof *proof;
    int ood_lie; /* tests only: the trace column whose t_j(z) is misstated, or -1 */

    uint64_t *coeffs[AIR_WIDTH];    /* trace polynomials */
    uint64_t *trace_lde[AIR_WIDTH]; /* ... on the LDE coset */
    struct merkle_tree trace_tree;
    struct field_ext *chunk_coeffs[AIR_CHUNKS];
    struct field_ext *chunk_lde[AIR_CHUNKS];
    struct merkle_tree chunks_tree;
    struct fri_prover fri;
};

static void prover_release(struct prover *pv)
{
    for (unsigned j = 0; j < AIR_WIDTH; j++) {
        free(pv->coeffs[j]);
        free(pv->trace_lde[j]);
    }
    for (unsigned i = 0; i < AIR_CHUNKS; i++) {
        free(pv->chunk_coeffs[i]);
        free(pv->chunk_lde[i]);
    }
    merkle_tree_free(&pv->trace_tree);
    merkle_tree_free(&pv->chunks_tree);
    fri_prover_free(&pv->fri);
    ntt_plan_free(pv->plan);
    sha256_free(pv->h);
}

/* Step 1 and 2: trace, interpolation, LDE, commitment. */
static int prover_commit_trace(struct prover *pv, const uint64_t state0[AIR_STATE],
                               const uint64_t *claimed, char *err)
{
    uint8_t leaf[PROOF_TRACE_LEAF_BYTES];
    uint64_t row[AIR_WIDTH];

    for (unsigned j = 0; j < AIR_WIDTH; j++) {
        pv->coeffs[j] = mem_zalloc(pv->n_trace, sizeof(uint64_t));
        pv->trace_lde[j] = mem_zalloc(pv->n_lde, sizeof(uint64_t));
        if (pv->coeffs[j] == NULL || pv->trace_lde[j] == NULL)
            goto oom;
    }
    air_trace(&pv->air, state0, pv->log_steps, pv->coeffs);
    pv->proof->statement.log_steps = pv->log_steps;
    pv->proof->statement.output[0] = claimed ? claimed[0] : pv->coeffs[0][pv->n_trace - 1];
    pv->proof->statement.output[1] = claimed ? claimed[1] : pv->coeffs[1][pv->n_trace - 1];
    statement_bind(&pv->proof->statement, pv->params, &pv->t);

    for (unsigned j = 0; j < AIR_WIDTH; j++) {
        ntt_inverse(pv->plan, pv->coeffs[j], pv->log_steps, 1);
        ntt_coset_evaluate(pv->plan, pv->coeffs[j], pv->n_trace, pv->trace_lde[j], pv->log_lde,
                           FIELD_GENERATOR, 1);
    }
    if (merkle_tree_init(&pv->trace_tree, pv->log_lde) != 0)
        goto oom;
    for (size_t i = 0; i < pv->n_lde; i++) {
        for (unsigned j = 0; j < AIR_WIDTH; j++)
            row[j] = pv->trace_lde[j][i];
        proof_trace_leaf(row, leaf);
        merkle_tree_set_leaf(&pv->trace_tree, pv->h, i, leaf, sizeof(leaf));
    }
    merkle_tree_build(&pv->trace_tree, pv->h);
    memcpy(pv->proof->trace_root, merkle_tree_root(&pv->trace_tree), SHA256_LEN);
    transcript_absorb(&pv->t, pv->proof->trace_root, SHA256_LEN);
    return 0;
oom:
    error_set(err, "out of memory");
    return -1;
}

/*
 * Step 3a: the composition polynomial's values on the 2T-point coset
 * g * <omega_2T>, which is every (blowup / 2)-th point of the LDE coset:
 * the quotient has degree < 2T, so 2T values determine it, and evaluating
 * the constraints on all N points would cost blowup / 2 times more.
 *
 * Divisors: x^T - 1 takes only two values on this coset (x^T = g^T * +-1),
 * inverted directly; x - 1 and x - omega^(T-1) are inverted in two batches.
 * None is zero because the coset misses the trace domain.
 */
static int prover_composition_values(struct prover *pv, const struct air_coeffs *ac,
                                     struct field_ext *out, char *err)
{
    unsigned log_comp = pv->log_steps + AIR_LOG_CHUNKS;
    size_t n_comp = (size_t)1 << log_comp;
    size_t blowup = (size_t)1 << pv->params->log_blowup;
    size_t stride = pv->n_lde / n_comp; /* comp point i = LDE point i*stride */
    size_t period_lde = (size_t)AIR_PERIOD * blowup;
    uint64_t omega_comp = field_root_of_unity(log_comp);
    uint64_t last_point = field_inv(pv->omega); /* omega^(T-1) */
    uint64_t *first_inv = mem_zalloc(n_comp, sizeof(uint64_t));
    uint64_t *last_inv = mem_zalloc(n_comp, sizeof(uint64_t));
    uint64_t *scratch = mem_zalloc(n_comp, sizeof(uint64_t));
    uint64_t *rc[AIR_STATE] = {NULL};
    uint64_t vanish_inv[AIR_CHUNKS];
    uint64_t x = FIELD_GENERATOR;
    int ok = 0;

    for (unsigned k = 0; k < AIR_STATE; k++)
        if ((rc[k] = mem_zalloc(period_lde, sizeof(uint64_t))) == NULL)
            goto out;
    if (first_inv == NULL || last_inv == NULL || scratch == NULL)
        goto out;
    air_periodic_lde(&pv->air, pv->plan, pv->log_steps, pv->params->log_blowup, FIELD_GENERATOR,
                     rc);

    for (size_t i = 0; i < AIR_CHUNKS; i++) {
        uint64_t xi = field_mul(FIELD_GENERATOR, field_pow(omega_comp, i));

        vanish_inv[i] = field_inv(field_sub(field_pow(xi, pv->n_trace), 1));
    }
    for (size_t i = 0; i < n_comp; i++) {
        first_inv[i] = field_sub(x, 1);
        last_inv[i] = field_sub(x, last_point);
        x = field_mul(x, omega_comp);
    }
    field_batch_inv(first_inv, first_inv, n_comp, scratch);
    field_batch_inv(last_inv, last_inv, n_comp, scratch);

    x = FIELD_GENERATOR;
    for (size_t i = 0; i < n_comp; i++) {
        size_t at = i * stride;
        size_t next = (at + blowup) & (pv->n_lde - 1); /* omega * x */
        struct air_frame f;
        struct air_divisors d;

        for (unsigned j = 0; j < AIR_WIDTH; j++) {
            f.cur[j] = field_ext_from_base(pv->trace_lde[j][at]);
            f.next[j] = field_ext_from_base(pv->trace_lde[j][next]);
        }
        for (unsigned k = 0; k < AIR_STATE; k++)
            f.rc[k] = field_ext_from_base(rc[k][at % period_lde]);
        d.transition = field_ext_from_base(
                field_mul(field_sub(x, last_point), vanish_inv[i % AIR_CHUNKS]));
        d.first_row = field_ext_from_base(first_inv[i]);
        d.last_row = field_ext_from_base(last_inv[i]);
        out[i] = air_compose(ac, &f, &d, pv->proof->statement.output);
        x = field_mul(x, omega_comp);
    }
    ok = 1;
out:
    if (!ok)
        error_set(err, "out of memory");
    for (unsigned k = 0; k < AIR_STATE; k++)
        free(rc[k]);
    free(first_inv);
    free(last_inv);
    free(scratch);
    return ok ? 0 : -1;
}

/* Step 3b: interpolate, split into chunks of T coefficients, commit. */
static int prover_commit_composition(struct prover *pv, char *err)
{
    unsigned log_comp = pv->log_steps + AIR_LOG_CHUNKS;
    struct field_ext *comp = mem_zalloc((size_t)1 << log_comp, sizeof(*comp));
    struct field_ext row[AIR_CHUNKS];
    uint8_t leaf[PROOF_CHUNKS_LEAF_BYTES];

    if (comp == NULL) {
        error_set(err, "out of memory");
        return -1;
    }
    air_draw_coeffs(&pv->t, &pv->ac);
    if (prover_composition_values(pv, &pv->ac, comp, err) != 0) {
        free(comp);
        return -1;
    }
    ntt_coset_interpolate_ext(pv->plan, comp, log_comp, FIELD_GENERATOR);
    for (unsigned i = 0; i < AIR_CHUNKS; i++) {
        pv->chunk_coeffs[i] = mem_zalloc(pv->n_trace, sizeof(struct field_ext));
        pv->chunk_lde[i] = mem_zalloc(pv->n_lde, sizeof(struct field_ext));
        if (pv->chunk_coeffs[i] == NULL || pv->chunk_lde[i] == NULL) {
            free(comp);
            error_set(err, "out of memory");
            return -1;
        }
        memcpy(pv->chunk_coeffs[i], comp + i * pv->n_trace, pv->n_trace * sizeof(struct field_ext));
        ntt_coset_evaluate_ext(pv->plan, pv->chunk_coeffs[i], pv->n_trace, pv->chunk_lde[i],
                               pv->log_lde, FIELD_GENERATOR);
    }
    free(comp);

    if (merkle_tree_init(&pv->chunks_tree, pv->log_lde) != 0) {
        error_set(err, "out of memory");
        return -1;
    }
    for (size_t n = 0; n < pv->n_lde; n++) {
        for (unsigned i = 0; i < AIR_CHUNKS; i++)
            row[i] = pv->chunk_lde[i][n];
        proof_chunks_leaf(row, leaf);
        merkle_tree_set_leaf(&pv->chunks_tree, pv->h, n, leaf, sizeof(leaf));
    }
    merkle_tree_build(&pv->chunks_tree, pv->h);
    memcpy(pv->proof->chunks_root, merkle_tree_root(&pv->chunks_tree), SHA256_LEN);
    transcript_absorb(&pv->t, pv->proof->chunks_root, SHA256_LEN);
    return 0;
}

/*
 * Tests only: misstate t_j(z) for one column and H_0(z) with it, so that the
 * out-of-domain AIR check still holds. Only FRI can notice: D is then no
 * polynomial of degree < T.
 */
static void prover_lie_at_z(struct prover *pv, struct field_ext z, struct deep_ood *ood)
{
    struct field_ext composed, rest;

    ood->trace[pv->ood_lie] = field_ext_add(ood->trace[pv->ood_lie], field_ext_from_base(1));
    composed = deep_ood_composition(&pv->air, &pv->ac, pv->log_steps, z, ood,
                                    pv->proof->statement.output);
    ood->chunks[0] = (struct field_ext){0, 0};
    rest = deep_ood_chunked(ood, z, pv->log_steps);
    ood->chunks[0] = field_ext_sub(composed, rest);
}

/* Step 4 and 5: out-of-domain values, then D on the LDE coset. */
static int prover_deep(struct prover *pv, struct field_ext **out, char *err)
{
    struct deep_ood *ood = &pv->proof->ood;
    struct field_ext z = deep_draw_point(&pv->t);
    struct field_ext omega_z = field_ext_scale(z, pv->omega);
    uint64_t omega_lde = field_root_of_unity(pv->log_lde);
    struct field_ext *inv_z = mem_zalloc(pv->n_lde, sizeof(*inv_z));
    struct field_ext *inv_wz = mem_zalloc(pv->n_lde, sizeof(*inv_wz));
    struct field_ext *scratch = mem_zalloc(pv->n_lde, sizeof(*scratch));
    struct field_ext *d = mem_zalloc(pv->n_lde, sizeof(*d));
    struct deep deep;
    uint64_t x = FIELD_GENERATOR;

    if (inv_z == NULL || inv_wz == NULL || scratch == NULL || d == NULL) {
        free(inv_z);
        free(inv_wz);
        free(scratch);
        free(d);
        error_set(err, "out of memory");
        return -1;
    }
    for (unsigned j = 0; j < AIR_WIDTH; j++) {
        ood->trace[j] = field_poly_eval_at_ext(pv->coeffs[j], pv->n_trace, z);
        ood->trace_next[j] = field_poly_eval_at_ext(pv->coeffs[j], pv->n_trace, omega_z);
    }
    for (unsigned i = 0; i < AIR_CHUNKS; i++)
        ood->chunks[i] = field_ext_poly_eval(pv->chunk_coeffs[i], pv->n_trace, z);
    if (pv->ood_lie >= 0)
        prover_lie_at_z(pv, z, ood);
    deep_init(&deep, &pv->t, z, pv->omega, ood);

    for (size_t i = 0; i < pv->n_lde; i++) {
        inv_z[i] = field_ext_sub(field_ext_from_base(x), z);
        inv_wz[i] = field_ext_sub(field_ext_from_base(x), omega_z);
        x = field_mul(x, omega_lde);
    }
    /* Nonzero: z and omega z lie outside the base field. */
    field_ext_batch_inv(inv_z, inv_z, pv->n_lde, scratch);
    field_ext_batch_inv(inv_wz, inv_wz, pv->n_lde, scratch);
    for (size_t i = 0; i < pv->n_lde; i++) {
        uint64_t row[AIR_WIDTH];
        struct field_ext chunks[AIR_CHUNKS];

        for (unsigned j = 0; j < AIR_WIDTH; j++)
            row[j] = pv->trace_lde[j][i];
        for (unsigned k = 0; k < AIR_CHUNKS; k++)
            chunks[k] = pv->chunk_lde[k][i];
        d[i] = deep_eval(&deep, row, chunks, inv_z[i], inv_wz[i]);
    }
    free(inv_z);
    free(inv_wz);
    free(scratch);
    *out = d;
    return 0;
}

/* Step 6: open everything at the drawn positions. */
static void prover_open(struct prover *pv)
{
    struct proof *pr = pv->proof;

    for (unsigned q = 0; q < pv->params->queries; q++) {
        struct proof_query *pq = &pr->queries[q];
        uint64_t pos = transcript_draw_index(&pv->t, pv->log_lde);

        for (unsigned j = 0; j < AIR_WIDTH; j++)
            pq->trace[j] = pv->trace_lde[j][pos];
        merkle_tree_path(&pv->trace_tree, pos, pq->trace_path);
        for (unsigned i = 0; i < AIR_CHUNKS; i++)
            pq->chunks[i] = pv->chunk_lde[i][pos];
        merkle_tree_path(&pv->chunks_tree, pos, pq->chunks_path);
        fri_open(&pv->fri, pos, pq->fri);
    }
}

/*
 * The protocol; claimed is NULL for the chain's own output, ood_lie -1 for
 * the truth at z.
 */
static int prover_run(const struct params *p, const uint64_t state0[AIR_STATE], unsigned log_steps,
                      const uint64_t *claimed, int ood_lie, struct proof **out, char *err)
{
    struct prover pv;
    struct field_ext *d = NULL;
    int rc = -1;

    memset(&pv, 0, sizeof(pv));
    *out = NULL;
    pv.proof = proof_new(p, log_steps, err);
    if (pv.proof == NULL)
        return -1;
    pv.params = p;
    pv.ood_lie = ood_lie;
    pv.log_steps = log_steps;
    pv.log_lde = pv.proof->layout.log_lde;
    pv.n_trace = (size_t)1 << log_steps;
    pv.n_lde = (size_t)1 << pv.log_lde;
    pv.omega = field_root_of_unity(log_steps);
    pv.h = sha256_new();
    pv.plan = ntt_plan_new(pv.log_lde);
    if (pv.h == NULL || pv.plan == NULL) {
        error_set(err, "out of memory or no SHA-256 in libcrypto");
        goto out;
    }
    if (air_init(&pv.air, pv.h, err) != 0)
        goto out;
    transcript_init(&pv.t, pv.h, "proof v1");

    if (prover_commit_trace(&pv, state0, claimed, err) != 0)
        goto out;
    if (prover_commit_composition(&pv, err) != 0)
        goto out;
    if (prover_deep(&pv, &d, err) != 0)
        goto out;
    /*
     * fri_prove takes d whatever happens. A lie at z leaves D above its
     * degree bound (1); the lying prover sends the truncated remainder.
     */
    rc = fri_prove(&pv.fri, &pv.proof->layout.fri, d, pv.h, &pv.t, pv.plan, &pv.proof->fri, err);
    if (rc != 0 && !(rc == 1 && ood_lie >= 0)) {
        rc = -1;
        goto out;
    }
    pv.proof->nonce = transcript_grind(&pv.t, p->grinding_bits);
    prover_open(&pv);
    *out = pv.proof;
    pv.proof = NULL;
    rc = 0;
out:
    prover_release(&pv);
    proof_free(pv.proof);
    return rc;
}

int prover_prove(const struct params *p, const uint64_t x[2], unsigned log_steps,
                 struct proof **out, char *err)
{
    uint64_t state0[AIR_STATE];

    *out = NULL;
    if (x[0] >= FIELD_P || x[1] >= FIELD_P) {
        error_set(err, "input words must be below p");
        return -1;
    }
    air_initial_state(x, state0);
    return prover_run(p, state0, log_steps, NULL, -1, out, err);
}

int prover_prove_claim(const struct params *p, const uint64_t state0[AIR_STATE], unsigned log_steps,
                       const uint64_t claimed[2], struct proof **out, char *err)
{
    return prover_run(p, state0, log_steps, claimed, -1, out, err);
}

int prover_prove_ood_lie(const struct params *p, const uint64_t x[2], unsigned log_steps,
                         unsigned column, struct proof **out, char *err)
{
    uint64_t state0[AIR_STATE];

    *out = NULL;
    if (column >= AIR_WIDTH) {
        error_set(err, "no trace column %u", column);
        return -1;
    }
    air_initial_state(x, state0);
    return prover_run(p, state0, log_steps, NULL, (int)column, out, err);
}
