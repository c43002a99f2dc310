/* server_fuzz.h -- what the server's libFuzzer targets share.
 *
 * Each target (tests/fuzz/server_NAME_fuzz.c) feeds one parser of the server
 * and checks an oracle on what comes out; a broken oracle is reported with
 * fuzz_fail(), which aborts so that libFuzzer keeps the input. The helpers
 * here are independent of the server's own code on purpose: the UTF-8 check
 * is a second implementation, not a call into lines.c. Everything is static
 * and single-threaded, like libFuzzer's calls. */
#ifndef PHASESTREAM_SERVER_FUZZ_H
#define PHASESTREAM_SERVER_FUZZ_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const char *__ubsan_default_options(void);

/* Every UBSan report stops the run, but for the known ones listed in
 * server_ubsan.supp (SERVER_FUZZ_ROOT is the repository, from fuzz.mk). */
const char *__ubsan_default_options(void)
{
    return "halt_on_error=1:print_stacktrace=1:"
           "suppressions=" SERVER_FUZZ_ROOT "/tests/fuzz/server_ubsan.supp";
}

/* Reports a broken oracle and aborts (libFuzzer saves the input). */
__attribute__((noreturn, format(printf, 1, 2))) static inline void fuzz_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "oracle: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    abort();
}

/* Bytes of the well-formed UTF-8 character at s (n bytes left), or 0: the
 * shortest form only, no surrogates, nothing above U+10FFFF. */
static inline size_t fuzz_utf8_char(const unsigned char *s, size_t n)
{
    static const struct {
        unsigned char lead_lo, lead_hi, second_lo, second_hi;
        size_t len;
    } forms[] = {
            {0x00, 0x7f, 0, 0, 1},       {0xc2, 0xdf, 0x80, 0xbf, 2}, {0xe0, 0xe0, 0xa0, 0xbf, 3},
            {0xe1, 0xec, 0x80, 0xbf, 3}, {0xed, 0xed, 0x80, 0x9f, 3}, {0xee, 0xef, 0x80, 0xbf, 3},
            {0xf0, 0xf0, 0x90, 0xbf, 4}, {0xf1, 0xf3, 0x80, 0xbf, 4}, {0xf4, 0xf4, 0x80, 0x8f, 4},
    };
    for (size_t f = 0; f < sizeof(forms) / sizeof(forms[0]); f++) {
        if (s[0] < forms[f].lead_lo || s[0] > forms[f].lead_hi)
            continue;
        size_t len = forms[f].len;
        if (len > n)
            return 0;
        if (len > 1 && (s[1] < forms[f].second_lo || s[1] > forms[f].second_hi))
            return 0;
        for (size_t i = 2; i < len; i++)
            if ((s[i] & 0xc0) != 0x80)
                return 0;
        return len;
    }
    return 0;
}

/* Is s[0..n) well-formed UTF-8? With no_controls, also free of C0 controls
 * other than tab, DEL and the C1 controls U+0080-U+009F. */
static inline bool fuzz_utf8_clean(const char *s, size_t n, bool no_controls)
{
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        size_t len = fuzz_utf8_char(u + i, n - i);
        if (len == 0)
            return false;
        if (no_controls && len == 1 && ((u[i] < 0x20 && u[i] != '\t') || u[i] == 0x7f))
            return false;
        if (no_controls && len == 2 && u[i] == 0xc2 && u[i + 1] < 0xa0)
            return false;
        i += len;
    }
    return true;
}

/* A NUL-terminated copy of n bytes (the parsers take C strings). */
static inline char *fuzz_cstr(const void *p, size_t n)
{
    char *s = malloc(n + 1);
    if (!s)
        abort();
    memcpy(s, p, n);
    s[n] = '\0';
    return s;
}

/* Takes the next field, up to the separator (or the end), from *p and *n;
 * NULL when the input is used up. The field is a new NUL-terminated string
 * of *len bytes (len may be NULL), which may hold a NUL itself. */
static inline char *fuzz_field(const uint8_t **p, size_t *n, uint8_t sep, size_t *len)
{
    if (*n == 0)
        return NULL;
    const uint8_t *end = memchr(*p, sep, *n);
    size_t flen = end ? (size_t)(end - *p) : *n;
    char *f = fuzz_cstr(*p, flen);
    size_t used = end ? flen + 1 : flen;
    if (len)
        *len = flen;
    *p += used;
    *n -= used;
    return f;
}

/* A small deterministic generator (xorshift) for chunk sizes. */
static inline uint32_t fuzz_rand(uint32_t *state)
{
    uint32_t x = *state ? *state : 0x9e3779b9u;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *state = x;
}

#endif
