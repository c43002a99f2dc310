/*
 * server_lines_fuzz: libFuzzer target for the line processor (lines.c), the
 * path every byte a phase prints takes before it is stored.
 *
 * Input: [limit][chunking][secrets] then, per secret, [length][bytes], then
 * the phase's output. The line limit is 80 + the first byte (80 is the
 * smallest --line-limit); up to three secrets are picked from the input and
 * turned into the strings to mask by line_secret_split, as the runner does
 * (a secret with line breaks gives one string per line).
 *
 * The output is fed twice, once whole and once in random chunks, through
 * linebuf_feed and linebuf_finish, and every raw line goes through
 * line_sanitize. The oracles:
 *
 *   - the two feeds give the same raw lines (a line of exactly the buffer's
 *     size may be whole in one and cut in the other: its newline came in a
 *     later read), none longer than the buffer, none holding a newline;
 *   - no sanitized line holds a secret whole, nor does line_mask's output;
 *   - nor any line of a multi-line secret that must be masked, as this file
 *     splits the value itself: each line between "\n", "\r\n" or "\r",
 *     trimmed of blanks, of LINE_SECRET_LINE_MIN bytes or more, or of any
 *     length when it is the value's only line that is not blank;
 *   - a cut or partial line does not end in the first bytes of a secret
 *     (its phase may have been stopped in the middle of printing it);
 *   - with one secret, a line sanitizes to the same text as the line with
 *     the secret already replaced by "***": no escape sequence, control
 *     character or bad byte next to a secret can make it leak in part;
 *   - a sanitized line is well-formed UTF-8 with no control character but
 *     tab, is no longer than the limit + "***" + the cut marker, and a cut
 *     line ends with the marker.
 *
 * A secret takes part in the leak oracles when it is well-formed UTF-8
 * without control characters (so no newline: a line cannot hold one) and
 * without '*' (the mask itself is made of them), and is not part of the cut
 * marker (which every cut line shows). The other secrets are only masked,
 * in a second pass over the same lines, for memory errors.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lines.h"
#include "server_fuzz.h"

#define LINES_FUZZ_SECRETS 3

struct raw_line {
    char *bytes;
    size_t len;
    enum line_end end;
};

struct feed {
    const struct line_rules *rules;
    size_t cap; /* the linebuf's */
    struct raw_line *lines;
    size_t n, room;
};

static void feed_line(void *ctx, const char *line, size_t len, enum line_end end)
{
    struct feed *f = ctx;
    if (len > f->cap || memchr(line, '\n', len))
        fuzz_fail("raw line of %zu bytes (buffer %zu) or with a newline", len, f->cap);
    if (f->n == f->room) {
        f->room = f->room ? 2 * f->room : 16;
        f->lines = realloc(f->lines, f->room * sizeof(*f->lines));
        if (!f->lines)
            abort();
    }
    f->lines[f->n++] = (struct raw_line){fuzz_cstr(line, len), len, end};
}

static void feed_free(struct feed *f)
{
    for (size_t i = 0; i < f->n; i++)
        free(f->lines[i].bytes);
    free(f->lines);
}

/* Splits the output into lines, in chunks of random sizes (seed 0: whole). */
static void feed_run(struct feed *f, const char *p, size_t n, uint32_t seed)
{
    struct linebuf lb;
    linebuf_init(&lb, f->rules);
    f->cap = lb.cap;
    while (n > 0) {
        size_t take = n;
        if (seed) {
            uint32_t r = fuzz_rand(&seed);
            take = 1 + r % ((r >> 24) & 1 ? 7 : 300);
            if (take > n)
                take = n;
        }
        linebuf_feed(&lb, p, take, feed_line, f);
        p += take;
        n -= take;
    }
    linebuf_finish(&lb, feed_line, f);
    linebuf_free(&lb);
}

static bool same_line(const struct raw_line *a, const struct raw_line *b, size_t cap)
{
    if (a->len != b->len || memcmp(a->bytes, b->bytes, a->len) != 0)
        return false;
    return a->end == b->end || (a->len == cap && a->end != LINE_PARTIAL && b->end != LINE_PARTIAL);
}

static void check_no_secret(const struct line_rules *r, const char *s, size_t n, const char *what)
{
    for (size_t i = 0; i < r->nsecrets; i++)
        if (r->secrets[i][0] && memmem(s, n, r->secrets[i], strlen(r->secrets[i])))
            fuzz_fail("secret %zu \"%s\" whole in %s \"%.*s\"", i, r->secrets[i], what, (int)n, s);
}

