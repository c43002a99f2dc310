/*
 * prover: makes a STARK proof that the hash chain of air.h maps a secret x
 * to a public output y in 2^log_steps states.
 */
#ifndef STARK_PROVER_H
#define STARK_PROVER_H

#include <stdint.h>

#include "error.h"
#include "params.h"
#include "proof.h"

/*
 * x: the secret input, two words below p. On success *out holds the proof
 * (its statement carries y) and the result is 0; on failure -1 and a reason.
 */
int prover_prove(const struct params *p, const uint64_t x[2], unsigned log_steps,
                 struct proof **out, char *err);

/*
 * For tests of the verifier only: a dishonest prover. Runs the same
 * protocol for the chain starting at state0 while claiming the output
 * `claimed`, checking neither that state0 has a zero capacity nor that the
 * chain ends in `claimed`. A false claim must not verify.
 */
int prover_prove_claim(const struct params *p, const uint64_t state0[AIR_STATE], unsigned log_steps,
                       const uint64_t claimed[2], struct proof **out, char *err);

/*
 * For tests of the verifier only: a prover that lies about the out-of-domain
 * values. It misstates t_column(z) and adjusts H_0(z) so that the AIR check
 * at z still passes, then carries on with D, FRI and the openings as if
 * nothing happened. Such a proof must not verify (FRI rejects it).
 */
int prover_prove_ood_lie(const struct params *p, const uint64_t x[2], unsigned log_steps,
                         unsigned column, struct proof **out, char *err);

#endif
