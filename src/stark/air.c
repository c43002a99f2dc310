/*
 * air: the hash-chain statement, its trace, and its constraints (the design
 * and the constraint list are in air.h).
 *
 * One round function serves the direct computation (air_hash) and the trace
 * (air_trace); one constraint function, over the extension field, serves the
 * prover (on base-field values lifted into the extension), the verifier (at
 * the out-of-domain point) and the trace check. The prover pays for
 * extension arithmetic on base values, a few percent of proving time, in
 * exchange for a single definition of the constraints.
 */
#include "air.h"

#include <string.h>

/* First row of the circulant MDS matrix circ(2, 3, 1, 1). */
static const uint64_t air_mds_row[AIR_STATE] = {2, 3, 1, 1};

uint64_t air_mds(unsigned j, unsigned k)
{
    return air_mds_row[(k + AIR_STATE - j) % AIR_STATE];
}

/*
 * c[r][k] = the first 8 bytes (little-endian) of
 * SHA-256(label || r || k || attempt), the first attempt below p.
 */
static uint64_t air_round_constant(struct sha256 *h, unsigned r, unsigned k)
{
    static const char label[] = "phasestream-stark/round-constant";
    uint8_t d[SHA256_LEN];

    for (uint8_t attempt = 0;; attempt++) {
        uint8_t idx[3] = {(uint8_t)r, (uint8_t)k, attempt};
        uint64_t v = 0;

        sha256_begin(h);
        sha256_update(h, label, sizeof(label) - 1);
        sha256_update(h, idx, sizeof(idx));
        sha256_end(h, d);
        for (int i = 7; i >= 0; i--)
            v = (v << 8) | d[i];
        if (v < FIELD_P)
            return v;
    }
}

int air_init(struct air *air, struct sha256 *h, char *err)
{
    struct ntt_plan *plan = ntt_plan_new(AIR_LOG_PERIOD);

    if (plan == NULL) {
        error_set(err, "out of memory");
        return -1;
    }
    for (unsigned r = 0; r < AIR_PERIOD; r++)
        for (unsigned k = 0; k < AIR_STATE; k++)
            air->rc[r][k] = air_round_constant(h, r, k);
    for (unsigned k = 0; k < AIR_STATE; k++) {
        for (unsigned r = 0; r < AIR_PERIOD; r++)
            air->rc_coeffs[k][r] = air->rc[r][k];
        ntt_inverse(plan, air->rc_coeffs[k], AIR_LOG_PERIOD, 1);
    }
    ntt_plan_free(plan);
    return 0;
}

/*
 * One round from the state of row `row`: writes the cubes u (the trace's
 * auxiliary columns) and replaces s by the next state.
 */
static void air_round(const struct air *air, size_t row, uint64_t s[AIR_STATE],
                      uint64_t u[AIR_STATE])
{
    const uint64_t *c = air->rc[row % AIR_PERIOD];
    uint64_t b[AIR_STATE];

    for (unsigned k = 0; k < AIR_STATE; k++) {
        uint64_t a = field_add(s[k], c[k]);

        u[k] = field_mul(field_sqr(a), a);
        b[k] = field_mul(field_sqr(u[k]), a);
    }
    for (unsigned j = 0; j < AIR_STATE; j++) {
        uint64_t acc = 0;

        for (unsigned k = 0; k < AIR_STATE; k++)
            acc = field_add(acc, field_mul(air_mds(j, k), b[k]));
        s[j] = acc;
    }
}

void air_initial_state(const uint64_t x[2], uint64_t state[AIR_STATE])
{
    state[0] = x[0];
    state[1] = x[1];
    for (unsigned k = 2; k < AIR_STATE; k++)
        state[k] = 0; /* the capacity */
}

void air_hash(const struct air *air, const uint64_t x[2], unsigned log_steps, uint64_t y[2])
{
    uint64_t s[AIR_STATE], u[AIR_STATE];
    size_t rounds = ((size_t)1 << log_steps) - 1;

    air_initial_state(x, s);
    for (size_t r = 0; r < rounds; r++)
        air_round(air, r, s, u);
    y[0] = s[0];
    y[1] = s[1];
}

void air_trace(const struct air *air, const uint64_t state0[AIR_STATE], unsigned log_steps,
               uint64_t *const cols[AIR_WIDTH])
{
    uint64_t s[AIR_STATE], u[AIR_STATE];
    size_t n = (size_t)1 << log_steps;

    memcpy(s, state0, sizeof(s));
    for (size_t i = 0; i < n; i++) {
        for (unsigned k = 0; k < AIR_STATE; k++)
            cols[k][i] = s[k];
        /* The last row's cubes are unconstrained; computed all the same. */
        air_round(air, i, s, u);
        for (unsigned k = 0; k < AIR_STATE; k++)
            cols[AIR_STATE + k][i] = u[k];
    }
}

