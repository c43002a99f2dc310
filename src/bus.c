/* bus.c -- the loop's asynchronous Redis connections: see bus.h.
 *
 * hiredis (0.14) is driven through a small adapter: its addRead/addWrite
 * hooks become epoll interest on the loop. Two details of hiredis shape the
 * subscription code:
 *   - a subscribe callback's privdata must stay valid until hiredis lets go
 *     of it (the unsubscribe confirmation, or the connection's end), so a
 *     subscription record outlives its subscriber's interest until then;
 *   - hiredis leaves subscribe mode when the subscription count reaches zero,
 *     and a SUBSCRIBE sent just before that confirmation would then trip an
 *     assertion. The queue channel stays subscribed for the connection's
 *     whole life (main.c subscribes it first), so the count never drops to
 *     zero.
 *
 * hiredis 0.14's asynchronous API has no timeouts: a Redis that accepts the
 * connection but never replies (stopped, swapping, a network black hole)
 * would hold every pending callback -- a new stream's admission, the
 * viewers' reads, the reaper's look -- for as long as it stays silent. A
 * watchdog (bus_watch) gives up a connection that has waited longer than
 * STORE_CONNECT_TIMEOUT_MS to open or STORE_COMMAND_TIMEOUT_MS for a reply
 * (store_schema.h; the same bounds as the synchronous connections'):
 * hiredis then calls the pending callbacks with no reply, which is what
 * their callers already do with a connection lost, and the connection is
 * made again with the usual backoff. Waiting means replies are owed: a
 * subscriber that has subscribed owes none, so a quiet subscriber is never
 * given up, however long its channels stay silent. */
#include "bus.h"
#include "alloc.h"
#include "config.h"
#include "hash.h"
#include "log.h"
#include "loop.h"
#include "store_schema.h"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <poll.h>
#include <string.h>
#include <sys/epoll.h>

#define BUS_BACKOFF_MIN_MS 100
#define BUS_BACKOFF_MAX_MS 2000
#define BUS_BUCKETS        256
#define BUS_WATCH_MS       500 /* the watchdog's period */

enum sub_state { SUB_IDLE, SUB_ACTIVE, SUB_LEAVING };

struct bus_sub {
    char *channel;
    bus_msg_fn *fn;
    bus_ready_fn *ready;
    void *arg;
    bool wanted;          /* the subscriber still wants it */
    bool confirmed;       /* Redis confirmed the SUBSCRIBE */
    enum sub_state state; /* IDLE: hiredis does not hold it */
    struct bus_sub *next;
};

struct bus_conn {
    struct bus *bus;
    redisAsyncContext *ac;
    bool subscriber;
    int fd;
    uint32_t events;
    bool watched;
    int backoff_ms;
    uint64_t retry_timer;
    bool up;
    int64_t up_since;         /* loop_now() when it connected */
    unsigned long generation; /* connects so far */
    /* loop_now() of the last bytes from Redis, or of the connect or the
     * command that started the wait when nothing was owed: how long the
     * connection has waited, for the watchdog. */
    int64_t heard;
    bool silent; /* given up for silence, nothing heard since: said once */
};

struct bus {
    struct loop *loop;
    const struct config *cfg;
    struct bus_conn cmd, sub;
    struct bus_sub *subs[BUS_BUCKETS];
    uint64_t watch_timer;
    bool closing;
};

static void bus_connect(struct bus_conn *c);

/* ---- hiredis adapter ---- */

static void adapter_io(struct loop *l, int fd, uint32_t events, void *arg)
{
    (void)l;
    (void)fd;
    struct bus_conn *c = arg;
    if (c->ac && (events & EPOLLIN)) {
        c->heard = loop_now();
        c->silent = false;
    }
    if (c->ac && (events & (EPOLLIN | EPOLLERR | EPOLLHUP)))
        redisAsyncHandleRead(c->ac);
    if (c->ac && (events & EPOLLOUT))
        redisAsyncHandleWrite(c->ac);
}

static void adapter_update(struct bus_conn *c, uint32_t events)
{
    if (events == c->events && c->watched)
        return;
    c->events = events;
    if (!c->watched) {
        if (loop_add(c->bus->loop, c->fd, events, adapter_io, c) == 0)
            c->watched = true;
    } else {
        loop_mod(c->bus->loop, c->fd, events);
    }
}

