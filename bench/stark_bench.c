/*
 * stark_bench: prove/verify time and proof size for trace lengths 2^10 ..
 * 2^16, and microbenchmarks of the two hot loops against baselines measured
 * in the same run:
 *
 *   field multiplication   Goldilocks-specific reduction (field.h) vs the
 *                          naive `(unsigned __int128)a * b % p`;
 *   NTT                    this code (precomputed per-level twiddles,
 *                          cache-blocked levels, branch-free arithmetic) vs
 *                          the textbook iterative radix-2 NTT (CLRS) with
 *                          twiddles computed on the fly and % reduction.
 *
 * Every figure is the median of several runs (wall clock, CLOCK_MONOTONIC),
 * single-threaded. Baseline and optimised outputs are compared, so a fast
 * wrong answer cannot be reported.
 *
 * Prove and verify run for parameter set 1 and then set 2 (params.h), or
 * for the one --params names; --no-micro skips the microbenchmarks.
 *
 * Usage: stark_bench [--runs N] [--min-log A] [--max-log B] [--params 1|2]
 *                    [--no-micro]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "field.h"
#include "ntt.h"
#include "params.h"
#include "proof.h"
#include "prover.h"
#include "verifier.h"

#define BENCH_MAX_RUNS 64

static double bench_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int bench_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

static double bench_median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(double), bench_cmp);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static uint64_t bench_rng(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return (z ^ (z >> 31)) % FIELD_P;
}

/* The baselines. */

static uint64_t naive_mul(uint64_t a, uint64_t b)
{
    return (uint64_t)(((unsigned __int128)a * b) % FIELD_P);
}

static uint64_t naive_pow(uint64_t a, uint64_t e)
{
    uint64_t r = 1;

    for (; e; e >>= 1, a = naive_mul(a, a))
        if (e & 1)
            r = naive_mul(r, a);
    return r;
}

/* CLRS ITERATIVE-FFT over Goldilocks, natural order in and out. */
static void naive_ntt(uint64_t *a, unsigned log_n)
{
    size_t n = (size_t)1 << log_n;

    for (size_t i = 0, j = 0; i < n; i++) {
        if (i < j) {
            uint64_t t = a[i];

            a[i] = a[j];
            a[j] = t;
        }
        for (size_t bit = n >> 1; bit > 0 && ((j ^= bit) & bit) == 0; bit >>= 1)
            ;
    }
    for (unsigned s = 1; s <= log_n; s++) {
        size_t m = (size_t)1 << s;
        uint64_t wm = naive_pow(FIELD_GENERATOR, (FIELD_P - 1) >> s);

        for (size_t k = 0; k < n; k += m) {
            uint64_t w = 1;

            for (size_t j = 0; j < m / 2; j++) {
                uint64_t t = naive_mul(w, a[k + j + m / 2]);
                uint64_t u = a[k + j];

                a[k + j] = (uint64_t)(((unsigned __int128)u + t) % FIELD_P);
                a[k + j + m / 2] = (uint64_t)(((unsigned __int128)u + FIELD_P - t) % FIELD_P);
                w = naive_mul(w, wm);
            }
        }
    }
}

/* Calldata gas of submitting the bytes: 16 per nonzero byte, 4 per zero. */
static unsigned long bench_calldata_gas(const uint8_t *b, size_t len)
{
    unsigned long gas = 0;

    for (size_t i = 0; i < len; i++)
        gas += b[i] != 0 ? 16 : 4;
    return gas;
}

/* Microbenchmarks. */

#define BENCH_MUL_N      4096
#define BENCH_MUL_ROUNDS 256

/* ns per product over BENCH_MUL_N independent products (throughput). */
static double bench_mul_throughput(int naive, uint64_t *sink)
{
    static uint64_t a[BENCH_MUL_N], b[BENCH_MUL_N];
    uint64_t s = 1, acc = 0;
    double t0;

    for (int i = 0; i < BENCH_MUL_N; i++) {
        a[i] = bench_rng(&s);
        b[i] = bench_rng(&s);
    }
    t0 = bench_now();
    for (int r = 0; r < BENCH_MUL_ROUNDS; r++) {
        if (naive)
            for (int i = 0; i < BENCH_MUL_N; i++)
                a[i] = naive_mul(a[i], b[i]);
        else
            for (int i = 0; i < BENCH_MUL_N; i++)
                a[i] = field_mul(a[i], b[i]);
    }
    t0 = bench_now() - t0;
    for (int i = 0; i < BENCH_MUL_N; i++)
        acc ^= a[i];
    *sink = acc;
    return t0 * 1e9 / ((double)BENCH_MUL_N * BENCH_MUL_ROUNDS);
}

