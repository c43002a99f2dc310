/*
 * statement: public inputs, their hex and JSON forms, transcript binding.
 *
 * The JSON reader is deliberately tiny: the statement file has a fixed,
 * flat shape written by this tool, so the parser accepts exactly that shape
 * (an object of string and integer members) and rejects everything else with
 * a message naming what it found. The output is exactly 32 lower-case hex
 * digits, as written: no prefix, no upper case. Limits: the whole file is at most 4 KiB
 * (checked by the caller), a string at most 64 bytes, an integer at most
 * 10 digits.
 */
#include "statement.h"

#include <stdio.h>
#include <string.h>

#include "air.h"

#define STATEMENT_PROOF_SYSTEM "phasestream-stark"
#define STATEMENT_FORMAT       1
#define STATEMENT_STR_MAX      64

int statement_equal(const struct statement *a, const struct statement *b)
{
    return a->log_steps == b->log_steps && a->output[0] == b->output[0] &&
           a->output[1] == b->output[1];
}

void statement_bind(const struct statement *st, const struct params *p, struct transcript *t)
{
    uint8_t buf[8 + 1 + 2 * FIELD_BYTES];

    /* The whole parameter set, not just its id: ids are not trusted. */
    buf[0] = (uint8_t)p->id;
    buf[1] = (uint8_t)(p->id >> 8);
    buf[2] = p->log_blowup;
    buf[3] = p->queries;
    buf[4] = p->grinding_bits;
    buf[5] = p->log_fold;
    buf[6] = p->log_remainder;
    buf[7] = 0;
    buf[8] = (uint8_t)st->log_steps;
    field_write(buf + 9, st->output[0]);
    field_write(buf + 9 + FIELD_BYTES, st->output[1]);
    transcript_absorb(t, buf, sizeof(buf));
}

void statement_words_to_hex(const uint64_t w[2], char out[STATEMENT_HEX_LEN + 1])
{
    snprintf(out, STATEMENT_HEX_LEN + 1, "%016llx%016llx", (unsigned long long)w[0],
             (unsigned long long)w[1]);
}

static int statement_hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Exactly 32 lower-case hex digits: the one spelling the tool writes. */
int statement_words_from_hex(const char *hex, uint64_t w[2], char *err)
{
    if (strlen(hex) != STATEMENT_HEX_LEN) {
        error_set(err, "expected %d hex digits, lower case, no prefix", STATEMENT_HEX_LEN);
        return -1;
    }
    for (int k = 0; k < 2; k++) {
        uint64_t v = 0;

        for (int i = 0; i < 16; i++) {
            int d = statement_hex_digit(hex[16 * k + i]);

            if (d < 0) {
                error_set(err, "not a lower-case hex digit: '%c'", hex[16 * k + i]);
                return -1;
            }
            v = (v << 4) | (uint64_t)d;
        }
        if (v >= FIELD_P) {
            error_set(err, "word %d is not below p = 2^64 - 2^32 + 1", k);
            return -1;
        }
        w[k] = v;
    }
    return 0;
}

int statement_input_from_hex(const char *hex, uint64_t w[2], char *err)
{
    char lower[STATEMENT_HEX_LEN + 1];
    size_t n;

    if (hex[0] == '0' && (hex[1] == 'x' || hex[1] == 'X'))
        hex += 2;
    n = strlen(hex);
    if (n != STATEMENT_HEX_LEN) {
        error_set(err, "expected %d hex digits", STATEMENT_HEX_LEN);
        return -1;
    }
    for (size_t i = 0; i <= n; i++)
        lower[i] = (hex[i] >= 'A' && hex[i] <= 'F') ? (char)(hex[i] - 'A' + 'a') : hex[i];
    return statement_words_from_hex(lower, w, err);
}

size_t statement_to_json(const struct statement *st, const struct params *p,
                         char out[STATEMENT_JSON_MAX])
{
    char hex[STATEMENT_HEX_LEN + 1];
    int n;

    statement_words_to_hex(st->output, hex);
    n = snprintf(out, STATEMENT_JSON_MAX,
                 "{\"proof_system\":\"%s\",\"format\":%d,\"params\":%u,"
                 "\"steps\":%lu,\"output\":\"%s\"}\n",
                 STATEMENT_PROOF_SYSTEM, STATEMENT_FORMAT, (unsigned)p->id, 1ul << st->log_steps,
                 hex);
    return n < 0 ? 0 : (size_t)n;
}

/* A cursor over the JSON text. */
struct statement_json {
    const char *s;
    size_t len, pos;
    char *err;
};

static void statement_json_space(struct statement_json *j)
{
    while (j->pos < j->len && (j->s[j->pos] == ' ' || j->s[j->pos] == '\t' ||
                               j->s[j->pos] == '\n' || j->s[j->pos] == '\r'))
        j->pos++;
}

static int statement_json_expect(struct statement_json *j, char c)
{
    statement_json_space(j);
    if (j->pos >= j->len || j->s[j->pos] != c) {
        error_set(j->err, "statement: expected '%c' at byte %zu", c, j->pos);
        return -1;
    }
    j->pos++;
    return 0;
}

static int statement_json_string(struct statement_json *j, char out[STATEMENT_STR_MAX + 1])
{
    size_t n = 0;

    if (statement_json_expect(j, '"') != 0)
        return -1;
    while (j->pos < j->len && j->s[j->pos] != '"') {
        unsigned char c = (unsigned char)j->s[j->pos];

        if (c == '\\' || c < 0x20 || n == STATEMENT_STR_MAX) {
            error_set(j->err, "statement: unsupported string at byte %zu", j->pos);
            return -1;
        }
        out[n++] = (char)c;
        j->pos++;
    }
    out[n] = '\0';
    return statement_json_expect(j, '"');
}

