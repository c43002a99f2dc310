/* sendq.h -- many sockets' sends in one system call.
 *
 * The stream side writes one event to every viewer of a session at once:
 * a thousand viewers, a thousand sends. Each send(2) is a system call, and
 * on a virtual machine entering the kernel is most of what a small send
 * costs: 1.8 us of CPU per send against 0.4 us when io_uring takes the same
 * sends in one io_uring_enter (measured here, 1,000 unix sockets, 200-byte
 * writes). sendq_send() takes a batch and sends each item exactly as
 * send(fd, data, len, MSG_DONTWAIT | MSG_NOSIGNAL) would, with the same
 * results; where io_uring is not there (an old kernel, a seccomp filter,
 * kernel.io_uring_disabled) it makes those send(2) calls itself, so callers
 * never know which way their bytes went.
 *
 * No send ever waits: MSG_DONTWAIT makes a full socket answer -EAGAIN at
 * once, through io_uring too, so sendq_send() returns as soon as the kernel
 * has looked at every item.
 *
 * Thread rules: a sendq belongs to the thread that made it. */
#ifndef PHASESTREAM_SENDQ_H
#define PHASESTREAM_SENDQ_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define SENDQ_DEPTH 256 /* sends per io_uring_enter */

struct sendq;

struct sendq_item {
    int fd;
    const void *data;
    size_t len;
};

/* use_uring false: send(2) only. Never fails: without io_uring the queue
 * makes plain sends. */
struct sendq *sendq_new(bool use_uring);
void sendq_free(struct sendq *q);
/* Does this queue send through io_uring? */
bool sendq_uring(const struct sendq *q);

/* Sends every item; res[i] is item i's result: the bytes sent (possibly
 * fewer than len), or -errno (-EAGAIN when the socket is full). The data
 * must stay put until this returns. */
void sendq_send(struct sendq *q, const struct sendq_item *items, size_t n, ssize_t *res);

#endif
