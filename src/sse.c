/* sse.c -- the stream side: see sse.h for the model.
 *
 * Bounds (docs/design.md, invariant 4): a viewer's pending output is at most
 * viewer-buffer plus the one event that crosses it, from the shared cache
 * and from its own catch-up reads alike (a read's events past the bound are
 * dropped and read again later); past it, reading for that viewer pauses
 * until the socket drains, and a viewer whose socket takes nothing for
 * viewer-stall seconds is dropped (its browser reconnects with Last-Event-ID
 * and resumes from Redis). A feed's cache holds at most SSE_CACHE_EVENTS
 * events and SSE_CACHE_BYTES bytes plus the event that crosses it. A read
 * asks for SSE_CHUNK events at most. An idle viewer costs its struct and its
 * socket, and so does a viewer whose socket took everything it was sent:
 * its buffer is released once drained, so ten thousand viewers of a busy
 * session do not each keep one.
 *
 * One record, one write per pump: the events a viewer is sent in one pump
 * (from a read's answer and from the cache alike) are gathered in the
 * loop's one pump buffer (struct sse: pump), then framed as one STDOUT
 * record (as few as FCGI_CONTENT_CHUNK allows) into the viewer's own
 * buffer, which is written with one send. The pump buffer holds one
 * viewer's events at a time, only within a pump, so an idle viewer holds
 * none of it. */
#include "sse.h"
#include "alloc.h"
#include "buf.h"
#include "bus.h"
#include "config.h"
#include "fcgi.h"
#include "hash.h"
#include "log.h"
#include "loop.h"
#include "metrics.h"
#include "sendq.h"
#include "store_async.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define SSE_CHUNK           256 /* events per read */
#define SSE_CACHE_EVENTS    512
#define SSE_CACHE_BYTES     (1 << 20)
#define SSE_FEED_BUCKETS    256
#define SSE_TICK_MS         1000
#define SSE_RESYNC_MS       5000
#define SSE_ADMIT_WAIT_MS   3000 /* a new stream waits this long for Redis, then 503 */
#define SSE_PARK_RETRY_MS   100
#define SSE_PUMP_KEEP_BYTES (256 * 1024) /* the pump buffer kept between pumps */

struct cached {
    char *text; /* "id: N\nevent: T\ndata: D\n\n" */
    size_t len;
    bool terminal;
};

struct feed;

struct viewer {
    int fd;
    uint16_t request_id;
    struct feed *feed;
    uint64_t next_id; /* the one id this viewer may be sent next */
    struct buf out;   /* framed bytes the socket has not taken yet */
    bool fetching;    /* its own read is in flight */
    bool closed;      /* socket gone; struct kept until the fetch returns */
    bool ending;      /* END_REQUEST queued; closed once written */
    bool retry_sent;
    bool want_write;
    int64_t last_write;                 /* ms, for keepalives */
    int64_t blocked_since;              /* ms the socket stopped taking bytes; 0 if not */
    struct viewer *prev, *next;         /* feed's viewers */
    struct viewer *all_prev, *all_next; /* every viewer, for the tick */
};

struct feed {
    char sid[STORE_SID_MAX + 1];
    char channel[STORE_KEY_MAX]; /* the session's notify channel */
    struct viewer *viewers;
    size_t nviewers;
    bool ready;       /* subscribed, and known_last read after that */
    bool len_pending; /* a length read in flight */
    bool tail_fetching;
    bool probing;  /* a read of the last event, for viewers past the end */
    bool released; /* no viewers left; freed when nothing is in flight */
    uint64_t known_last;
    uint64_t terminal; /* id of the terminal event once seen; 0 before */
    uint64_t probed;   /* the last id probe_terminal looked at */
    /* cache: ids cache_first .. cache_first + cache_count - 1, in a ring */
    struct cached ring[SSE_CACHE_EVENTS];
    size_t ring_head; /* slot of cache_first */
    uint64_t cache_first;
    size_t cache_count;
    size_t cache_bytes;
    struct sse *sse;
    struct feed *next;
};

struct sse {
    struct loop *loop;
    struct bus *bus;
    struct store_async *store;
    const struct config *cfg;
    struct feed *feeds[SSE_FEED_BUCKETS];
    struct viewer *all;
    struct reply *replies; /* answers that are not streams, being written */
    struct attach *parked; /* admissions waiting for the commands connection */
    uint64_t park_timer;
    struct attach *asking;       /* admissions whose read is out: see sse_tick */
    struct buf pump;             /* the events of the pump in progress */
    const struct viewer *pumped; /* whose they are; NULL when empty */
    struct sendq *sendq;
    /* One slice of a feed's fan-out: the viewers whose bytes go in one
     * sendq_send, what each sends, whether it stopped at its bound, and
     * what each send did. */
    struct viewer *fan[SENDQ_DEPTH];
    struct sendq_item fan_items[SENDQ_DEPTH];
    bool fan_full[SENDQ_DEPTH];
    ssize_t fan_res[SENDQ_DEPTH];
    uint64_t tick_timer, resync_timer;
    int64_t last_resync;
};

