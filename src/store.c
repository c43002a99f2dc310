/* store.c -- sessions in Redis, the synchronous face: see store.h.
 *
 * The scripts are store_schema.c's. They are loaded (SCRIPT LOAD) on every
 * new connection and called with EVALSHA; a NOSCRIPT answer (Redis
 * restarted or SCRIPT FLUSH) reloads them and retries once. */
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

struct store {
    const struct config *cfg;
    redisContext *ctx;
    char sha[STORE_SCRIPT_SYNC_COUNT][41];
    char err[256];
    /* Fixed for the process: the global keys and channels, and the numbers
     * the scripts take as arguments, formatted once. */
    struct store_global_keys g;
    char ttl[16], heartbeat_ms[24], max_queue[16];
};

struct store *store_new(const struct config *cfg)
{
    struct store *st = xcalloc(1, sizeof(*st));
    st->cfg = cfg;
    store_global_keys(cfg, &st->g);
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
    for (int i = 0; i < STORE_SCRIPT_SYNC_COUNT; i++) {
        const char *argv[] = {"SCRIPT", "LOAD", store_script_text((enum store_script)i)};
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

    struct store_hello h;
    store_hello(a, false, &h);
    for (int i = 0; i < h.n; i++) {
        redisReply *r = store_call(st, h.cmd[i].argc, h.cmd[i].argv, NULL);
        if (!r)
            return STORE_DOWN;
        bool refused = r->type == REDIS_REPLY_ERROR && h.cmd[i].required;
        if (refused)
            store_fail(st, "Redis %s failed: %s", h.cmd[i].argv[0], r->str);
        freeReplyObject(r);
        if (refused)
            return STORE_DOWN;
    }
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

static bool is_noscript(const redisReply *r)
{
    return r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOSCRIPT", 8) == 0;
}

/* EVALSHA script with the keys and args; reloads the scripts once on
 * NOSCRIPT. repeatable: the script may run twice if a reply is lost (see
 * store_request); claim is not. Returns the reply (maybe an error reply) or
 * NULL when down. */
static redisReply *store_eval(struct store *st, enum store_script script, bool repeatable,
                              int nkeys, const char **keys, int nargs, const char **args)
{
    /* EVALSHA, its SHA and the key count, then the keys and arguments: a
     * fixed number for each script, within the session vector's bound. */
    const char *argv[3 + STORE_SESSION_KEYS + STORE_SESSION_ARGS + STORE_SCRIPT_ARGS];
    char nk[12];
    int argc = 0;
    if (3 + nkeys + nargs > (int)(sizeof(argv) / sizeof(argv[0]))) {
        store_fail(st, "a script call with %d keys and %d arguments", nkeys, nargs);
        return NULL;
    }
    snprintf(nk, sizeof(nk), "%d", nkeys);
    argv[argc++] = "EVALSHA";
    argv[argc++] = NULL; /* the SHA, known once connected */
    argv[argc++] = nk;
    for (int i = 0; i < nkeys; i++)
        argv[argc++] = keys[i];
    for (int i = 0; i < nargs; i++)
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

/* A session script (repeatable): the keys and arguments every one starts
 * with (store_schema.h), then its own. */
static redisReply *store_eval_session(struct store *st, enum store_script script, const char *sid,
                                      int nargs, const char **args)
{
    struct store_session_argv a;
    store_session_argv(st->cfg, sid, &st->g, args, nargs, &a);
    return store_eval(st, script, true, STORE_SESSION_KEYS, a.keys, a.nargs, a.args);
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
    char *status = event_status_json("queued", 0, step, false);
    const char *args[] = {proof_type, st->max_queue, status, st->g.queue_chan, results, step};
    long long v;
    int rc = store_reply_int(st, store_eval_session(st, STORE_SCRIPT_CREATE, sid, 6, args), &v);
    free(status);
    if (rc != STORE_OK)
        return STORE_CREATE_DOWN;
    return v == 1 ? STORE_CREATED : v == 0 ? STORE_EXISTS : STORE_QUEUE_FULL;
}

int store_head(struct store *st, const char *sid, struct store_head *out)
{
    struct store_session_keys k;
    store_session_keys(st->cfg, sid, &k);
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

/* The state hash, the log's length and the queue position as one
 * transaction: one moment of the session. lastEventId is the length, the id
 * of the last event the answer covers, so a client can draw the logs and
 * then stream from right after them; the log's first lastEventId elements
 * never change, so reading them in pieces afterwards keeps that moment. */
static char *store_state_head(struct store *st, const char *sid, const struct store_session_keys *k,
                              long *nevents, int *rc)
{
    const char *a1[] = {"HGETALL", k->state};
    const char *a2[] = {"LLEN", k->events};
    const char *a3[] = {"LPOS", st->g.queue, sid};
    const char **const argvs[] = {a1, a2, a3};
    const int argcs[] = {2, 2, 3};
    redisReply *exec;
    *rc = store_transaction(st, 3, argcs, argvs, &exec);
    if (*rc != STORE_OK)
        return NULL;
    redisReply *h = exec->element[0], *len = exec->element[1], *pos = exec->element[2];
    char *json = NULL;
    *nevents = len->type == REDIS_REPLY_INTEGER ? (long)len->integer : 0;
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
                .last_event_id = *nevents,
        };
        if (strcmp(status, "queued") == 0 && pos->type == REDIS_REPLY_INTEGER)
            ws.queue_position = pos->integer + 1;
        json = event_state_json(&ws, NULL, 0);
    }
    freeReplyObject(exec);
    return json;
}

/* The data of the log events among ids from+1 .. to, comma-separated,
 * appended to out; *first says whether one was written before. */
static int store_log_piece(struct store *st, const struct store_session_keys *k, long from, long to,
                           struct buf *out, bool *first)
{
    char a[24], b[24];
    snprintf(a, sizeof(a), "%ld", from);
    snprintf(b, sizeof(b), "%ld", to - 1);
    const char *argv[] = {"LRANGE", k->events, a, b};
    redisReply *r = store_request(st, 4, argv);
    if (!r)
        return STORE_DOWN;
    for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
        const redisReply *e = r->element[i];
        struct store_entry en;
        if (e->type != REDIS_REPLY_STRING)
            continue;
        store_entry_parse((uint64_t)from + i + 1, e->str, e->len, &en);
        if (en.type_len != 3 || memcmp(en.type, "log", 3) != 0)
            continue; /* the log entries are the data of the log events */
        if (!*first)
            buf_append(out, ",", 1);
        buf_append(out, en.data, en.data_len);
        *first = false;
    }
    freeReplyObject(r);
    return STORE_OK;
}

int store_state_write(struct store *st, const char *sid, bool with_logs,
                      const struct store_state_sink *sink, bool *found)
{
    struct store_session_keys k;
    store_session_keys(st->cfg, sid, &k);
    long n;
    int rc;
    char *json = store_state_head(st, sid, &k, &n, &rc);
    *found = json != NULL;
    if (!json)
        return rc;
    sink->begin(sink->arg);
    size_t len = strlen(json);
    if (!with_logs) {
        sink->write(sink->arg, json, len);
        free(json);
        return STORE_OK;
    }
    /* {...state...,"logs":[...]}: the state's closing brace goes last. */
    bool ok = sink->write(sink->arg, json, len - 1) && sink->write(sink->arg, ",\"logs\":[", 9);
    free(json);
    struct buf piece;
    buf_init(&piece);
    bool first = true, cut = false;
    for (long from = 0; ok && from < n; from += STORE_STATE_CHUNK) {
        long to = from + STORE_STATE_CHUNK < n ? from + STORE_STATE_CHUNK : n;
        if (store_log_piece(st, &k, from, to, &piece, &first) != STORE_OK) {
            log_warn("session %s: the state's log ended short: %s", sid, store_error(st));
            ok = false;
            cut = true;
            break;
        }
        ok = sink->write(sink->arg, buf_head(&piece), buf_used(&piece));
        buf_reset(&piece);
    }
    buf_free(&piece);
    if (ok)
        sink->write(sink->arg, "]}", 2);
    return cut ? STORE_DOWN : STORE_OK;
}

enum store_cancel store_cancel(struct store *st, const char *sid)
{
    const char *msg = "Cancelled while queued";
    char *payload = event_error_json(msg, "queued", 0, "cancelled");
    const char *args[] = {payload, msg, st->g.cancel_chan};
    long long v;
    int rc = store_reply_int(st, store_eval_session(st, STORE_SCRIPT_CANCEL, sid, 3, args), &v);
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
    const char *keys[] = {st->g.queue, st->g.running};
    const char *args[] = {st->cfg->key_prefix, instance, now, st->ttl, st->heartbeat_ms};
    redisReply *r = store_eval(st, STORE_SCRIPT_CLAIM, false, 2, keys, 5, args);
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

/* How many of ev[0 .. n-1] go into one append call: at most
 * STORE_APPEND_BATCH events and, past the first, STORE_APPEND_BYTES of
 * payload, so one call never holds Redis for long. */
static size_t store_append_span(const struct store_event *ev, size_t n)
{
    size_t k = 0, bytes = 0;
    while (k < n && k < STORE_APPEND_BATCH && (k == 0 || bytes < STORE_APPEND_BYTES))
        bytes += strlen(ev[k++].payload);
    return k;
}

/* One append call for ev[0 .. n-1] (n from store_append_span): the session
 * vector, the count, then per event seq, type, payload, the number of field
 * arguments and the fields. Returns the script's reply, or NULL with the
 * error set. */
static redisReply *store_append_call(struct store *st, const char *sid,
                                     const struct store_event *ev, size_t n)
{
    enum { PER_EVENT = 4 + STORE_EVENT_MAX_FIELDS };
    static const char *const nfields[] = {"0", "1", "2", "3", "4", "5", "6", "7", "8"};
    _Static_assert(STORE_EVENT_MAX_FIELDS < sizeof(nfields) / sizeof(nfields[0]),
                   "a count for every number of fields");
    struct store_session_argv a;
    char nkeys[12], count[24];
    store_session_argv(st->cfg, sid, &st->g, NULL, 0, &a);
    snprintf(nkeys, sizeof(nkeys), "%d", STORE_SESSION_KEYS);
    snprintf(count, sizeof(count), "%zu", n);
    size_t max = 3 + STORE_SESSION_KEYS + STORE_SESSION_ARGS + 1 + n * PER_EVENT;
    const char **argv = xcalloc(max, sizeof(*argv));
    char(*seq)[24] = xcalloc(n, sizeof(*seq));
    size_t argc = 0;
    argv[argc++] = "EVALSHA";
    argv[argc++] = st->sha[STORE_SCRIPT_APPEND];
    argv[argc++] = nkeys;
    for (int k = 0; k < STORE_SESSION_KEYS; k++)
        argv[argc++] = a.keys[k];
    for (int k = 0; k < a.nargs; k++)
        argv[argc++] = a.args[k];
    argv[argc++] = count;
    for (size_t i = 0; i < n; i++) {
        size_t nf = ev[i].nfields < STORE_EVENT_MAX_FIELDS ? ev[i].nfields & ~(size_t)1
                                                           : STORE_EVENT_MAX_FIELDS;
        snprintf(seq[i], sizeof(seq[i]), "%llu", (unsigned long long)ev[i].seq);
        argv[argc++] = seq[i];
        argv[argc++] = ev[i].type;
        argv[argc++] = ev[i].payload;
        argv[argc++] = nfields[nf];
        for (size_t f = 0; f < nf; f++)
            argv[argc++] = ev[i].fields[f];
    }
    redisReply *r = store_request(st, (int)argc, argv); /* repeatable: see LUA_APPEND */
    free(seq);
    free(argv);
    return r;
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
        size_t span = store_append_span(ev + done, n - done);
        redisReply *r = store_append_call(st, sid, ev + done, span);
        if (!r)
            break; /* the connection died: what was consumed so far counts */
        if (r->type == REDIS_REPLY_INTEGER && r->integer > 0) {
            done += (size_t)r->integer;
        } else if (r->type == REDIS_REPLY_INTEGER) {
            *closed = true;
        } else if (is_noscript(r) && !reloaded) {
            reloaded = true;
            freeReplyObject(r);
            if (store_load_scripts(st) == STORE_OK)
                continue;
            break;
        } else {
            snprintf(st->err, sizeof(st->err), "Redis: %s",
                     r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
        }
        bool more = r->type == REDIS_REPLY_INTEGER && r->integer > 0;
        freeReplyObject(r);
        if (!more)
            break;
    }
    if (done == 0 && !*closed)
        return STORE_DOWN;
    return (int)done;
}

int store_heartbeat(struct store *st, const char *sid, bool *cancel, bool *closed)
{
    const char *args[] = {st->heartbeat_ms};
    long long v;
    if (store_reply_int(st, store_eval_session(st, STORE_SCRIPT_HEARTBEAT, sid, 1, args), &v) !=
        STORE_OK)
        return STORE_DOWN;
    *closed = v < 0;
    *cancel = v == 1;
    return STORE_OK;
}

int store_counts(struct store *st, long *queued, long *running)
{
    const char *a1[] = {"LLEN", st->g.queue};
    const char *a2[] = {"ZCARD", st->g.running};
    long long q, r;
    if (store_reply_int(st, store_request(st, 2, a1), &q) != STORE_OK ||
        store_reply_int(st, store_request(st, 2, a2), &r) != STORE_OK)
        return STORE_DOWN;
    *queued = (long)q;
    *running = (long)r;
    return STORE_OK;
}
