/*
 * fri: commit, fold, open and check (the protocol is described in fri.h).
 *
 * Folding one coset. Let v_m = f(x mu^m) for m < F. Since the mu^m are the
 * F-th roots of unity,
 *
 *     sum_m v_m mu^(-mk) = F x^k f_k(x^F),
 *
 * so f'(x^F) = (1/F) sum_k (beta / x)^k sum_m v_m mu^(-mk): an inverse DFT of
 * size F followed by a Horner evaluation at beta / x. For F = 2 this is the
 * textbook ((v0 + v1) + beta/x (v0 - v1)) / 2. The same function folds a
 * whole layer in the prover and one opened leaf in the verifier, so the two
 * can not disagree on the formula. O(F^2) per coset is nothing next to the
 * hashing for F <= 16.
 *
 * Trade-off: a larger F means fewer layers and shorter proofs (fewer Merkle
 * paths) at the price of wider leaves; F = 8 roughly balances the two for
 * the trace sizes this tool proves.
 */
#include "fri.h"

#include <stdlib.h>
#include <string.h>

#include "mem.h"

int fri_config_init(struct fri_config *cfg, unsigned log_domain, uint64_t offset,
                    unsigned log_degree, unsigned log_fold, unsigned log_remainder_max)
{
    unsigned fold = 1u << log_fold;
    uint64_t mu_inv, x = 1;

    memset(cfg, 0, sizeof(*cfg));
    if (log_fold < 1 || log_fold > FRI_MAX_LOG_FOLD || log_degree >= log_domain ||
        log_domain > FIELD_TWO_ADICITY)
        return -1;
    cfg->log_domain = log_domain;
    cfg->offset = offset;
    cfg->log_fold = log_fold;
    while (log_degree > log_remainder_max) {
        log_degree = log_degree > log_fold ? log_degree - log_fold : 0;
        cfg->layers++;
    }
    cfg->log_remainder = log_degree;
    /*
     * The last domain must still be larger than the remainder's degree
     * bound, or the final check would accept anything (and a large fold on
     * a small blowup would fold past a single point).
     */
    if (cfg->layers > FRI_MAX_LAYERS || cfg->layers * log_fold >= log_domain ||
        log_domain - cfg->layers * log_fold <= cfg->log_remainder)
        return -1;
    mu_inv = field_inv(field_root_of_unity(log_fold));
    for (unsigned j = 0; j < fold; j++) {
        cfg->mu_inv[j] = x;
        x = field_mul(x, mu_inv);
    }
    cfg->fold_inv = field_inv(fold);
    return 0;
}

unsigned fri_layer_depth(const struct fri_config *cfg, unsigned layer)
{
    return cfg->log_domain - (layer + 1) * cfg->log_fold;
}

size_t fri_leaf_bytes(const struct fri_config *cfg)
{
    return ((size_t)1 << cfg->log_fold) * FIELD_EXT_BYTES;
}

static void fri_encode_leaf(const struct fri_config *cfg, const struct field_ext *values,
                            uint8_t *out)
{
    for (size_t m = 0; m < ((size_t)1 << cfg->log_fold); m++)
        field_ext_write(out + m * FIELD_EXT_BYTES, values[m]);
}

/* values[m] = f(x mu^m); returns f'(x^F) for the challenge beta. */
static struct field_ext fri_fold_coset(const struct fri_config *cfg, const struct field_ext *values,
                                       uint64_t x_inv, struct field_ext beta)
{
    unsigned fold = 1u << cfg->log_fold;
    struct field_ext r = field_ext_scale(beta, x_inv), acc = {0, 0};

    for (unsigned k = fold; k-- > 0;) {
        struct field_ext s = {0, 0};

        for (unsigned m = 0; m < fold; m++)
            s = field_ext_add(s, field_ext_scale(values[m], cfg->mu_inv[(m * k) % fold]));
        acc = field_ext_add(field_ext_mul(acc, r), s);
    }
    return field_ext_scale(acc, cfg->fold_inv);
}