/* Does s[0..n) end in the first bytes (not all) of a secret? */
static bool ends_in_secret_prefix(const struct line_rules *r, const char *s, size_t n)
{
    for (size_t i = 0; i < r->nsecrets; i++)
        for (size_t k = 1; k < strlen(r->secrets[i]) && k <= n; k++)
            if (memcmp(s + n - k, r->secrets[i], k) == 0)
                return true;
    return false;
}

/* The line with every occurrence of the one secret replaced by "***",
 * left to right; NULL when it ends in the secret's first bytes (then the
 * sanitized line masks them, which the copy would not show). */
static char *premask(const char *secret, const struct raw_line *raw, size_t *outlen)
{
    size_t slen = strlen(secret), o = 0;
    char *out = malloc(raw->len / slen * 3 + raw->len + 1);
    if (!out)
        abort();
    for (size_t i = 0; i < raw->len;) {
        if (raw->len - i >= slen && memcmp(raw->bytes + i, secret, slen) == 0) {
            memcpy(out + o, "***", 3);
            o += 3;
            i += slen;
        } else {
            out[o++] = raw->bytes[i++];
        }
    }
    struct line_rules one = {0, &secret, 1};
    if (ends_in_secret_prefix(&one, out, o)) {
        free(out);
        return NULL;
    }
    *outlen = o;
    return out;
}

/* Was the line cut: too long once cleaned and masked, or cut already? The
 * marker at its end does not say: the phase may print it itself. */
static bool was_cut(const struct line_rules *r, const struct raw_line *raw)
{
    if (raw->end == LINE_CUT)
        return true;
    struct line_rules whole = *r;
    size_t len;
    whole.limit = (size_t)-1;
    /* A partial line's dangling secret prefix is masked before the length
     * counts, as line_sanitize does. */
    free(line_sanitize(&whole, raw->bytes, raw->len, raw->end, &len));
    return len > r->limit;
}

static void check_sanitized(const struct line_rules *r, const struct raw_line *raw)
{
    static const size_t marker = sizeof(LINE_CUT_MARKER) - 1;
    size_t len;
    char *out = line_sanitize(r, raw->bytes, raw->len, raw->end, &len);
    if (strlen(out) != len)
        fuzz_fail("sanitized length %zu, string length %zu", len, strlen(out));
    check_no_secret(r, out, len, "sanitized line");
    if (!fuzz_utf8_clean(out, len, true))
        fuzz_fail("sanitized line is not clean UTF-8: \"%s\"", out);
    if (len > r->limit + 2 + marker)
        fuzz_fail("sanitized line of %zu bytes, limit %zu", len, r->limit);
    /* A line the reader cut is marked, and so is one over the limit (with
     * room for a dangling secret's "***"); a marked line may also be one
     * whose phase printed the marker itself, which was_cut tells apart. */
    bool marked = len >= marker && memcmp(out + len - marker, LINE_CUT_MARKER, marker) == 0;
    if (raw->end == LINE_CUT && !marked)
        fuzz_fail("a cut line without the marker: \"%s\"", out);
    if (!marked && len > r->limit + 2)
        fuzz_fail("a line over the limit without the marker: \"%s\"", out);
    bool cut = raw->end == LINE_CUT || (marked && was_cut(r, raw));
    if ((cut || raw->end == LINE_PARTIAL) &&
        ends_in_secret_prefix(r, out, cut ? len - marker : len))
        fuzz_fail("a %s line ends in a secret's first bytes: \"%s\"", cut ? "cut" : "partial", out);
    size_t mlen;
    char *masked = r->nsecrets == 1 ? premask(r->secrets[0], raw, &mlen) : NULL;
    if (masked) {
        size_t elen;
        char *expect = line_sanitize(r, masked, mlen, raw->end, &elen);
        if (elen != len || memcmp(expect, out, len) != 0)
            fuzz_fail("sanitized \"%s\", but \"%s\" with the secret printed as ***", out, expect);
        free(expect);
        free(masked);
    }
    free(out);
}

/* Can the leak oracle hold for this secret? See the top of the file. */
static bool secret_checkable(const char *s)
{
    size_t n = strlen(s);
    return n > 0 && fuzz_utf8_clean(s, n, true) && !strchr(s, '*') && !strstr(LINE_CUT_MARKER, s);
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\v' || c == '\f';
}

