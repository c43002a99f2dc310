/* store.c -- sessions in Redis: see store.h for the key schema.
 *
 * The Lua scripts are the heart of the correctness story; each one states
 * the invariant it keeps. They are loaded (SCRIPT LOAD) on every new
 * connection and called with EVALSHA; a NOSCRIPT answer (Redis restarted or
 * SCRIPT FLUSH) reloads them and retries once. Keys are built inside the
 * claim script from the prefix, which ties phasestream to a single Redis or a
 * Sentinel-managed primary rather than a Cluster (the {S} hash tags keep the
 * per-session keys together for the day that changes). */
#include "store.h"
#include "alloc.h"
#include "buf.h"
#include "config.h"
#include "events.h"
#include "log.h"

#include <hiredis/hiredis.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

/* create: a new queued session with its first event, unless the id exists.
 * Keeps invariant 3 (one run per session): EXISTS and the writes are one
 * atomic step, so concurrent creates of one id make exactly one session. */
static const char LUA_CREATE[] =
        "if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end\n"
        "if redis.call('LLEN', KEYS[3]) >= tonumber(ARGV[5]) then return -1 end\n"
        "redis.call('HSET', KEYS[1], 'sessionId', ARGV[1], 'proofType', ARGV[2],\n"
        "  'status', 'queued', 'phase', 'queued', 'currentStep', ARGV[10], 'progress', '0',\n"
        "  'results', ARGV[9], 'startTime', ARGV[3], 'lastUpdate', ARGV[3])\n"
        "local id = redis.call('RPUSH', KEYS[2], 'status\\n' .. ARGV[6])\n"
        "redis.call('EXPIRE', KEYS[1], ARGV[4])\n"
        "redis.call('EXPIRE', KEYS[2], ARGV[4])\n"
        "redis.call('RPUSH', KEYS[3], ARGV[1])\n"
        "redis.call('PUBLISH', ARGV[7], id)\n"
        "redis.call('PUBLISH', ARGV[8], ARGV[1])\n"
        "return 1\n";

/* claim: pop the oldest queued session that is still queued (a cancelled
 * one was removed, an expired one has no state) and mark it running with a
 * heartbeat deadline on Redis' own clock, in one step, so no two runners
 * anywhere can take the same session. */
static const char LUA_CLAIM[] =
        "for i = 1, 100 do\n"
        "  local sid = redis.call('LPOP', KEYS[1])\n"
        "  if not sid then return false end\n"
        "  local state = ARGV[1] .. '{' .. sid .. '}:state'\n"
        "  if redis.call('HGET', state, 'status') == 'queued' then\n"
        "    local t = redis.call('TIME')\n"
        "    local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
        "    redis.call('HSET', state, 'status', 'running', 'runner', ARGV[2],\n"
        "      'lastUpdate', ARGV[3], 'wseq', '0')\n"
        "    redis.call('EXPIRE', state, ARGV[4])\n"
        "    redis.call('EXPIRE', ARGV[1] .. '{' .. sid .. '}:events', ARGV[4])\n"
        "    redis.call('ZADD', KEYS[2], now + tonumber(ARGV[5]), sid)\n"
        "    return {sid, redis.call('HGET', state, 'proofType'),\n"
        "      redis.call('HGET', state, 'startTime') or ''}\n"
        "  end\n"
        "end\n"
        "return false\n";

/* append: one event, with optional state field updates, then PUBLISH its id.
 * Keeps invariant 1 (durable first: the id is published only after RPUSH)
 * and "exactly one terminal event": nothing is appended once the status is
 * complete or error. seq > 0 makes a runner's retry after a lost reply a
 * no-op instead of a duplicate. Returns the id, 0 for an already-stored
 * retry, -1 for no session, -2 for an ended one. */
