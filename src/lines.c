/* lines.c -- splitting, cleaning, masking and cutting output lines: see
 * lines.h for the order of the steps and why. */
#include "lines.h"
#include "alloc.h"
#include "buf.h"

#include <stdlib.h>
#include <string.h>

static size_t longest_secret(const struct line_rules *r)
{
    size_t max = 0;
    for (size_t i = 0; i < r->nsecrets; i++) {
        size_t n = strlen(r->secrets[i]);
        if (n > max)
            max = n;
    }
    return max;
}

void linebuf_init(struct linebuf *lb, const struct line_rules *rules)
{
    /* +4: room to finish a UTF-8 character that straddles the limit. */
    lb->cap = rules->limit + longest_secret(rules) + 4;
    lb->data = xmalloc(lb->cap);
    lb->len = 0;
    lb->discarding = false;
}

void linebuf_free(struct linebuf *lb)
{
    free(lb->data);
    lb->data = NULL;
    lb->len = lb->cap = 0;
}

void linebuf_feed(struct linebuf *lb, const char *p, size_t n, line_fn *fn, void *ctx)
{
    while (n > 0) {
        const char *nl = memchr(p, '\n', n);
        size_t chunk = nl ? (size_t)(nl - p) : n;

        if (lb->discarding) {
            /* The rest of an over-long line: drop it up to its newline. */
            if (nl)
                lb->discarding = false;
        } else {
            size_t room = lb->cap - lb->len;
            size_t take = chunk < room ? chunk : room;
            memcpy(lb->data + lb->len, p, take);
            lb->len += take;
            if (take < chunk || (!nl && lb->len == lb->cap)) {
                fn(ctx, lb->data, lb->len, LINE_CUT);
                lb->len = 0;
                lb->discarding = nl == NULL;
            } else if (nl) {
                fn(ctx, lb->data, lb->len, LINE_WHOLE);
                lb->len = 0;
            }
        }
        if (!nl)
            break;
        n -= chunk + 1;
        p += chunk + 1;
    }
}

