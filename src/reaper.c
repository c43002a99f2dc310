/* reaper.c -- noticing dead runners: see reaper.h. The work in Redis, and
 * the error event, are store_async's (store_async_reap); what is here is the
 * pace, the wait after an outage, and the words. */
#include "reaper.h"
#include "alloc.h"
#include "bus.h"
#include "config.h"
#include "log.h"
#include "loop.h"
#include "store_async.h"

#include <stdbool.h>

#define REAPER_BATCH 50 /* sessions ended per look, at most */

struct reaper {
    struct loop *loop;
    struct bus *bus;
    const struct config *cfg;
    struct store_async *store;
    char *message; /* the lost session's error */
    uint64_t timer;
    bool busy; /* a reap is in flight */
};

static void reaper_tick(struct loop *l, void *arg);

static void reaper_ended(void *arg, const char *sid, const char *error)
{
    struct reaper *rp = arg;
    if (sid) {
        log_warn("session %s: its runner stopped sending heartbeats; ended as lost", sid);
        return;
    }
    rp->busy = false;
    if (error)
        log_error("reaper: %s", error);
}

static void reaper_tick(struct loop *l, void *arg)
{
    struct reaper *rp = arg;
    long long need = (long long)rp->cfg->heartbeat * 2000;
    if (!rp->busy && bus_uptime(rp->bus) >= need &&
        store_async_reap(rp->store, rp->message, REAPER_BATCH, reaper_ended, rp) == 0)
        rp->busy = true;
    int period = rp->cfg->heartbeat * 1000 / 2;
    rp->timer = loop_timer(l, period > 500 ? period : 500, reaper_tick, rp);
}

struct reaper *reaper_start(struct loop *l, struct bus *b, const struct config *cfg)
{
    struct reaper *rp = xcalloc(1, sizeof(*rp));
    rp->loop = l;
    rp->bus = b;
    rp->cfg = cfg;
    rp->store = store_async_new(b, cfg);
    rp->message = xasprintf("The runner of this session stopped (no heartbeat for %d s); the "
                            "workflow did not finish.",
                            cfg->heartbeat);
    rp->timer = loop_timer(l, 1000, reaper_tick, rp);
    return rp;
}

void reaper_free(struct reaper *rp)
{
    if (!rp)
        return;
    loop_cancel(rp->loop, rp->timer);
    store_async_free(rp->store);
    free(rp->message);
    free(rp);
}