static void viewer_pump(struct viewer *v);
static void feed_pump(struct feed *f);
static void feed_fetch_tail(struct feed *f);
static void feed_probe_terminal(struct feed *f);

/* ---- formatting ---- */

/* One stored event as an SSE event block. */
static char *format_event(const struct store_entry *e, size_t *len, bool *terminal)
{
    *terminal = store_entry_terminal(e);
    struct buf b;
    buf_init(&b);
    buf_appendf(&b, "id: %llu\nevent: %.*s\ndata: ", (unsigned long long)e->id, (int)e->type_len,
                e->type);
    /* Stored data never holds a line break; should one appear, it must
     * not end the data: line early. */
    size_t start = b.len;
    buf_append(&b, e->data, e->data_len);
    for (size_t i = start; i < b.len; i++)
        if (b.data[i] == '\n' || b.data[i] == '\r')
            b.data[i] = ' ';
    buf_append(&b, "\n\n", 2);
    *len = buf_used(&b);
    return b.data;
}

/* ---- sending ---- */

/* Writes what the socket takes of out, through the loop's sendq like every
 * write of this file. Returns false when the web server went away; true
 * otherwise, with bytes left in out when the socket is full. */
static bool send_buf(struct sendq *q, int fd, struct buf *out)
{
    while (buf_used(out) > 0) {
        struct sendq_item it = {fd, buf_head(out), buf_used(out)};
        ssize_t n;
        sendq_send(q, &it, 1, &n);
        if (n <= 0)
            return n == 0 || n == -EAGAIN || n == -EWOULDBLOCK;
        buf_consume(out, (size_t)n);
    }
    return true;
}

/* ---- viewers ---- */

static void viewer_free(struct viewer *v)
{
    buf_free(&v->out);
    free(v);
}

static void feed_release(struct feed *f);

static void viewer_close(struct viewer *v)
{
    if (v->closed)
        return;
    struct sse *s = v->feed->sse;
    loop_del(s->loop, v->fd);
    close(v->fd);
    v->closed = true;
    metrics_add(METRIC_VIEWERS, -1);

    struct feed *f = v->feed;
    if (v->prev)
        v->prev->next = v->next;
    else
        f->viewers = v->next;
    if (v->next)
        v->next->prev = v->prev;
    f->nviewers--;
    if (v->all_prev)
        v->all_prev->all_next = v->all_next;
    else
        s->all = v->all_next;
    if (v->all_next)
        v->all_next->all_prev = v->all_prev;

    if (!v->fetching)
        viewer_free(v); /* else the fetch reply frees it */
    if (f->nviewers == 0)
        feed_release(f);
}

static void viewer_want_write(struct viewer *v, bool on)
{
    if (v->want_write == on)
        return;
    v->want_write = on;
    loop_mod(v->feed->sse->loop, v->fd, EPOLLIN | EPOLLRDHUP | (on ? EPOLLOUT : 0));
}

/* Applies what one send of the viewer's buffer did (sendq_send's result:
 * the bytes that went, or -errno). Returns false when the viewer is gone. */
static bool viewer_sent(struct viewer *v, ssize_t n)
{
    if (n > 0) {
        buf_consume(&v->out, (size_t)n);
        v->last_write = loop_now();
        v->blocked_since = 0;
    } else if (n < 0 && n != -EAGAIN && n != -EWOULDBLOCK) {
        viewer_close(v); /* the web server went away */
        return false;
    }
    if (buf_used(&v->out) > 0) { /* the socket is full: wait until it drains */
        if (!v->blocked_since)
            v->blocked_since = loop_now();
        viewer_want_write(v, true);
        return true;
    }
    v->blocked_since = 0;
    viewer_want_write(v, false);
    buf_free(&v->out); /* a drained viewer holds no buffer: see the top */
    if (v->ending) {
        viewer_close(v);
        return false;
    }
    return true;
}

