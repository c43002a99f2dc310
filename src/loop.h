/* loop.h -- the event loop: one thread, epoll, one-shot timers, and work
 * posted from other threads.
 *
 * The SSE fan-out and the asynchronous Redis connections (bus.c) live on
 * this loop, so the streaming path never blocks: not on a slow viewer, not
 * on Redis. Like Redis' ae.c it is deliberately small: file events, timers,
 * and a thread-safe post queue woken through an eventfd. Everything but
 * loop_post() and loop_stop() must be called on the loop thread (or before
 * it runs). */
#ifndef PHASESTREAM_LOOP_H
#define PHASESTREAM_LOOP_H

#include <stdint.h>

struct loop;

typedef void loop_io_fn(struct loop *l, int fd, uint32_t events, void *arg);
typedef void loop_fn(struct loop *l, void *arg);

struct loop *loop_new(void);
void loop_free(struct loop *l);

/* Watches fd for events (EPOLLIN, EPOLLOUT, ...); one handler per fd. */
int loop_add(struct loop *l, int fd, uint32_t events, loop_io_fn *fn, void *arg);
int loop_mod(struct loop *l, int fd, uint32_t events);
/* Stops watching fd (does not close it). Safe inside a handler. */
void loop_del(struct loop *l, int fd);

/* Calls fn once, after ms milliseconds. Returns an id for loop_cancel. */
uint64_t loop_timer(struct loop *l, int64_t ms, loop_fn *fn, void *arg);
void loop_cancel(struct loop *l, uint64_t id);

/* From any thread: runs fn(arg) on the loop thread, in posting order. */
void loop_post(struct loop *l, loop_fn *fn, void *arg);

/* Runs until loop_stop(). */
void loop_run(struct loop *l);
/* From any thread. */
void loop_stop(struct loop *l);

/* Monotonic milliseconds. */
int64_t loop_now(void);

#endif
