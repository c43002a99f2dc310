/*
 * ntt: number-theoretic transforms over Goldilocks, and the coset
 * evaluation / interpolation built on them.
 *
 * A plan holds precomputed twiddles for every size up to 2^max_log, so one
 * plan serves all the transforms of a proof. Arrays are in natural order on
 * both sides: evaluations[i] = f(offset * omega^i), which is the order the
 * AIR (next row = index + blowup) and FRI (x and -x half a domain apart)
 * rely on.
 *
 * Every transform takes a stride so the same code transforms a base-field
 * array (stride 1) and one component of an array of struct field_ext
 * (stride 2, starting at c0 or c1): the extension is a 2-dimensional vector
 * space over the base field and the twiddles are base elements.
 */
#ifndef STARK_NTT_H
#define STARK_NTT_H

#include <stddef.h>
#include <stdint.h>

#include "field.h"

struct ntt_plan;

/* NULL when memory is short or max_log is out of range. */
struct ntt_plan *ntt_plan_new(unsigned max_log);
void ntt_plan_free(struct ntt_plan *plan);
unsigned ntt_plan_max_log(const struct ntt_plan *plan);

/* Coefficients -> evaluations at omega^i, i < 2^log_n, in place. */
void ntt_forward(const struct ntt_plan *plan, uint64_t *a, unsigned log_n, size_t stride);
/* Evaluations at omega^i -> coefficients, in place. */
void ntt_inverse(const struct ntt_plan *plan, uint64_t *a, unsigned log_n, size_t stride);

/*
 * out[i] = f(offset * omega^i) for i < 2^log_out, where f has the n_coeffs
 * coefficients given (n_coeffs <= 2^log_out). out must not alias coeffs.
 */
void ntt_coset_evaluate(const struct ntt_plan *plan, const uint64_t *coeffs, size_t n_coeffs,
                        uint64_t *out, unsigned log_out, uint64_t offset, size_t stride);
/* Inverse of the above for n_coeffs = 2^log_n: evaluations -> coefficients. */
void ntt_coset_interpolate(const struct ntt_plan *plan, uint64_t *a, unsigned log_n,
                           uint64_t offset, size_t stride);

/* The same two operations on arrays of extension elements. */
void ntt_coset_evaluate_ext(const struct ntt_plan *plan, const struct field_ext *coeffs,
                            size_t n_coeffs, struct field_ext *out, unsigned log_out,
                            uint64_t offset);
void ntt_coset_interpolate_ext(const struct ntt_plan *plan, struct field_ext *a, unsigned log_n,
                               uint64_t offset);

#endif
