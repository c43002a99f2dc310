/* Unit tests of sendq.c: a batch of sends gives each item the result
 * send(2) would, through io_uring and without it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <liburing.h>
#include <unistd.h>

#include "sendq.h"

#define PAIRS 600 /* more than two slices of SENDQ_DEPTH */

/* Does the kernel give this process an io_uring (not an old kernel, not
 * kernel.io_uring_disabled, not a seccomp filter)? */
static bool uring_expected(void)
{
    struct io_uring ring;
    if (io_uring_queue_init(4, &ring, 0) < 0)
        return false;
    io_uring_queue_exit(&ring);
    return true;
}

static void pairs_open(int (*sv)[2], size_t n)
{
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv[i]), 0);
    }
}

static void pairs_close(int (*sv)[2], size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (sv[i][0] >= 0)
            close(sv[i][0]);
        if (sv[i][1] >= 0)
            close(sv[i][1]);
    }
}

/* Every item's bytes arrive on its own socket, and each result is its
 * length. */
static void sends_arrive(bool use_uring)
{
    static int sv[PAIRS][2];
    static char text[PAIRS][32];
    static struct sendq_item items[PAIRS];
    static ssize_t res[PAIRS];
    struct sendq *q = sendq_new(use_uring);
    assert_int_equal(sendq_uring(q), use_uring);
    pairs_open(sv, PAIRS);
    for (size_t i = 0; i < PAIRS; i++) {
        int len = snprintf(text[i], sizeof(text[i]), "event %zu\n", i);
        items[i] = (struct sendq_item){sv[i][0], text[i], (size_t)len};
    }
    sendq_send(q, items, PAIRS, res);
    for (size_t i = 0; i < PAIRS; i++) {
        char got[64];
        assert_int_equal(res[i], (ssize_t)items[i].len);
        ssize_t n = read(sv[i][1], got, sizeof(got));
        assert_int_equal(n, (ssize_t)items[i].len);
        assert_memory_equal(got, text[i], (size_t)n);
    }
    pairs_close(sv, PAIRS);
    sendq_free(q);
}

/* A full socket answers -EAGAIN at once, a socket whose peer is gone
 * -EPIPE (and no SIGPIPE), and the others in the same batch still go. */
static void full_and_gone(bool use_uring)
{
    int sv[3][2];
    pairs_open(sv, 3);
    static char block[1 << 16];
    memset(block, 'x', sizeof(block));
    while (send(sv[0][0], block, sizeof(block), MSG_DONTWAIT) > 0)
        ;
    close(sv[1][1]);
    sv[1][1] = -1;
    struct sendq *q = sendq_new(use_uring);
    struct sendq_item items[3] = {{sv[0][0], "a", 1}, {sv[1][0], "b", 1}, {sv[2][0], "c", 1}};
    ssize_t res[3];
    sendq_send(q, items, 3, res);
    assert_int_equal(res[0], -EAGAIN);
    assert_int_equal(res[1], -EPIPE);
    assert_int_equal(res[2], 1);
    char c;
    assert_int_equal(read(sv[2][1], &c, 1), 1);
    assert_int_equal(c, 'c');
    sendq_free(q);
    pairs_close(sv, 3);
}

static void test_a_batch_through_io_uring_reaches_every_socket(void **state)
{
    (void)state;
    if (!uring_expected())
        skip(); /* the kernel refuses io_uring here: sendq falls back, tested below */
    sends_arrive(true);
}

static void test_a_batch_without_io_uring_reaches_every_socket(void **state)
{
    (void)state;
    sends_arrive(false);
}

static void test_full_and_closed_sockets_through_io_uring(void **state)
{
    (void)state;
    if (!uring_expected())
        skip();
    full_and_gone(true);
}

static void test_full_and_closed_sockets_without_io_uring(void **state)
{
    (void)state;
    full_and_gone(false);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_a_batch_through_io_uring_reaches_every_socket),
            cmocka_unit_test(test_a_batch_without_io_uring_reaches_every_socket),
            cmocka_unit_test(test_full_and_closed_sockets_through_io_uring),
            cmocka_unit_test(test_full_and_closed_sockets_without_io_uring),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