static int statement_json_uint(struct statement_json *j, unsigned long *out)
{
    unsigned long v = 0;
    size_t start;

    statement_json_space(j);
    start = j->pos;
    while (j->pos < j->len && j->s[j->pos] >= '0' && j->s[j->pos] <= '9') {
        if (j->pos - start == 10) {
            error_set(j->err, "statement: number too long at byte %zu", start);
            return -1;
        }
        v = v * 10 + (unsigned long)(j->s[j->pos] - '0');
        j->pos++;
    }
    if (j->pos == start || (j->s[start] == '0' && j->pos - start > 1)) {
        error_set(j->err, "statement: bad number at byte %zu", start);
        return -1;
    }
    *out = v;
    return 0;
}

int statement_log2_steps(unsigned long steps, unsigned *log_steps)
{
    for (unsigned k = AIR_LOG_STEPS_MIN; k <= AIR_LOG_STEPS_MAX; k++) {
        if (steps == 1ul << k) {
            *log_steps = k;
            return 0;
        }
    }
    return -1;
}

enum statement_key {
    STATEMENT_KEY_PROOF_SYSTEM,
    STATEMENT_KEY_FORMAT,
    STATEMENT_KEY_PARAMS,
    STATEMENT_KEY_STEPS,
    STATEMENT_KEY_OUTPUT,
    STATEMENT_KEY_COUNT
};

static const char *const statement_keys[STATEMENT_KEY_COUNT] = {
        "proof_system", "format", "params", "steps", "output",
};

/* The value of one member, by key. */
static int statement_json_value(struct statement_json *j, enum statement_key key,
                                struct statement *st, uint16_t *params_id)
{
    char str[STATEMENT_STR_MAX + 1], why[ERROR_MAX];
    unsigned long num;

    switch (key) {
    case STATEMENT_KEY_PROOF_SYSTEM:
        if (statement_json_string(j, str) != 0)
            return -1;
        if (strcmp(str, STATEMENT_PROOF_SYSTEM) != 0) {
            error_set(j->err, "statement: proof_system \"%s\" is not %s", str,
                      STATEMENT_PROOF_SYSTEM);
            return -1;
        }
        return 0;
    case STATEMENT_KEY_FORMAT:
        if (statement_json_uint(j, &num) != 0)
            return -1;
        if (num != STATEMENT_FORMAT) {
            error_set(j->err, "statement: format %lu is not %d", num, STATEMENT_FORMAT);
            return -1;
        }
        return 0;
    case STATEMENT_KEY_PARAMS:
        if (statement_json_uint(j, &num) != 0)
            return -1;
        if (num == 0 || num > 0xffff) {
            error_set(j->err, "statement: params %lu out of range", num);
            return -1;
        }
        *params_id = (uint16_t)num;
        return 0;
    case STATEMENT_KEY_STEPS:
        if (statement_json_uint(j, &num) != 0)
            return -1;
        if (statement_log2_steps(num, &st->log_steps) != 0) {
            error_set(j->err, "statement: steps %lu is not a power of two in 2^%d..2^%d", num,
                      AIR_LOG_STEPS_MIN, AIR_LOG_STEPS_MAX);
            return -1;
        }
        return 0;
    case STATEMENT_KEY_OUTPUT:
    default:
        if (statement_json_string(j, str) != 0)
            return -1;
        if (statement_words_from_hex(str, st->output, why) != 0) {
            error_set(j->err, "statement: output: %s", why);
            return -1;
        }
        return 0;
    }
}

/* One "key": value member; *seen (one bit per key) catches duplicates. */
static int statement_json_member(struct statement_json *j, struct statement *st,
                                 uint16_t *params_id, unsigned *seen)
{
    char key[STATEMENT_STR_MAX + 1];
    unsigned k;

    if (statement_json_string(j, key) != 0 || statement_json_expect(j, ':') != 0)
        return -1;
    for (k = 0; k < STATEMENT_KEY_COUNT && strcmp(key, statement_keys[k]) != 0; k++)
        ;
    if (k == STATEMENT_KEY_COUNT) {
        error_set(j->err, "statement: unknown key \"%s\"", key);
        return -1;
    }
    if (*seen & (1u << k)) {
        error_set(j->err, "statement: duplicate key \"%s\"", key);
        return -1;
    }
    *seen |= 1u << k;
    return statement_json_value(j, (enum statement_key)k, st, params_id);
}

int statement_from_json(const char *text, size_t len, struct statement *st, uint16_t *params_id,
                        char *err)
{
    struct statement_json j = {text, len, 0, err};
    unsigned seen = 0;

    *params_id = 0;
    if (statement_json_expect(&j, '{') != 0)
        return -1;
    for (;;) {
        if (statement_json_member(&j, st, params_id, &seen) != 0)
            return -1;
        statement_json_space(&j);
        if (j.pos < j.len && j.s[j.pos] == ',') {
            j.pos++;
            continue;
        }
        if (statement_json_expect(&j, '}') != 0)
            return -1;
        break;
    }
    statement_json_space(&j);
    if (j.pos != j.len) {
        error_set(err, "statement: trailing bytes at byte %zu", j.pos);
        return -1;
    }
    if (!(seen & (1u << STATEMENT_KEY_STEPS)) || !(seen & (1u << STATEMENT_KEY_OUTPUT))) {
        error_set(err, "statement: \"steps\" and \"output\" are required");
        return -1;
    }
    return 0;
}