/* Writes what the socket takes. Returns false when the viewer is gone. */
static bool viewer_flush(struct viewer *v)
{
    ssize_t n = 0;
    if (buf_used(&v->out) > 0) {
        struct sendq_item it = {v->fd, buf_head(&v->out), buf_used(&v->out)};
        sendq_send(v->feed->sse->sendq, &it, 1, &n);
    }
    return viewer_sent(v, n);
}

/* Bytes the viewer has pending: framed, and gathered in this pump. */
static size_t viewer_pending(const struct viewer *v)
{
    const struct sse *s = v->feed->sse;
    return buf_used(&v->out) + (s->pumped == v ? buf_used(&s->pump) : 0);
}

static bool viewer_full(const struct viewer *v)
{
    return viewer_pending(v) >= (size_t)v->feed->sse->cfg->viewer_buffer;
}

/* Frames what the pump gathered for the viewer as one STDOUT record (or as
 * few as the record size allows) at the end of its buffer. */
static void viewer_frame(struct viewer *v)
{
    struct sse *s = v->feed->sse;
    if (s->pumped != v)
        return;
    fcgi_stdout(&v->out, v->request_id, buf_head(&s->pump), buf_used(&s->pump));
    buf_reset(&s->pump);
    if (s->pump.cap > SSE_PUMP_KEEP_BYTES)
        buf_free(&s->pump);
    s->pumped = NULL;
}

/* Gathers one event block for the viewer, the first with the retry field;
 * it is framed when the pump ends (viewer_frame), and a terminal event
 * closes the response at once. */
static void viewer_send(struct viewer *v, const char *text, size_t len, bool terminal)
{
    struct sse *s = v->feed->sse;
    if (s->pumped != v) {
        if (s->pumped) /* never: every pump frames its viewer's events */
            viewer_frame((struct viewer *)s->pumped);
        s->pumped = v;
    }
    if (!v->retry_sent) {
        buf_appendf(&s->pump, "retry: %d\n", s->cfg->retry_ms);
        v->retry_sent = true;
    }
    buf_append(&s->pump, text, len);
    v->next_id++;
    if (terminal) {
        /* The stream ends right after the terminal event. */
        viewer_frame(v);
        fcgi_end_request(&v->out, v->request_id);
        v->ending = true;
    }
}

/* Ends the response without a terminal event (shutdown, expired session):
 * EventSource reconnects and finds the truth. */
static void viewer_end(struct viewer *v)
{
    if (v->ending || v->closed)
        return;
    viewer_frame(v);
    fcgi_end_request(&v->out, v->request_id);
    v->ending = true;
}

static void viewer_fetch_reply(void *arg, const struct store_entry *ev, long n)
{
    struct viewer *v = arg;
    v->fetching = false;
    if (v->closed) {
        viewer_free(v);
        return;
    }
    struct feed *f = v->feed;
    if (n < 0)
        return; /* Redis trouble: the next resync or notification retries */
    uint64_t start = v->next_id;
    if (n == 0 && f->known_last >= start)
        f->known_last = start - 1; /* the list is shorter than we thought */
    /* Within the viewer's bound: what does not fit now is read again once
     * the socket has taken what is pending. */
    for (long i = 0; i < n && !v->ending && !viewer_full(v); i++) {
        size_t len;
        bool terminal;
        char *text = format_event(&ev[i], &len, &terminal);
        viewer_send(v, text, len, terminal);
        free(text);
        if (terminal)
            f->terminal = ev[i].id;
    }
    if (v->next_id - 1 > f->known_last)
        f->known_last = v->next_id - 1;
    viewer_pump(v); /* adds what the cache has, then frames and writes once */
}

static void viewer_fetch(struct viewer *v)
{
    struct feed *f = v->feed;
    if (store_async_events(f->sse->store, f->sid, v->next_id, SSE_CHUNK, viewer_fetch_reply, v) ==
        0)
        v->fetching = true;
}

static bool cache_has(const struct feed *f, uint64_t id)
{
    return f->cache_count > 0 && id >= f->cache_first && id < f->cache_first + f->cache_count;
}

static struct cached *cache_get(struct feed *f, uint64_t id)
{
    return &f->ring[(f->ring_head + (id - f->cache_first)) % SSE_CACHE_EVENTS];
}

/* Gathers what the viewer can have now: from the cache, or by starting a
 * read from Redis; stops at the buffer bound. Returns true when it stopped
 * there. */
