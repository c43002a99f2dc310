/*
 * params: parameter sets of the proof system, identified by a number that
 * every proof carries in its header.
 *
 * A parameter set fixes everything that determines the proof's layout and
 * soundness: blowup factor, number of FRI queries, grinding bits, FRI folding
 * factor and the degree at which FRI stops folding. A verifier is configured
 * with exactly one set and rejects proofs that name another, so a proof made
 * with cheaper (weaker) parameters can never pass for a full-strength one.
 */
#ifndef STARK_PARAMS_H
#define STARK_PARAMS_H

#include <stdint.h>

#include "error.h"

#define PARAMS_MAX_QUERIES 128

struct params {
    uint16_t id;
    uint8_t log_blowup;    /* LDE domain = 2^log_blowup * trace length */
    uint8_t queries;       /* FRI query repetitions */
    uint8_t grinding_bits; /* proof-of-work before the queries are drawn */
    uint8_t log_fold;      /* each FRI layer folds 2^log_fold points */
    uint8_t log_remainder; /* FRI stops at degree bound <= 2^log_remainder */
};

/* Parameter set 1: blowup 8, 28 queries, 16 grinding bits, FRI folds by 8. */
const struct params *params_default(void);

/*
 * A set by id: 1, or 2 (as set 1 with 102 queries: 100 provable bits);
 * NULL for any other id.
 */
const struct params *params_by_id(unsigned id);

/* 0 if the values are within what the code supports; else -1 and a reason. */
int params_check(const struct params *p, char *err);

/*
 * Conjectured security in bits for a trace of 2^log_trace rows; see the
 * derivation in params.c and docs/stark.md.
 */
unsigned params_security_bits(const struct params *p, unsigned log_trace);

/*
 * Provable security in bits (params.c has the formulas): in the list-decoding
 * regime (Johnson bound), in the unique-decoding regime, and the better of
 * the two.
 */
unsigned params_list_decoding_bits(const struct params *p, unsigned log_trace);
unsigned params_unique_decoding_bits(const struct params *p, unsigned log_trace);
unsigned params_proven_bits(const struct params *p, unsigned log_trace);

#endif
