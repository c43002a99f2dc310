/* sendq.c -- many sockets' sends in one system call: see sendq.h.
 *
 * The ring is SENDQ_DEPTH entries deep and its completion queue twice that;
 * a batch goes in slices of at most SENDQ_DEPTH, and each slice is reaped
 * whole before the next is queued, so completions never overflow and
 * user_data (the item's index) always names an item of the current slice. */
#include "sendq.h"
#include "alloc.h"
#include "log.h"

#include <errno.h>
#include <liburing.h>
#include <string.h>
#include <sys/socket.h>

#define SENDQ_FLAGS (MSG_DONTWAIT | MSG_NOSIGNAL)

struct sendq {
    bool uring; /* the ring below is live */
    struct io_uring ring;
};

struct sendq *sendq_new(bool use_uring)
{
    struct sendq *q = xcalloc(1, sizeof(*q));
    if (!use_uring)
        return q;
    int e = io_uring_queue_init(SENDQ_DEPTH, &q->ring, 0);
    if (e < 0) {
        log_info("io_uring unavailable (%s): one send(2) per viewer", strerror(-e));
        return q;
    }
    q->uring = true;
    return q;
}

void sendq_free(struct sendq *q)
{
    if (!q)
        return;
    if (q->uring)
        io_uring_queue_exit(&q->ring);
    free(q);
}

bool sendq_uring(const struct sendq *q)
{
    return q->uring;
}

static ssize_t sendq_one(const struct sendq_item *it)
{
    ssize_t n;
    do
        n = send(it->fd, it->data, it->len, SENDQ_FLAGS);
    while (n < 0 && errno == EINTR);
    return n < 0 ? -errno : n;
}

/* One slice of at most SENDQ_DEPTH items through the ring. *in tells how
 * many went in, with their results in res; the caller sends the rest.
 * Returns false when the ring misbehaved (took less than it was given, or
 * a completion could not be read): it is not used again. An item
 * whose completion cannot be read gets -EIO: its viewer is dropped, and
 * its browser reconnects and resumes from Redis, so an unknown result
 * costs a reconnect, never a lost or doubled event. */
static bool sendq_slice(struct sendq *q, const struct sendq_item *items, size_t n, ssize_t *res,
                        size_t *in_out)
{
    size_t prepared = 0;
    for (; prepared < n; prepared++) {
        struct io_uring_sqe *sqe = io_uring_get_sqe(&q->ring);
        if (!sqe) /* never: the ring is empty when a slice starts */
            break;
        io_uring_prep_send(sqe, items[prepared].fd, items[prepared].data, items[prepared].len,
                           SENDQ_FLAGS);
        io_uring_sqe_set_data64(sqe, prepared);
        res[prepared] = -EIO;
    }
    size_t in = 0;
    bool ok = prepared == n;
    while (in < prepared) {
        int e = io_uring_submit(&q->ring);
        if (e == -EINTR)
            continue;
        if (e <= 0) {
            log_warn("io_uring_submit: %s: sending with send(2) from now on",
                     e < 0 ? strerror(-e) : "took nothing");
            ok = false;
            break;
        }
        in += (size_t)e;
    }
    for (size_t seen = 0; seen < in; seen++) {
        struct io_uring_cqe *cqe;
        int e;
        do
            e = io_uring_wait_cqe(&q->ring, &cqe);
        while (e == -EINTR);
        if (e < 0) {
            log_warn("io_uring_wait_cqe: %s: sending with send(2) from now on", strerror(-e));
            ok = false;
            break;
        }
        uint64_t i = io_uring_cqe_get_data64(cqe);
        if (i < in)
            res[i] = cqe->res;
        io_uring_cqe_seen(&q->ring, cqe);
    }
    *in_out = in;
    return ok;
}

void sendq_send(struct sendq *q, const struct sendq_item *items, size_t n, ssize_t *res)
{
    size_t done = 0;
    while (q->uring && done < n) {
        size_t k = n - done < SENDQ_DEPTH ? n - done : SENDQ_DEPTH;
        if (k == 1) { /* one send costs the same either way */
            res[done] = sendq_one(&items[done]);
            done++;
            continue;
        }
        size_t in = 0;
        bool ok = sendq_slice(q, items + done, k, res + done, &in);
        done += in;
        if (!ok) {
            io_uring_queue_exit(&q->ring);
            q->uring = false;
        }
    }
    for (; done < n; done++)
        res[done] = sendq_one(&items[done]);
}
