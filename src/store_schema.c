/* store_schema.c -- the Redis schema: see store_schema.h.
 *
 * The Lua scripts are the heart of the correctness story; each one states
 * the invariant it keeps. Every script is LUA_SHARED followed by its own
 * body: the shared part holds the helpers that spell the schema (a
 * session's key names, the element format, the Redis clock, the session
 * script layout, the element) and session_end, the one way a session ends. Keys are built
 * inside a script only when the session id was found in Redis (claim,
 * lapsed), which ties phasestream to a single Redis or a Sentinel-managed
 * primary rather than a Cluster (the {S} hash tags keep the per-session keys
 * together for the day that changes). */
#include "store_schema.h"
#include "config.h"
#include "events.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The helpers every script starts with: a session's key from its id; the
 * Redis clock in ms; the terminal event types; session(), a session
 * script's keys and first arguments by name; session_touch(), which
 * refreshes the TTL of both session keys (every write does);
 * session_element(), an event as its list element, "TYPE\nJSON";
 * session_push(), which stores one event and returns its id.
 *
 * session_end(s, was, kind, payload, fields) ends the session, which is
 * `was` (queued or running), with its terminal event: exactly one, since
 * every caller checks first that the status is not terminal, and nothing is
 * appended after it. fields are more state fields (name, value, ...).
 * Durable first (docs/design.md, invariant 1): the id is published after the writes.
 * Returns the event id. */
#define LUA_SHARED                                                                                 \
    "local function session_key(prefix, sid, what)\n"                                              \
    "  return string.format('" STORE_SESSION_KEY_FMT "', prefix, sid, what)\n"                     \
    "end\n"                                                                                        \
    "local function redis_ms()\n"                                                                  \
    "  local t = redis.call('TIME')\n"                                                             \
    "  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"                         \
    "end\n"                                                                                        \
    "local function is_terminal(kind) return kind == 'complete' or kind == 'error' end\n"          \
    "local function session()\n"                                                                   \
    "  return {state = KEYS[1], events = KEYS[2], queue = KEYS[3], running = KEYS[4],\n"           \
    "    sid = ARGV[1], notify = ARGV[2], now = ARGV[3], ttl = ARGV[4]}\n"                         \
    "end\n"                                                                                        \
    "local function session_touch(s)\n"                                                            \
    "  redis.call('EXPIRE', s.state, s.ttl)\n"                                                     \
    "  redis.call('EXPIRE', s.events, s.ttl)\n"                                                    \
    "end\n"                                                                                        \
    "local function session_element(kind, payload) return kind .. '\\n' .. payload end\n"          \
    "local function session_push(s, kind, payload)\n"                                              \
    "  return redis.call('RPUSH', s.events, session_element(kind, payload))\n"                     \
    "end\n"                                                                                        \
    "local function session_end(s, was, kind, payload, fields)\n"                                  \
    "  if was == 'queued' then redis.call('LREM', s.queue, 0, s.sid)\n"                            \
    "  else redis.call('ZREM', s.running, s.sid) end\n"                                            \
    "  local id = session_push(s, kind, payload)\n"                                                \
    "  redis.call('HSET', s.state, 'status', kind, 'terminal', id, 'lastUpdate', s.now,\n"         \
    "    unpack(fields))\n"                                                                        \
    "  redis.call('HDEL', s.state, 'cancel')\n"                                                    \
    "  session_touch(s)\n"                                                                         \
    "  redis.call('PUBLISH', s.notify, id)\n"                                                      \
    "  return id\n"                                                                                \
    "end\n"

/* create: a new queued session with its first event, unless the id exists.
 * Keeps design invariant 3 (one run per session): EXISTS and the writes are one
 * atomic step, so concurrent creates of one id make exactly one session.
 * ARGV[5..]: proofType, max queue, status payload, queue channel, results,
 * step. Returns 1 created, 0 exists, -1 queue full. */
static const char LUA_CREATE[] = LUA_SHARED
        "local s = session()\n"
        "if redis.call('EXISTS', s.state) == 1 then return 0 end\n"
        "if redis.call('LLEN', s.queue) >= tonumber(ARGV[6]) then return -1 end\n"
        "redis.call('HSET', s.state, 'sessionId', s.sid, 'proofType', ARGV[5],\n"
        "  'status', 'queued', 'phase', 'queued', 'currentStep', ARGV[10], 'progress', '0',\n"
        "  'results', ARGV[9], 'startTime', s.now, 'lastUpdate', s.now)\n"
        "local id = session_push(s, 'status', ARGV[7])\n"
        "session_touch(s)\n"
        "redis.call('RPUSH', s.queue, s.sid)\n"
        "redis.call('PUBLISH', s.notify, id)\n"
        "redis.call('PUBLISH', ARGV[8], s.sid)\n"
        "return 1\n";

