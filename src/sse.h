/* sse.h -- the stream side: many viewers, one loop, Redis as the source.
 *
 * A request thread parses and validates a stream request and hands the
 * connection to sse_admit() at once, without a Redis round trip of its
 * own: the loop reads the session's head on its asynchronous connection
 * (store_async_head) and answers there, with the texts the handler gives
 * (sse_answer_fn): no such session, everything delivered, Redis
 * unavailable, or the stream's headers and then the stream. So a storm of
 * new streams costs the request threads no more than parsing, and the
 * web server's connections are accepted as fast as they come. A stream
 * whose headers were already written (sse_attach) skips the check. From
 * then on the viewer lives on
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

struct buf;
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

/* What the loop found when it admitted a stream request. */
enum sse_verdict {
    SSE_VERDICT_STREAM,      /* the stream follows */
    SSE_VERDICT_NOT_FOUND,   /* no such session */
    SSE_VERDICT_DELIVERED,   /* Last-Event-ID at or past the terminal event */
    SSE_VERDICT_UNAVAILABLE, /* Redis did not answer */
};
/* Appends to out the response text for a verdict (a CGI header block, then
 * the body; for SSE_VERDICT_STREAM the headers only), on the loop thread.
 * The stream side frames it; only a stream's answer is followed by more. */
typedef void sse_answer_fn(struct buf *out, enum sse_verdict v);

/* From any thread: the connection fd (nothing written yet) now belongs to
 * the stream side, which checks that session sid exists and has events
 * after last_id, answers with answer(), and streams them if so. While the
 * loop's commands connection is down (a Redis restart), the check waits for
 * it up to SSE_ADMIT_WAIT_MS (sse.c), longer than the bus' longest backoff,
 * before the answer is SSE_VERDICT_UNAVAILABLE; so it does when the
 * connection is up but Redis does not reply. */
void sse_admit(struct sse *s, int fd, int request_id, const char *sid, uint64_t last_id,
               sse_answer_fn *answer);

/* From any thread: end every stream cleanly (shutdown). */
void sse_end_all(struct sse *s);

#endif
