/* outbox.h -- a running session's events on their way to Redis, in order.
 *
 * A runner queues every event of its session here, and writes the queue
 * after each read of the phase's output (store_append): a burst of output
 * costs Redis one script call per STORE_APPEND_BATCH events and one
 * notification, and a line printed alone is in Redis within a millisecond
 * or two of being printed.
 *
 * The queue is also what keeps the log whole through a Redis outage
 * (docs/design.md, invariant 8): events that could not be written stay queued, in order, and
 * are written when Redis answers again; retries back off from
 * OUTBOX_BACKOFF_MIN to OUTBOX_BACKOFF_MAX milliseconds. The queue is
 * bounded (OUTBOX_MAX_EVENTS, OUTBOX_MAX_BYTES); past the bound, output
 * lines are counted instead of kept, and one log event says how many were
 * lost. OUTBOX_MAX_BYTES counts everything an event holds: its payload and
 * its state fields, the results among them; and however long Redis stays
 * away, the queue holds at most one copy of the results, the newest (an
 * older copy not yet written is dropped when a newer one is attached: the
 * state hash only ever needs the last). Each queued event carries a
 * sequence number, so an append whose reply was lost with the connection
 * is not stored twice on the retry.
 *
 * The outbox also keeps the session's heartbeat, and so knows how long
 * Redis has been away.
 *
 * Thread rules: an outbox belongs to the runner thread that runs its
 * session; nothing else touches it. */
#ifndef PHASESTREAM_OUTBOX_H
#define PHASESTREAM_OUTBOX_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

#define OUTBOX_MAX_EVENTS  20000
#define OUTBOX_MAX_BYTES   (16 << 20)
#define OUTBOX_MAX_FIELDS  STORE_EVENT_MAX_FIELDS /* state updates per event */
#define OUTBOX_RESERVE     16  /* events kept free under max-events for status and the end */
#define OUTBOX_BACKOFF_MIN 100 /* ms */
#define OUTBOX_BACKOFF_MAX 2000

struct config;
struct store;

/* An event waiting to be written. */
struct outbox_event {
    uint64_t seq;
    char *type;
    char *payload;
    char *fields[OUTBOX_MAX_FIELDS]; /* name, value pairs */
    size_t nfields;
    size_t bytes; /* payload and fields, as counted in outbox.bytes */
};

struct outbox {
    struct store *store;
    const char *sid;
    const struct config *cfg;
    struct outbox_event *ring; /* through outbox_at() only */
    size_t head, len, cap;
    size_t bytes; /* the queued events' bytes: see OUTBOX_MAX_BYTES */
    uint64_t seq;
    long stored;  /* events queued over the session's life */
    long dropped; /* lines dropped while the queue was full */
    long capped;  /* lines dropped past max-events */
    bool closed;  /* Redis refused: the session is gone or ended */
    int backoff_ms;
    int64_t retry_at; /* next flush attempt after a failure */
    int64_t next_heartbeat;
    int64_t down_since; /* when Redis stopped answering; 0 while it answers */
    bool redis_warned;
    /* The session's results object, when it changed since the last write:
     * results_json(results_arg) gives it as JSON text. */
    const char *(*results_json)(void *arg);
    void *results_arg;
    bool results_changed;
};

/* The end of outbox_push()'s field list (a typed NULL, as variadic
 * arguments need). */
#define END_FIELDS ((const char *)NULL)

/* st and sid must outlive the outbox. */
void outbox_init(struct outbox *ob, struct store *st, const char *sid, const struct config *cfg);
/* Frees what is still queued. */
void outbox_free(struct outbox *ob);

/* Queues an event (payload is taken). State field pairs follow as name,
 * value, ..., END_FIELDS. */
void outbox_push(struct outbox *ob, const char *type, char *payload, ...);

/* The session's results object changed; json(arg) gives it. It goes to
 * the state hash with the next write, once per write however often it
 * changed in between: a burst of matching lines costs one copy of it, not
 * one each. */
void outbox_results_changed(struct outbox *ob, const char *(*json)(void *arg), void *arg);

/* Is there room for one more event of phase (an output line, or an event a
 * rule derived from one)? Every such event counts against max-events, with
 * OUTBOX_RESERVE kept for the status and terminal events. Counts the ones
 * there is not (and says so once when max-events is reached). */
bool outbox_line_room(struct outbox *ob, const char *phase);

/* Writes what it can (not before the backoff allows). phase names the
 * phase in a notice of dropped lines. Returns true when the queue is
 * empty. */
bool outbox_flush(struct outbox *ob, const char *phase);

/* Writes the rest, waiting for Redis at most redis-retry seconds more, or
 * not at all once hurry is set. */
void outbox_drain(struct outbox *ob, const char *phase, const atomic_bool *hurry);

/* Refreshes the heartbeat every heartbeat/3 seconds. Returns true when a
 * cancel of the session was asked. */
bool outbox_heartbeat(struct outbox *ob);

/* Has Redis been away longer than the session may wait? */
bool outbox_redis_gone(const struct outbox *ob, int64_t now);

#endif
