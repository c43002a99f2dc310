/*
 * proof: the proof object and its binary format (.ub files), version 1.
 *
 * All integers are little-endian; field elements are 8-byte canonical
 * words (< p), extension elements two of them (c0, c1); digests are 32
 * bytes. T = 2^log_steps, N = 2^(log_steps + log_blowup) LDE points,
 * F = 2^log_fold, L FRI layers, R remainder coefficients, Q queries; the
 * parameter set and log_steps fix every count, so a proof has exactly one
 * valid length.
 *
 *   header     magic "PSTK" (4), format version u16 = 1, params id u16,
 *              log_steps u8, 3 zero bytes                          12 bytes
 *   statement  y0, y1                                              16
 *   commits    trace root, composition root                        64
 *   ood        t_j(z) (8 ext), t_j(omega z) (8 ext), H_i(z) (2 ext) 288
 *   fri        L layer roots, R remainder coefficients      32 L + 16 R
 *   pow        grinding nonce u64                                   8
 *   queries    Q times:
 *                trace row (8 words) and its path (log N digests)
 *                composition row (2 ext) and its path (log N digests)
 *                per FRI layer l: F ext values and a path of
 *                log N - (l + 1) log F digests
 *
 * Query positions are not stored: the verifier draws them from the
 * transcript. Decoding validates the header, then compares the length with
 * the one the header implies, then reads every field through a bounds-checked
 * cursor that also rejects non-canonical field elements; nothing in the
 * bytes is used as a length.
 */
#ifndef STARK_PROOF_H
#define STARK_PROOF_H

#include <stddef.h>
#include <stdint.h>

#include "air.h"
#include "deep.h"
#include "error.h"
#include "fri.h"
#include "params.h"
#include "sha256.h"
#include "statement.h"

#define PROOF_MAGIC             "PSTK"
#define PROOF_VERSION           1
#define PROOF_HEADER_BYTES      12
#define PROOF_TRACE_LEAF_BYTES  (AIR_WIDTH * FIELD_BYTES)
#define PROOF_CHUNKS_LEAF_BYTES (AIR_CHUNKS * FIELD_EXT_BYTES)

/* Everything the parameter set and the step count fix. */
struct proof_layout {
    const struct params *params;
    unsigned log_steps, log_lde;
    struct fri_config fri;
    size_t bytes;
};

struct proof_query {
    uint64_t trace[AIR_WIDTH];
    uint8_t (*trace_path)[SHA256_LEN];
    struct field_ext chunks[AIR_CHUNKS];
    uint8_t (*chunks_path)[SHA256_LEN];
    struct fri_opening fri[FRI_MAX_LAYERS];
};

struct proof {
    struct proof_layout layout;
    struct statement statement;
    uint8_t trace_root[SHA256_LEN];
    uint8_t chunks_root[SHA256_LEN];
    struct deep_ood ood;
    struct fri_commitment fri;
    uint64_t nonce;
    struct proof_query *queries;
    void *arena; /* one allocation behind every array above */
};

int proof_layout_init(struct proof_layout *l, const struct params *p, unsigned log_steps,
                      char *err);

/* An empty proof with every array sized for the layout; NULL on failure. */
struct proof *proof_new(const struct params *p, unsigned log_steps, char *err);
void proof_free(struct proof *pr);

/* The committed leaf encodings, shared by prover and verifier. */
void proof_trace_leaf(const uint64_t row[AIR_WIDTH], uint8_t out[PROOF_TRACE_LEAF_BYTES]);
void proof_chunks_leaf(const struct field_ext row[AIR_CHUNKS],
                       uint8_t out[PROOF_CHUNKS_LEAF_BYTES]);

/* Serialises into a new buffer of layout.bytes bytes (caller frees). */
int proof_encode(const struct proof *pr, uint8_t **out, size_t *len, char *err);
/*
 * Parses a proof that must have been made with parameter set p; NULL with a
 * reason if the bytes are not exactly such a proof.
 */
struct proof *proof_decode(const struct params *p, const uint8_t *bytes, size_t len, char *err);

#endif