/* Position j of a layer whose domain is offset * <omega_{2^log_n}>. */
static uint64_t fri_point(uint64_t offset, unsigned log_n, uint64_t j)
{
    return field_mul(offset, field_pow(field_root_of_unity(log_n), j));
}

static int fri_commit_layer(struct fri_prover *fp, unsigned l, struct sha256 *h)
{
    const struct fri_config *cfg = &fp->cfg;
    unsigned depth = fri_layer_depth(cfg, l);
    size_t leaves = (size_t)1 << depth, fold = (size_t)1 << cfg->log_fold;
    struct field_ext values[1 << FRI_MAX_LOG_FOLD];
    uint8_t leaf[(1 << FRI_MAX_LOG_FOLD) * FIELD_EXT_BYTES];

    if (merkle_tree_init(&fp->trees[l], depth) != 0)
        return -1;
    for (size_t j = 0; j < leaves; j++) {
        for (size_t m = 0; m < fold; m++)
            values[m] = fp->evals[l][j + m * leaves];
        fri_encode_leaf(cfg, values, leaf);
        merkle_tree_set_leaf(&fp->trees[l], h, j, leaf, fri_leaf_bytes(cfg));
    }
    merkle_tree_build(&fp->trees[l], h);
    return 0;
}

/* Folds evals (2^log_n points on offset * <omega>) into out (2^log_n / F). */
static void fri_fold_layer(const struct fri_config *cfg, const struct field_ext *evals,
                           unsigned log_n, uint64_t offset, struct field_ext beta,
                           struct field_ext *out)
{
    size_t n_out = (size_t)1 << (log_n - cfg->log_fold);
    size_t fold = (size_t)1 << cfg->log_fold;
    uint64_t step = field_inv(field_root_of_unity(log_n));
    uint64_t x_inv = field_inv(offset);
    struct field_ext values[1 << FRI_MAX_LOG_FOLD];

    for (size_t j = 0; j < n_out; j++) {
        for (size_t m = 0; m < fold; m++)
            values[m] = evals[j + m * n_out];
        out[j] = fri_fold_coset(cfg, values, x_inv, beta);
        x_inv = field_mul(x_inv, step);
    }
}

int fri_prove(struct fri_prover *fp, const struct fri_config *cfg, struct field_ext *evals,
              struct sha256 *h, struct transcript *t, const struct ntt_plan *plan,
              struct fri_commitment *out, char *err)
{
    unsigned log_n = cfg->log_domain;
    uint64_t offset = cfg->offset;
    size_t n_rem = (size_t)1 << cfg->log_remainder;
    /* The function being folded; NULL while fp->evals owns it. */
    struct field_ext *cur = evals;
    int rc = 0;

    memset(fp, 0, sizeof(*fp));
    fp->cfg = *cfg;
    for (unsigned l = 0; l < cfg->layers; l++) {
        struct field_ext beta, *next;

        fp->evals[l] = cur;
        cur = NULL;
        if (fri_commit_layer(fp, l, h) != 0)
            goto oom;
        memcpy(out->roots[l], merkle_tree_root(&fp->trees[l]), SHA256_LEN);
        transcript_absorb(t, out->roots[l], SHA256_LEN);
        beta = transcript_draw_ext(t);

        next = mem_zalloc((size_t)1 << (log_n - cfg->log_fold), sizeof(*next));
        if (next == NULL)
            goto oom;
        fri_fold_layer(cfg, fp->evals[l], log_n, offset, beta, next);
        cur = next;
        log_n -= cfg->log_fold;
        offset = field_pow(offset, (uint64_t)1 << cfg->log_fold);
    }

