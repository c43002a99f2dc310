/* outbox.c -- a running session's events on their way to Redis: see
 * outbox.h.
 *
 * The queue is a ring that doubles when full; outbox_at() is the one place
 * that knows how its positions wrap. */
#include "outbox.h"
#include "alloc.h"
#include "config.h"
#include "events.h"
#include "log.h"
#include "loop.h"
#include "metrics.h"
#include "store.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The i-th queued event, from the oldest. */
static struct outbox_event *outbox_at(const struct outbox *ob, size_t i)
{
    return &ob->ring[(ob->head + i) % ob->cap];
}

static void outbox_event_free(struct outbox_event *e)
{
    free(e->type);
    free(e->payload);
    for (size_t i = 0; i < e->nfields; i++)
        free(e->fields[i]);
}

/* Frees the oldest event. */
static void outbox_pop(struct outbox *ob)
{
    struct outbox_event *e = outbox_at(ob, 0);
    ob->bytes -= e->bytes;
    outbox_event_free(e);
    ob->head = (ob->head + 1) % ob->cap;
    ob->len--;
}

static void outbox_grow(struct outbox *ob)
{
    size_t cap = ob->cap ? ob->cap * 2 : 64;
    struct outbox_event *ring = xcalloc(cap, sizeof(*ring));
    for (size_t i = 0; i < ob->len; i++)
        ring[i] = *outbox_at(ob, i);
    free(ob->ring);
    ob->ring = ring;
    ob->cap = cap;
    ob->head = 0;
}

void outbox_init(struct outbox *ob, struct store *st, const char *sid, const struct config *cfg)
{
    memset(ob, 0, sizeof(*ob));
    ob->store = st;
    ob->sid = sid;
    ob->cfg = cfg;
    ob->backoff_ms = OUTBOX_BACKOFF_MIN;
}

void outbox_free(struct outbox *ob)
{
    while (ob->len > 0)
        outbox_pop(ob);
    free(ob->ring);
    ob->ring = NULL;
}

void outbox_results_changed(struct outbox *ob, const char *(*json)(void *arg), void *arg)
{
    ob->results_json = json;
    ob->results_arg = arg;
    ob->results_changed = true;
}

static void outbox_add_field(struct outbox *ob, struct outbox_event *e, const char *name,
                             const char *value)
{
    if (e->nfields + 2 > OUTBOX_MAX_FIELDS) {
        /* The callers are this server's own code, with at most four
         * fields per event: not something input can reach. */
        log_error("outbox: more than %d state fields on a %s event", OUTBOX_MAX_FIELDS / 2,
                  e->type);
        abort();
    }
    size_t n = strlen(name) + strlen(value);
    e->fields[e->nfields++] = xstrdup(name);
    e->fields[e->nfields++] = xstrdup(value);
    e->bytes += n;
    ob->bytes += n;
}

/* Drops a queued event's unwritten copy of the results, if it has one. */
static void outbox_drop_results(struct outbox *ob, struct outbox_event *e)
{
    for (size_t i = 0; i < e->nfields; i += 2) {
        if (strcmp(e->fields[i], "results") != 0)
            continue;
        size_t n = strlen(e->fields[i]) + strlen(e->fields[i + 1]);
        free(e->fields[i]);
        free(e->fields[i + 1]);
        memmove(&e->fields[i], &e->fields[i + 2], (e->nfields - i - 2) * sizeof(e->fields[0]));
        e->nfields -= 2;
        e->bytes -= n;
        ob->bytes -= n;
        return;
    }
}

/* The changed results ride on the newest queued event that has room for
 * one more field, and replace any older copy still queued (a write that
 * failed while Redis was away): the queue holds one copy of them at most. */
static void outbox_attach_results(struct outbox *ob)
{
    if (!ob->results_changed)
        return;
    for (size_t i = 0; i < ob->len; i++)
        outbox_drop_results(ob, outbox_at(ob, i));
    for (size_t i = ob->len; i > 0; i--) {
        struct outbox_event *e = outbox_at(ob, i - 1);
        if (e->nfields + 2 <= OUTBOX_MAX_FIELDS) {
            outbox_add_field(ob, e, "results", ob->results_json(ob->results_arg));
            ob->results_changed = false;
            return;
        }
    }
}

void outbox_push(struct outbox *ob, const char *type, char *payload, ...)
{
    if (ob->len == ob->cap)
        outbox_grow(ob);
    struct outbox_event *e = outbox_at(ob, ob->len);
    memset(e, 0, sizeof(*e));
    e->seq = ++ob->seq;
    e->type = xstrdup(type);
    e->payload = payload;
    e->bytes = strlen(payload);
    ob->bytes += e->bytes;
    va_list ap;
    va_start(ap, payload);
    const char *name;
    while ((name = va_arg(ap, const char *)) != NULL)
        outbox_add_field(ob, e, name, va_arg(ap, const char *));
    va_end(ap);
    ob->len++;
    ob->stored++;
}