static const char LUA_APPEND[] =
        "local st = redis.call('HGET', KEYS[1], 'status')\n"
        "if not st then return -1 end\n"
        "local seq = tonumber(ARGV[3])\n"
        "if seq > 0 and seq <= tonumber(redis.call('HGET', KEYS[1], 'wseq') or '0') then\n"
        "  return 0\n"
        "end\n"
        "if st == 'complete' or st == 'error' then return -2 end\n"
        "local id = redis.call('RPUSH', KEYS[2], ARGV[4] .. '\\n' .. ARGV[5])\n"
        "redis.call('HSET', KEYS[1], 'lastUpdate', ARGV[6])\n"
        "if seq > 0 then redis.call('HSET', KEYS[1], 'wseq', ARGV[3]) end\n"
        "for i = 8, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end\n"
        "if ARGV[4] == 'complete' or ARGV[4] == 'error' then\n"
        "  redis.call('HSET', KEYS[1], 'terminal', id)\n"
        "  redis.call('HDEL', KEYS[1], 'cancel')\n"
        "  redis.call('ZREM', KEYS[3], ARGV[1])\n"
        "end\n"
        "redis.call('EXPIRE', KEYS[1], ARGV[2])\n"
        "redis.call('EXPIRE', KEYS[2], ARGV[2])\n"
        "redis.call('PUBLISH', ARGV[7], id)\n"
        "return id\n";

/* cancel: a queued session is taken off the queue and ended here, with its
 * terminal event; a running one is flagged and its runner told on the cancel
 * channel (the flag also reaches it through the heartbeat, should the
 * message be missed). Returns 0 no session, -1 ended, 1 dropped, 2 asked. */
static const char LUA_CANCEL[] =
        "local st = redis.call('HGET', KEYS[1], 'status')\n"
        "if not st then return 0 end\n"
        "if st == 'complete' or st == 'error' then return -1 end\n"
        "if st == 'queued' then\n"
        "  redis.call('LREM', KEYS[3], 0, ARGV[1])\n"
        "  local id = redis.call('RPUSH', KEYS[2], 'error\\n' .. ARGV[4])\n"
        "  redis.call('HSET', KEYS[1], 'status', 'error', 'error', ARGV[7], 'terminal', id,\n"
        "    'lastUpdate', ARGV[2])\n"
        "  redis.call('EXPIRE', KEYS[1], ARGV[3])\n"
        "  redis.call('EXPIRE', KEYS[2], ARGV[3])\n"
        "  redis.call('PUBLISH', ARGV[5], id)\n"
        "  return 1\n"
        "end\n"
        "redis.call('HSET', KEYS[1], 'cancel', '1')\n"
        "redis.call('PUBLISH', ARGV[6], ARGV[1])\n"
        "return 2\n";

/* heartbeat: push a running session's deadline forward on Redis' clock and
 * report a pending cancel. Returns -1 when the session is not running any
 * more (someone else ended it), else 1 if cancel was asked, else 0. */
static const char LUA_HEARTBEAT[] =
        "if redis.call('HGET', KEYS[1], 'status') ~= 'running' then return -1 end\n"
        "local t = redis.call('TIME')\n"
        "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
        "redis.call('ZADD', KEYS[3], now + tonumber(ARGV[2]), ARGV[1])\n"
        "redis.call('EXPIRE', KEYS[1], ARGV[3])\n"
        "redis.call('EXPIRE', KEYS[2], ARGV[3])\n"
        "if redis.call('HGET', KEYS[1], 'cancel') then return 1 end\n"
        "return 0\n";

enum { S_CREATE, S_CLAIM, S_APPEND, S_CANCEL, S_HEARTBEAT, S_COUNT };
static const char *const store_scripts[S_COUNT] = {LUA_CREATE, LUA_CLAIM, LUA_APPEND, LUA_CANCEL,
                                                   LUA_HEARTBEAT};

struct store {
    const struct config *cfg;
    redisContext *ctx;
    char sha[S_COUNT][41];
    char err[256];
    /* Fixed for the process: the global keys and channels, and the numbers
     * the scripts take as arguments, formatted once. */
    char queue[96], running[96], queue_chan[96], cancel_chan[96];
    char ttl[16], heartbeat_ms[24], max_queue[16];
};

/* The names of one session's keys and channel. */
struct session_keys {
    char state[160], events[160], notify[160];
};

#define STORE_CONNECT_TIMEOUT_MS 1000
#define STORE_COMMAND_TIMEOUT_MS 5000
#define STORE_APPEND_BATCH       256

