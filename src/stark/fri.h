/*
 * fri: the FRI low-degree test (Fast Reed-Solomon Interactive Oracle Proof
 * of Proximity), folding by 2^log_fold per layer.
 *
 * The prover has the evaluations of f, a polynomial of degree < 2^d, on a
 * coset domain of 2^n points (n > d). Each layer is committed with a Merkle
 * tree whose leaf j holds the 2^log_fold values at x_j * mu^m, with
 * x_j = offset * omega^j and mu a primitive 2^log_fold-th root of unity.
 * After the layer's root is absorbed, a challenge beta folds f into
 *
 *     f'(x^F) = sum_k beta^k f_k(x^F),   where f(x) = sum_k x^k f_k(x^F),
 *
 * a polynomial of degree < 2^d / F on the domain {x^F}, F = 2^log_fold.
 * Once the degree bound reaches 2^log_remainder, the prover sends the
 * remaining polynomial's coefficients in the clear (the remainder).
 *
 * A query at position p of layer 0 opens, in every layer, the leaf that
 * contains the current position, checks that the value carried from the
 * previous layer sits in the right slot, and folds the leaf into the value
 * expected in the next layer; the last one must equal the remainder
 * polynomial at that point. All layers and all queries share the
 * transcript, so the folding challenges bind every layer to the ones before.
 */
#ifndef STARK_FRI_H
#define STARK_FRI_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "field.h"
#include "merkle.h"
#include "ntt.h"
#include "sha256.h"
#include "transcript.h"

#define FRI_MAX_LAYERS   24
#define FRI_MAX_LOG_FOLD 4

struct fri_config {
    unsigned log_domain;    /* layer 0 holds 2^log_domain evaluations */
    uint64_t offset;        /* layer 0's domain is offset * <omega> */
    unsigned log_fold;      /* each layer folds 2^log_fold points into one */
    unsigned layers;        /* number of committed layers */
    unsigned log_remainder; /* the remainder has 2^log_remainder coeffs */
    /* Derived: mu^-j for j < 2^log_fold, and 2^-log_fold. */
    uint64_t mu_inv[1 << FRI_MAX_LOG_FOLD];
    uint64_t fold_inv;
};

/*
 * For a polynomial of degree < 2^log_degree on 2^log_domain points: as many
 * layers as it takes to bring the degree bound down to 2^log_remainder_max.
 * Returns -1 if the sizes are inconsistent.
 */
int fri_config_init(struct fri_config *cfg, unsigned log_domain, uint64_t offset,
                    unsigned log_degree, unsigned log_fold, unsigned log_remainder_max);
/* Depth of layer l's Merkle tree (one leaf per 2^log_fold points). */
unsigned fri_layer_depth(const struct fri_config *cfg, unsigned layer);
/* Bytes of one leaf: 2^log_fold extension elements. */
size_t fri_leaf_bytes(const struct fri_config *cfg);

/* What a proof carries once: the layer roots and the remainder. */
struct fri_commitment {
    uint8_t (*roots)[SHA256_LEN]; /* cfg.layers roots */
    struct field_ext *remainder;  /* 2^log_remainder coefficients */
};

/* What a proof carries per query and layer. */
struct fri_opening {
    struct field_ext *values;    /* 2^log_fold values of the leaf */
    uint8_t (*path)[SHA256_LEN]; /* fri_layer_depth() siblings */
};

struct fri_prover {
    struct fri_config cfg;
    struct field_ext *evals[FRI_MAX_LAYERS];
    struct merkle_tree trees[FRI_MAX_LAYERS];
};

/*
 * Commits to evals (2^log_domain values, ownership passes to fp) and writes
 * roots and remainder into out, whose arrays the caller sized from cfg.
 * Returns 0; 1 if the polynomial exceeds the degree bound (the remainder is
 * truncated and the proof will not verify; an honest prover treats it as an
 * internal error); -1 when memory is short. Whatever the result, release
 * fp with fri_prover_free().
 */
int fri_prove(struct fri_prover *fp, const struct fri_config *cfg, struct field_ext *evals,
              struct sha256 *h, struct transcript *t, const struct ntt_plan *plan,
              struct fri_commitment *out, char *err);
/* Fills one opening per layer for a query at layer-0 position. */
void fri_open(const struct fri_prover *fp, uint64_t position, struct fri_opening *layers);
void fri_prover_free(struct fri_prover *fp);

struct fri_verifier {
    struct fri_config cfg;
    const struct fri_commitment *com;
    struct field_ext beta[FRI_MAX_LAYERS];
};

/* Replays the commit phase on the transcript: absorbs roots, draws betas. */
void fri_verifier_init(struct fri_verifier *fv, const struct fri_config *cfg,
                       const struct fri_commitment *com, struct transcript *t);
/*
 * Checks one query: value is f at layer-0 position (computed by the caller
 * from the openings of what f is made of). 0 if it holds; else -1 and why.
 */
int fri_verify_query(const struct fri_verifier *fv, struct sha256 *h, uint64_t position,
                     struct field_ext value, const struct fri_opening *layers, char *err);

#endif
