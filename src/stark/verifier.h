/*
 * verifier: checks a STARK proof made by prover.c.
 */
#ifndef STARK_VERIFIER_H
#define STARK_VERIFIER_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "params.h"
#include "statement.h"

/*
 * Verifies the proof bytes against parameter set p and, when expected is
 * not NULL, against that statement. Returns 0 if the proof is valid (and
 * copies its statement to *proved when proved is not NULL); -1 with a
 * one-line reason otherwise, including when memory is short.
 */
int verifier_verify(const struct params *p, const uint8_t *bytes, size_t len,
                    const struct statement *expected, struct statement *proved, char *err);

#endif