/* claim: pop the oldest queued session that is still queued (a cancelled
 * one was removed, an expired one has no state) and mark it running with a
 * heartbeat deadline on Redis' own clock, in one step, so no two runners
 * anywhere can take the same session. KEYS queue, running; ARGV prefix,
 * instance, now, TTL, heartbeat (ms). */
static const char LUA_CLAIM[] =
        LUA_SHARED "for i = 1, 100 do\n"
                   "  local sid = redis.call('LPOP', KEYS[1])\n"
                   "  if not sid then return false end\n"
                   "  local s = {state = session_key(ARGV[1], sid, 'state'),\n"
                   "    events = session_key(ARGV[1], sid, 'events'), ttl = ARGV[4]}\n"
                   "  if redis.call('HGET', s.state, 'status') == 'queued' then\n"
                   "    redis.call('HSET', s.state, 'status', 'running', 'runner', ARGV[2],\n"
                   "      'lastUpdate', ARGV[3], 'wseq', '0')\n"
                   "    session_touch(s)\n"
                   "    redis.call('ZADD', KEYS[2], redis_ms() + tonumber(ARGV[5]), sid)\n"
                   "    return {sid, redis.call('HGET', s.state, 'proofType'),\n"
                   "      redis.call('HGET', s.state, 'startTime') or ''}\n"
                   "  end\n"
                   "end\n"
                   "return false\n";

/* append: a burst of events in one call: one RPUSH for all of them, one
 * HSET of the state fields they carry (a later value of a field wins), one
 * PUBLISH of the last id; a complete or error event ends the burst and the
 * session. Keeps design invariant 1 (durable first: the id is published
 * only after the RPUSH that gave it) and "exactly one terminal event":
 * nothing is appended once the status is complete or error. An event with
 * seq > 0 that is not past the stored wseq was stored by an earlier call
 * whose reply was lost, and is skipped, so a runner's retry is a no-op
 * instead of a duplicate. ARGV[5] is the number of events; each is then
 * seq, type, payload, the number of field arguments, and the field names
 * and values. Returns how many events the call consumed from the front
 * (stored, or stored before), -1 for no session, -2 for an ended one. */
static const char LUA_APPEND[] = LUA_SHARED
        "local s = session()\n"
        "local st = redis.call('HGET', s.state, 'status')\n"
        "if not st then return -1 end\n"
        "local wseq = tonumber(redis.call('HGET', s.state, 'wseq') or '0')\n"
        "local lines, fields, last = {}, {}, nil\n"
        "local at, done = 6, 0\n"
        "for i = 1, tonumber(ARGV[5]) do\n"
        "  local seq, kind, nf = tonumber(ARGV[at]), ARGV[at + 1], tonumber(ARGV[at + 3])\n"
        "  if seq == 0 or seq > wseq then\n"
        "    if is_terminal(st) then\n"
        "      if done == 0 then return -2 end\n"
        "      break\n"
        "    end\n"
        "    for j = at + 4, at + 3 + nf do fields[#fields + 1] = ARGV[j] end\n"
        "    if seq > 0 then wseq = seq end\n"
        "    if is_terminal(kind) then last = {kind, ARGV[at + 2]} end\n"
        "    if not last then lines[#lines + 1] = session_element(kind, ARGV[at + 2]) end\n"
        "  end\n"
        "  done = i\n"
        "  at = at + 4 + nf\n"
        "  if last then break end\n"
        "end\n"
        "if #lines == 0 and not last then return done end\n"
        "local id = 0\n"
        "if #lines > 0 then id = redis.call('RPUSH', s.events, unpack(lines)) end\n"
        "fields[#fields + 1] = 'wseq'\n"
        "fields[#fields + 1] = tostring(wseq)\n"
        "if last then\n"
        "  session_end(s, st, last[1], last[2], fields)\n"
        "  return done\n"
        "end\n"
        "redis.call('HSET', s.state, 'lastUpdate', s.now, unpack(fields))\n"
        "session_touch(s)\n"
        "redis.call('PUBLISH', s.notify, id)\n"
        "return done\n";