struct store *store_new(const struct config *cfg)
{
    struct store *st = xcalloc(1, sizeof(*st));
    st->cfg = cfg;
    store_global_key(cfg, "queue", st->queue, sizeof(st->queue));
    store_global_key(cfg, "running", st->running, sizeof(st->running));
    store_global_key(cfg, "chan:queue", st->queue_chan, sizeof(st->queue_chan));
    store_global_key(cfg, "chan:cancel", st->cancel_chan, sizeof(st->cancel_chan));
    snprintf(st->ttl, sizeof(st->ttl), "%d", cfg->session_ttl);
    snprintf(st->heartbeat_ms, sizeof(st->heartbeat_ms), "%d", cfg->heartbeat * 1000);
    snprintf(st->max_queue, sizeof(st->max_queue), "%d", cfg->max_queue);
    return st;
}

void store_free(struct store *st)
{
    if (!st)
        return;
    if (st->ctx)
        redisFree(st->ctx);
    free(st);
}

const char *store_error(const struct store *st)
{
    return st->err[0] ? st->err : "no error";
}

static void store_fail(struct store *st, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

static void store_fail(struct store *st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(st->err, sizeof(st->err), fmt, ap);
    va_end(ap);
    if (st->ctx) {
        redisFree(st->ctx);
        st->ctx = NULL;
    }
}

/* Runs one command on the connection; NULL when Redis did not answer (the
 * connection is dropped and st->err says why). An error reply is returned
 * as a reply, for the caller to judge. */
static redisReply *store_call(struct store *st, int argc, const char **argv, const size_t *lens)
{
    redisReply *r = redisCommandArgv(st->ctx, argc, argv, lens);
    if (!r)
        store_fail(st, "Redis: %s", st->ctx->errstr[0] ? st->ctx->errstr : "connection lost");
    return r;
}

static int store_load_scripts(struct store *st)
{
    for (int i = 0; i < S_COUNT; i++) {
        const char *argv[] = {"SCRIPT", "LOAD", store_scripts[i]};
        redisReply *r = store_call(st, 3, argv, NULL);
        if (!r)
            return STORE_DOWN;
        if (r->type != REDIS_REPLY_STRING || r->len != 40) {
            store_fail(st, "Redis: SCRIPT LOAD failed: %s",
                       r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
            freeReplyObject(r);
            return STORE_DOWN;
        }
        memcpy(st->sha[i], r->str, 41);
        freeReplyObject(r);
    }
    return STORE_OK;
}

/* Connects, authenticates, selects the database and loads the scripts. */
static int store_connect(struct store *st)
{
    if (st->ctx)
        return STORE_OK;
    const struct redis_addr *a = &st->cfg->redis;
    struct timeval ctv = {STORE_CONNECT_TIMEOUT_MS / 1000,
                          (STORE_CONNECT_TIMEOUT_MS % 1000) * 1000};
    redisContext *c = a->path ? redisConnectUnixWithTimeout(a->path, ctv)
                              : redisConnectWithTimeout(a->host, a->port, ctv);
    if (!c || c->err) {
        const char *why = c ? c->errstr : "out of memory";
        if (a->path)
            snprintf(st->err, sizeof(st->err), "Redis at %s: %s", a->path, why);
        else
            snprintf(st->err, sizeof(st->err), "Redis at %s:%d: %s", a->host, a->port, why);
        if (c)
            redisFree(c);
        return STORE_DOWN;
    }
    struct timeval tv = {STORE_COMMAND_TIMEOUT_MS / 1000, 0};
    redisSetTimeout(c, tv);
    if (!a->path)
        redisEnableKeepAlive(c); /* TCP only: it fails (and poisons c) on a unix socket */
    st->ctx = c;

    if (a->password) {
        const char *argv[] = {"AUTH", a->user ? a->user : a->password, a->password};
        redisReply *r = store_call(st, a->user ? 3 : 2, argv, NULL);
        if (!r)
            return STORE_DOWN;
        if (r->type == REDIS_REPLY_ERROR) {
            store_fail(st, "Redis AUTH failed: %s", r->str);
            freeReplyObject(r);
            return STORE_DOWN;
        }
        freeReplyObject(r);
    }
    if (a->db) {
        char db[16];
        snprintf(db, sizeof(db), "%d", a->db);
        const char *argv[] = {"SELECT", db};
        redisReply *r = store_call(st, 2, argv, NULL);
        if (!r)
            return STORE_DOWN;
        if (r->type == REDIS_REPLY_ERROR) {
            store_fail(st, "Redis SELECT %s failed: %s", db, r->str);
            freeReplyObject(r);
            return STORE_DOWN;
        }
        freeReplyObject(r);
    }
    /* Named, so an operator (or a test) can tell phasestream's connections
     * apart in CLIENT LIST. */
    const char *name[] = {"CLIENT", "SETNAME", "phasestream"};
    redisReply *r = store_call(st, 3, name, NULL);
    if (!r)
        return STORE_DOWN;
    freeReplyObject(r);
    return store_load_scripts(st);
}

/* Connects if needed and runs one command. A connection that sat idle may
 * have been closed by Redis meanwhile (a restart, a client timeout); when a
 * command fails on a connection made before this call, it is sent once more
 * on a new one, so the caller sees Redis' state, not a stale socket. Only
 * commands that are safe to repeat come through here: reads, and scripts
 * that look before they write. */
static redisReply *store_request(struct store *st, int argc, const char **argv)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        bool reused = st->ctx != NULL;
        if (store_connect(st) != STORE_OK)
            return NULL;
        redisReply *r = store_call(st, argc, argv, NULL);
        if (r || !reused)
            return r;
    }
    return NULL;
}