bool outbox_line_room(struct outbox *ob, const char *phase)
{
    if (ob->stored + OUTBOX_RESERVE >= ob->cfg->max_events) {
        if (ob->capped++ == 0) {
            char *msg = xasprintf("Output limit reached: further lines of this session are not "
                                  "stored (max-events %d)",
                                  ob->cfg->max_events);
            outbox_push(ob, "log", event_log_json(msg, phase, false, "warning"), END_FIELDS);
            free(msg);
        }
        metrics_add(METRIC_LINES_DROPPED, 1);
        return false;
    }
    if (ob->len >= OUTBOX_MAX_EVENTS || ob->bytes >= OUTBOX_MAX_BYTES) {
        ob->dropped++;
        metrics_add(METRIC_LINES_DROPPED, 1);
        return false;
    }
    return true;
}

/* One store_append of the whole queue; frees what was stored. Returns
 * false when Redis refused the session. */
static bool outbox_write(struct outbox *ob)
{
    outbox_attach_results(ob);
    /* Contiguous views of the ring for store_append. */
    size_t n = ob->len;
    struct store_event *ev = xcalloc(n, sizeof(*ev));
    for (size_t i = 0; i < n; i++) {
        struct outbox_event *e = outbox_at(ob, i);
        ev[i].seq = e->seq;
        ev[i].type = e->type;
        ev[i].payload = e->payload;
        ev[i].fields = (const char **)e->fields;
        ev[i].nfields = e->nfields;
    }
    bool closed = false;
    int k = store_append(ob->store, ob->sid, ev, n, &closed);
    free(ev);
    if (k > 0) {
        for (int i = 0; i < k; i++)
            outbox_pop(ob);
        metrics_add(METRIC_EVENTS, k);
    }
    if (closed) {
        ob->closed = true;
        log_warn("session %s: Redis refused further events (ended or expired elsewhere)", ob->sid);
    }
    return !closed;
}

/* Some events stayed queued: retry later, backing off. */
static void outbox_back_off(struct outbox *ob, int64_t now)
{
    if (!ob->down_since)
        ob->down_since = now;
    if (!ob->redis_warned)
        log_warn("session %s: %s; %zu events kept for later", ob->sid, store_error(ob->store),
                 ob->len);
    ob->redis_warned = true;
    ob->retry_at = now + ob->backoff_ms;
    ob->backoff_ms =
            ob->backoff_ms * 2 > OUTBOX_BACKOFF_MAX ? OUTBOX_BACKOFF_MAX : ob->backoff_ms * 2;
}

/* Everything was written: Redis answers again. */
static void outbox_recovered(struct outbox *ob)
{
    if (ob->redis_warned)
        log_info("session %s: Redis is back; the kept events are written", ob->sid);
    ob->redis_warned = false;
    ob->down_since = 0;
    ob->backoff_ms = OUTBOX_BACKOFF_MIN;
    ob->retry_at = 0;
}

bool outbox_flush(struct outbox *ob, const char *phase)
{
    if (ob->len == 0 || ob->closed)
        return ob->len == 0;
    int64_t now = loop_now();
    if (now < ob->retry_at)
        return false;
    if (!outbox_write(ob))
        return false;
    if (ob->len > 0) {
        outbox_back_off(ob, now);
        return false;
    }
    outbox_recovered(ob);
    if (ob->dropped > 0) {
        char *msg = xasprintf("%ld output lines were not stored: Redis was unreachable and the "
                              "runner's buffer was full",
                              ob->dropped);
        ob->dropped = 0;
        outbox_push(ob, "log", event_log_json(msg, phase, false, "warning"), END_FIELDS);
        free(msg);
        return outbox_flush(ob, phase);
    }
    return true;
}

void outbox_drain(struct outbox *ob, const char *phase, const atomic_bool *hurry)
{
    int64_t give_up = loop_now() + (int64_t)ob->cfg->redis_retry * 1000;
    while (!outbox_flush(ob, phase) && !ob->closed) {
        if (loop_now() > give_up || atomic_load(hurry)) {
            log_error("session %s: %zu events could not be written: %s", ob->sid, ob->len,
                      store_error(ob->store));
            break;
        }
        usleep(50000);
    }
}

bool outbox_heartbeat(struct outbox *ob)
{
    int64_t now = loop_now();
    if (now < ob->next_heartbeat)
        return false;
    ob->next_heartbeat = now + ob->cfg->heartbeat * 1000 / 3;
    bool cancel = false, closed = false;
    if (store_heartbeat(ob->store, ob->sid, &cancel, &closed) != STORE_OK) {
        if (!ob->down_since)
            ob->down_since = now;
        return false; /* Redis away: kept output waits; the budget is checked by the caller */
    }
    if (ob->len == 0)
        ob->down_since = 0;
    if (closed)
        ob->closed = true;
    return cancel;
}

bool outbox_redis_gone(const struct outbox *ob, int64_t now)
{
    return ob->down_since && now - ob->down_since > (int64_t)ob->cfg->redis_retry * 1000;
}
