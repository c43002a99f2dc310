/* bus.h -- the loop's asynchronous Redis connections.
 *
 * Two hiredis async connections per process, driven by the event loop: one
 * in subscribe mode for the live notifications (a session's new event ids,
 * the queue and cancel channels), one for commands (the viewers' log reads).
 * Their number does not depend on the number of viewers (docs/design.md, invariant 4). Both
 * reconnect by themselves with backoff; subscriptions are renewed after a
 * reconnect and their ready callback runs again, so a subscriber can re-read
 * what it may have missed. A connection that does not open within
 * STORE_CONNECT_TIMEOUT_MS, or owes a reply for longer than
 * STORE_COMMAND_TIMEOUT_MS (store_schema.h), is given up and made again
 * like a lost one: no command waits on a silent Redis without a bound.
 *
 * All functions run on the loop thread. */
#ifndef PHASESTREAM_BUS_H
#define PHASESTREAM_BUS_H

#include <stdbool.h>
#include <stddef.h>

struct bus;
struct config;
struct loop;
struct redisReply;

/* A message on a subscribed channel. */
typedef void bus_msg_fn(void *arg, const char *data, size_t len);
/* The subscription is active (first time, and after every reconnect). */
typedef void bus_ready_fn(void *arg);
/* A command's reply; NULL when the connection was lost or given up first. */
typedef void bus_reply_fn(void *arg, struct redisReply *reply);

struct bus *bus_new(struct loop *l, const struct config *cfg);
void bus_free(struct bus *b);

/* Subscribes (one subscriber per channel). Returns true when the
 * subscription is already active, in which case ready is not called now. */
bool bus_subscribe(struct bus *b, const char *channel, bus_msg_fn *fn, bus_ready_fn *ready,
                   void *arg);
/* After this returns, fn and ready are never called for the channel. */
void bus_unsubscribe(struct bus *b, const char *channel);

/* Sends a command; -1 (and fn is not called) when not connected. */
int bus_command(struct bus *b, bus_reply_fn *fn, void *arg, int argc, const char **argv,
                const size_t *lens);

/* Milliseconds the command connection has been up without a break; 0 while
 * it is down. */
long long bus_uptime(const struct bus *b);

/* Counts the command connection's connects: a change tells that commands
 * now go to a new connection (whose per-connection setup, such as loaded
 * scripts, must be redone). */
unsigned long bus_generation(const struct bus *b);

#endif