void air_eval_transitions(const struct air_frame *f, struct field_ext out[AIR_TRANSITIONS])
{
    struct field_ext b[AIR_STATE];

    for (unsigned k = 0; k < AIR_STATE; k++) {
        struct field_ext a = field_ext_add(f->cur[k], f->rc[k]);
        struct field_ext u = f->cur[AIR_STATE + k];
        struct field_ext a3 = field_ext_mul(field_ext_mul(a, a), a);

        out[k] = field_ext_sub(u, a3);
        b[k] = field_ext_mul(field_ext_mul(u, u), a);
    }
    for (unsigned j = 0; j < AIR_STATE; j++) {
        struct field_ext acc = f->next[j];

        for (unsigned k = 0; k < AIR_STATE; k++)
            acc = field_ext_sub(acc, field_ext_scale(b[k], air_mds(j, k)));
        out[AIR_STATE + j] = acc;
    }
}

long air_check_trace(const struct air *air, unsigned log_steps, uint64_t *const cols[AIR_WIDTH],
                     const uint64_t y[2])
{
    size_t n = (size_t)1 << log_steps;
    struct air_frame f;
    struct field_ext c[AIR_TRANSITIONS];

    if (cols[2][0] != 0 || cols[3][0] != 0)
        return 0;
    if (cols[0][n - 1] != y[0] || cols[1][n - 1] != y[1])
        return (long)(n - 1);
    for (size_t i = 0; i + 1 < n; i++) {
        for (unsigned col = 0; col < AIR_WIDTH; col++) {
            f.cur[col] = field_ext_from_base(cols[col][i]);
            f.next[col] = field_ext_from_base(cols[col][i + 1]);
        }
        for (unsigned k = 0; k < AIR_STATE; k++)
            f.rc[k] = field_ext_from_base(air->rc[i % AIR_PERIOD][k]);
        air_eval_transitions(&f, c);
        for (unsigned m = 0; m < AIR_TRANSITIONS; m++)
            if (!field_ext_is_zero(c[m]))
                return (long)i;
    }
    return -1;
}

void air_draw_coeffs(struct transcript *t, struct air_coeffs *c)
{
    for (unsigned m = 0; m < AIR_CONSTRAINTS; m++)
        c->alpha[m] = transcript_draw_ext(t);
}

struct field_ext air_compose(const struct air_coeffs *c, const struct air_frame *f,
                             const struct air_divisors *d, const uint64_t y[2])
{
    const struct field_ext *alpha = c->alpha;
    struct field_ext con[AIR_TRANSITIONS];
    struct field_ext trans = {0, 0}, first, last;

    air_eval_transitions(f, con);
    for (unsigned m = 0; m < AIR_TRANSITIONS; m++)
        trans = field_ext_add(trans, field_ext_mul(alpha[m], con[m]));

    /* Row 0: s_2 = 0 and s_3 = 0, the sponge's capacity. */
    first = field_ext_add(field_ext_mul(alpha[AIR_TRANSITIONS], f->cur[2]),
                          field_ext_mul(alpha[AIR_TRANSITIONS + 1], f->cur[3]));
    /* Row T-1: s_0 = y0 and s_1 = y1, the public output. */
    last = field_ext_add(field_ext_mul(alpha[AIR_TRANSITIONS + 2],
                                       field_ext_sub(f->cur[0], field_ext_from_base(y[0]))),
                         field_ext_mul(alpha[AIR_TRANSITIONS + 3],
                                       field_ext_sub(f->cur[1], field_ext_from_base(y[1]))));

    return field_ext_add(
            field_ext_mul(trans, d->transition),
            field_ext_add(field_ext_mul(first, d->first_row), field_ext_mul(last, d->last_row)));
}

void air_periodic_lde(const struct air *air, const struct ntt_plan *plan, unsigned log_steps,
                      unsigned log_blowup, uint64_t offset, uint64_t *const out[AIR_STATE])
{
    /* x^(T/64) maps the LDE coset onto offset^(T/64) * <omega_{64B}>. */
    uint64_t shifted = field_pow(offset, (uint64_t)1 << (log_steps - AIR_LOG_PERIOD));

    for (unsigned k = 0; k < AIR_STATE; k++)
        ntt_coset_evaluate(plan, air->rc_coeffs[k], AIR_PERIOD, out[k], AIR_LOG_PERIOD + log_blowup,
                           shifted, 1);
}

void air_periodic_at(const struct air *air, unsigned log_steps, struct field_ext x,
                     struct field_ext out[AIR_STATE])
{
    struct field_ext y = field_ext_pow(x, (uint64_t)1 << (log_steps - AIR_LOG_PERIOD));

    for (unsigned k = 0; k < AIR_STATE; k++)
        out[k] = field_poly_eval_at_ext(air->rc_coeffs[k], AIR_PERIOD, y);
}
