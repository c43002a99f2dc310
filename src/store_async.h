/* store_async.h -- sessions in Redis, the event loop's face: the stream
 * side's reads and the reaper's work, over the bus's command connection.
 *
 * The schema is store_schema.h's, the same as the synchronous face's
 * (store.h): the stream side gets events already parsed into id, type and
 * data, and never sees a key or an element. Scripts are loaded (SCRIPT
 * LOAD) on their first use on each new connection and called with EVALSHA;
 * a NOSCRIPT answer (SCRIPT FLUSH) loads them again and retries once.
 *
 * Every call sends one request and returns 0, or returns -1 when the bus is
 * not connected (and the callback is not called). The callback runs later,
 * on the loop thread, exactly once, also when the connection is lost first
 * (with the "no answer" value). All functions run on the loop thread. */
#ifndef PHASESTREAM_STORE_ASYNC_H
#define PHASESTREAM_STORE_ASYNC_H

#include "store_schema.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct bus;
struct config;
struct store_async;

struct store_async *store_async_new(struct bus *b, const struct config *cfg);
/* After bus_free(), whose dying connection still calls the pending
 * callbacks (with no answer). */
void store_async_free(struct store_async *sa);

/* ev[0 .. n-1] are the session's events from the asked id on, in order
 * (n == 0: none stored there); n < 0: Redis did not answer. The entries
 * point into the reply: valid during the call only. */
typedef void store_events_fn(void *arg, const struct store_entry *ev, long n);
/* Reads up to count events of session sid from id first on. */
int store_async_events(struct store_async *sa, const char *sid, uint64_t first, size_t count,
                       store_events_fn *fn, void *arg);

/* n is the id of the session's last event (0: no such session); n < 0:
 * Redis did not answer. */
typedef void store_length_fn(void *arg, long long n);
int store_async_length(struct store_async *sa, const char *sid, store_length_fn *fn, void *arg);

/* What a stream's admission needs of a session (what store_head() reads
 * on the synchronous face): whether it exists and the id of its terminal
 * event (0 while it runs); down: Redis did not answer (and the rest is 0). */
typedef void store_head_fn(void *arg, bool down, bool exists, uint64_t terminal);
int store_async_head(struct store_async *sa, const char *sid, store_head_fn *fn, void *arg);

/* Called once for each session the reap ended (sid set), then once when it
 * is over (sid NULL; error is Redis' refusal when it stopped on one, NULL
 * otherwise). */
typedef void store_reaped_fn(void *arg, const char *sid, const char *error);
/* Ends, with an error event of code "lost" saying message, up to max of the
 * running sessions whose heartbeat deadline has passed on Redis' clock
 * (store_schema.c: lapsed, reap). The event is built here (events.h) for
 * the phase each session is in. */
int store_async_reap(struct store_async *sa, const char *message, size_t max, store_reaped_fn *fn,
                     void *arg);

#endif