static void adapter_add_read(void *p)
{
    struct bus_conn *c = p;
    adapter_update(c, c->events | EPOLLIN);
}

static void adapter_del_read(void *p)
{
    struct bus_conn *c = p;
    adapter_update(c, c->events & ~(uint32_t)EPOLLIN);
}

static void adapter_add_write(void *p)
{
    struct bus_conn *c = p;
    adapter_update(c, c->events | EPOLLOUT);
}

static void adapter_del_write(void *p)
{
    struct bus_conn *c = p;
    adapter_update(c, c->events & ~(uint32_t)EPOLLOUT);
}

static void adapter_cleanup(void *p)
{
    struct bus_conn *c = p;
    if (c->watched)
        loop_del(c->bus->loop, c->fd);
    c->watched = false;
    c->events = 0;
}

/* ---- subscriptions ---- */

static unsigned bus_hash(const char *s)
{
    return hash_string(s) % BUS_BUCKETS;
}

static struct bus_sub *bus_find(struct bus *b, const char *channel)
{
    for (struct bus_sub *s = b->subs[bus_hash(channel)]; s; s = s->next)
        if (strcmp(s->channel, channel) == 0)
            return s;
    return NULL;
}

static void bus_forget(struct bus *b, struct bus_sub *sub)
{
    struct bus_sub **pp = &b->subs[bus_hash(sub->channel)];
    while (*pp != sub)
        pp = &(*pp)->next;
    *pp = sub->next;
    free(sub->channel);
    free(sub);
}

static void bus_sub_reply(redisAsyncContext *ac, void *reply, void *privdata);

static void bus_send_subscribe(struct bus *b, struct bus_sub *sub)
{
    if (!b->sub.up)
        return; /* sent on (re)connect */
    const char *argv[] = {"SUBSCRIBE", sub->channel};
    if (redisAsyncCommandArgv(b->sub.ac, bus_sub_reply, sub, 2, argv, NULL) == REDIS_OK)
        sub->state = SUB_ACTIVE;
}

static void bus_sub_reply(redisAsyncContext *ac, void *reply, void *privdata)
{
    struct bus *b = ((struct bus_conn *)ac->data)->bus;
    struct bus_sub *sub = privdata;
    redisReply *r = reply;

    if (!r) { /* the connection is going away; hiredis lets go of sub */
        sub->state = SUB_IDLE;
        sub->confirmed = false;
        if (!sub->wanted || b->closing)
            bus_forget(b, sub);
        return;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 3 ||
        r->element[0]->type != REDIS_REPLY_STRING)
        return;
    const char *kind = r->element[0]->str;
    if (strcmp(kind, "message") == 0) {
        if (sub->wanted && sub->fn && r->element[2]->type == REDIS_REPLY_STRING)
            sub->fn(sub->arg, r->element[2]->str, r->element[2]->len);
    } else if (strcmp(kind, "subscribe") == 0) {
        sub->confirmed = true;
        if (sub->wanted && sub->ready)
            sub->ready(sub->arg);
    } else if (strcmp(kind, "unsubscribe") == 0) {
        sub->state = SUB_IDLE;
        sub->confirmed = false;
        if (sub->wanted)
            bus_send_subscribe(b, sub);
        else
            bus_forget(b, sub);
    }
}

bool bus_subscribe(struct bus *b, const char *channel, bus_msg_fn *fn, bus_ready_fn *ready,
                   void *arg)
{
    struct bus_sub *sub = bus_find(b, channel);
    if (!sub) {
        sub = xcalloc(1, sizeof(*sub));
        sub->channel = xstrdup(channel);
        unsigned h = bus_hash(channel);
        sub->next = b->subs[h];
        b->subs[h] = sub;
    }
    sub->fn = fn;
    sub->ready = ready;
    sub->arg = arg;
    sub->wanted = true;
    if (sub->state == SUB_IDLE)
        bus_send_subscribe(b, sub);
    /* LEAVING: the unsubscribe confirmation will subscribe again. */
    return sub->state == SUB_ACTIVE && sub->confirmed;
}

