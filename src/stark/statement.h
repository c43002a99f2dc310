/*
 * statement: the public inputs of a proof (the number of steps T and the
 * output y), their text forms, and how they enter the transcript.
 *
 * Text forms: y is written as 32 hex digits, y0 then y1, each a big-endian
 * 64-bit word below p; the secret input x on the command line uses the same
 * form. The statement file is a one-line JSON object:
 *
 *   {"proof_system":"phasestream-stark","format":1,"params":1,
 *    "steps":1024,"output":"<32 hex digits>"}
 *
 * Parsing is strict: exactly these keys (proof_system, format and params
 * optional), no duplicates, no escapes, integers without signs or leading
 * zeros. Anything else is an error, never a guess.
 */
#ifndef STARK_STATEMENT_H
#define STARK_STATEMENT_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "params.h"
#include "transcript.h"

#define STATEMENT_HEX_LEN  32
#define STATEMENT_JSON_MAX 256

struct statement {
    unsigned log_steps;
    uint64_t output[2];
};

int statement_equal(const struct statement *a, const struct statement *b);

/* The first transcript step of prover and verifier alike. */
void statement_bind(const struct statement *st, const struct params *p, struct transcript *t);

/*
 * Two field elements <-> 32 hex digits. statement_words_from_hex() takes
 * exactly what statement_words_to_hex() writes (lower case, no prefix): the
 * statement file's output. statement_input_from_hex() is the command line's
 * --input: an optional 0x/0X prefix and either case.
 */
void statement_words_to_hex(const uint64_t w[2], char out[STATEMENT_HEX_LEN + 1]);
int statement_words_from_hex(const char *hex, uint64_t w[2], char *err);
int statement_input_from_hex(const char *hex, uint64_t w[2], char *err);

/* log2 of a valid step count (a power of two in range); -1 otherwise. */
int statement_log2_steps(unsigned long steps, unsigned *log_steps);

/* Writes the JSON line (with a trailing newline); returns its length. */
size_t statement_to_json(const struct statement *st, const struct params *p,
                         char out[STATEMENT_JSON_MAX]);
/*
 * Parses a statement file. *params_id is set to the file's "params", or to
 * 0 when the key is absent.
 */
int statement_from_json(const char *text, size_t len, struct statement *st, uint16_t *params_id,
                        char *err);

#endif