static bool viewer_gather(struct viewer *v)
{
    struct feed *f = v->feed;
    while (!v->closed && !v->ending && f->ready && !v->fetching) {
        if (viewer_full(v))
            return true;
        if (v->next_id > f->known_last) {
            /* Caught up: wait for a notification. A viewer that resumed
             * past the end of a session that has ended gets its end. */
            if (f->terminal && v->next_id > f->terminal)
                viewer_end(v);
            else if (v->next_id > f->known_last + 1)
                feed_probe_terminal(f);
            break;
        }
        if (cache_has(f, v->next_id)) {
            struct cached *c = cache_get(f, v->next_id);
            viewer_send(v, c->text, c->len, c->terminal);
            continue;
        }
        uint64_t cache_end = f->cache_first + f->cache_count; /* next id to cache */
        if (!f->tail_fetching && (f->cache_count == 0 || v->next_id > cache_end)) {
            /* Nobody ahead of this viewer needs the old cache window. It
             * never moves while the shared tail read is out: the answer is
             * filed at the window's end, under the ids it asked for. */
            for (size_t i = 0; i < f->cache_count; i++)
                free(cache_get(f, f->cache_first + i)->text);
            f->cache_count = 0;
            f->cache_bytes = 0;
            f->cache_first = v->next_id;
            cache_end = v->next_id;
        }
        if (v->next_id == cache_end)
            feed_fetch_tail(f); /* the shared read serves every caught-up viewer */
        else
            viewer_fetch(v); /* elsewhere: a read of its own */
        break;
    }
    return false;
}

/* Sends the viewer what it can have now, as one record and one write; once
 * more if it stopped at its bound and the socket took everything. */
static void viewer_pump(struct viewer *v)
{
    for (;;) {
        bool full = viewer_gather(v);
        if (v->closed)
            return;
        viewer_frame(v);
        if (buf_used(&v->out) == 0 || !viewer_flush(v))
            return;
        if (!full || buf_used(&v->out) > 0)
            return;
    }
}

static void viewer_io(struct loop *l, int fd, uint32_t events, void *arg)
{
    (void)l;
    struct viewer *v = arg;
    if (events & EPOLLIN) {
        /* The web server may still send the (empty) stdin record or an
         * abort; nothing it says matters now but its end. */
        char scratch[4096];
        for (;;) {
            ssize_t n = read(fd, scratch, sizeof(scratch));
            if (n > 0)
                continue;
            if (n < 0 && errno == EINTR)
                continue;
            if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
                viewer_close(v);
                return;
            }
            break;
        }
    }
    if (events & (EPOLLHUP | EPOLLERR | EPOLLRDHUP)) {
        viewer_close(v);
        return;
    }
    if (events & EPOLLOUT) {
        if (viewer_flush(v))
            viewer_pump(v);
    }
}

/* ---- feeds ---- */

static unsigned feed_hash(const char *sid)
{
    return hash_string(sid) % SSE_FEED_BUCKETS;
}

static void feed_free(struct feed *f)
{
    struct sse *s = f->sse;
    struct feed **pp = &s->feeds[feed_hash(f->sid)];
    while (*pp && *pp != f)
        pp = &(*pp)->next;
    if (*pp)
        *pp = f->next;
    for (size_t i = 0; i < f->cache_count; i++)
        free(cache_get(f, f->cache_first + i)->text);
    free(f);
}

/* Frees the feed once no reply is in flight for it. */
static void feed_maybe_free(struct feed *f)
{
    if (f->released && !f->len_pending && !f->tail_fetching && !f->probing)
        feed_free(f);
}

static void feed_probe_reply(void *arg, const struct store_entry *ev, long n)
{
    struct feed *f = arg;
    f->probing = false;
    if (f->released) {
        feed_maybe_free(f);
        return;
    }
    if (n == 1 && store_entry_terminal(&ev[0]))
        f->terminal = ev[0].id;
    /* Ends the viewers past the end, or probes again if the log grew
     * while this read was out. */
    feed_pump(f);
}

/* A viewer asked for ids past the last one (Last-Event-ID from another
 * session, or a made-up one): whether it will ever get them depends on
 * whether the last event is the terminal one. One read of that event per
 * new last id, per feed, whatever the number of such viewers. */
static void feed_probe_terminal(struct feed *f)
{
    if (f->probing || f->terminal || f->known_last == 0 || f->probed == f->known_last)
        return;
    f->probed = f->known_last;
    if (store_async_events(f->sse->store, f->sid, f->known_last, 1, feed_probe_reply, f) == 0)
        f->probing = true;
}

static void feed_release(struct feed *f)
{
    if (f->sse->bus) /* NULL once sse_free runs */
        bus_unsubscribe(f->sse->bus, f->channel);
    f->released = true;
    f->ready = false;
    feed_maybe_free(f);
}

