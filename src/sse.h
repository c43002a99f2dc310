/* sse.h -- the stream side: many viewers, one loop, Redis as the source.
 *
 * A request thread validates a stream request, writes the response headers
 * and hands the connection to sse_attach(). From then on the viewer lives on
 * the event loop: its socket is non-blocking, and what it is sent comes from
 * the session's event list in Redis, never from a runner directly (invariant
 * 1: what a viewer sees is what is stored, with the stored ids).
 *
 * Per session with viewers in this process there is one "feed": one
 * subscription to the session's notify channel and a small cache of the most
 * recent events, shared by every viewer that is caught up. A viewer that is
 * behind (a replay, a slow reader) reads its own way forward from Redis in
 * chunks, paced by how fast it drains. Exactly-once at the replay/live seam
 * (docs/design.md, invariant 2) follows from one rule: every viewer remembers the next id it
 * needs and only ever sends that id; subscribing happens before the first
 * read, and notifications only tell that ids up to N exist.
 *
 * The stream's FastCGI records (STDOUT records, then an empty STDOUT record
 * and END_REQUEST at the end) are framed with fcgi.h, not libfcgi, because
 * libfcgi's streams are blocking and one per thread. */
#ifndef PHASESTREAM_SSE_H
#define PHASESTREAM_SSE_H

#include <stdint.h>

struct bus;
struct config;
struct loop;
struct sse;

struct sse *sse_new(struct loop *l, struct bus *b, const struct config *cfg);
/* On the loop thread, after bus_free() (whose dying connection still calls
 * the stream side's pending callbacks): ends every stream and frees. */
void sse_free(struct sse *s);

/* From any thread: the connection fd (headers already sent) now belongs to
 * the stream side, which sends the session's events after last_id. */
void sse_attach(struct sse *s, int fd, int request_id, const char *sid, uint64_t last_id);

/* From any thread: end every stream cleanly (shutdown). */
void sse_end_all(struct sse *s);

#endif
