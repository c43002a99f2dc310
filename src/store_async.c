/* store_async.c -- sessions in Redis, the event loop's face: see
 * store_async.h.
 *
 * A script call keeps a copy of its command until its answer is in, since
 * it may have to be sent twice: once after the script is loaded, once more
 * after a NOSCRIPT. Per script, the first call on a new connection sends
 * SCRIPT LOAD ahead of its EVALSHA (the connection keeps the order, so the
 * EVALSHA finds the script); should the script's SHA not be known yet (the
 * first load of the process is still out), calls wait for the load's answer
 * on the script's list. A struct store_async holds no connection of its
 * own: it is a few names and the scripts' SHAs, and several may share one
 * bus. */
#include "store_async.h"
#include "alloc.h"
#include "bus.h"
#include "config.h"
#include "events.h"

#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct async_eval;

struct async_script {
    struct store_async *sa;
    enum store_script id;
    char sha[41];               /* "" until the first load's answer */
    unsigned long loaded_on;    /* bus generation SCRIPT LOAD was sent on */
    struct async_eval *waiting; /* calls waiting for the SHA */
};

struct store_async {
    struct bus *bus;
    const struct config *cfg;
    struct store_global_keys g;
    struct async_script scripts[STORE_SCRIPT_COUNT];
};

struct store_async *store_async_new(struct bus *b, const struct config *cfg)
{
    struct store_async *sa = xcalloc(1, sizeof(*sa));
    sa->bus = b;
    sa->cfg = cfg;
    store_global_keys(cfg, &sa->g);
    for (int i = 0; i < STORE_SCRIPT_COUNT; i++) {
        sa->scripts[i].sa = sa;
        sa->scripts[i].id = (enum store_script)i;
    }
    return sa;
}

void store_async_free(struct store_async *sa)
{
    free(sa); /* no call is pending: see store_async.h */
}

/* ---- reads ---- */

struct async_read {
    store_events_fn *events;
    store_length_fn *length;
    store_head_fn *head;
    void *arg;
    uint64_t first;
};

static struct async_read *async_read_new(void *arg)
{
    struct async_read *rd = xcalloc(1, sizeof(*rd));
    rd->arg = arg;
    return rd;
}

static int async_read_send(struct store_async *sa, struct async_read *rd, bus_reply_fn *fn,
                           int argc, const char **argv)
{
    if (bus_command(sa->bus, fn, rd, argc, argv, NULL) == 0)
        return 0;
    free(rd);
    return -1;
}

/* Parses the elements up to the first that is not a string. */
static void async_events_reply(void *arg, redisReply *r)
{
    struct async_read *rd = arg;
    if (!r || r->type != REDIS_REPLY_ARRAY) {
        rd->events(rd->arg, NULL, -1);
        free(rd);
        return;
    }
    struct store_entry *ev = xcalloc(r->elements ? r->elements : 1, sizeof(*ev));
    long n = 0;
    for (size_t i = 0; i < r->elements && r->element[i]->type == REDIS_REPLY_STRING; i++, n++)
        store_entry_parse(rd->first + i, r->element[i]->str, r->element[i]->len, &ev[i]);
    rd->events(rd->arg, ev, n);
    free(ev);
    free(rd);
}

int store_async_events(struct store_async *sa, const char *sid, uint64_t first, size_t count,
                       store_events_fn *fn, void *arg)
{
    struct store_session_keys k;
    char from[24], to[24];
    store_session_keys(sa->cfg, sid, &k);
    /* An event's id is its list position + 1. */
    snprintf(from, sizeof(from), "%llu", (unsigned long long)(first - 1));
    snprintf(to, sizeof(to), "%llu", (unsigned long long)(first - 1 + count - 1));
    const char *argv[] = {"LRANGE", k.events, from, to};
    struct async_read *rd = async_read_new(arg);
    rd->events = fn;
    rd->first = first;
    return async_read_send(sa, rd, async_events_reply, 4, argv);
}

static void async_length_reply(void *arg, redisReply *r)
{
    struct async_read *rd = arg;
    rd->length(rd->arg, r && r->type == REDIS_REPLY_INTEGER ? r->integer : -1);
    free(rd);
}