/* Sends a slice of the fan-out in one sendq_send and applies each result
 * as viewer_flush would; a viewer that stopped at its bound and whose
 * socket took everything is pumped once more, alone. */
static void feed_send_slice(struct sse *s, size_t n)
{
    sendq_send(s->sendq, s->fan_items, n, s->fan_res);
    for (size_t i = 0; i < n; i++) {
        struct viewer *v = s->fan[i];
        if (viewer_sent(v, s->fan_res[i]) && s->fan_full[i] && buf_used(&v->out) == 0)
            viewer_pump(v);
    }
}

/* Every viewer of the feed gets what it can have now, as viewer_pump gives
 * it, but the writes go in slices of SENDQ_DEPTH viewers, one system call
 * each (see sendq.h). Gathering never closes a viewer; applying a slice's
 * results may close its own viewers only, so the walk resumes from the
 * viewer after the slice, which is still linked. A viewer waiting for its
 * socket to drain is left to EPOLLOUT. */
static void feed_pump(struct feed *f)
{
    struct sse *s = f->sse;
    struct viewer *v = f->viewers;
    while (v) {
        size_t n = 0;
        for (; v && n < SENDQ_DEPTH; v = v->next) {
            bool full = viewer_gather(v);
            viewer_frame(v);
            if (buf_used(&v->out) == 0 || v->want_write)
                continue;
            s->fan[n] = v;
            s->fan_full[n] = full;
            s->fan_items[n] = (struct sendq_item){v->fd, buf_head(&v->out), buf_used(&v->out)};
            n++;
        }
        if (n > 0)
            feed_send_slice(s, n);
    }
}

static void feed_tail_reply(void *arg, const struct store_entry *ev, long n)
{
    struct feed *f = arg;
    f->tail_fetching = false;
    if (f->released) {
        feed_maybe_free(f);
        return;
    }
    if (n < 0)
        return;
    uint64_t id = f->cache_first + f->cache_count; /* the window did not move: see viewer_pump */
    if (n == 0 && f->known_last >= id)
        f->known_last = id - 1;
    for (long i = 0; i < n; i++, id++) {
        /* Make room: drop the oldest cached events. */
        while (f->cache_count > 0 &&
               (f->cache_count == SSE_CACHE_EVENTS || f->cache_bytes > SSE_CACHE_BYTES)) {
            struct cached *old = &f->ring[f->ring_head];
            f->cache_bytes -= old->len;
            free(old->text);
            f->ring_head = (f->ring_head + 1) % SSE_CACHE_EVENTS;
            f->cache_first++;
            f->cache_count--;
        }
        struct cached *c = &f->ring[(f->ring_head + f->cache_count) % SSE_CACHE_EVENTS];
        c->text = format_event(&ev[i], &c->len, &c->terminal);
        if (c->terminal)
            f->terminal = id;
        f->cache_bytes += c->len;
        f->cache_count++;
    }
    if (id - 1 > f->known_last)
        f->known_last = id - 1;
    feed_pump(f);
}

static void feed_fetch_tail(struct feed *f)
{
    if (f->tail_fetching)
        return;
    if (store_async_events(f->sse->store, f->sid, f->cache_first + f->cache_count, SSE_CHUNK,
                           feed_tail_reply, f) == 0)
        f->tail_fetching = true;
}

static void feed_len_reply(void *arg, long long n)
{
    struct feed *f = arg;
    f->len_pending = false;
    if (f->released) {
        feed_maybe_free(f);
        return;
    }
    if (n < 0)
        return;
    if (n == 0) {
        /* The session expired or was deleted under its viewers: end their
         * streams; a reconnect will get 404. */
        struct viewer *v = f->viewers;
        while (v) {
            struct viewer *next = v->next;
            viewer_end(v);
            viewer_flush(v);
            v = next;
        }
        return;
    }
    if ((uint64_t)n > f->known_last)
        f->known_last = (uint64_t)n;
    f->ready = true;
    feed_pump(f);
}

/* Reads the session's current length: after subscribing (so nothing
 * published from now on is missed) and periodically, in case a notification
 * was lost with a connection. */
static void feed_resync(struct feed *f)
{
    if (f->len_pending || f->released)
        return;
    if (store_async_length(f->sse->store, f->sid, feed_len_reply, f) == 0)
        f->len_pending = true;
}

static void feed_on_ready(void *arg)
{
    feed_resync(arg);
}

static void feed_on_message(void *arg, const char *data, size_t len)
{
    struct feed *f = arg;
    uint64_t id;
    if (store_notify_parse(data, len, &id) && id > f->known_last) {
        f->known_last = id;
        if (f->ready)
            feed_pump(f);
    }
}

