/* fcgi.c -- FastCGI response records: see fcgi.h.
 *
 * The record layouts and constants are libfcgi's <fastcgi.h>, which
 * transcribes the spec; nothing of the protocol is retyped here. */
#include "fcgi.h"
#include "buf.h"

#include <fastcgi.h>

_Static_assert(FCGI_CONTENT_CHUNK % 8 == 0 && FCGI_CONTENT_CHUNK <= FCGI_MAX_LENGTH &&
                       FCGI_MAX_LENGTH - FCGI_CONTENT_CHUNK < 8,
               "FCGI_CONTENT_CHUNK is the largest multiple of 8 a record can carry");
_Static_assert(sizeof(FCGI_Header) == FCGI_HEADER_LEN, "a record header is 8 bytes");

static void fcgi_header(struct buf *out, unsigned char type, uint16_t request_id, size_t len,
                        size_t pad)
{
    FCGI_Header h = {
            .version = FCGI_VERSION_1,
            .type = type,
            .requestIdB1 = (unsigned char)(request_id >> 8),
            .requestIdB0 = (unsigned char)(request_id & 0xff),
            .contentLengthB1 = (unsigned char)(len >> 8),
            .contentLengthB0 = (unsigned char)(len & 0xff),
            .paddingLength = (unsigned char)pad,
    };
    buf_append(out, &h, sizeof(h));
}

void fcgi_stdout(struct buf *out, uint16_t request_id, const void *p, size_t n)
{
    static const char zeros[8] = {0};
    const char *at = p;
    while (n > 0) {
        size_t len = n > FCGI_CONTENT_CHUNK ? FCGI_CONTENT_CHUNK : n;
        size_t pad = (8 - len % 8) % 8;
        fcgi_header(out, FCGI_STDOUT, request_id, len, pad);
        buf_append(out, at, len);
        buf_append(out, zeros, pad);
        at += len;
        n -= len;
    }
}

void fcgi_end_request(struct buf *out, uint16_t request_id)
{
    static const FCGI_EndRequestBody complete = {.protocolStatus = FCGI_REQUEST_COMPLETE};
    fcgi_header(out, FCGI_STDOUT, request_id, 0, 0);
    fcgi_header(out, FCGI_END_REQUEST, request_id, sizeof(complete), 0);
    buf_append(out, &complete, sizeof(complete));
}
