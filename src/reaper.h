/* reaper.h -- noticing dead runners (docs/design.md, invariant 6).
 *
 * A running session carries a heartbeat: its runner pushes the session's
 * deadline in the running set forward every heartbeat/3 seconds (store.c).
 * Every instance, on its event loop, looks every heartbeat/2 seconds for
 * sessions whose deadline has passed on Redis' clock and ends each one that
 * is still "running" with an error event, code "lost" (store_async_reap:
 * the script that ends it checks again, atomically, that it is running and
 * lapsed): whichever instance gets there first does it, exactly once, and
 * every viewer of the session, wherever it is connected, gets the event
 * live.
 *
 * An outage of Redis stops every heartbeat at once. So that sessions that
 * are in fact alive are not declared lost the moment Redis is back, an
 * instance reaps only after its own connection has been up for two
 * heartbeat periods, long enough for live runners to report in again. */
#ifndef PHASESTREAM_REAPER_H
#define PHASESTREAM_REAPER_H

struct bus;
struct config;
struct loop;
struct reaper;

struct reaper *reaper_start(struct loop *l, struct bus *b, const struct config *cfg);
/* On the loop thread, or after it stopped; after bus_free(), whose dying
 * connection still answers a reap in flight. */
void reaper_free(struct reaper *r);

#endif