static struct feed *feed_get(struct sse *s, const char *sid)
{
    unsigned h = feed_hash(sid);
    for (struct feed *f = s->feeds[h]; f; f = f->next)
        if (!f->released && strcmp(f->sid, sid) == 0)
            return f;
    struct feed *f = xcalloc(1, sizeof(*f));
    struct store_session_keys k;
    snprintf(f->sid, sizeof(f->sid), "%s", sid);
    store_session_keys(s->cfg, sid, &k);
    memcpy(f->channel, k.notify, sizeof(f->channel));
    f->sse = s;
    f->cache_first = 1;
    f->next = s->feeds[h];
    s->feeds[h] = f;
    if (bus_subscribe(s->bus, f->channel, feed_on_message, feed_on_ready, f))
        feed_resync(f);
    return f;
}

/* ---- answers that are not streams ---- */

/* A short answer (404, 204, 503) to a stream request, framed, written as
 * the socket takes it, then the connection is closed. */
struct reply {
    struct sse *sse;
    int fd;
    bool polled; /* in the loop, waiting to write */
    int64_t since;
    struct buf out;
    struct reply *prev, *next;
};

static void reply_free(struct reply *r)
{
    struct sse *s = r->sse;
    if (r->prev)
        r->prev->next = r->next;
    else
        s->replies = r->next;
    if (r->next)
        r->next->prev = r->prev;
    if (r->polled)
        loop_del(s->loop, r->fd);
    /* Whatever the web server still sent (the empty stdin record) is read
     * first: a TCP socket closed with unread bytes resets, and the reset
     * may overtake the answer. */
    char scratch[512];
    while (read(r->fd, scratch, sizeof(scratch)) > 0)
        ;
    close(r->fd);
    buf_free(&r->out);
    free(r);
}

static void reply_write(struct reply *r);

static void reply_io(struct loop *l, int fd, uint32_t events, void *arg)
{
    (void)l;
    (void)fd;
    struct reply *r = arg;
    if (events & (EPOLLHUP | EPOLLERR))
        reply_free(r);
    else if (events & EPOLLOUT)
        reply_write(r);
}

static void reply_write(struct reply *r)
{
    if (send_buf(r->sse->sendq, r->fd, &r->out) && buf_used(&r->out) > 0) {
        if (!r->polled && loop_add(r->sse->loop, r->fd, EPOLLOUT, reply_io, r) == 0)
            r->polled = true;
        if (r->polled)
            return;
    }
    reply_free(r); /* written, or the web server went away */
}

static void reply_send(struct sse *s, int fd, uint16_t request_id, const struct buf *text)
{
    struct reply *r = xcalloc(1, sizeof(*r));
    r->sse = s;
    r->fd = fd;
    r->since = loop_now();
    buf_init(&r->out);
    fcgi_stdout(&r->out, request_id, buf_head(text), buf_used(text));
    fcgi_end_request(&r->out, request_id);
    r->next = s->replies;
    if (s->replies)
        s->replies->prev = r;
    s->replies = r;
    reply_write(r);
}

/* ---- admitting, attaching, ticks, shutdown ---- */

struct attach {
    struct sse *sse;
    int fd;
    int request_id;
    uint64_t last_id;
    sse_answer_fn *answer;      /* NULL: the headers are sent (sse_attach) */
    int64_t deadline;           /* for an answer from Redis, then 503 */
    bool asking;                /* its read is out, and it is on sse's asking list */
    bool answered;              /* 503 at its deadline: the read's reply only frees it */
    struct attach *prev, *next; /* on the asking list, or next on the parked one */
    char sid[STORE_SID_MAX + 1];
};

static void sse_admit_send(struct attach *a);

/* Retries the parked admissions. */
static void sse_unpark(struct loop *l, void *arg)
{
    (void)l;
    struct sse *s = arg;
    s->park_timer = 0;
    struct attach *a = s->parked;
    s->parked = NULL;
    while (a) {
        struct attach *next = a->next;
        sse_admit_send(a);
        a = next;
    }
}

/* Redis did not answer (the commands connection is down, or was lost with
 * the read): the admission waits for it to come back, up to its deadline. */
static bool sse_park(struct attach *a)
{
    struct sse *s = a->sse;
    if (!s->bus || loop_now() >= a->deadline)
        return false;
    a->next = s->parked;
    s->parked = a;
    if (!s->park_timer)
        s->park_timer = loop_timer(s->loop, SSE_PARK_RETRY_MS, sse_unpark, s);
    return true;
}