/* ns per product in a dependent chain (latency). */
static double bench_mul_latency(int naive, uint64_t *sink)
{
    uint64_t x = 3, y = 0x123456789abcdefull;
    const long n = 1L << 20;
    double t0 = bench_now();

    if (naive)
        for (long i = 0; i < n; i++)
            x = naive_mul(x, y);
    else
        for (long i = 0; i < n; i++)
            x = field_mul(x, y);
    *sink = x;
    return (bench_now() - t0) * 1e9 / (double)n;
}

static void bench_field(int runs)
{
    double v[2][2][BENCH_MAX_RUNS];
    uint64_t sink[2];

    for (int r = 0; r < runs; r++) {
        for (int naive = 0; naive < 2; naive++) {
            v[naive][0][r] = bench_mul_throughput(naive, &sink[naive]);
            v[naive][1][r] = bench_mul_latency(naive, &sink[naive]);
        }
        if (sink[0] != sink[1]) {
            fprintf(stderr, "stark_bench: multiplication results differ\n");
            exit(1);
        }
        bench_mul_throughput(0, &sink[0]);
        bench_mul_throughput(1, &sink[1]);
        if (sink[0] != sink[1]) {
            fprintf(stderr, "stark_bench: multiplication results differ\n");
            exit(1);
        }
    }
    printf("\nField multiplication, ns per product (median of %d)\n", runs);
    printf("  %-34s %12s %12s\n", "", "independent", "dependent");
    printf("  %-34s %12.2f %12.2f\n", "naive: (u128)a * b % p", bench_median(v[1][0], runs),
           bench_median(v[1][1], runs));
    printf("  %-34s %12.2f %12.2f\n", "Goldilocks reduction (field.h)", bench_median(v[0][0], runs),
           bench_median(v[0][1], runs));
    printf("  %-34s %11.1fx %11.1fx\n", "speedup",
           bench_median(v[1][0], runs) / bench_median(v[0][0], runs),
           bench_median(v[1][1], runs) / bench_median(v[0][1], runs));
}

static void bench_ntt(int runs)
{
    static const unsigned sizes[] = {12, 16, 19};
    struct ntt_plan *plan = ntt_plan_new(19);
    uint64_t *a = malloc(sizeof(uint64_t) << 19);
    uint64_t *b = malloc(sizeof(uint64_t) << 19);
    uint64_t *orig = malloc(sizeof(uint64_t) << 19);
    uint64_t s = 7;

    if (plan == NULL || a == NULL || b == NULL || orig == NULL) {
        fprintf(stderr, "stark_bench: out of memory\n");
        exit(1);
    }
    printf("\nNTT, forward, natural order in and out, ms (median of %d)\n", runs);
    printf("  %-6s %14s %12s %9s %14s\n", "size", "textbook NTT", "ntt.c", "speedup",
           "ns/butterfly");
    for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
        unsigned lg = sizes[k];
        size_t n = (size_t)1 << lg;
        double tn[BENCH_MAX_RUNS], to[BENCH_MAX_RUNS], t0;

        for (size_t i = 0; i < n; i++)
            orig[i] = bench_rng(&s);
        for (int r = 0; r < runs; r++) {
            memcpy(a, orig, n * sizeof(uint64_t));
            t0 = bench_now();
            naive_ntt(a, lg);
            tn[r] = bench_now() - t0;
            memcpy(b, orig, n * sizeof(uint64_t));
            t0 = bench_now();
            ntt_forward(plan, b, lg, 1);
            to[r] = bench_now() - t0;
            if (memcmp(a, b, n * sizeof(uint64_t)) != 0) {
                fprintf(stderr, "stark_bench: NTT results differ\n");
                exit(1);
            }
        }
        {
            double mn = bench_median(tn, runs), mo = bench_median(to, runs);

            printf("  2^%-4u %14.3f %12.3f %8.1fx %14.2f\n", lg, mn * 1e3, mo * 1e3, mn / mo,
                   mo * 1e9 / ((double)(n / 2) * lg));
        }
    }
    free(a);
    free(b);
    free(orig);
    ntt_plan_free(plan);
}