void bus_unsubscribe(struct bus *b, const char *channel)
{
    struct bus_sub *sub = bus_find(b, channel);
    if (!sub)
        return;
    sub->wanted = false;
    sub->fn = NULL;
    sub->ready = NULL;
    sub->arg = NULL;
    if (sub->state == SUB_IDLE) {
        bus_forget(b, sub);
    } else if (sub->state == SUB_ACTIVE && b->sub.up) {
        const char *argv[] = {"UNSUBSCRIBE", channel};
        redisAsyncCommandArgv(b->sub.ac, NULL, NULL, 2, argv, NULL);
        sub->state = SUB_LEAVING;
    }
}

/* ---- commands ---- */

struct bus_call {
    bus_reply_fn *fn;
    void *arg;
};

static void bus_call_reply(redisAsyncContext *ac, void *reply, void *privdata)
{
    (void)ac;
    struct bus_call *call = privdata;
    call->fn(call->arg, reply);
    free(call);
}

int bus_command(struct bus *b, bus_reply_fn *fn, void *arg, int argc, const char **argv,
                const size_t *lens)
{
    if (!b->cmd.up)
        return -1;
    struct bus_call *call = xmalloc(sizeof(*call));
    call->fn = fn;
    call->arg = arg;
    if (!b->cmd.ac->replies.head) /* the wait for a reply starts now */
        b->cmd.heard = loop_now();
    if (redisAsyncCommandArgv(b->cmd.ac, bus_call_reply, call, argc, argv, lens) != REDIS_OK) {
        free(call);
        return -1;
    }
    return 0;
}

/* ---- connections ---- */

static void bus_retry(struct loop *l, void *arg)
{
    (void)l;
    struct bus_conn *c = arg;
    c->retry_timer = 0;
    bus_connect(c);
}

static void bus_schedule_retry(struct bus_conn *c)
{
    if (c->bus->closing || c->retry_timer)
        return;
    c->retry_timer = loop_timer(c->bus->loop, c->backoff_ms, bus_retry, c);
    c->backoff_ms = c->backoff_ms * 2 > BUS_BACKOFF_MAX_MS ? BUS_BACKOFF_MAX_MS : c->backoff_ms * 2;
}

/* Gives up a connection that waited too long (see the top): the pending
 * callbacks run with no reply, and a new connection is tried after the
 * backoff. The first time in a row, the server log says so. */
static void bus_drop(struct bus_conn *c, const char *why, int ms)
{
    if (!c->silent)
        log_warn("Redis %s connection: %s for %d ms; reconnecting",
                 c->subscriber ? "subscriber" : "command", why, ms);
    c->silent = true;
    redisAsyncContext *ac = c->ac;
    c->up = false; /* bus_command refuses from now on; no second log line */
    redisAsyncFree(ac);
    c->ac = NULL; /* bus_on_disconnect ran only if it had connected */
    bus_schedule_retry(c);
}

/* Whether Redis has done its part and only the loop has not looked yet (a
 * busy loop): the connect is over, or bytes are waiting to be read. */
static bool bus_answered(const struct bus_conn *c)
{
    struct pollfd p = {c->fd, c->up ? POLLIN : POLLOUT, 0};
    return poll(&p, 1, 0) > 0;
}

static void bus_watch(struct loop *l, void *arg)
{
    struct bus *b = arg;
    int64_t now = loop_now();
    struct bus_conn *conns[] = {&b->cmd, &b->sub};
    for (int i = 0; i < 2; i++) {
        struct bus_conn *c = conns[i];
        if (!c->ac)
            continue;
        bool late = c->up ? c->ac->replies.head && now - c->heard > STORE_COMMAND_TIMEOUT_MS
                          : now - c->heard > STORE_CONNECT_TIMEOUT_MS;
        if (!late || bus_answered(c))
            continue;
        if (c->up)
            bus_drop(c, "no reply", STORE_COMMAND_TIMEOUT_MS);
        else
            bus_drop(c, "not connected", STORE_CONNECT_TIMEOUT_MS);
    }
    b->watch_timer = loop_timer(l, BUS_WATCH_MS, bus_watch, b);
}