/* Takes the admission off the asking list. */
static void sse_unask(struct attach *a)
{
    if (!a->asking)
        return;
    if (a->prev)
        a->prev->next = a->next;
    else
        a->sse->asking = a->next;
    if (a->next)
        a->next->prev = a->prev;
    a->asking = false;
    a->prev = a->next = NULL;
}

/* Answers an admission with the handler's text for a verdict that is not a
 * stream; the connection is then the reply's, a is the caller's. */
static void sse_refuse(struct attach *a, enum sse_verdict verdict)
{
    struct buf text;
    buf_init(&text);
    a->answer(&text, verdict);
    reply_send(a->sse, a->fd, (uint16_t)a->request_id, &text);
    buf_free(&text);
}

/* Makes the connection a viewer of its session, its first bytes head (the
 * stream's headers; NULL when already sent). Frees a. */
static void sse_add_viewer(struct attach *a, const struct buf *head)
{
    struct sse *s = a->sse;
    struct viewer *v = xcalloc(1, sizeof(*v));
    v->fd = a->fd;
    v->request_id = (uint16_t)a->request_id;
    v->next_id = a->last_id + 1;
    v->last_write = loop_now();
    buf_init(&v->out);
    if (head)
        fcgi_stdout(&v->out, v->request_id, buf_head(head), buf_used(head));
    if (loop_add(s->loop, v->fd, EPOLLIN | EPOLLRDHUP, viewer_io, v) < 0) {
        close(v->fd);
        buf_free(&v->out);
        free(v);
        free(a);
        return;
    }
    metrics_add(METRIC_VIEWERS, 1);
    v->all_next = s->all;
    if (s->all)
        s->all->all_prev = v;
    s->all = v;
    struct feed *f = feed_get(s, a->sid);
    v->feed = f;
    v->next = f->viewers;
    if (f->viewers)
        f->viewers->prev = v;
    f->viewers = v;
    f->nviewers++;
    free(a);
    viewer_pump(v);
}

/* The session's head is in (or Redis did not answer): the verdict, the
 * handler's answer for it, and the stream if there is one. */
static void sse_admit_reply(void *arg, bool down, bool exists, uint64_t terminal)
{
    struct attach *a = arg;
    if (a->answered) { /* late: its deadline passed (sse_tick) */
        free(a);
        return;
    }
    sse_unask(a);
    if (down && sse_park(a))
        return;
    enum sse_verdict verdict = SSE_VERDICT_STREAM;
    if (down)
        verdict = SSE_VERDICT_UNAVAILABLE;
    else if (!exists)
        verdict = SSE_VERDICT_NOT_FOUND;
    else if (terminal && a->last_id >= terminal)
        verdict = SSE_VERDICT_DELIVERED; /* 204 tells EventSource to stop */
    if (verdict != SSE_VERDICT_STREAM) {
        sse_refuse(a, verdict);
        free(a);
        return;
    }
    struct buf text;
    buf_init(&text);
    a->answer(&text, verdict);
    sse_add_viewer(a, &text);
    buf_free(&text);
}

static void sse_attach_on_loop(struct loop *l, void *arg)
{
    (void)l;
    struct attach *a = arg;
    int fl = fcntl(a->fd, F_GETFL);
    if (fl < 0 || fcntl(a->fd, F_SETFL, fl | O_NONBLOCK) < 0) {
        close(a->fd);
        free(a);
        return;
    }
    if (!a->answer) {
        sse_add_viewer(a, NULL);
        return;
    }
    a->deadline = loop_now() + SSE_ADMIT_WAIT_MS;
    sse_admit_send(a);
}

static void sse_admit_send(struct attach *a)
{
    struct sse *s = a->sse;
    if (store_async_head(s->store, a->sid, sse_admit_reply, a) != 0) {
        sse_admit_reply(a, true, false, 0); /* the bus is not connected */
        return;
    }
    /* A Redis that is connected but silent is answered for at the deadline
     * (sse_tick), not when the bus gives the connection up. */
    a->asking = true;
    a->prev = NULL;
    a->next = s->asking;
    if (s->asking)
        s->asking->prev = a;
    s->asking = a;
}

static void sse_post_attach(struct sse *s, int fd, int request_id, const char *sid,
                            uint64_t last_id, sse_answer_fn *answer)
{
    struct attach *a = xcalloc(1, sizeof(*a));
    a->sse = s;
    a->fd = fd;
    a->request_id = request_id;
    a->last_id = last_id;
    a->answer = answer;
    snprintf(a->sid, sizeof(a->sid), "%s", sid);
    loop_post(s->loop, sse_attach_on_loop, a);
}

