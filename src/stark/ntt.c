/*
 * ntt: iterative radix-2 Cooley-Tukey transforms with precomputed twiddles.
 *
 * Layout of the twiddle table: for each butterfly span m = 1, 2, 4, ...,
 * the m twiddles omega_{2m}^j (j < m) sit contiguously at tw[m + j]. A level
 * of the transform therefore reads its twiddles sequentially, and the table
 * for size 2^k is a prefix of the table for any larger size, so one plan of
 * the largest size serves every transform of a proof. The inverse transform
 * has its own table of inverse roots.
 *
 * Algorithm: bit-reverse the input, then decimation-in-time levels from span
 * 1 upwards. The first levels (span below NTT_BLOCK) only touch contiguous
 * runs of 2 * span elements, so they are run block by block while a block
 * stays in cache; only the last log(n / NTT_BLOCK) levels sweep the whole
 * array. This is the cache-friendly part; nothing is recursive.
 *
 * Trade-off: natural order in and out costs one bit-reversal pass per
 * transform (random access, but a single pass) and keeps every caller free
 * of bit-reversed indexing.
 */
#include "ntt.h"

#include <stdlib.h>

#include "mem.h"

/* 2^12 elements: 32 KiB of base-field data, an L1/L2-sized block. */
#define NTT_LOG_BLOCK 12

struct ntt_plan {
    unsigned max_log;
    uint64_t *tw;     /* tw[m + j] = omega_{2m}^j */
    uint64_t *tw_inv; /* tw_inv[m + j] = omega_{2m}^-j */
    uint64_t *n_inv;  /* n_inv[k] = 2^-k */
};

static void ntt_fill_twiddles(uint64_t *tw, unsigned max_log, int inverse)
{
    for (unsigned k = 0; k < max_log; k++) {
        size_t m = (size_t)1 << k;
        uint64_t w = field_root_of_unity(k + 1);
        uint64_t x = 1;

        if (inverse)
            w = field_inv(w);
        for (size_t j = 0; j < m; j++) {
            tw[m + j] = x;
            x = field_mul(x, w);
        }
    }
}

struct ntt_plan *ntt_plan_new(unsigned max_log)
{
    struct ntt_plan *plan;
    size_t n = (size_t)1 << max_log;
    uint64_t half = field_inv(2), x = 1;

    if (max_log > FIELD_TWO_ADICITY || max_log > 30)
        return NULL;
    plan = calloc(1, sizeof(*plan));
    if (plan == NULL)
        return NULL;
    plan->max_log = max_log;
    plan->tw = mem_zalloc(n, sizeof(uint64_t));
    plan->tw_inv = mem_zalloc(n, sizeof(uint64_t));
    plan->n_inv = malloc((max_log + 1) * sizeof(uint64_t));
    if (plan->tw == NULL || plan->tw_inv == NULL || plan->n_inv == NULL) {
        ntt_plan_free(plan);
        return NULL;
    }
    ntt_fill_twiddles(plan->tw, max_log, 0);
    ntt_fill_twiddles(plan->tw_inv, max_log, 1);
    for (unsigned k = 0; k <= max_log; k++) {
        plan->n_inv[k] = x;
        x = field_mul(x, half);
    }
    return plan;
}

void ntt_plan_free(struct ntt_plan *plan)
{
    if (plan == NULL)
        return;
    free(plan->tw);
    free(plan->tw_inv);
    free(plan->n_inv);
    free(plan);
}

unsigned ntt_plan_max_log(const struct ntt_plan *plan)
{
    return plan->max_log;
}

static size_t ntt_bit_reverse(size_t i, unsigned bits)
{
    uint64_t x = i;

    x = ((x >> 1) & 0x5555555555555555ull) | ((x & 0x5555555555555555ull) << 1);
    x = ((x >> 2) & 0x3333333333333333ull) | ((x & 0x3333333333333333ull) << 2);
    x = ((x >> 4) & 0x0f0f0f0f0f0f0f0full) | ((x & 0x0f0f0f0f0f0f0f0full) << 4);
    x = ((x >> 8) & 0x00ff00ff00ff00ffull) | ((x & 0x00ff00ff00ff00ffull) << 8);
    x = ((x >> 16) & 0x0000ffff0000ffffull) | ((x & 0x0000ffff0000ffffull) << 16);
    x = (x >> 32) | (x << 32);
    return bits == 0 ? 0 : (size_t)(x >> (64 - bits));
}

static void ntt_permute(uint64_t *a, unsigned log_n, size_t stride)
{
    size_t n = (size_t)1 << log_n;

    for (size_t i = 0; i < n; i++) {
        size_t j = ntt_bit_reverse(i, log_n);

        if (i < j) {
            uint64_t t = a[i * stride];

            a[i * stride] = a[j * stride];
            a[j * stride] = t;
        }
    }
}

