/*
 * transcript: the Fiat-Shamir transform, a SHA-256 hash chain that turns the
 * interactive STARK protocol into a non-interactive proof.
 *
 * Prover and verifier keep the same 32-byte state. Every message the prover
 * sends is absorbed; every verifier challenge is squeezed from the state.
 * The two sides must perform the same calls in the same order, which is why
 * each step of the protocol is one shared function (statement_bind,
 * air_draw_coeffs, deep_draw_point, fri_*), called by prover.c and
 * verifier.c alike.
 */
#ifndef STARK_TRANSCRIPT_H
#define STARK_TRANSCRIPT_H

#include <stddef.h>
#include <stdint.h>

#include "field.h"
#include "sha256.h"

struct transcript {
    struct sha256 *h;
    uint8_t state[SHA256_LEN];
};

void transcript_init(struct transcript *t, struct sha256 *h, const char *label);
void transcript_absorb(struct transcript *t, const void *data, size_t len);
void transcript_absorb_ext(struct transcript *t, const struct field_ext *v, size_t n);

/* Uniform in [0, p). */
uint64_t transcript_draw_field(struct transcript *t);
/* Uniform in F_p^2. */
struct field_ext transcript_draw_ext(struct transcript *t);
/* Uniform in [0, 2^log_n), log_n <= 64. */
uint64_t transcript_draw_index(struct transcript *t, unsigned log_n);

/*
 * Grinding: a nonce whose hash with the state has `bits` leading zero bits.
 * Finding one costs the prover about 2^bits hashes; checking costs the
 * verifier one, and every attempt at a forged proof pays the same price.
 * Both functions absorb the nonce once it is found or accepted, so the query
 * positions drawn next depend on it. check returns 1 if the nonce is good.
 */
uint64_t transcript_grind(struct transcript *t, unsigned bits);
int transcript_check_grind(struct transcript *t, unsigned bits, uint64_t nonce);

#endif
