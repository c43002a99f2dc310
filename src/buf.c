/* buf.c -- a growable byte buffer: see buf.h. */
#include "buf.h"
#include "alloc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void buf_init(struct buf *b)
{
    b->data = NULL;
    b->off = b->len = b->cap = 0;
}

void buf_free(struct buf *b)
{
    free(b->data);
    buf_init(b);
}

void buf_reset(struct buf *b)
{
    b->off = b->len = 0;
}

/* Make room for n more bytes (plus a NUL), compacting before growing. */
static void buf_room(struct buf *b, size_t n)
{
    if (b->len + n + 1 <= b->cap)
        return;
    if (b->off > 0) {
        memmove(b->data, b->data + b->off, b->len - b->off);
        b->len -= b->off;
        b->off = 0;
        if (b->len + n + 1 <= b->cap)
            return;
    }
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + n + 1)
        cap *= 2;
    b->data = xrealloc(b->data, cap);
    b->cap = cap;
}

void buf_append(struct buf *b, const void *p, size_t n)
{
    if (n == 0)
        return;
    buf_room(b, n);
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

void buf_appends(struct buf *b, const char *s)
{
    buf_append(b, s, strlen(s));
}

void buf_appendf(struct buf *b, const char *fmt, ...)
{
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n > 0) {
        buf_room(b, (size_t)n);
        vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap2);
        b->len += (size_t)n;
    }
    va_end(ap2);
}

void buf_consume(struct buf *b, size_t n)
{
    if (n >= buf_used(b)) {
        buf_reset(b);
        return;
    }
    b->off += n;
}

char *buf_cstr(struct buf *b)
{
    buf_room(b, 0);
    b->data[b->len] = '\0';
    return b->data + b->off;
}