/* All butterflies of span m over a[0 .. len), len a multiple of 2m. */
static inline void ntt_level(uint64_t *a, size_t len, size_t m, const uint64_t *tw, size_t stride)
{
    for (size_t k = 0; k < len; k += 2 * m) {
        for (size_t j = 0; j < m; j++) {
            uint64_t *lo = &a[(k + j) * stride];
            uint64_t *hi = &a[(k + j + m) * stride];
            uint64_t u = *lo;
            uint64_t v = field_mul(*hi, tw[m + j]);

            *lo = field_add(u, v);
            *hi = field_sub(u, v);
        }
    }
}

/*
 * The stride is a parameter of a static inline function called with the
 * constants 1 and 2 below, so the compiler emits a specialised loop for each.
 */
static inline void ntt_transform(uint64_t *a, unsigned log_n, size_t stride, const uint64_t *tw)
{
    size_t n = (size_t)1 << log_n;
    size_t block = (size_t)1 << (log_n < NTT_LOG_BLOCK ? log_n : NTT_LOG_BLOCK);

    ntt_permute(a, log_n, stride);
    for (size_t b = 0; b < n; b += block)
        for (size_t m = 1; m < block; m <<= 1)
            ntt_level(a + b * stride, block, m, tw, stride);
    for (size_t m = block; m < n; m <<= 1)
        ntt_level(a, n, m, tw, stride);
}

static void ntt_run(const struct ntt_plan *plan, uint64_t *a, unsigned log_n, size_t stride,
                    const uint64_t *tw)
{
    if (log_n > plan->max_log)
        abort(); /* a caller bug: the plan was sized for the proof */
    if (stride == 1)
        ntt_transform(a, log_n, 1, tw);
    else if (stride == 2)
        ntt_transform(a, log_n, 2, tw);
    else
        ntt_transform(a, log_n, stride, tw);
}

void ntt_forward(const struct ntt_plan *plan, uint64_t *a, unsigned log_n, size_t stride)
{
    ntt_run(plan, a, log_n, stride, plan->tw);
}

void ntt_inverse(const struct ntt_plan *plan, uint64_t *a, unsigned log_n, size_t stride)
{
    size_t n = (size_t)1 << log_n;
    uint64_t scale = plan->n_inv[log_n];

    ntt_run(plan, a, log_n, stride, plan->tw_inv);
    for (size_t i = 0; i < n; i++)
        a[i * stride] = field_mul(a[i * stride], scale);
}

/*
 * f(offset * x) has coefficients coeffs[k] * offset^k, so a coset
 * evaluation is a scaling followed by an ordinary transform.
 */
void ntt_coset_evaluate(const struct ntt_plan *plan, const uint64_t *coeffs, size_t n_coeffs,
                        uint64_t *out, unsigned log_out, uint64_t offset, size_t stride)
{
    size_t n = (size_t)1 << log_out;
    uint64_t s = 1;

    for (size_t k = 0; k < n; k++) {
        if (k < n_coeffs) {
            out[k * stride] = field_mul(coeffs[k * stride], s);
            s = field_mul(s, offset);
        } else {
            out[k * stride] = 0;
        }
    }
    ntt_forward(plan, out, log_out, stride);
}

void ntt_coset_interpolate(const struct ntt_plan *plan, uint64_t *a, unsigned log_n,
                           uint64_t offset, size_t stride)
{
    size_t n = (size_t)1 << log_n;
    uint64_t inv = field_inv(offset), s = 1;

    ntt_inverse(plan, a, log_n, stride);
    for (size_t k = 0; k < n; k++) {
        a[k * stride] = field_mul(a[k * stride], s);
        s = field_mul(s, inv);
    }
}

/* An array of struct field_ext is two interleaved base arrays. */
_Static_assert(sizeof(struct field_ext) == 2 * sizeof(uint64_t),
               "struct field_ext must be two packed words");

void ntt_coset_evaluate_ext(const struct ntt_plan *plan, const struct field_ext *coeffs,
                            size_t n_coeffs, struct field_ext *out, unsigned log_out,
                            uint64_t offset)
{
    const uint64_t *in = (const uint64_t *)coeffs;
    uint64_t *o = (uint64_t *)out;

    ntt_coset_evaluate(plan, in, n_coeffs, o, log_out, offset, 2);
    ntt_coset_evaluate(plan, in + 1, n_coeffs, o + 1, log_out, offset, 2);
}

void ntt_coset_interpolate_ext(const struct ntt_plan *plan, struct field_ext *a, unsigned log_n,
                               uint64_t offset)
{
    uint64_t *w = (uint64_t *)a;

    ntt_coset_interpolate(plan, w, log_n, offset, 2);
    ntt_coset_interpolate(plan, w + 1, log_n, offset, 2);
}
