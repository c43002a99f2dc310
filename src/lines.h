/* lines.h -- turning a phase's output bytes into stored lines.
 *
 * Script output is untrusted: it may be any bytes, arrive in any chunks, hold
 * no newline for megabytes, or print a secret. Every line goes through the
 * same steps, in this order, before anything else sees it:
 *
 *   1. split: a linebuf collects bytes until '\n'; a line that outgrows the
 *      buffer is emitted as cut and the rest of it, up to the newline, is
 *      discarded (so memory per stream is fixed); bytes left without a
 *      newline when the stream ends are emitted as a partial line;
 *   2. mask: every occurrence of a secret value becomes "***" -- before
 *      cleaning, so that cleaning cannot eat a secret's first bytes (an
 *      escape sequence that swallows them), and again after it, so that a
 *      control character inside a secret cannot hide it. A value that spans
 *      lines (a PEM key, a JSON key file) is never whole in one line: it is
 *      masked line by line (line_secret_split);
 *   3. clean: invalid UTF-8 becomes U+FFFD, ANSI escape sequences and control
 *      characters other than tab are removed, a trailing '\r' is dropped;
 *   4. cut: a line longer than the limit is cut on a character boundary and
 *      marked. A cut line, and a partial one (its phase may have been killed
 *      in the middle of printing a secret), may end in the first bytes of a
 *      secret: that dangling prefix is masked too.
 *
 * The buffer holds limit + the longest secret, so a secret that starts
 * before the limit is always whole when masking runs. */
#ifndef PHASESTREAM_LINES_H
#define PHASESTREAM_LINES_H

#include <stdbool.h>
#include <stddef.h>

#define LINE_CUT_MARKER " \xe2\x80\xa6 [line truncated]"
/* Values one set of rules may mask: the pipeline's secrets and the Redis
 * password, a multi-line value counting once per line it adds (room for a
 * few 4096-bit PEM keys, about 54 lines each). A set that would need more is
 * refused (line_secret_split), never applied in part. */
#define LINE_MAX_SECRETS 256
/* The shortest line of a multi-line secret that is masked on its own, once
 * blanks are trimmed: shorter lines ("}", "{", the two-character tail of a
 * base64 body) carry next to nothing of the secret and would mask ordinary
 * output everywhere. */
#define LINE_SECRET_LINE_MIN 4

struct line_rules {
    size_t limit;         /* bytes of a stored line, marker excluded */
    const char **secrets; /* values to mask; empty strings are ignored */
    size_t nsecrets;      /* at most LINE_MAX_SECRETS */
};

/* How a raw line ended. */
enum line_end {
    LINE_WHOLE,   /* at its newline */
    LINE_CUT,     /* outgrew the buffer: the rest was discarded */
    LINE_PARTIAL, /* the stream ended before its newline */
};

typedef void line_fn(void *ctx, const char *line, size_t len, enum line_end end);

struct linebuf {
    char *data;
    size_t len, cap;
    bool discarding; /* inside an over-long line, waiting for its newline */
};

void linebuf_init(struct linebuf *lb, const struct line_rules *rules);
void linebuf_free(struct linebuf *lb);
/* Feeds bytes; calls fn for every complete (or over-long) raw line. */
void linebuf_feed(struct linebuf *lb, const char *p, size_t n, line_fn *fn, void *ctx);
/* At the end of the stream: emits a held partial line. */
void linebuf_finish(struct linebuf *lb, line_fn *fn, void *ctx);

/* Steps 2-4 on one raw line. Returns a new NUL-terminated string; a cut
 * line (LINE_CUT, or longer than the limit) ends with LINE_CUT_MARKER. */
char *line_sanitize(const struct line_rules *rules, const char *raw, size_t n, enum line_end end,
                    size_t *outlen);

/* The length of the longest prefix of s[0..len) that is at most max bytes
 * and does not end inside a UTF-8 character. */
size_t line_utf8_prefix(const char *s, size_t len, size_t max);

/* The strings masking matches for one secret value, added to out[*n..max):
 * the value itself when it holds no line break; else each of its lines
 * (split at "\n", "\r\n" or "\r"), trimmed of blanks, that has at least
 * LINE_SECRET_LINE_MIN bytes -- every line that is not blank, of any
 * length, when none has as many ("pw\n", "ab\ncd"). A string already in out[0..*n) is not
 * added again; an empty value adds nothing. The added strings are new (free
 * them with line_secrets_free). Returns 0, or -1 when they do not all fit
 * under max: then nothing is added, so that a secret is never masked in
 * part. */
int line_secret_split(const char *value, const char **out, size_t *n, size_t max);
void line_secrets_free(const char **v, size_t n);

/* Step 2 alone on a NUL-terminated string (used for the server's own
 * messages that may quote configuration). Returns a new string. */
char *line_mask(const struct line_rules *rules, const char *s);

#endif
