/*
 * air: the computation being proven, as an Algebraic Intermediate
 * Representation over Goldilocks.
 *
 * The statement. Let pi_r be one round of a width-4 permutation:
 *
 *     a_k = s_k + c[r mod 64][k]          (round constants)
 *     s'  = M * (a_0^7, a_1^7, a_2^7, a_3^7)   (M = circ(2, 3, 1, 1), MDS)
 *
 * The prover claims: "I know x = (x0, x1) such that, starting from the
 * state (x0, x1, 0, 0) and applying rounds 0 .. T-2, the first two words
 * of the final state are y = (y0, y1)", for public T (a power of two, the
 * number of states in the chain) and y. The zeroed half of the state acts as
 * the capacity of a sponge, so finding some x for a given y generically
 * costs ~2^128 work; the statement is a hash preimage, not something y
 * reveals. x^7 is a permutation of Goldilocks because gcd(7, p - 1) = 1.
 *
 * This is a Poseidon-style design with only full rounds and at least 63 of
 * them, far more than the algebraic-degree and statistical attacks on such
 * permutations need; it is nevertheless not a standardised hash and is meant
 * as the proof system's benchmark statement, not as a general-purpose hash.
 *
 * The AIR. The trace has T rows and 8 columns: s_0..s_3 (the state before
 * round i) and u_0..u_3 with u_k = a_k^3. Splitting x^7 = (x^3)^2 * x keeps
 * every constraint of degree 3, so the composition polynomial has degree
 * below 2T and splits into AIR_CHUNKS = 2 chunks of degree below T.
 *
 *   transition, rows 0 .. T-2:   u_k - a_k^3 = 0                   (k < 4)
 *                                s'_j - sum_k M[j][k] u_k^2 a_k = 0 (j < 4)
 *   boundary, row 0:             s_2 = 0, s_3 = 0
 *   boundary, row T-1:           s_0 = y0, s_1 = y1
 *
 * The round constants are a periodic column of period 64: the polynomial
 * c_k(x) = p_k(x^(T/64)) where p_k interpolates the 64 constants, so the
 * verifier evaluates a degree-63 polynomial rather than one of degree T.
 * Constants come from SHA-256 of a fixed label (nothing up the sleeve).
 */
#ifndef STARK_AIR_H
#define STARK_AIR_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "field.h"
#include "ntt.h"
#include "sha256.h"
#include "transcript.h"

#define AIR_STATE       4
#define AIR_WIDTH       (2 * AIR_STATE)
#define AIR_LOG_PERIOD  6
#define AIR_PERIOD      (1 << AIR_LOG_PERIOD)
#define AIR_TRANSITIONS (2 * AIR_STATE)
#define AIR_BOUNDARIES  4
#define AIR_CONSTRAINTS (AIR_TRANSITIONS + AIR_BOUNDARIES)
/* Constraint degree 3: the quotient has degree < (3 - 1) * T. */
#define AIR_LOG_CHUNKS 1
#define AIR_CHUNKS     (1 << AIR_LOG_CHUNKS)
/* Steps are 2^6 .. 2^20: at least one period; 2^20 takes 2.6 GB to prove. */
#define AIR_LOG_STEPS_MIN AIR_LOG_PERIOD
#define AIR_LOG_STEPS_MAX 20

struct air {
    uint64_t rc[AIR_PERIOD][AIR_STATE];
    /* Coefficients of p_k, the periodic round-constant polynomials. */
    uint64_t rc_coeffs[AIR_STATE][AIR_PERIOD];
};

/* The 4x4 MDS matrix, row j, column k. */
uint64_t air_mds(unsigned j, unsigned k);

int air_init(struct air *air, struct sha256 *h, char *err);

/* The statement's function, computed directly: y from x. */
void air_hash(const struct air *air, const uint64_t x[2], unsigned log_steps, uint64_t y[2]);

/* The chain's first state for input x: (x0, x1, 0, 0). */
void air_initial_state(const uint64_t x[2], uint64_t state[AIR_STATE]);

/*
 * Fills the trace from the given first state: cols[c][i] for column c and
 * row i < 2^log_steps.
 */
void air_trace(const struct air *air, const uint64_t state0[AIR_STATE], unsigned log_steps,
               uint64_t *const cols[AIR_WIDTH]);

/* The values the composition formula needs at one point x. */
struct air_frame {
    struct field_ext cur[AIR_WIDTH];  /* trace polynomials at x */
    struct field_ext next[AIR_WIDTH]; /* ... at omega * x (next row) */
    struct field_ext rc[AIR_STATE];   /* round constants at x */
};

/* Transition constraint values at one point; all zero on a valid row. */
void air_eval_transitions(const struct air_frame *f, struct field_ext out[AIR_TRANSITIONS]);

/* Row-by-row check of every constraint; the row that fails, or -1. */
long air_check_trace(const struct air *air, unsigned log_steps, uint64_t *const cols[AIR_WIDTH],
                     const uint64_t y[2]);

/* The random weights of the constraints in the composition polynomial. */
struct air_coeffs {
    struct field_ext alpha[AIR_CONSTRAINTS];
};
void air_draw_coeffs(struct transcript *t, struct air_coeffs *c);

/* Inverses of the constraint divisors at x. */
struct air_divisors {
    struct field_ext transition; /* (x - omega^(T-1)) / (x^T - 1) */
    struct field_ext first_row;  /* 1 / (x - 1) */
    struct field_ext last_row;   /* 1 / (x - omega^(T-1)) */
};

/*
 * The composition polynomial at x:
 *   sum alpha_m C_m(x) * transition + boundary terms / (x - row point).
 * One formula for both sides: the prover calls it at every LDE point, the
 * verifier at the out-of-domain point z.
 */
struct field_ext air_compose(const struct air_coeffs *c, const struct air_frame *f,
                             const struct air_divisors *d, const uint64_t y[2]);

/*
 * The round-constant columns on the LDE coset offset * <omega_{B*T}>:
 * out[k] has 64 * 2^log_blowup values and LDE point i reads index
 * i mod (64 * 2^log_blowup). plan must cover that size.
 */
void air_periodic_lde(const struct air *air, const struct ntt_plan *plan, unsigned log_steps,
                      unsigned log_blowup, uint64_t offset, uint64_t *const out[AIR_STATE]);
/* The round-constant columns at an arbitrary point. */
void air_periodic_at(const struct air *air, unsigned log_steps, struct field_ext x,
                     struct field_ext out[AIR_STATE]);

#endif
