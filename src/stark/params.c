/*
 * params: the parameter sets and the security they give.
 *
 * Two figures per set and trace length (docs/stark.md works them out):
 *
 * Conjectured security, in the sense of the ethSTARK documentation (section
 * 5.10) and of Winterfell's ConjecturedSecurity:
 *
 *   query bits = queries * log2(blowup) + grinding_bits
 *   field bits = log2(|F_p^2|) - log2(LDE domain size)
 *   security   = min(query bits, field bits, 128) - 1
 *
 * It rests on the conjecture that each FRI query catches a cheating prover
 * with probability 1 - rho (rho = 1/blowup), the rate of the best known
 * attacks. 128 is SHA-256's collision resistance.
 *
 * Provable security: the round-by-round soundness error of the protocol as
 * proved, computed as Winterfell's ProvenSecurity does (Theorems 2 and 3 of
 * ePrint 2024/1553, after ePrint 2022/1216 and 2021/582), in both regimes:
 *
 *   list decoding (Johnson bound), for a proximity parameter m >= 3:
 *     alpha = (1 + 1/(2m)) sqrt(rho), L = m / (rho - 2m/n)   (n = LDE size)
 *     ALI    128 - log2 L
 *     DEEP   128 - log2(L^2 (D (T + 1) + T - 1))              (D = blowup + 1)
 *     FRI    128 - log2(0.5 (m + 1/2)^7 / rho^1.5 * n^2)      (commit phase)
 *     query  grinding - queries * log2(alpha)
 *   best m in 3 .. min(1000, ceil(1 / (2 (sqrt((T + 2)/T) - 1))));
 *   unique decoding:
 *     alpha = (1 + (T + 2)/n) / 2
 *     ALI 128; DEEP 128 - log2(D (T + 1) + T - 1); FRI 128 - log2 n and
 *     128 - log2((F - 1)(n + 1)) per layer (F = folding);
 *     query  grinding - queries * log2(alpha)
 *   each regime's level is the minimum of its terms, rounded down; the
 *   provable level is the better regime, capped at 128.
 *
 * Set 1 (28 queries) is 99 bits conjectured, 55-57 provable (list decoding).
 * Set 2 spends 102 queries to reach 100 provable bits (unique decoding) for
 * every trace length the tool proves.
 */
#include "params.h"

#include <math.h>
#include <stddef.h>

#include "air.h"

/* Collision resistance of SHA-256, the ceiling for any parameter set. */
#define PARAMS_HASH_BITS 128
/* log2 |F_p^2|, rounded as every STARK paper does for 2^64 - 2^32 + 1. */
#define PARAMS_EXT_FIELD_BITS 128
/* Out-of-domain openings per trace polynomial: z and omega z. */
#define PARAMS_OPENINGS 2.0
/* Winterfell's cap on the proximity parameter m. */
#define PARAMS_MAX_M 1000

static const struct params params_sets[] = {
        {
                .id = 1,
                .log_blowup = 3,
                .queries = 28,
                .grinding_bits = 16,
                .log_fold = 3,
                .log_remainder = 4,
        },
        {
                .id = 2,
                .log_blowup = 3,
                .queries = 102,
                .grinding_bits = 16,
                .log_fold = 3,
                .log_remainder = 4,
        },
};

const struct params *params_default(void)
{
    return &params_sets[0];
}

const struct params *params_by_id(unsigned id)
{
    for (size_t i = 0; i < sizeof(params_sets) / sizeof(params_sets[0]); i++)
        if (params_sets[i].id == id)
            return &params_sets[i];
    return NULL;
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

static double params_min(double a, double b)
{
    return a < b ? a : b;
}

/* The list-decoding (Johnson-bound) level for one proximity parameter m. */
static double params_list_decoding(const struct params *p, double t, double n, double m)
{
    double rho = 1.0 / (double)(1u << p->log_blowup);
    double alpha = (1.0 + 0.5 / m) * sqrt(rho);
    double max_deg = (double)(1u << p->log_blowup) + 1.0;
    double list = m / (rho - 2.0 * m / n);
    double bits = PARAMS_EXT_FIELD_BITS - log2(list);

    bits = params_min(
            bits, PARAMS_EXT_FIELD_BITS -
                          log2(list * list * (max_deg * (t + PARAMS_OPENINGS - 1.0) + (t - 1.0))));
    bits = params_min(bits, PARAMS_EXT_FIELD_BITS -
                                    log2(0.5 * pow(m + 0.5, 7.0) / pow(rho, 1.5) * n * n));
    return params_min(bits, p->grinding_bits - p->queries * log2(alpha));
}

static double params_unique_decoding(const struct params *p, double t, double n)
{
    double alpha = (1.0 + (t + PARAMS_OPENINGS) / n) * 0.5;
    double max_deg = (double)(1u << p->log_blowup) + 1.0;
    double fold = (double)(1u << p->log_fold);
    double bits = PARAMS_EXT_FIELD_BITS;

    bits = params_min(bits, PARAMS_EXT_FIELD_BITS -
                                    log2(max_deg * (t + PARAMS_OPENINGS - 1.0) + (t - 1.0)));
    bits = params_min(bits, PARAMS_EXT_FIELD_BITS - log2(n));
    bits = params_min(bits, PARAMS_EXT_FIELD_BITS - log2((fold - 1.0) * (n + 1.0)));
    return params_min(bits, p->grinding_bits - p->queries * log2(alpha));
}

unsigned params_list_decoding_bits(const struct params *p, unsigned log_trace)
{
    double t = ldexp(1.0, (int)log_trace), n = ldexp(t, p->log_blowup);
    double m_max = ceil(1.0 / (2.0 * (sqrt((t + 2.0) / t) - 1.0)));
    double best = 0;

    if (m_max > PARAMS_MAX_M)
        m_max = PARAMS_MAX_M;
    /* L must stay positive: rho > 2m / n. */
    for (double m = 3; m < m_max && 2.0 * m / n < 1.0 / (double)(1u << p->log_blowup); m++) {
        double bits = floor(params_list_decoding(p, t, n, m));

        if (bits > best)
            best = bits;
    }
    return best > PARAMS_HASH_BITS ? PARAMS_HASH_BITS : (unsigned)best;
}

unsigned params_unique_decoding_bits(const struct params *p, unsigned log_trace)
{
    double t = ldexp(1.0, (int)log_trace), n = ldexp(t, p->log_blowup);
    double bits = floor(params_unique_decoding(p, t, n));

    if (bits < 0)
        return 0;
    return bits > PARAMS_HASH_BITS ? PARAMS_HASH_BITS : (unsigned)bits;
}

unsigned params_proven_bits(const struct params *p, unsigned log_trace)
{
    unsigned list = params_list_decoding_bits(p, log_trace);
    unsigned unique = params_unique_decoding_bits(p, log_trace);

    return list > unique ? list : unique;
}
