/* store.h -- sessions in Redis, the synchronous face: every read and write
 * of the request threads and the runners.
 *
 * The schema (key names, the stored event format, the scripts) is
 * store_schema.h; the event loop's face over the bus is store_async.h.
 * Every change that must be atomic is one Lua script (create, claim, append,
 * cancel, heartbeat), so two requests, processes or hosts cannot both create,
 * claim or end a session, and nothing is appended after a terminal event.
 * Both session keys get their TTL refreshed by every write.
 *
 * A struct store is one synchronous connection, used by one thread at a time;
 * it reconnects by itself on the next call after a failure. Every call
 * returns STORE_DOWN (with store_error() saying why) when Redis does not
 * answer, and the caller decides what that means (a 503, a retry). */
#ifndef PHASESTREAM_STORE_H
#define PHASESTREAM_STORE_H

#include "store_schema.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct config;
struct store;

#define STORE_OK   0
#define STORE_DOWN (-1)

struct store *store_new(const struct config *cfg);
void store_free(struct store *st);
const char *store_error(const struct store *st);

enum store_create {
    STORE_CREATED,
    STORE_EXISTS,
    STORE_QUEUE_FULL,
    STORE_CREATE_DOWN,
};
/* Creates a queued session with its first status event, unless one with
 * this id exists. results is the initial results object (JSON). */
enum store_create store_create(struct store *st, const char *sid, const char *proof_type,
                               const char *results, const char *step);

/* What a stream request needs to know. */
struct store_head {
    bool exists;
    uint64_t terminal; /* id of the terminal event; 0 while running */
};
int store_head(struct store *st, const char *sid, struct store_head *out);

/* The WorkflowState JSON, written piece by piece: the state with the log
 * read STORE_STATE_CHUNK events at a time, so that a request never holds a
 * whole long log. begin(arg) is called once, when the session exists,
 * before the first write(arg, ...); write returns false to stop (the
 * client is gone). *found tells whether the session exists. STORE_DOWN
 * when Redis failed: before begin (*found is false), or after it, when the
 * answer is short (it is logged) and must not pass for a whole one. */
#define STORE_STATE_CHUNK 256
struct store_state_sink {
    void (*begin)(void *arg);
    bool (*write)(void *arg, const char *data, size_t len);
    void *arg;
};
int store_state_write(struct store *st, const char *sid, bool with_logs,
                      const struct store_state_sink *sink, bool *found);

enum store_cancel {
    STORE_CANCEL_NOT_FOUND,
    STORE_CANCEL_ENDED,
    STORE_CANCEL_DROPPED, /* was queued: ended here */
    STORE_CANCEL_ASKED,   /* running: its runner will end it */
    STORE_CANCEL_DOWN,
};
enum store_cancel store_cancel(struct store *st, const char *sid);

struct store_claim {
    char sid[STORE_SID_MAX + 1];
    char proof_type[64];
    char start_time[40];
};
/* Takes the oldest queued session and marks it running for this instance.
 * Returns 1 when one was claimed, 0 when the queue is empty. */
int store_claim(struct store *st, const char *instance, struct store_claim *out);

#define STORE_APPEND_BATCH     256       /* events per append call, at most */
#define STORE_APPEND_BYTES     (1 << 20) /* payload per call, past its first event */
#define STORE_EVENT_MAX_FIELDS 8         /* names + values of state updates per event */
struct store_event {
    uint64_t seq; /* the runner's sequence number, for exactly-once retries */
    const char *type;
    const char *payload;
    const char **fields; /* state hash updates: name, value, name, value... */
    size_t nfields;      /* count of names + values, at most STORE_EVENT_MAX_FIELDS */
};
/* Appends events in order: one script call (one RPUSH, one notification)
 * per STORE_APPEND_BATCH events or STORE_APPEND_BYTES of payload; a complete or error event
 * ends the session (store_schema.h: session_end). Returns how many are stored
 * (retried ones already stored count), or STORE_DOWN. *closed is set when
 * the session no longer takes events (expired, or already ended). */
int store_append(struct store *st, const char *sid, const struct store_event *ev, size_t n,
                 bool *closed);

/* Refreshes a running session's heartbeat; *cancel tells whether a cancel
 * was asked, *closed whether the session is no longer running. */
int store_heartbeat(struct store *st, const char *sid, bool *cancel, bool *closed);

/* Queue length and number of running sessions, over all instances. */
int store_counts(struct store *st, long *queued, long *running);

#endif