/* cancel: a queued session is taken off the queue and ended here, with its
 * terminal event; a running one is flagged and its runner told on the cancel
 * channel (the flag also reaches it through the heartbeat, should the
 * message be missed). ARGV[5..]: error payload, message, cancel channel.
 * Returns 0 no session, -1 ended, 1 dropped, 2 asked. */
static const char LUA_CANCEL[] =
        LUA_SHARED "local s = session()\n"
                   "local st = redis.call('HGET', s.state, 'status')\n"
                   "if not st then return 0 end\n"
                   "if is_terminal(st) then return -1 end\n"
                   "if st == 'queued' then\n"
                   "  session_end(s, st, 'error', ARGV[5], {'error', ARGV[6]})\n"
                   "  return 1\n"
                   "end\n"
                   "redis.call('HSET', s.state, 'cancel', '1')\n"
                   "redis.call('PUBLISH', ARGV[7], s.sid)\n"
                   "return 2\n";

/* heartbeat: push a running session's deadline forward on Redis' clock and
 * report a pending cancel. ARGV[5]: heartbeat (ms). Returns -1 when the
 * session is not running any more (someone else ended it), else 1 if
 * cancel was asked, else 0. */
static const char LUA_HEARTBEAT[] =
        LUA_SHARED "local s = session()\n"
                   "if redis.call('HGET', s.state, 'status') ~= 'running' then return -1 end\n"
                   "redis.call('ZADD', s.running, redis_ms() + tonumber(ARGV[5]), s.sid)\n"
                   "session_touch(s)\n"
                   "if redis.call('HGET', s.state, 'cancel') then return 1 end\n"
                   "return 0\n";

/* lapsed: the running sessions whose heartbeat deadline (Redis' clock) has
 * passed, as {sid, phase} pairs; ids in the running set whose session is
 * not running any more (expired, or ended without the set being told) are
 * dropped from it. KEYS running; ARGV prefix, at most how many. */
static const char LUA_LAPSED[] = LUA_SHARED
        "local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', redis_ms(), 'LIMIT', 0,\n"
        "  tonumber(ARGV[2]))\n"
        "local found = {}\n"
        "for _, sid in ipairs(due) do\n"
        "  local h = redis.call('HMGET', session_key(ARGV[1], sid, 'state'), 'status', 'phase')\n"
        "  if h[1] == 'running' then\n"
        "    table.insert(found, {sid, h[2]})\n"
        "  else\n"
        "    redis.call('ZREM', KEYS[1], sid)\n"
        "  end\n"
        "end\n"
        "return found\n";

/* reap: ends a lapsed session (docs/design.md, invariant 6) with the error event built for
 * the phase lapsed found, if it is still running, still lapsed, and still
 * in that phase; whichever instance gets there first ends it, exactly once.
 * ARGV[5..]: phase ('' for none), error payload, message. Returns 1 when it
 * ended the session, else 0. */
static const char LUA_REAP[] =
        LUA_SHARED "local s = session()\n"
                   "local h = redis.call('HMGET', s.state, 'status', 'phase')\n"
                   "if h[1] ~= 'running' or (h[2] or '') ~= ARGV[5] then return 0 end\n"
                   "local deadline = redis.call('ZSCORE', s.running, s.sid)\n"
                   "if not deadline or tonumber(deadline) > redis_ms() then return 0 end\n"
                   "session_end(s, 'running', 'error', ARGV[6], {'error', ARGV[7]})\n"
                   "return 1\n";

static const char *const store_scripts[STORE_SCRIPT_COUNT] = {
        [STORE_SCRIPT_CREATE] = LUA_CREATE,       [STORE_SCRIPT_CLAIM] = LUA_CLAIM,
        [STORE_SCRIPT_APPEND] = LUA_APPEND,       [STORE_SCRIPT_CANCEL] = LUA_CANCEL,
        [STORE_SCRIPT_HEARTBEAT] = LUA_HEARTBEAT, [STORE_SCRIPT_LAPSED] = LUA_LAPSED,
        [STORE_SCRIPT_REAP] = LUA_REAP,
};

const char *store_script_text(enum store_script s)
{
    return store_scripts[s];
}