void sse_attach(struct sse *s, int fd, int request_id, const char *sid, uint64_t last_id)
{
    sse_post_attach(s, fd, request_id, sid, last_id, NULL);
}

void sse_admit(struct sse *s, int fd, int request_id, const char *sid, uint64_t last_id,
               sse_answer_fn *answer)
{
    sse_post_attach(s, fd, request_id, sid, last_id, answer);
}

/* Once a second: keepalive comments on idle streams, drop stalled viewers,
 * 503 to the admissions whose read is still out at their deadline, and
 * every few seconds re-read each feed's length. */
static void sse_tick(struct loop *l, void *arg)
{
    struct sse *s = arg;
    int64_t now = loop_now();
    int64_t keepalive = (int64_t)s->cfg->keepalive * 1000;
    int64_t stall = (int64_t)s->cfg->viewer_stall * 1000;
    struct viewer *v = s->all;
    while (v) {
        struct viewer *next = v->all_next;
        if (v->blocked_since && now - v->blocked_since > stall) {
            log_warn("dropped a viewer of %s: it read nothing for %d s", v->feed->sid,
                     s->cfg->viewer_stall);
            metrics_add(METRIC_VIEWERS_DROPPED, 1);
            viewer_close(v);
        } else if (buf_used(&v->out) == 0 && now - v->last_write >= keepalive && !v->ending) {
            static const char comment[] = ": keepalive\n\n";
            fcgi_stdout(&v->out, v->request_id, comment, sizeof(comment) - 1);
            viewer_flush(v);
        }
        v = next;
    }
    struct reply *r = s->replies;
    while (r) {
        struct reply *next = r->next;
        if (now - r->since > stall)
            reply_free(r); /* a web server that takes not even a short answer */
        r = next;
    }
    struct attach *a = s->asking;
    while (a) {
        struct attach *next = a->next;
        if (now >= a->deadline) {
            /* Redis is connected but has not replied: the read stays out
             * (the bus gives it up within STORE_COMMAND_TIMEOUT_MS, bus.c)
             * and frees a when it returns; the client has its answer. */
            sse_unask(a);
            a->answered = true;
            sse_refuse(a, SSE_VERDICT_UNAVAILABLE);
        }
        a = next;
    }
    if (now - s->last_resync >= SSE_RESYNC_MS) {
        s->last_resync = now;
        for (int i = 0; i < SSE_FEED_BUCKETS; i++)
            for (struct feed *f = s->feeds[i]; f; f = f->next)
                if (f->ready)
                    feed_resync(f);
    }
    s->tick_timer = loop_timer(l, SSE_TICK_MS, sse_tick, s);
}

struct sse *sse_new(struct loop *l, struct bus *b, const struct config *cfg)
{
    struct sse *s = xcalloc(1, sizeof(*s));
    s->loop = l;
    s->bus = b;
    s->store = store_async_new(b, cfg);
    s->cfg = cfg;
    buf_init(&s->pump);
    s->sendq = sendq_new(cfg->io_uring != 0);
    s->last_resync = loop_now();
    s->tick_timer = loop_timer(l, SSE_TICK_MS, sse_tick, s);
    return s;
}

static void sse_end_all_on_loop(struct loop *l, void *arg)
{
    (void)l;
    struct sse *s = arg;
    struct viewer *v = s->all;
    while (v) {
        struct viewer *next = v->all_next;
        viewer_end(v);
        viewer_flush(v);
        v = next;
    }
}

void sse_end_all(struct sse *s)
{
    loop_post(s->loop, sse_end_all_on_loop, s);
}

void sse_free(struct sse *s)
{
    if (!s)
        return;
    s->bus = NULL; /* already freed: see sse.h */
    /* Last words to whoever is still connected, then close. */
    while (s->all) {
        struct viewer *v = s->all;
        viewer_end(v);
        if (viewer_flush(v) && !v->closed)
            viewer_close(v);
    }
    if (s->park_timer)
        loop_cancel(s->loop, s->park_timer);
    while (s->parked) {
        struct attach *a = s->parked;
        s->parked = a->next;
        close(a->fd);
        free(a);
    }
    while (s->replies)
        reply_free(s->replies);
    if (s->tick_timer)
        loop_cancel(s->loop, s->tick_timer);
    for (int i = 0; i < SSE_FEED_BUCKETS; i++)
        while (s->feeds[i])
            feed_free(s->feeds[i]);
    store_async_free(s->store);
    buf_free(&s->pump);
    sendq_free(s->sendq);
    free(s);
}