static void bench_stark(const struct params *p, int runs, unsigned min_log, unsigned max_log)
{
    uint64_t s = 11;

    printf("\nProve and verify, parameter set %u: blowup %u, %u queries, %u grinding bits,"
           " FRI folding %u\n(prove: median of %d, %d up to 2^13; verify: median of %d;"
           " security: conjectured/provable bits)\n",
           (unsigned)p->id, 1u << p->log_blowup, (unsigned)p->queries, (unsigned)p->grinding_bits,
           1u << p->log_fold, runs, 3 * runs <= BENCH_MAX_RUNS ? 3 * runs : runs, 4 * runs + 1);
    printf("  %-7s %11s %11s %12s %14s %9s\n", "steps", "prove ms", "verify ms", "proof bytes",
           "calldata gas", "security");
    for (unsigned lg = min_log; lg <= max_log; lg++) {
        /*
         * Grinding time is geometric (2^16 hashes on average, often far
         * fewer or more): small proofs get more runs for a stable median.
         */
        int prove_runs = lg <= 13 && 3 * runs <= BENCH_MAX_RUNS ? 3 * runs : runs;
        double tp[BENCH_MAX_RUNS], tv[4 * BENCH_MAX_RUNS + 1], t0;
        size_t len = 0;
        uint8_t *bytes = NULL;
        char err[ERROR_MAX];

        for (int r = 0; r < prove_runs; r++) {
            uint64_t x[2] = {bench_rng(&s), bench_rng(&s)};
            struct proof *pr;

            free(bytes);
            t0 = bench_now();
            if (prover_prove(p, x, lg, &pr, err) != 0 || proof_encode(pr, &bytes, &len, err) != 0) {
                fprintf(stderr, "stark_bench: %s\n", err);
                exit(1);
            }
            tp[r] = bench_now() - t0;
            proof_free(pr);
        }
        for (int r = 0; r < 4 * runs + 1; r++) {
            t0 = bench_now();
            if (verifier_verify(p, bytes, len, NULL, NULL, err) != 0) {
                fprintf(stderr, "stark_bench: verify: %s\n", err);
                exit(1);
            }
            tv[r] = bench_now() - t0;
        }
        printf("  2^%-5u %11.1f %11.2f %12zu %14lu %5u/%u\n", lg,
               bench_median(tp, prove_runs) * 1e3, bench_median(tv, 4 * runs + 1) * 1e3, len,
               bench_calldata_gas(bytes, len), params_security_bits(p, lg),
               params_proven_bits(p, lg));
        free(bytes);
    }
}

int main(int argc, char **argv)
{
    const struct params *only = NULL;
    int runs = 7, micro = 1;
    unsigned min_log = 10, max_log = 16;
    double load[3] = {0, 0, 0};

    for (int i = 1; i < argc; i++) {
        if (i + 1 < argc && strcmp(argv[i], "--runs") == 0)
            runs = atoi(argv[++i]);
        else if (i + 1 < argc && strcmp(argv[i], "--min-log") == 0)
            min_log = (unsigned)atoi(argv[++i]);
        else if (i + 1 < argc && strcmp(argv[i], "--max-log") == 0)
            max_log = (unsigned)atoi(argv[++i]);
        else if (i + 1 < argc && strcmp(argv[i], "--params") == 0 &&
                 (only = params_by_id((unsigned)atoi(argv[++i]))) != NULL)
            continue;
        else if (strcmp(argv[i], "--no-micro") == 0)
            micro = 0;
        else {
            fprintf(stderr, "usage: stark_bench [--runs N] [--min-log A] [--max-log B]"
                            " [--params 1|2] [--no-micro]\n");
            return 2;
        }
    }
    if (runs < 1 || runs > BENCH_MAX_RUNS || min_log < AIR_LOG_STEPS_MIN ||
        max_log > AIR_LOG_STEPS_MAX || min_log > max_log) {
        fprintf(stderr, "stark_bench: runs 1..%d, logs %d..%d\n", BENCH_MAX_RUNS, AIR_LOG_STEPS_MIN,
                AIR_LOG_STEPS_MAX);
        return 2;
    }
    getloadavg(load, 3);
    printf("phasestream STARK benchmark: single thread, %ld online cores, load %.2f at start\n",
           sysconf(_SC_NPROCESSORS_ONLN), load[0]);
    if (micro) {
        bench_field(runs);
        bench_ntt(runs);
    }
    for (unsigned id = 1; id <= 2; id++)
        if (only == NULL || only->id == id)
            bench_stark(params_by_id(id), runs, min_log, max_log);
    return 0;
}