void store_session_key(const struct config *cfg, const char *sid, const char *what, char *out,
                       size_t len)
{
    snprintf(out, len, STORE_SESSION_KEY_FMT, cfg->key_prefix, sid, what);
}

void store_global_key(const struct config *cfg, const char *what, char *out, size_t len)
{
    snprintf(out, len, "%s%s", cfg->key_prefix, what);
}

void store_global_keys(const struct config *cfg, struct store_global_keys *g)
{
    store_global_key(cfg, "queue", g->queue, sizeof(g->queue));
    store_global_key(cfg, "running", g->running, sizeof(g->running));
    store_global_key(cfg, "chan:queue", g->queue_chan, sizeof(g->queue_chan));
    store_global_key(cfg, "chan:cancel", g->cancel_chan, sizeof(g->cancel_chan));
}

void store_session_keys(const struct config *cfg, const char *sid, struct store_session_keys *k)
{
    store_session_key(cfg, sid, "state", k->state, sizeof(k->state));
    store_session_key(cfg, sid, "events", k->events, sizeof(k->events));
    store_session_key(cfg, sid, "notify", k->notify, sizeof(k->notify));
}

void store_session_argv(const struct config *cfg, const char *sid,
                        const struct store_global_keys *g, const char **own, int nown,
                        struct store_session_argv *a)
{
    store_session_keys(cfg, sid, &a->k);
    event_timestamp(a->now);
    snprintf(a->ttl, sizeof(a->ttl), "%d", cfg->session_ttl);
    a->keys[0] = a->k.state;
    a->keys[1] = a->k.events;
    a->keys[2] = g->queue;
    a->keys[3] = g->running;
    a->args[0] = sid;
    a->args[1] = a->k.notify;
    a->args[2] = a->now;
    a->args[3] = a->ttl;
    a->nargs = STORE_SESSION_ARGS;
    if (nown > STORE_SCRIPT_ARGS)
        abort(); /* a script's arguments outgrew the vector: fix the constant */
    for (int i = 0; i < nown; i++)
        a->args[a->nargs++] = own[i];
}

void store_entry_parse(uint64_t id, const char *el, size_t n, struct store_entry *out)
{
    const char *nl = memchr(el, '\n', n);
    out->id = id;
    if (!nl) {
        out->type = "message";
        out->type_len = 7;
        out->data = el;
        out->data_len = n;
        return;
    }
    out->type = el;
    out->type_len = (size_t)(nl - el);
    out->data = nl + 1;
    out->data_len = n - out->type_len - 1;
}

bool store_entry_terminal(const struct store_entry *e)
{
    return (e->type_len == 8 && memcmp(e->type, "complete", 8) == 0) ||
           (e->type_len == 5 && memcmp(e->type, "error", 5) == 0);
}

void store_hello(const struct redis_addr *a, bool subscriber, struct store_hello *h)
{
    h->n = 0;
    if (a->password) {
        h->cmd[h->n].argc = 0;
        h->cmd[h->n].argv[h->cmd[h->n].argc++] = "AUTH";
        if (a->user)
            h->cmd[h->n].argv[h->cmd[h->n].argc++] = a->user;
        h->cmd[h->n].argv[h->cmd[h->n].argc++] = a->password;
        h->cmd[h->n++].required = true;
    }
    if (a->db && !subscriber) {
        snprintf(h->db, sizeof(h->db), "%d", a->db);
        h->cmd[h->n].argc = 2;
        h->cmd[h->n].argv[0] = "SELECT";
        h->cmd[h->n].argv[1] = h->db;
        h->cmd[h->n++].required = true;
    }
    h->cmd[h->n].argc = 3;
    h->cmd[h->n].argv[0] = "CLIENT";
    h->cmd[h->n].argv[1] = "SETNAME";
    h->cmd[h->n].argv[2] = "phasestream";
    h->cmd[h->n++].required = false;
}

bool store_cancel_parse(const char *data, size_t len, char *sid)
{
    if (len == 0 || len > STORE_SID_MAX || memchr(data, '\0', len))
        return false;
    memcpy(sid, data, len);
    sid[len] = '\0';
    return true;
}

bool store_notify_parse(const char *data, size_t len, uint64_t *id)
{
    char num[24];
    if (len == 0 || len >= sizeof(num))
        return false;
    memcpy(num, data, len);
    num[len] = '\0';
    *id = strtoull(num, NULL, 10);
    return true;
}
