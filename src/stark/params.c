/*
 * params: the parameter sets and the security they give.
 *
 * Security (conjectured, in the sense of the ethSTARK documentation, section
 * 5.10, and of Winterfell's get_conjectured_security):
 *
 *   query bits = queries * log2(blowup) + grinding_bits
 *              = 28 * 3 + 16 = 100
 *   field bits = log2(|F_p^2|) - log2(LDE domain size)
 *              = 128 - (log_trace + 3)       (>= 105 for traces <= 2^20)
 *   security   = min(query bits, field bits, 128) - 1 = 99 bits
 *
 * The query term is the conjecture that each FRI query catches a cheating
 * prover with probability 1 - rho (rho = 1/blowup), the best known attacks'
 * rate; grinding multiplies the cost of every attempt by 2^grinding_bits.
 * The field term bounds the out-of-domain, DEEP and folding challenges drawn
 * from the 128-bit extension field. 128 is SHA-256's collision resistance.
 * Provable (not conjectured) bounds for these parameters are lower; no
 * provable figure is claimed.
 */
#include "params.h"

#include "air.h"

/* Collision resistance of SHA-256, the ceiling for any parameter set. */
#define PARAMS_HASH_BITS 128
/* log2 |F_p^2|, rounded as every STARK paper does for 2^64 - 2^32 + 1. */
#define PARAMS_EXT_FIELD_BITS 128

static const struct params params_set1 = {
        .id = 1,
        .log_blowup = 3,
        .queries = 28,
        .grinding_bits = 16,
        .log_fold = 3,
        .log_remainder = 4,
};

const struct params *params_default(void)
{
    return &params_set1;
}

int params_check(const struct params *p, char *err)
{
    if (p->log_blowup < 1 || p->log_blowup > 4) {
        error_set(err, "blowup 2^%u out of range 2..16", p->log_blowup);
        return -1;
    }
    /*
     * The composition polynomial has degree below AIR_CHUNKS * T, so the
     * LDE must have at least that many points to interpolate it.
     */
    if (((unsigned)1 << p->log_blowup) < AIR_CHUNKS) {
        error_set(err, "blowup below the constraint degree");
        return -1;
    }
    if (p->queries < 1 || p->queries > PARAMS_MAX_QUERIES) {
        error_set(err, "%u queries out of range 1..%d", p->queries, PARAMS_MAX_QUERIES);
        return -1;
    }
    if (p->grinding_bits > 32) {
        error_set(err, "%u grinding bits above 32", p->grinding_bits);
        return -1;
    }
    if (p->log_fold < 1 || p->log_fold > 4) {
        error_set(err, "FRI folding 2^%u out of range 2..16", p->log_fold);
        return -1;
    }
    if (p->log_remainder > AIR_LOG_STEPS_MIN) {
        error_set(err, "FRI remainder 2^%u above the smallest trace", p->log_remainder);
        return -1;
    }
    return 0;
}

unsigned params_security_bits(const struct params *p, unsigned log_trace)
{
    unsigned query_bits = p->queries * p->log_blowup + p->grinding_bits;
    unsigned field_bits = PARAMS_EXT_FIELD_BITS - (log_trace + p->log_blowup);
    unsigned bits = query_bits < field_bits ? query_bits : field_bits;

    if (bits > PARAMS_HASH_BITS)
        bits = PARAMS_HASH_BITS;
    return bits - 1;
}
