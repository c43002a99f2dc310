/* reaper.c -- noticing dead runners: see reaper.h. */
#include "reaper.h"
#include "alloc.h"
#include "bus.h"
#include "config.h"
#include "events.h"
#include "log.h"
#include "loop.h"
#include "store.h"

#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <stdio.h>

/* Ends the sessions whose heartbeat deadline (Redis' clock) has passed and
 * that are still running. Returns their ids. KEYS[1] the running set; ARGV:
 * key prefix, now (ISO), TTL, batch size, heartbeat seconds. */
static const char LUA_REAP[] =
        "local t = redis.call('TIME')\n"
        "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
        "local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0,"
        " tonumber(ARGV[4]))\n"
        "local ended = {}\n"
        "for _, sid in ipairs(due) do\n"
        "  redis.call('ZREM', KEYS[1], sid)\n"
        "  local state = ARGV[1] .. '{' .. sid .. '}:state'\n"
        "  local events = ARGV[1] .. '{' .. sid .. '}:events'\n"
        "  if redis.call('HGET', state, 'status') == 'running' then\n"
        "    local phase = redis.call('HGET', state, 'phase')\n"
        "    local msg = 'The runner of this session stopped (no heartbeat for ' .. ARGV[5] ..\n"
        "      ' s); the workflow did not finish.'\n"
        "    local payload = cjson.encode({error = msg, phase = phase or cjson.null,"
        " code = 'lost', timestamp = ARGV[2]})\n"
        "    local id = redis.call('RPUSH', events, 'error\\n' .. payload)\n"
        "    redis.call('HSET', state, 'status', 'error', 'error', msg, 'terminal', id,\n"
        "      'lastUpdate', ARGV[2])\n"
        "    redis.call('HDEL', state, 'cancel')\n"
        "    redis.call('EXPIRE', state, ARGV[3])\n"
        "    redis.call('EXPIRE', events, ARGV[3])\n"
        "    redis.call('PUBLISH', ARGV[1] .. '{' .. sid .. '}:notify', id)\n"
        "    table.insert(ended, sid)\n"
        "  end\n"
        "end\n"
        "return ended\n";

struct reaper {
    struct loop *loop;
    struct bus *bus;
    const struct config *cfg;
    uint64_t timer;
    bool busy; /* a reap is in flight */
    char running_key[128];
};

static void reaper_tick(struct loop *l, void *arg);

static void reaper_reply(void *arg, redisReply *r)
{
    struct reaper *rp = arg;
    rp->busy = false;
    if (!r)
        return;
    if (r->type == REDIS_REPLY_ERROR) {
        log_error("reaper: %s", r->str);
        return;
    }
    for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++)
        if (r->element[i]->type == REDIS_REPLY_STRING)
            log_warn("session %s: its runner stopped sending heartbeats; ended as lost",
                     r->element[i]->str);
}

static void reaper_tick(struct loop *l, void *arg)
{
    struct reaper *rp = arg;
    long long need = (long long)rp->cfg->heartbeat * 2000;
    if (!rp->busy && bus_uptime(rp->bus) >= need) {
        char now[32], ttl[16], hb[16];
        event_timestamp(now);
        snprintf(ttl, sizeof(ttl), "%d", rp->cfg->session_ttl);
        snprintf(hb, sizeof(hb), "%d", rp->cfg->heartbeat);
        const char *argv[] = {"EVAL", LUA_REAP, "1", rp->running_key, rp->cfg->key_prefix, now,
                              ttl,    "50",     hb};
        if (bus_command(rp->bus, reaper_reply, rp, 9, argv, NULL) == 0)
            rp->busy = true;
    }
    int period = rp->cfg->heartbeat * 1000 / 2;
    rp->timer = loop_timer(l, period > 500 ? period : 500, reaper_tick, rp);
}

struct reaper *reaper_start(struct loop *l, struct bus *b, const struct config *cfg)
{
    struct reaper *rp = xcalloc(1, sizeof(*rp));
    rp->loop = l;
    rp->bus = b;
    rp->cfg = cfg;
    store_global_key(cfg, "running", rp->running_key, sizeof(rp->running_key));
    rp->timer = loop_timer(l, 1000, reaper_tick, rp);
    return rp;
}

void reaper_free(struct reaper *rp)
{
    if (!rp)
        return;
    loop_cancel(rp->loop, rp->timer);
    free(rp);
}
