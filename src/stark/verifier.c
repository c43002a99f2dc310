/*
 * verifier: the STARK verifier, in the order of the protocol (prover.c
 * describes the steps).
 *
 *  1. Parse the bytes into a proof (proof.c: header, exact length,
 *     canonical elements); compare the statement if one was given.
 *  2. Replay the transcript: statement, trace root -> alpha, composition
 *     root -> z, out-of-domain values -> DEEP weights, FRI roots -> betas,
 *     remainder, grinding nonce -> query positions.
 *  3. Out-of-domain check: the AIR's composition at z, computed from the
 *     claimed t_j(z), t_j(omega z), must equal H_0(z) + z^T H_1(z).
 *  4. Per query: the trace and composition rows open against their roots,
 *     D at the position follows from them (deep_eval), and FRI accepts D's
 *     value there.
 *
 * Cost: O(queries * (log N + layers)) hashes plus a degree-63 polynomial
 * evaluation; independent of T except through log N.
 */
#include "verifier.h"

#include <string.h>

#include "air.h"
#include "deep.h"
#include "fri.h"
#include "merkle.h"
#include "proof.h"
#include "sha256.h"
#include "transcript.h"

/* Step 3: the AIR at the out-of-domain point. */
static int verifier_check_ood(const struct proof *pr, const struct air *air,
                              const struct air_coeffs *ac, struct field_ext z, char *err)
{
    unsigned log_steps = pr->layout.log_steps;
    struct field_ext composed =
            deep_ood_composition(air, ac, log_steps, z, &pr->ood, pr->statement.output);

    if (!field_ext_eq(composed, deep_ood_chunked(&pr->ood, z, log_steps))) {
        error_set(err, "out-of-domain check failed: the trace does not satisfy the AIR");
        return -1;
    }
    return 0;
}

/* Step 4 for one query. */
static int verifier_check_query(const struct proof *pr, struct sha256 *h, const struct deep *deep,
                                const struct fri_verifier *fv, unsigned q, uint64_t pos, char *err)
{
    const struct proof_query *pq = &pr->queries[q];
    unsigned log_lde = pr->layout.log_lde;
    uint8_t trace_leaf[PROOF_TRACE_LEAF_BYTES];
    uint8_t chunks_leaf[PROOF_CHUNKS_LEAF_BYTES];
    char why[ERROR_MAX];
    struct field_ext x, value;

    proof_trace_leaf(pq->trace, trace_leaf);
    if (!merkle_verify(h, pr->trace_root, log_lde, pos, trace_leaf, sizeof(trace_leaf),
                       (const uint8_t(*)[SHA256_LEN])pq->trace_path)) {
        error_set(err, "query %u: trace opening does not match its commitment", q);
        return -1;
    }
    proof_chunks_leaf(pq->chunks, chunks_leaf);
    if (!merkle_verify(h, pr->chunks_root, log_lde, pos, chunks_leaf, sizeof(chunks_leaf),
                       (const uint8_t(*)[SHA256_LEN])pq->chunks_path)) {
        error_set(err, "query %u: composition opening does not match its commitment", q);
        return -1;
    }
    x = field_ext_from_base(
            field_mul(FIELD_GENERATOR, field_pow(field_root_of_unity(log_lde), pos)));
    value = deep_eval(deep, pq->trace, pq->chunks, field_ext_inv(field_ext_sub(x, deep->z)),
                      field_ext_inv(field_ext_sub(x, deep->omega_z)));
    if (fri_verify_query(fv, h, pos, value, pq->fri, why) != 0) {
        error_set(err, "query %u: %s", q, why);
        return -1;
    }
    return 0;
}

static int verifier_run(const struct params *p, const struct proof *pr, struct sha256 *h, char *err)
{
    unsigned log_steps = pr->layout.log_steps;
    struct air air;
    struct air_coeffs ac;
    struct transcript t;
    struct deep deep;
    struct fri_verifier fv;
    struct field_ext z;
    uint64_t pos[PARAMS_MAX_QUERIES];

    if (air_init(&air, h, err) != 0)
        return -1;
    transcript_init(&t, h, "proof v1");
    statement_bind(&pr->statement, p, &t);
    transcript_absorb(&t, pr->trace_root, SHA256_LEN);
    air_draw_coeffs(&t, &ac);
    transcript_absorb(&t, pr->chunks_root, SHA256_LEN);
    z = deep_draw_point(&t);
    deep_init(&deep, &t, z, field_root_of_unity(log_steps), &pr->ood);
    fri_verifier_init(&fv, &pr->layout.fri, &pr->fri, &t);
    if (!transcript_check_grind(&t, p->grinding_bits, pr->nonce)) {
        error_set(err, "proof-of-work nonce does not meet %u bits", p->grinding_bits);
        return -1;
    }
    /* Drawn before any check so the transcript matches the prover's. */
    for (unsigned q = 0; q < p->queries; q++)
        pos[q] = transcript_draw_index(&t, pr->layout.log_lde);

    if (verifier_check_ood(pr, &air, &ac, z, err) != 0)
        return -1;
    for (unsigned q = 0; q < p->queries; q++)
        if (verifier_check_query(pr, h, &deep, &fv, q, pos[q], err) != 0)
            return -1;
    return 0;
}

int verifier_verify(const struct params *p, const uint8_t *bytes, size_t len,
                    const struct statement *expected, struct statement *proved, char *err)
{
    struct proof *pr;
    struct sha256 *h;
    int rc;

    pr = proof_decode(p, bytes, len, err);
    if (pr == NULL)
        return -1;
    if (expected != NULL && !statement_equal(expected, &pr->statement)) {
        proof_free(pr);
        error_set(err, "proof is for another statement");
        return -1;
    }
    h = sha256_new();
    if (h == NULL) {
        proof_free(pr);
        error_set(err, "out of memory or no SHA-256 in libcrypto");
        return -1;
    }
    rc = verifier_run(p, pr, h, err);
    if (rc == 0 && proved != NULL)
        *proved = pr->statement;
    sha256_free(h);
    proof_free(pr);
    return rc;
}
