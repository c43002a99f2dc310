/* buf.h -- a growable byte buffer.
 *
 * Used wherever bytes accumulate before they leave: a viewer's pending output,
 * a response body, a phase's partial line. The buffer keeps a read offset so
 * that consuming from the front (a partial write to a socket) is O(1); the
 * bytes are moved down only when the space is needed. */
#ifndef PHASESTREAM_BUF_H
#define PHASESTREAM_BUF_H

#include <stddef.h>

struct buf {
    char *data;
    size_t off; /* first unconsumed byte */
    size_t len; /* end of the data, from data[0] */
    size_t cap;
};

void buf_init(struct buf *b);
void buf_free(struct buf *b);
void buf_reset(struct buf *b);
void buf_append(struct buf *b, const void *p, size_t n);
void buf_appends(struct buf *b, const char *s);
void buf_appendf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The unconsumed bytes and their count. */
static inline const char *buf_head(const struct buf *b)
{
    return b->data ? b->data + b->off : ""; /* NULL + 0 is undefined in C */
}
static inline size_t buf_used(const struct buf *b)
{
    return b->len - b->off;
}
void buf_consume(struct buf *b, size_t n);
/* NUL-terminates (not counted in the length) and returns the data. */
char *buf_cstr(struct buf *b);

#endif