    /* The last folded function, in coefficient form, is the remainder. */
    ntt_coset_interpolate_ext(plan, cur, log_n, offset);
    memcpy(out->remainder, cur, n_rem * sizeof(*cur));
    transcript_absorb_ext(t, out->remainder, n_rem);
    for (size_t k = n_rem; k < ((size_t)1 << log_n); k++) {
        if (!field_ext_is_zero(cur[k])) {
            error_set(err, "FRI input exceeds its degree bound");
            rc = 1;
            break;
        }
    }
    free(cur);
    return rc;
oom:
    free(cur);
    error_set(err, "out of memory");
    return -1;
}

void fri_open(const struct fri_prover *fp, uint64_t position, struct fri_opening *layers)
{
    const struct fri_config *cfg = &fp->cfg;
    size_t fold = (size_t)1 << cfg->log_fold;

    for (unsigned l = 0; l < cfg->layers; l++) {
        size_t leaves = (size_t)1 << fri_layer_depth(cfg, l);
        size_t j = position % leaves;

        for (size_t m = 0; m < fold; m++)
            layers[l].values[m] = fp->evals[l][j + m * leaves];
        merkle_tree_path(&fp->trees[l], j, layers[l].path);
        position = j;
    }
}

void fri_prover_free(struct fri_prover *fp)
{
    for (unsigned l = 0; l < FRI_MAX_LAYERS; l++) {
        free(fp->evals[l]);
        fp->evals[l] = NULL;
        merkle_tree_free(&fp->trees[l]);
    }
}

void fri_verifier_init(struct fri_verifier *fv, const struct fri_config *cfg,
                       const struct fri_commitment *com, struct transcript *t)
{
    fv->cfg = *cfg;
    fv->com = com;
    for (unsigned l = 0; l < cfg->layers; l++) {
        transcript_absorb(t, com->roots[l], SHA256_LEN);
        fv->beta[l] = transcript_draw_ext(t);
    }
    transcript_absorb_ext(t, com->remainder, (size_t)1 << cfg->log_remainder);
}

int fri_verify_query(const struct fri_verifier *fv, struct sha256 *h, uint64_t position,
                     struct field_ext value, const struct fri_opening *layers, char *err)
{
    const struct fri_config *cfg = &fv->cfg;
    unsigned log_n = cfg->log_domain;
    uint64_t offset = cfg->offset;
    uint8_t leaf[(1 << FRI_MAX_LOG_FOLD) * FIELD_EXT_BYTES];
    struct field_ext rem;

    if ((position >> log_n) != 0) {
        error_set(err, "FRI query position out of range");
        return -1;
    }
    for (unsigned l = 0; l < cfg->layers; l++) {
        unsigned depth = fri_layer_depth(cfg, l);
        uint64_t j = position & (((uint64_t)1 << depth) - 1);
        uint64_t slot = position >> depth;

        fri_encode_leaf(cfg, layers[l].values, leaf);
        if (!merkle_verify(h, fv->com->roots[l], depth, j, leaf, fri_leaf_bytes(cfg),
                           (const uint8_t(*)[SHA256_LEN])layers[l].path)) {
            error_set(err, "FRI layer %u opening does not match its commitment", l);
            return -1;
        }
        if (!field_ext_eq(layers[l].values[slot], value)) {
            error_set(err, "FRI layer %u is inconsistent with %s", l,
                      l == 0 ? "the DEEP composition" : "the previous layer");
            return -1;
        }
        value = fri_fold_coset(cfg, layers[l].values, field_inv(fri_point(offset, log_n, j)),
                               fv->beta[l]);
        position = j;
        log_n -= cfg->log_fold;
        offset = field_pow(offset, (uint64_t)1 << cfg->log_fold);
    }
    rem = field_ext_poly_eval(fv->com->remainder, (size_t)1 << cfg->log_remainder,
                              field_ext_from_base(fri_point(offset, log_n, position)));
    if (!field_ext_eq(rem, value)) {
        error_set(err, "FRI remainder does not match the last layer");
        return -1;
    }
    return 0;
}