void linebuf_finish(struct linebuf *lb, line_fn *fn, void *ctx)
{
    if (lb->len > 0 && !lb->discarding)
        fn(ctx, lb->data, lb->len, LINE_PARTIAL);
    lb->len = 0;
    lb->discarding = false;
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0. Rejects
 * overlong forms, surrogates and code points above U+10FFFF. */
static size_t utf8_valid(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t len;
    unsigned int cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
        (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
        return 0;
    return len;
}

/* Bytes of an ANSI escape sequence starting at s[0] == ESC (CSI "ESC [ ...
 * final", OSC "ESC ] ... BEL|ESC \", or a two-byte "ESC x"). */
static size_t ansi_len(const unsigned char *s, size_t n)
{
    if (n < 2)
        return 1;
    if (s[1] == '[') {
        size_t i = 2;
        while (i < n && (s[i] < 0x40 || s[i] > 0x7e))
            i++;
        return i < n ? i + 1 : n;
    }
    if (s[1] == ']') {
        for (size_t i = 2; i < n; i++) {
            if (s[i] == 0x07)
                return i + 1;
            if (s[i] == 0x1b && i + 1 < n && s[i + 1] == '\\')
                return i + 2;
        }
        return n;
    }
    return 2;
}

static void line_clean(const char *raw, size_t n, struct buf *out)
{
    const unsigned char *s = (const unsigned char *)raw;
    size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        if (c == 0x1b) {
            i += ansi_len(s + i, n - i);
            continue;
        }
        if (c < 0x80) {
            if ((c >= 0x20 && c != 0x7f) || c == '\t')
                buf_append(out, &s[i], 1);
            i++;
            continue;
        }
        size_t len = utf8_valid(s + i, n - i);
        if (len == 0) {
            buf_append(out, "\xef\xbf\xbd", 3); /* U+FFFD */
            i++;
        } else if (len == 2 && c == 0xc2 && s[i + 1] < 0xa0) {
            i += 2; /* C1 control characters U+0080-U+009F */
        } else {
            buf_append(out, &s[i], len);
            i += len;
        }
    }
}

struct secret_order {
    size_t len, index;
};

/* Longest first; among equals, in the order given (so the result does not
 * depend on qsort's order). */
static int secret_order_cmp(const void *a, const void *b)
{
    const struct secret_order *x = a, *y = b;
    if (x->len != y->len)
        return x->len > y->len ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

/* Replaces every occurrence of every secret in b with "***", longest secret
 * first so that a secret containing another is masked whole. */
static void mask_all(const struct line_rules *r, struct buf *b)
{
    struct secret_order order[LINE_MAX_SECRETS];
    /* The caller keeps nsecrets within LINE_MAX_SECRETS (line_secret_split
     * refuses more); the clamp only keeps order[] safe. */
    size_t n = r->nsecrets < LINE_MAX_SECRETS ? r->nsecrets : LINE_MAX_SECRETS, k = 0;
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(r->secrets[i]);
        if (len > 0)
            order[k++] = (struct secret_order){len, i};
    }
    if (k > 1)
        qsort(order, k, sizeof(order[0]), secret_order_cmp);
    for (size_t o = 0; o < k; o++) {
        const char *sec = r->secrets[order[o].index];
        size_t plen = order[o].len;
        struct buf out;
        buf_init(&out);
        const char *p = buf_head(b), *end = p + buf_used(b);
        bool hit = false;
        while (p < end) {
            const char *m = memmem(p, (size_t)(end - p), sec, plen);
            if (!m) {
                buf_append(&out, p, (size_t)(end - p));
                break;
            }
            hit = true;
            buf_append(&out, p, (size_t)(m - p));
            buf_append(&out, "***", 3);
            p = m + plen;
        }
        if (hit) {
            buf_free(b);
            *b = out;
        } else {
            buf_free(&out);
        }
    }
}

/* After a cut, the line may end in the first bytes of a secret whose rest
 * was cut off; mask the longest such dangling prefix. */
static void mask_dangling(const struct line_rules *r, struct buf *b)
{
    size_t used = buf_used(b), cut = 0;
    for (size_t i = 0; i < r->nsecrets; i++) {
        size_t slen = strlen(r->secrets[i]);
        for (size_t k = slen > 0 ? slen - 1 : 0; k > cut && k > 0; k--) {
            if (k > used)
                continue;
            const char *tail = buf_head(b) + used - k;
            if (tail[0] == r->secrets[i][0] && memcmp(tail, r->secrets[i], k) == 0) {
                cut = k;
                break;
            }
        }
    }
    if (cut > 0) {
        b->len -= cut;
        buf_append(b, "***", 3);
    }
}

size_t line_utf8_prefix(const char *s, size_t len, size_t max)
{
    if (len <= max)
        return len;
    size_t cut = max;
    /* Back up over continuation bytes to the start of the cut character. */
    while (cut > 0 && ((unsigned char)s[cut] & 0xc0) == 0x80)
        cut--;
    return cut;
}

char *line_sanitize(const struct line_rules *rules, const char *raw, size_t n, enum line_end end,
                    size_t *outlen)
{
    struct buf masked, b;
    buf_init(&masked);
    buf_append(&masked, raw, n);
    mask_all(rules, &masked);
    /* A secret's first bytes at the end of a cut or partial raw line may be
     * a character cut in two, which cleaning turns into U+FFFD: look for
     * them before cleaning, and again after it. */
    if (end != LINE_WHOLE)
        mask_dangling(rules, &masked);
    buf_init(&b);
    line_clean(buf_head(&masked), buf_used(&masked), &b);
    buf_free(&masked);
    mask_all(rules, &b);
    bool truncated = end == LINE_CUT;
    if (buf_used(&b) > rules->limit) {
        b.len = b.off + line_utf8_prefix(buf_head(&b), buf_used(&b), rules->limit);
        truncated = true;
    }
    if (truncated || end == LINE_PARTIAL)
        mask_dangling(rules, &b);
    if (truncated)
        buf_appends(&b, LINE_CUT_MARKER);
    if (outlen)
        *outlen = buf_used(&b);
    /* b was only appended to, so its data starts at the line. */
    return buf_cstr(&b);
}

char *line_mask(const struct line_rules *rules, const char *s)
{
    struct buf b;
    buf_init(&b);
    buf_appends(&b, s);
    mask_all(rules, &b);
    char *out = xstrdup(buf_cstr(&b));
    buf_free(&b);
    return out;
}

static bool secret_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\v' || c == '\f';
}

/* Adds s[0..len) to out[*n..max) unless it is there already. Returns -1
 * when there is no room. */
static int secret_add(const char *s, size_t len, const char **out, size_t *n, size_t max)
{
    for (size_t i = 0; i < *n; i++)
        if (strlen(out[i]) == len && memcmp(out[i], s, len) == 0)
            return 0;
    if (*n >= max)
        return -1;
    out[(*n)++] = xstrndup(s, len);
    return 0;
}

int line_secret_split(const char *value, const char **out, size_t *n, size_t max)
{
    size_t n0 = *n;
    if (!value[strcspn(value, "\r\n")])
        return *value ? secret_add(value, strlen(value), out, n, max) : 0;
    /* Two passes over the lines: count those long enough, then add them
     * (every line that is not blank when none is long enough: a short
     * secret is still a secret). */
    size_t longer = 0;
    for (int pass = 0; pass < 2; pass++) {
        for (const char *p = value; *p;) {
            size_t len = strcspn(p, "\r\n");
            const char *next = p + len;
            if (*next == '\r' && next[1] == '\n')
                next += 2;
            else if (*next)
                next++;
            while (len > 0 && secret_blank(*p)) {
                p++;
                len--;
            }
            while (len > 0 && secret_blank(p[len - 1]))
                len--;
            if (pass == 0 && len >= LINE_SECRET_LINE_MIN)
                longer++;
            if (pass == 1 && len > 0 && (longer == 0 || len >= LINE_SECRET_LINE_MIN) &&
                secret_add(p, len, out, n, max) < 0) {
                line_secrets_free(out + n0, *n - n0);
                *n = n0;
                return -1;
            }
            p = next;
        }
    }
    return 0;
}

void line_secrets_free(const char **v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free((void *)v[i]);
        v[i] = NULL;
    }
}
