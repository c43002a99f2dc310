/* store_schema.h -- the Redis schema: key names, the stored event format and
 * the Lua scripts, in one place for both faces of the store.
 *
 * Keys, for key prefix P and session id S (the {S} hash tag keeps a
 * session's keys in one cluster slot):
 *
 *   P{S}:state    hash   sessionId proofType status phase currentStep
 *                        progress results error startTime lastUpdate
 *                        terminal (id of the terminal event) runner wseq
 *                        cancel
 *   P{S}:events   list   one element per event, "TYPE\nJSON"; the event id
 *                        is the element's position + 1, so RPUSH hands out
 *                        strictly increasing ids atomically
 *   P{S}:notify   channel  PUBLISHed the new event id (decimal) after every
 *                        append
 *   Pqueue        list   ids of queued sessions, oldest first
 *   Prunning      zset   running sessions scored by heartbeat deadline (ms,
 *                        Redis clock)
 *   Pchan:queue   channel  a session was queued (wakes idle runners)
 *   Pchan:cancel  channel  a running session was asked to stop
 *
 * The key format is STORE_SESSION_KEY_FMT, used by store_session_key() and
 * pasted into the scripts' shared Lua helper, so the scripts that find a
 * session id in Redis (claim, and the reaper's look for lapsed sessions)
 * build its keys from the same text. Every other script gets its keys from
 * C, in one layout (store_session_argv): KEYS state, events, queue, running;
 * ARGV sid, notify channel, now, TTL, then the script's own arguments.
 *
 * Ending a session -- its terminal event, its status, taking it off the
 * queue or the running set, publishing the event -- is one Lua function,
 * session_end, shared by the three scripts that end sessions: append (a
 * runner's complete or error event), cancel (a queued session dropped) and
 * reap (a session whose runner stopped sending heartbeats).
 *
 * Pure functions and constant data: safe from any thread. */
#ifndef PHASESTREAM_STORE_SCHEMA_H
#define PHASESTREAM_STORE_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct config;

#define STORE_SID_MAX 64
/* Room for any key or channel name: a prefix (config.c caps it at 64
 * bytes), a session id and the longest suffix. */
#define STORE_KEY_MAX 192

/* P, S, what: "P{S}:what". Lua's string.format reads it the same way. */
#define STORE_SESSION_KEY_FMT "%s{%s}:%s"

void store_session_key(const struct config *cfg, const char *sid, const char *what, char *out,
                       size_t len);
void store_global_key(const struct config *cfg, const char *what, char *out, size_t len);

/* The names of the keys and channels every session shares. */
struct store_global_keys {
    char queue[STORE_KEY_MAX], running[STORE_KEY_MAX];
    char queue_chan[STORE_KEY_MAX], cancel_chan[STORE_KEY_MAX];
};
void store_global_keys(const struct config *cfg, struct store_global_keys *g);

/* The names of one session's keys and channel. */
struct store_session_keys {
    char state[STORE_KEY_MAX], events[STORE_KEY_MAX], notify[STORE_KEY_MAX];
};
void store_session_keys(const struct config *cfg, const char *sid, struct store_session_keys *k);

/* One stored event, parsed: the element "TYPE\nJSON" at position id - 1.
 * The pointers are into the element (not terminated). An element without
 * a line break is data of type "message". */
struct store_entry {
    uint64_t id;
    const char *type;
    size_t type_len;
    const char *data;
    size_t data_len;
};
void store_entry_parse(uint64_t id, const char *el, size_t n, struct store_entry *out);
/* complete and error end a session; nothing is stored after them. */
bool store_entry_terminal(const struct store_entry *e);

/* A notify message: the id of the newest event. false if it is not one. */
bool store_notify_parse(const char *data, size_t len, uint64_t *id);
/* How long a connection to Redis may take to open, and how long a command
 * may wait for its reply, on both faces: the synchronous connections'
 * socket timeouts (store.c), the loop's connections' watchdog (bus.c).
 * Past the bound the connection is given up and made again, so a Redis
 * that accepts but does not answer (stopped, swapping, a network black
 * hole) is Redis trouble like a Redis that is down (invariant 8). */
#define STORE_CONNECT_TIMEOUT_MS 1000
#define STORE_COMMAND_TIMEOUT_MS 5000

/* The commands that open a connection to Redis, in order: AUTH (with a
 * password), SELECT (a database other than 0, but not on a subscriber:
 * channels are not per database) and CLIENT SETNAME, so that an operator
 * can tell phasestream's connections apart in CLIENT LIST. A refused AUTH
 * or SELECT leaves the connection useless (required); a refused name does
 * not. The arguments point into h. */
struct redis_addr;
struct store_hello {
    struct {
        int argc;
        const char *argv[3];
        bool required;
    } cmd[3];
    int n;
    char db[16];
};
void store_hello(const struct redis_addr *a, bool subscriber, struct store_hello *h);

/* A cancel message: the session id it names, into sid (STORE_SID_MAX + 1
 * bytes). false if it is not one. */
bool store_cancel_parse(const char *data, size_t len, char *sid);

enum store_script {
    /* the synchronous face's (store.c), loaded on every connection */
    STORE_SCRIPT_CREATE,
    STORE_SCRIPT_CLAIM,
    STORE_SCRIPT_APPEND,
    STORE_SCRIPT_CANCEL,
    STORE_SCRIPT_HEARTBEAT,
    STORE_SCRIPT_SYNC_COUNT,
    /* the asynchronous face's (store_async.c), loaded on first use on a
     * connection */
    STORE_SCRIPT_LAPSED = STORE_SCRIPT_SYNC_COUNT,
    STORE_SCRIPT_REAP,
    STORE_SCRIPT_COUNT
};
const char *store_script_text(enum store_script s);

/* The keys and arguments every session script starts with (see above). */
#define STORE_SESSION_KEYS 4
#define STORE_SESSION_ARGS 4
#define STORE_SCRIPT_ARGS  8 /* a script's own arguments, at most */
struct store_session_argv {
    struct store_session_keys k;
    char now[32];
    char ttl[16];
    const char *keys[STORE_SESSION_KEYS];
    const char *args[STORE_SESSION_ARGS + STORE_SCRIPT_ARGS];
    int nargs;
};
/* The common ones, then the script's own (nown <= STORE_SCRIPT_ARGS: a
 * script's argument count is fixed in the code). g, sid and own must
 * outlive the use of the vector; the timestamp is taken now. */
void store_session_argv(const struct config *cfg, const char *sid,
                        const struct store_global_keys *g, const char **own, int nown,
                        struct store_session_argv *a);

#endif