void store_session_key(const struct config *cfg, const char *sid, const char *what, char *out,
                       size_t len)
{
    snprintf(out, len, "%s{%s}:%s", cfg->key_prefix, sid, what);
}

void store_global_key(const struct config *cfg, const char *what, char *out, size_t len)
{
    snprintf(out, len, "%s%s", cfg->key_prefix, what);
}

static void session_keys(const struct store *st, const char *sid, struct session_keys *k)
{
    store_session_key(st->cfg, sid, "state", k->state, sizeof(k->state));
    store_session_key(st->cfg, sid, "events", k->events, sizeof(k->events));
    store_session_key(st->cfg, sid, "notify", k->notify, sizeof(k->notify));
}

static bool is_noscript(const redisReply *r)
{
    return r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOSCRIPT", 8) == 0;
}

/* EVALSHA script with the keys and args; reloads the scripts once on
 * NOSCRIPT. repeatable: the script may run twice if a reply is lost (see
 * store_request); claim is not. Returns the reply (maybe an error reply) or
 * NULL when down. */
static redisReply *store_eval(struct store *st, int script, bool repeatable, int nkeys,
                              const char **keys, int nargs, const char **args)
{
    const char *argv[32];
    char nk[8];
    int argc = 0;
    snprintf(nk, sizeof(nk), "%d", nkeys);
    argv[argc++] = "EVALSHA";
    argv[argc++] = NULL; /* the SHA, known once connected */
    argv[argc++] = nk;
    for (int i = 0; i < nkeys; i++)
        argv[argc++] = keys[i];
    for (int i = 0; i < nargs && argc < 32; i++)
        argv[argc++] = args[i];
    for (int attempt = 0; attempt < 2; attempt++) {
        if (store_connect(st) != STORE_OK)
            return NULL;
        /* SHA1 of the script text: the same on every connection. */
        argv[1] = st->sha[script];
        redisReply *r =
                repeatable ? store_request(st, argc, argv) : store_call(st, argc, argv, NULL);
        if (!r || !is_noscript(r) || attempt == 1)
            return r;
        freeReplyObject(r);
        if (store_load_scripts(st) != STORE_OK)
            return NULL;
    }
    return NULL;
}

/* An error reply from a script is a bug or a Redis refusal (out of memory,
 * read-only replica): report it as Redis being unavailable. */
static int store_reply_int(struct store *st, redisReply *r, long long *out)
{
    if (!r)
        return STORE_DOWN;
    if (r->type != REDIS_REPLY_INTEGER) {
        snprintf(st->err, sizeof(st->err), "Redis: %s",
                 r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply type");
        freeReplyObject(r);
        return STORE_DOWN;
    }
    *out = r->integer;
    freeReplyObject(r);
    return STORE_OK;
}

enum store_create store_create(struct store *st, const char *sid, const char *proof_type,
                               const char *results, const char *step)
{
    struct session_keys k;
    char now[32];
    session_keys(st, sid, &k);
    event_timestamp(now);
    char *status = event_status_json("queued", 0, step, false);
    const char *keys[] = {k.state, k.events, st->queue};
    const char *args[] = {sid,      proof_type,     now,     st->ttl, st->max_queue, status,
                          k.notify, st->queue_chan, results, step};
    long long v;
    int rc = store_reply_int(st, store_eval(st, S_CREATE, true, 3, keys, 10, args), &v);
    free(status);
    if (rc != STORE_OK)
        return STORE_CREATE_DOWN;
    return v == 1 ? STORE_CREATED : v == 0 ? STORE_EXISTS : STORE_QUEUE_FULL;
}

int store_head(struct store *st, const char *sid, struct store_head *out)
{
    struct session_keys k;
    session_keys(st, sid, &k);
    const char *argv[] = {"HMGET", k.state, "status", "terminal"};
    redisReply *r = store_request(st, 4, argv);
    if (!r)
        return STORE_DOWN;
    memset(out, 0, sizeof(*out));
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 2) {
        out->exists = r->element[0]->type == REDIS_REPLY_STRING;
        if (r->element[1]->type == REDIS_REPLY_STRING)
            out->terminal = strtoull(r->element[1]->str, NULL, 10);
    }
    freeReplyObject(r);
    return STORE_OK;
}

