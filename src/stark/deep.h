/*
 * deep: out-of-domain sampling and the DEEP composition polynomial, the
 * bridge between the AIR and FRI (DEEP-ALI, as in ethSTARK and Winterfell).
 *
 * After committing to the trace polynomials t_j and the composition chunks
 * H_i, the prover is asked for their values at a random point z of the
 * extension field (and t_j at omega * z, the next row). The verifier checks
 * the AIR there: the composition computed from t_j(z), t_j(omega z) must
 * equal sum_i z^(iT) H_i(z). It remains to check that the claimed values are
 * the committed polynomials' values, which FRI does on
 *
 *   D(x) = sum_j g_j (t_j(x) - t_j(z)) / (x - z)
 *        + sum_j g'_j (t_j(x) - t_j(omega z)) / (x - omega z)
 *        + sum_i d_i (H_i(x) - H_i(z)) / (x - z)
 *
 * with random weights g, g', d: D has degree < T exactly when every claimed
 * value is right (each quotient is then a polynomial) and is far from any
 * such polynomial otherwise.
 *
 * z is drawn outside the base field, so neither z nor omega * z is in the
 * trace domain or the LDE domain, which lie in F_p: no division by zero.
 */
#ifndef STARK_DEEP_H
#define STARK_DEEP_H

#include <stdint.h>

#include "air.h"
#include "field.h"
#include "transcript.h"

/* The prover's claimed values at z. */
struct deep_ood {
    struct field_ext trace[AIR_WIDTH];      /* t_j(z) */
    struct field_ext trace_next[AIR_WIDTH]; /* t_j(omega z) */
    struct field_ext chunks[AIR_CHUNKS];    /* H_i(z) */
};

struct deep {
    struct field_ext z, omega_z;
    struct field_ext g[AIR_WIDTH], g_next[AIR_WIDTH], d[AIR_CHUNKS];
    /* The parts of D's numerators that do not depend on x. */
    struct field_ext at_z, at_omega_z;
};

/* Draws z in F_p^2 \ F_p. */
struct field_ext deep_draw_point(struct transcript *t);

/*
 * Absorbs the claimed values, draws the weights, and precomputes constants.
 * omega is the trace domain's generator.
 */
void deep_init(struct deep *d, struct transcript *t, struct field_ext z, uint64_t omega,
               const struct deep_ood *ood);

/*
 * D at a point x, from the trace row and composition chunks at x and the
 * inverses 1 / (x - z), 1 / (x - omega z).
 */
struct field_ext deep_eval(const struct deep *d, const uint64_t trace[AIR_WIDTH],
                           const struct field_ext chunks[AIR_CHUNKS], struct field_ext inv_x_z,
                           struct field_ext inv_x_omega_z);

/*
 * The out-of-domain check's two sides: the AIR's composition at z computed
 * from the claimed t_j(z), t_j(omega z) (y is the statement's output), and
 * the claimed chunks combined, sum_i z^(iT) H_i(z). An honest proof makes
 * them equal.
 */
struct field_ext deep_ood_composition(const struct air *air, const struct air_coeffs *ac,
                                      unsigned log_steps, struct field_ext z,
                                      const struct deep_ood *ood, const uint64_t y[2]);
struct field_ext deep_ood_chunked(const struct deep_ood *ood, struct field_ext z,
                                  unsigned log_steps);

#endif
