/* fcgi.h -- FastCGI response records, framed by hand (FastCGI spec 1.0).
 *
 * libfcgi frames what a request thread writes through its FCGX_Request
 * streams, but those streams block and belong to the thread. A response
 * that outlives its request thread (a stream on the event loop, sse.c) is
 * framed here instead, into a buffer the caller writes when the socket
 * takes it: any number of STDOUT records, then an empty STDOUT record and
 * END_REQUEST.
 *
 * http.c frames no record itself: until http_detach() everything goes
 * through libfcgi, and http_detach() flushes libfcgi's stream before it
 * hands the bare connection on, so the two framings never interleave on a
 * connection. sse.c is this module's one user.
 *
 * Bounds: a record carries at most FCGI_CONTENT_CHUNK bytes (the protocol's
 * 65535 rounded down to a multiple of 8, so a full record needs no
 * padding); longer content is split into as many records as it takes.
 * Content is padded to a multiple of 8 bytes, as the spec recommends.
 *
 * No state: every function appends to the caller's buffer, so any thread
 * may call them on a buffer it owns. */
#ifndef PHASESTREAM_FCGI_H
#define PHASESTREAM_FCGI_H

#include <stddef.h>
#include <stdint.h>

struct buf;

#define FCGI_CONTENT_CHUNK 65528

/* Appends n bytes of p as STDOUT records of the request. */
void fcgi_stdout(struct buf *out, uint16_t request_id, const void *p, size_t n);
/* Appends the end of the response: an empty STDOUT record (the end of the
 * stream), then END_REQUEST with appStatus 0 and FCGI_REQUEST_COMPLETE. */
void fcgi_end_request(struct buf *out, uint16_t request_id);

#endif