int store_async_length(struct store_async *sa, const char *sid, store_length_fn *fn, void *arg)
{
    struct store_session_keys k;
    store_session_keys(sa->cfg, sid, &k);
    const char *argv[] = {"LLEN", k.events};
    struct async_read *rd = async_read_new(arg);
    rd->length = fn;
    return async_read_send(sa, rd, async_length_reply, 2, argv);
}

/* HMGET status terminal: status is set on every session that exists. */
static void async_head_reply(void *arg, redisReply *r)
{
    struct async_read *rd = arg;
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
        rd->head(rd->arg, true, false, 0);
    } else {
        bool exists = r->element[0]->type == REDIS_REPLY_STRING;
        uint64_t terminal = r->element[1]->type == REDIS_REPLY_STRING
                                    ? strtoull(r->element[1]->str, NULL, 10)
                                    : 0;
        rd->head(rd->arg, false, exists, terminal);
    }
    free(rd);
}

int store_async_head(struct store_async *sa, const char *sid, store_head_fn *fn, void *arg)
{
    struct store_session_keys k;
    store_session_keys(sa->cfg, sid, &k);
    const char *argv[] = {"HMGET", k.state, "status", "terminal"};
    struct async_read *rd = async_read_new(arg);
    rd->head = fn;
    return async_read_send(sa, rd, async_head_reply, 4, argv);
}

/* ---- scripts ---- */

struct async_eval {
    struct async_script *script;
    bool reloaded; /* a NOSCRIPT was answered once */
    int argc;
    const char **argv; /* EVALSHA, the SHA, numkeys, keys, args: copies */
    bus_reply_fn *fn;
    void *arg;
    struct async_eval *next; /* on the script's waiting list */
};

static void async_eval_free(struct async_eval *e)
{
    for (int i = 2; i < e->argc; i++)
        free((char *)e->argv[i]);
    free(e->argv);
    free(e);
}

/* Delivers the answer (NULL: none) and frees the call. */
static void async_eval_done(struct async_eval *e, redisReply *r)
{
    e->fn(e->arg, r);
    async_eval_free(e);
}

static int async_eval_send(struct async_eval *e);
static void async_eval_reply(void *arg, redisReply *r);

/* SCRIPT LOAD's answer: the SHA, for the calls waiting for it. */
static void async_script_loaded(void *arg, redisReply *r)
{
    struct async_script *sc = arg;
    bool ok = r && r->type == REDIS_REPLY_STRING && r->len == 40;
    redisReply *refusal = !ok && r && r->type == REDIS_REPLY_ERROR ? r : NULL;
    if (ok)
        memcpy(sc->sha, r->str, 41);
    else
        sc->loaded_on = 0; /* load again on the next call */
    struct async_eval *w = sc->waiting;
    sc->waiting = NULL;
    while (w) {
        struct async_eval *next = w->next;
        if (!ok || async_eval_send(w) != 0)
            async_eval_done(w, refusal);
        w = next;
    }
}

/* Loads the script first if this connection has not had it, then sends the
 * call (or files it until the SHA is known). */
static int async_eval_send(struct async_eval *e)
{
    struct async_script *sc = e->script;
    struct bus *b = sc->sa->bus;
    unsigned long gen = bus_generation(b);
    if (sc->loaded_on != gen) {
        const char *argv[] = {"SCRIPT", "LOAD", store_script_text(sc->id)};
        if (bus_command(b, async_script_loaded, sc, 3, argv, NULL) != 0)
            return -1;
        sc->loaded_on = gen;
    }
    if (!sc->sha[0]) {
        e->next = sc->waiting;
        sc->waiting = e;
        return 0;
    }
    e->argv[1] = sc->sha;
    return bus_command(b, async_eval_reply, e, e->argc, e->argv, NULL);
}

static void async_eval_reply(void *arg, redisReply *r)
{
    struct async_eval *e = arg;
    if (r && r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOSCRIPT", 8) == 0 && !e->reloaded) {
        e->reloaded = true;
        e->script->loaded_on = 0;
        if (async_eval_send(e) == 0)
            return;
        r = NULL;
    }
    async_eval_done(e, r);
}