/* The lines of a multi-line secret that must never show, split here without
 * line_secret_split (see the top of the file), the checkable ones added to
 * out[*n..max). A value without a line break adds nothing: it is checked
 * whole. */
static void secret_lines(const char *v, char **out, size_t *n, size_t max)
{
    if (!strpbrk(v, "\r\n"))
        return;
    char *copy = strdup(v);
    if (!copy)
        abort();
    char *lines[64];
    size_t nl = 0;
    for (char *p = copy;; p++) {
        char *start = p;
        while (*p && *p != '\r' && *p != '\n')
            p++;
        char end = *p;
        *p = '\0';
        while (is_blank(*start))
            start++;
        for (char *e = start + strlen(start); e > start && is_blank(e[-1]); e--)
            e[-1] = '\0';
        if (*start && nl < 64)
            lines[nl++] = start;
        if (!end)
            break;
        if (end == '\r' && p[1] == '\n')
            p++;
    }
    for (size_t i = 0; i < nl && *n < max; i++)
        if ((nl == 1 || strlen(lines[i]) >= LINE_SECRET_LINE_MIN) && secret_checkable(lines[i]))
            out[(*n)++] = strdup(lines[i]);
    free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3)
        return 0;
    size_t limit = 80 + data[0];
    uint32_t seed = data[1] | 0x100u;
    size_t nsec = data[2] % (LINES_FUZZ_SECRETS + 1);
    const uint8_t *p = data + 3;
    size_t n = size - 3;

    char *secrets[LINES_FUZZ_SECRETS];
    const char *good[LINE_MAX_SECRETS], *all[LINE_MAX_SECRETS];
    char *lines[LINE_MAX_SECRETS];
    size_t ngood = 0, nall = 0, nlines = 0;
    for (size_t i = 0; i < nsec; i++) {
        size_t len = n > 0 ? 1 + p[0] % 48 : 0;
        if (n > 0) {
            p++;
            n--;
        }
        if (len > n)
            len = n;
        secrets[i] = fuzz_cstr(p, len); /* up to a NUL, like an env value */
        if (line_secret_split(secrets[i], all, &nall, LINE_MAX_SECRETS) < 0)
            fuzz_fail("%zu strings to mask from %zu secrets of at most 48 bytes", nall, i + 1);
        secret_lines(secrets[i], lines, &nlines, LINE_MAX_SECRETS);
        p += len;
        n -= len;
    }
    for (size_t i = 0; i < nall; i++)
        if (secret_checkable(all[i]))
            good[ngood++] = all[i];
    const struct line_rules checked = {limit, good, ngood};
    const struct line_rules every = {limit, all, nall};
    const struct line_rules multi = {limit, (const char **)lines, nlines};

    struct feed whole = {.rules = &checked}, chunked = {.rules = &checked};
    feed_run(&whole, (const char *)p, n, 0);
    feed_run(&chunked, (const char *)p, n, seed);
    if (whole.n != chunked.n)
        fuzz_fail("%zu lines fed whole, %zu fed in chunks", whole.n, chunked.n);
    for (size_t i = 0; i < whole.n; i++) {
        if (!same_line(&whole.lines[i], &chunked.lines[i], whole.cap))
            fuzz_fail("line %zu differs between the whole and the chunked feed", i);
        check_sanitized(&checked, &whole.lines[i]);
        check_sanitized(&checked, &chunked.lines[i]);
        if (nlines > 0) {
            const struct raw_line *raw = &whole.lines[i];
            size_t len;
            char *out = line_sanitize(&checked, raw->bytes, raw->len, raw->end, &len);
            check_no_secret(&multi, out, len, "sanitized line (a line of a secret)");
            free(out);
        }
        if (ngood < nall) {
            const struct raw_line *raw = &whole.lines[i];
            free(line_sanitize(&every, raw->bytes, raw->len, raw->end, NULL));
        }
    }

    char *text = fuzz_cstr(p, n);
    char *masked = line_mask(&checked, text);
    check_no_secret(&checked, masked, strlen(masked), "line_mask output");
    free(masked);
    free(text);

    feed_free(&whole);
    feed_free(&chunked);
    for (size_t i = 0; i < nsec; i++)
        free(secrets[i]);
    line_secrets_free(all, nall);
    for (size_t i = 0; i < nlines; i++)
        free(lines[i]);
    return 0;
}