/* Finds a field in an HGETALL reply. */
static const char *hash_get(const redisReply *h, const char *name)
{
    for (size_t i = 0; i + 1 < h->elements; i += 2)
        if (h->element[i]->type == REDIS_REPLY_STRING && strcmp(h->element[i]->str, name) == 0 &&
            h->element[i + 1]->type == REDIS_REPLY_STRING)
            return h->element[i + 1]->str;
    return NULL;
}

/* Several commands as one transaction (MULTI ... EXEC), in one round trip;
 * *exec is EXEC's reply, whose elements are the commands' replies in order
 * (free *exec only). Like store_request, repeated once on a new connection
 * after a stale one. */
static int store_transaction(struct store *st, int n, const int *argcs, const char **const *argvs,
                             redisReply **exec)
{
    const char *multi[] = {"MULTI"}, *done[] = {"EXEC"};
    for (int attempt = 0; attempt < 2; attempt++) {
        bool reused = st->ctx != NULL;
        if (store_connect(st) != STORE_OK)
            return STORE_DOWN;
        redisAppendCommandArgv(st->ctx, 1, multi, NULL);
        for (int i = 0; i < n; i++)
            redisAppendCommandArgv(st->ctx, argcs[i], argvs[i], NULL);
        redisAppendCommandArgv(st->ctx, 1, done, NULL);
        bool ok = true;
        for (int i = 0; i < n + 2 && ok; i++) {
            void *r;
            if (redisGetReply(st->ctx, &r) != REDIS_OK) {
                ok = false;
                break;
            }
            if (i == n + 1)
                *exec = r;
            else
                freeReplyObject(r); /* OK, then QUEUED for each command */
        }
        if (ok) {
            if ((*exec)->type == REDIS_REPLY_ARRAY && (*exec)->elements == (size_t)n)
                return STORE_OK;
            snprintf(st->err, sizeof(st->err), "Redis: %s",
                     (*exec)->type == REDIS_REPLY_ERROR ? (*exec)->str : "transaction failed");
            freeReplyObject(*exec);
            return STORE_DOWN;
        }
        store_fail(st, "Redis: %s", st->ctx->errstr[0] ? st->ctx->errstr : "connection lost");
        if (!reused)
            break;
    }
    return STORE_DOWN;
}

