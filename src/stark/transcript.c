/*
 * transcript: a SHA-256 duplex-style chain (see transcript.h).
 *
 *   init:    state = H("phasestream-stark/transcript" || label)
 *   absorb:  state = H(0x01 || state || len64 || data)
 *   squeeze: state = H(0x02 || state), the challenge is read from state
 *   grind:   ok iff H(0x03 || state || nonce64) starts with `bits` zeros
 *
 * The tags keep the three kinds of step apart, and the length prefix makes
 * absorb(a) absorb(b) differ from absorb(a || b). Chaining the state through
 * every squeeze binds each challenge to everything before it, including the
 * previous challenges.
 *
 * Field challenges are sampled by rejection (a 64-bit word is used only if it
 * is below p, which fails with probability < 2^-32 per draw), so they are
 * exactly uniform; indices take the low bits of a word, exact for powers of
 * two.
 */
#include "transcript.h"

#include <string.h>

enum {
    TRANSCRIPT_ABSORB = 0x01,
    TRANSCRIPT_SQUEEZE = 0x02,
    TRANSCRIPT_GRIND = 0x03,
};

static void transcript_put_u64(uint8_t out[8], uint64_t v)
{
    for (int i = 0; i < 8; i++)
        out[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t transcript_get_u64(const uint8_t in[8])
{
    uint64_t v = 0;

    for (int i = 7; i >= 0; i--)
        v = (v << 8) | in[i];
    return v;
}

void transcript_init(struct transcript *t, struct sha256 *h, const char *label)
{
    static const char domain[] = "phasestream-stark/transcript";

    t->h = h;
    sha256_begin(h);
    sha256_update(h, domain, sizeof(domain) - 1);
    sha256_update(h, label, strlen(label));
    sha256_end(h, t->state);
}

void transcript_absorb(struct transcript *t, const void *data, size_t len)
{
    uint8_t tag = TRANSCRIPT_ABSORB, len64[8];

    transcript_put_u64(len64, (uint64_t)len);
    sha256_begin(t->h);
    sha256_update(t->h, &tag, 1);
    sha256_update(t->h, t->state, SHA256_LEN);
    sha256_update(t->h, len64, sizeof(len64));
    sha256_update(t->h, data, len);
    sha256_end(t->h, t->state);
}

void transcript_absorb_ext(struct transcript *t, const struct field_ext *v, size_t n)
{
    uint8_t tag = TRANSCRIPT_ABSORB, len64[8], buf[FIELD_EXT_BYTES];

    /* Streams the encoding; the same bytes as absorbing one buffer. */
    transcript_put_u64(len64, (uint64_t)n * FIELD_EXT_BYTES);
    sha256_begin(t->h);
    sha256_update(t->h, &tag, 1);
    sha256_update(t->h, t->state, SHA256_LEN);
    sha256_update(t->h, len64, sizeof(len64));
    for (size_t i = 0; i < n; i++) {
        field_ext_write(buf, v[i]);
        sha256_update(t->h, buf, sizeof(buf));
    }
    sha256_end(t->h, t->state);
}

static void transcript_squeeze(struct transcript *t)
{
    uint8_t tag = TRANSCRIPT_SQUEEZE;

    sha256_begin(t->h);
    sha256_update(t->h, &tag, 1);
    sha256_update(t->h, t->state, SHA256_LEN);
    sha256_end(t->h, t->state);
}

uint64_t transcript_draw_field(struct transcript *t)
{
    for (;;) {
        uint64_t v;

        transcript_squeeze(t);
        v = transcript_get_u64(t->state);
        if (v < FIELD_P)
            return v;
    }
}

struct field_ext transcript_draw_ext(struct transcript *t)
{
    struct field_ext e;

    e.c0 = transcript_draw_field(t);
    e.c1 = transcript_draw_field(t);
    return e;
}

uint64_t transcript_draw_index(struct transcript *t, unsigned log_n)
{
    uint64_t v;

    transcript_squeeze(t);
    v = transcript_get_u64(t->state);
    return log_n >= 64 ? v : v & (((uint64_t)1 << log_n) - 1);
}

static unsigned transcript_leading_zeros(const uint8_t d[SHA256_LEN])
{
    unsigned n = 0;

    for (int i = 0; i < SHA256_LEN; i++) {
        if (d[i] != 0)
            return n + (unsigned)__builtin_clz(d[i]) - 24;
        n += 8;
    }
    return n;
}

static int transcript_grind_ok(struct transcript *t, unsigned bits, uint64_t nonce)
{
    uint8_t tag = TRANSCRIPT_GRIND, n64[8], d[SHA256_LEN];

    transcript_put_u64(n64, nonce);
    sha256_begin(t->h);
    sha256_update(t->h, &tag, 1);
    sha256_update(t->h, t->state, SHA256_LEN);
    sha256_update(t->h, n64, sizeof(n64));
    sha256_end(t->h, d);
    return transcript_leading_zeros(d) >= bits;
}

static void transcript_absorb_nonce(struct transcript *t, uint64_t nonce)
{
    uint8_t n64[8];

    transcript_put_u64(n64, nonce);
    transcript_absorb(t, n64, sizeof(n64));
}

uint64_t transcript_grind(struct transcript *t, unsigned bits)
{
    uint64_t nonce = 0;

    while (!transcript_grind_ok(t, bits, nonce))
        nonce++;
    transcript_absorb_nonce(t, nonce);
    return nonce;
}

int transcript_check_grind(struct transcript *t, unsigned bits, uint64_t nonce)
{
    if (!transcript_grind_ok(t, bits, nonce))
        return 0;
    transcript_absorb_nonce(t, nonce);
    return 1;
}
