/*
 * deep: drawing z, the DEEP weights, and evaluating D (see deep.h).
 *
 * D(x) is evaluated as
 *
 *   (sum_j g_j t_j(x) + sum_i d_i H_i(x) - at_z) / (x - z)
 *     + (sum_j g'_j t_j(x) - at_omega_z) / (x - omega z)
 *
 * with at_z = sum_j g_j t_j(z) + sum_i d_i H_i(z) and
 * at_omega_z = sum_j g'_j t_j(omega z) computed once per proof. The trace
 * values are base-field elements, so each trace term costs two base
 * multiplications: the prover evaluates D at every LDE point.
 */
#include "deep.h"

#include <string.h>

struct field_ext deep_draw_point(struct transcript *t)
{
    for (;;) {
        struct field_ext z = transcript_draw_ext(t);

        if (z.c1 != 0)
            return z;
    }
}

void deep_init(struct deep *d, struct transcript *t, struct field_ext z, uint64_t omega,
               const struct deep_ood *ood)
{
    d->z = z;
    d->omega_z = field_ext_scale(z, omega);
    transcript_absorb_ext(t, ood->trace, AIR_WIDTH);
    transcript_absorb_ext(t, ood->trace_next, AIR_WIDTH);
    transcript_absorb_ext(t, ood->chunks, AIR_CHUNKS);
    for (unsigned j = 0; j < AIR_WIDTH; j++)
        d->g[j] = transcript_draw_ext(t);
    for (unsigned j = 0; j < AIR_WIDTH; j++)
        d->g_next[j] = transcript_draw_ext(t);
    for (unsigned i = 0; i < AIR_CHUNKS; i++)
        d->d[i] = transcript_draw_ext(t);

    d->at_z = (struct field_ext){0, 0};
    d->at_omega_z = (struct field_ext){0, 0};
    for (unsigned j = 0; j < AIR_WIDTH; j++) {
        d->at_z = field_ext_add(d->at_z, field_ext_mul(d->g[j], ood->trace[j]));
        d->at_omega_z =
                field_ext_add(d->at_omega_z, field_ext_mul(d->g_next[j], ood->trace_next[j]));
    }
    for (unsigned i = 0; i < AIR_CHUNKS; i++)
        d->at_z = field_ext_add(d->at_z, field_ext_mul(d->d[i], ood->chunks[i]));
}

struct field_ext deep_eval(const struct deep *d, const uint64_t trace[AIR_WIDTH],
                           const struct field_ext chunks[AIR_CHUNKS], struct field_ext inv_x_z,
                           struct field_ext inv_x_omega_z)
{
    struct field_ext num = {0, 0}, num_next = {0, 0};

    for (unsigned j = 0; j < AIR_WIDTH; j++) {
        num = field_ext_add(num, field_ext_scale(d->g[j], trace[j]));
        num_next = field_ext_add(num_next, field_ext_scale(d->g_next[j], trace[j]));
    }
    for (unsigned i = 0; i < AIR_CHUNKS; i++)
        num = field_ext_add(num, field_ext_mul(d->d[i], chunks[i]));
    num = field_ext_sub(num, d->at_z);
    num_next = field_ext_sub(num_next, d->at_omega_z);
    return field_ext_add(field_ext_mul(num, inv_x_z), field_ext_mul(num_next, inv_x_omega_z));
}

struct field_ext deep_ood_composition(const struct air *air, const struct air_coeffs *ac,
                                      unsigned log_steps, struct field_ext z,
                                      const struct deep_ood *ood, const uint64_t y[2])
{
    uint64_t last_point = field_inv(field_root_of_unity(log_steps));
    struct field_ext z_t = field_ext_pow(z, (uint64_t)1 << log_steps);
    struct field_ext one = field_ext_from_base(1);
    struct field_ext z_last = field_ext_sub(z, field_ext_from_base(last_point));
    struct air_frame f;
    struct air_divisors d;

    memcpy(f.cur, ood->trace, sizeof(f.cur));
    memcpy(f.next, ood->trace_next, sizeof(f.next));
    air_periodic_at(air, log_steps, z, f.rc);
    /* z is outside F_p, so none of these is zero. */
    d.transition = field_ext_mul(z_last, field_ext_inv(field_ext_sub(z_t, one)));
    d.first_row = field_ext_inv(field_ext_sub(z, one));
    d.last_row = field_ext_inv(z_last);
    return air_compose(ac, &f, &d, y);
}

struct field_ext deep_ood_chunked(const struct deep_ood *ood, struct field_ext z,
                                  unsigned log_steps)
{
    struct field_ext z_t = field_ext_pow(z, (uint64_t)1 << log_steps);
    struct field_ext chunked = {0, 0}, power = field_ext_from_base(1);

    for (unsigned i = 0; i < AIR_CHUNKS; i++) {
        chunked = field_ext_add(chunked, field_ext_mul(power, ood->chunks[i]));
        power = field_ext_mul(power, z_t);
    }
    return chunked;
}