int store_state_json(struct store *st, const char *sid, bool with_logs, char **json)
{
    struct session_keys k;
    session_keys(st, sid, &k);
    *json = NULL;

    /* The hash, the log (or its length) and the queue position, as one
     * transaction: the answer is one moment of the session, and lastEventId
     * is the id of the last event it covers, so a client can draw the logs
     * and then stream from right after them. */
    const char *a1[] = {"HGETALL", k.state};
    const char *a2[] = {"LRANGE", k.events, "0", "-1"};
    const char *a2n[] = {"LLEN", k.events};
    const char *a3[] = {"LPOS", st->queue, sid};
    const char **const argvs[] = {a1, with_logs ? a2 : a2n, a3};
    const int argcs[] = {2, with_logs ? 4 : 2, 3};
    redisReply *exec;
    if (store_transaction(st, 3, argcs, argvs, &exec) != STORE_OK)
        return STORE_DOWN;
    redisReply *h = exec->element[0], *ev = exec->element[1], *pos = exec->element[2];

    if (h->type == REDIS_REPLY_ARRAY && h->elements > 0 && hash_get(h, "status")) {
        const char *status = hash_get(h, "status");
        const char *progress = hash_get(h, "progress");
        struct workflow_state ws = {
                .session_id = sid,
                .proof_type = hash_get(h, "proofType") ? hash_get(h, "proofType") : "",
                .status = status,
                .phase = hash_get(h, "phase"),
                .current_step = hash_get(h, "currentStep"),
                .progress = progress ? atoi(progress) : 0,
                .results = hash_get(h, "results"),
                .error = hash_get(h, "error"),
                .start_time = hash_get(h, "startTime"),
                .last_update = hash_get(h, "lastUpdate"),
                .last_event_id = ev->type == REDIS_REPLY_ARRAY     ? (long)ev->elements
                                 : ev->type == REDIS_REPLY_INTEGER ? (long)ev->integer
                                                                   : 0,
        };
        if (strcmp(status, "queued") == 0 && pos->type == REDIS_REPLY_INTEGER)
            ws.queue_position = pos->integer + 1;
        struct buf logs;
        buf_init(&logs);
        if (with_logs) {
            /* The log entries are the data of the stored log events. */
            buf_append(&logs, "[", 1);
            bool first = true;
            for (size_t i = 0; ev->type == REDIS_REPLY_ARRAY && i < ev->elements; i++) {
                const redisReply *e = ev->element[i];
                if (e->type != REDIS_REPLY_STRING || e->len < 4 || memcmp(e->str, "log\n", 4) != 0)
                    continue;
                if (!first)
                    buf_append(&logs, ",", 1);
                buf_append(&logs, e->str + 4, e->len - 4);
                first = false;
            }
            buf_append(&logs, "]", 1);
        }
        *json = event_state_json(&ws, with_logs ? buf_head(&logs) : NULL, buf_used(&logs));
        buf_free(&logs);
    }
    freeReplyObject(exec);
    return STORE_OK;
}

enum store_cancel store_cancel(struct store *st, const char *sid)
{
    struct session_keys k;
    char now[32];
    session_keys(st, sid, &k);
    event_timestamp(now);
    const char *msg = "Cancelled while queued";
    char *payload = event_error_json(msg, "queued", 0, "cancelled");
    const char *keys[] = {k.state, k.events, st->queue, st->running};
    const char *args[] = {sid, now, st->ttl, payload, k.notify, st->cancel_chan, msg};
    long long v;
    int rc = store_reply_int(st, store_eval(st, S_CANCEL, true, 4, keys, 7, args), &v);
    free(payload);
    if (rc != STORE_OK)
        return STORE_CANCEL_DOWN;
    switch (v) {
    case 0:
        return STORE_CANCEL_NOT_FOUND;
    case -1:
        return STORE_CANCEL_ENDED;
    case 1:
        return STORE_CANCEL_DROPPED;
    default:
        return STORE_CANCEL_ASKED;
    }
}

int store_claim(struct store *st, const char *instance, struct store_claim *out)
{
    char now[32];
    event_timestamp(now);
    const char *keys[] = {st->queue, st->running};
    const char *args[] = {st->cfg->key_prefix, instance, now, st->ttl, st->heartbeat_ms};
    redisReply *r = store_eval(st, S_CLAIM, false, 2, keys, 5, args);
    if (!r)
        return STORE_DOWN;
    int rc = 0;
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 3 &&
        r->element[0]->type == REDIS_REPLY_STRING && r->element[0]->len <= STORE_SID_MAX) {
        memset(out, 0, sizeof(*out));
        snprintf(out->sid, sizeof(out->sid), "%s", r->element[0]->str);
        if (r->element[1]->type == REDIS_REPLY_STRING)
            snprintf(out->proof_type, sizeof(out->proof_type), "%s", r->element[1]->str);
        if (r->element[2]->type == REDIS_REPLY_STRING)
            snprintf(out->start_time, sizeof(out->start_time), "%s", r->element[2]->str);
        rc = 1;
    } else if (r->type == REDIS_REPLY_ERROR) {
        snprintf(st->err, sizeof(st->err), "Redis: %s", r->str);
        rc = STORE_DOWN;
    }
    freeReplyObject(r);
    return rc;
}

/* Sends up to n appends pipelined and reads their replies. Returns how many
 * succeeded from the front. *stop is set with the reason the rest did not:
 * the connection died, a script is missing, the session refused (*closed),
 * or Redis answered with an error. */