/* EVALSHA script with keys and args (copied). */
static int async_eval(struct store_async *sa, enum store_script script, int nkeys,
                      const char **keys, int nargs, const char **args, bus_reply_fn *fn, void *arg)
{
    struct async_eval *e = xcalloc(1, sizeof(*e));
    e->script = &sa->scripts[script];
    e->fn = fn;
    e->arg = arg;
    e->argv = xcalloc((size_t)(3 + nkeys + nargs), sizeof(*e->argv));
    e->argv[e->argc++] = "EVALSHA";
    e->argv[e->argc++] = NULL; /* the SHA, known once loaded */
    e->argv[e->argc++] = xasprintf("%d", nkeys);
    for (int i = 0; i < nkeys; i++)
        e->argv[e->argc++] = xstrdup(keys[i]);
    for (int i = 0; i < nargs; i++)
        e->argv[e->argc++] = xstrdup(args[i]);
    if (async_eval_send(e) == 0)
        return 0;
    async_eval_free(e);
    return -1;
}

/* ---- the reaper's work ---- */

struct reap {
    struct store_async *sa;
    char *message;
    store_reaped_fn *fn;
    void *arg;
    size_t pending; /* reap calls out */
    char *error;    /* the first refusal */
};

struct reap_one {
    struct reap *rp;
    char sid[STORE_SID_MAX + 1];
};

static void reap_over(struct reap *rp)
{
    rp->fn(rp->arg, NULL, rp->error);
    free(rp->error);
    free(rp->message);
    free(rp);
}

static void reap_refused(struct reap *rp, const redisReply *r)
{
    if (r && r->type == REDIS_REPLY_ERROR && !rp->error)
        rp->error = xstrdup(r->str);
}

static void reap_ended(void *arg, redisReply *r)
{
    struct reap_one *one = arg;
    struct reap *rp = one->rp;
    if (r && r->type == REDIS_REPLY_INTEGER && r->integer == 1)
        rp->fn(rp->arg, one->sid, NULL);
    reap_refused(rp, r);
    free(one);
    if (--rp->pending == 0)
        reap_over(rp);
}

/* Ends one lapsed session, with the error event for the phase it is in. */
static void reap_send(struct reap *rp, const char *sid, const char *phase)
{
    struct store_async *sa = rp->sa;
    char *payload = event_error_json(rp->message, phase, 0, "lost");
    const char *own[] = {phase ? phase : "", payload, rp->message};
    struct store_session_argv a;
    store_session_argv(sa->cfg, sid, &sa->g, own, 3, &a);
    struct reap_one *one = xcalloc(1, sizeof(*one));
    one->rp = rp;
    snprintf(one->sid, sizeof(one->sid), "%s", sid);
    if (async_eval(sa, STORE_SCRIPT_REAP, STORE_SESSION_KEYS, a.keys, a.nargs, a.args, reap_ended,
                   one) == 0)
        rp->pending++;
    else
        free(one);
    free(payload);
}

/* lapsed's answer: {sid, phase} pairs. */
static void reap_found(void *arg, redisReply *r)
{
    struct reap *rp = arg;
    reap_refused(rp, r);
    for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
        const redisReply *p = r->element[i];
        if (p->type != REDIS_REPLY_ARRAY || p->elements != 2 ||
            p->element[0]->type != REDIS_REPLY_STRING || p->element[0]->len > STORE_SID_MAX)
            continue;
        reap_send(rp, p->element[0]->str,
                  p->element[1]->type == REDIS_REPLY_STRING ? p->element[1]->str : NULL);
    }
    if (rp->pending == 0)
        reap_over(rp);
}

int store_async_reap(struct store_async *sa, const char *message, size_t max, store_reaped_fn *fn,
                     void *arg)
{
    char n[24];
    snprintf(n, sizeof(n), "%zu", max);
    const char *keys[] = {sa->g.running};
    const char *args[] = {sa->cfg->key_prefix, n};
    struct reap *rp = xcalloc(1, sizeof(*rp));
    rp->sa = sa;
    rp->message = xstrdup(message);
    rp->fn = fn;
    rp->arg = arg;
    if (async_eval(sa, STORE_SCRIPT_LAPSED, 1, keys, 2, args, reap_found, rp) == 0)
        return 0;
    free(rp->message);
    free(rp);
    return -1;
}