static void bus_on_disconnect(const redisAsyncContext *ac, int status)
{
    struct bus_conn *c = ac->data;
    if (c->up && !c->bus->closing)
        log_warn("Redis %s connection lost: %s", c->subscriber ? "subscriber" : "command",
                 status == REDIS_OK ? "closed" : ac->errstr);
    c->ac = NULL;
    c->up = false;
    bus_schedule_retry(c);
}

static void bus_hello_reply(redisAsyncContext *ac, void *reply, void *privdata)
{
    (void)privdata;
    redisReply *r = reply;
    if (r && r->type == REDIS_REPLY_ERROR) {
        log_error("Redis refused AUTH/SELECT: %s", r->str);
        redisAsyncDisconnect(ac);
    }
}

static void bus_on_connect(const redisAsyncContext *ac, int status)
{
    struct bus_conn *c = ac->data;
    if (status != REDIS_OK) {
        /* hiredis frees the context after this; no disconnect callback. */
        c->ac = NULL;
        c->up = false;
        bus_schedule_retry(c);
        return;
    }
    c->up = true;
    c->up_since = loop_now();
    c->generation++;
    c->backoff_ms = BUS_BACKOFF_MIN_MS;
    if (c->subscriber) {
        for (int i = 0; i < BUS_BUCKETS; i++)
            for (struct bus_sub *s = c->bus->subs[i]; s; s = s->next)
                if (s->wanted && s->state == SUB_IDLE)
                    bus_send_subscribe(c->bus, s);
    }
}

static void bus_connect(struct bus_conn *c)
{
    const struct redis_addr *a = &c->bus->cfg->redis;
    redisAsyncContext *ac =
            a->path ? redisAsyncConnectUnix(a->path) : redisAsyncConnect(a->host, a->port);
    if (!ac || ac->err) {
        if (ac)
            redisAsyncFree(ac);
        bus_schedule_retry(c);
        return;
    }
    c->ac = ac;
    c->heard = loop_now();
    c->fd = ac->c.fd;
    c->events = 0;
    c->watched = false;
    ac->data = c;
    ac->ev.data = c;
    ac->ev.addRead = adapter_add_read;
    ac->ev.delRead = adapter_del_read;
    ac->ev.addWrite = adapter_add_write;
    ac->ev.delWrite = adapter_del_write;
    ac->ev.cleanup = adapter_cleanup;
    redisAsyncSetConnectCallback(ac, bus_on_connect);
    redisAsyncSetDisconnectCallback(ac, bus_on_disconnect);
    /* Queued now, sent first once connected. */
    struct store_hello h;
    store_hello(a, c->subscriber, &h);
    for (int i = 0; i < h.n; i++)
        redisAsyncCommandArgv(ac, h.cmd[i].required ? bus_hello_reply : NULL, NULL, h.cmd[i].argc,
                              h.cmd[i].argv, NULL);
    /* The first write event completes the connect; ask for it. */
    adapter_add_write(c);
}

struct bus *bus_new(struct loop *l, const struct config *cfg)
{
    struct bus *b = xcalloc(1, sizeof(*b));
    b->loop = l;
    b->cfg = cfg;
    b->cmd.bus = b->sub.bus = b;
    b->sub.subscriber = true;
    b->cmd.backoff_ms = b->sub.backoff_ms = BUS_BACKOFF_MIN_MS;
    bus_connect(&b->cmd);
    bus_connect(&b->sub);
    b->watch_timer = loop_timer(l, BUS_WATCH_MS, bus_watch, b);
    return b;
}

void bus_free(struct bus *b)
{
    if (!b)
        return;
    b->closing = true;
    loop_cancel(b->loop, b->watch_timer);
    struct bus_conn *conns[] = {&b->cmd, &b->sub};
    for (int i = 0; i < 2; i++) {
        if (conns[i]->retry_timer)
            loop_cancel(b->loop, conns[i]->retry_timer);
        if (conns[i]->ac)
            redisAsyncFree(conns[i]->ac); /* callbacks run with NULL */
    }
    for (int i = 0; i < BUS_BUCKETS; i++)
        while (b->subs[i])
            bus_forget(b, b->subs[i]);
    free(b);
}

long long bus_uptime(const struct bus *b)
{
    return b->cmd.up ? loop_now() - b->cmd.up_since : 0;
}

unsigned long bus_generation(const struct bus *b)
{
    return b->cmd.generation;
}