enum append_stop { APPEND_ALL, APPEND_DOWN, APPEND_NOSCRIPT, APPEND_CLOSED, APPEND_ERROR };

static size_t store_append_batch(struct store *st, const char *sid, const struct store_event *ev,
                                 size_t n, enum append_stop *stop)
{
    struct session_keys k;
    char now[32];
    session_keys(st, sid, &k);
    event_timestamp(now);

    for (size_t i = 0; i < n; i++) {
        const char *argv[40];
        char seq[24];
        int argc = 0;
        snprintf(seq, sizeof(seq), "%llu", (unsigned long long)ev[i].seq);
        argv[argc++] = "EVALSHA";
        argv[argc++] = st->sha[S_APPEND];
        argv[argc++] = "3";
        argv[argc++] = k.state;
        argv[argc++] = k.events;
        argv[argc++] = st->running;
        argv[argc++] = sid;
        argv[argc++] = st->ttl;
        argv[argc++] = seq;
        argv[argc++] = ev[i].type;
        argv[argc++] = ev[i].payload;
        argv[argc++] = now;
        argv[argc++] = k.notify;
        for (size_t f = 0; f + 1 < ev[i].nfields && argc + 2 <= 40; f += 2) {
            argv[argc++] = ev[i].fields[f];
            argv[argc++] = ev[i].fields[f + 1];
        }
        redisAppendCommandArgv(st->ctx, argc, argv, NULL);
    }
    size_t ok = 0;
    *stop = APPEND_ALL;
    for (size_t i = 0; i < n; i++) {
        void *rv;
        if (redisGetReply(st->ctx, &rv) != REDIS_OK) {
            store_fail(st, "Redis: %s", st->ctx->errstr[0] ? st->ctx->errstr : "connection lost");
            *stop = APPEND_DOWN;
            return ok;
        }
        redisReply *r = rv;
        if (*stop == APPEND_ALL) {
            if (r->type == REDIS_REPLY_INTEGER && r->integer >= 0) {
                ok++;
            } else if (r->type == REDIS_REPLY_INTEGER) {
                *stop = APPEND_CLOSED;
            } else if (is_noscript(r)) {
                *stop = APPEND_NOSCRIPT;
            } else {
                snprintf(st->err, sizeof(st->err), "Redis: %s",
                         r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
                *stop = APPEND_ERROR;
            }
        }
        freeReplyObject(r);
    }
    return ok;
}

int store_append(struct store *st, const char *sid, const struct store_event *ev, size_t n,
                 bool *closed)
{
    *closed = false;
    if (store_connect(st) != STORE_OK)
        return STORE_DOWN;
    size_t done = 0;
    bool reloaded = false;
    while (done < n) {
        size_t batch = n - done < STORE_APPEND_BATCH ? n - done : STORE_APPEND_BATCH;
        enum append_stop stop;
        done += store_append_batch(st, sid, ev + done, batch, &stop);
        if (stop == APPEND_ALL)
            continue;
        if (stop == APPEND_NOSCRIPT && !reloaded) {
            reloaded = true;
            if (store_load_scripts(st) == STORE_OK)
                continue;
        }
        if (stop == APPEND_CLOSED)
            *closed = true;
        else if (done == 0)
            return STORE_DOWN;
        break;
    }
    return (int)done;
}

int store_heartbeat(struct store *st, const char *sid, bool *cancel, bool *closed)
{
    struct session_keys k;
    session_keys(st, sid, &k);
    const char *keys[] = {k.state, k.events, st->running};
    const char *args[] = {sid, st->heartbeat_ms, st->ttl};
    long long v;
    if (store_reply_int(st, store_eval(st, S_HEARTBEAT, true, 3, keys, 3, args), &v) != STORE_OK)
        return STORE_DOWN;
    *closed = v < 0;
    *cancel = v == 1;
    return STORE_OK;
}

int store_counts(struct store *st, long *queued, long *running)
{
    const char *a1[] = {"LLEN", st->queue};
    const char *a2[] = {"ZCARD", st->running};
    long long q, r;
    if (store_reply_int(st, store_request(st, 2, a1), &q) != STORE_OK ||
        store_reply_int(st, store_request(st, 2, a2), &r) != STORE_OK)
        return STORE_DOWN;
    *queued = (long)q;
    *running = (long)r;
    return STORE_OK;
}
