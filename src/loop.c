/* loop.c -- the event loop: see loop.h. */
#include "loop.h"
#include "alloc.h"
#include "log.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

struct handler {
    int fd;
    loop_io_fn *fn;
    void *arg;
    bool dead;            /* deleted during this round; freed after it */
    struct handler *next; /* in the table bucket, or in the graveyard */
};

struct timer {
    uint64_t id;
    int64_t when;
    loop_fn *fn;
    void *arg;
    struct timer *next; /* sorted by when */
};

struct post {
    loop_fn *fn;
    void *arg;
    struct post *next;
};

#define LOOP_BUCKETS 1024

struct loop {
    int epfd;
    int wakefd;
    atomic_bool stop;                    /* set by loop_stop() from any thread */
    struct handler *table[LOOP_BUCKETS]; /* fd -> handler */
    struct handler *graveyard;
    struct timer *timers;
    uint64_t next_timer_id;
    pthread_mutex_t post_lock;
    struct post *posts, *posts_tail;
};

int64_t loop_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct handler *loop_find(struct loop *l, int fd)
{
    for (struct handler *h = l->table[fd % LOOP_BUCKETS]; h; h = h->next)
        if (h->fd == fd && !h->dead)
            return h;
    return NULL;
}

static void loop_wake_read(struct loop *l, int fd, uint32_t events, void *arg)
{
    (void)events;
    (void)arg;
    uint64_t n;
    (void)!read(fd, &n, sizeof(n));
    /* Take the whole queue under the lock, run it outside. */
    pthread_mutex_lock(&l->post_lock);
    struct post *p = l->posts;
    l->posts = l->posts_tail = NULL;
    pthread_mutex_unlock(&l->post_lock);
    while (p) {
        struct post *next = p->next;
        p->fn(l, p->arg);
        free(p);
        p = next;
    }
}

struct loop *loop_new(void)
{
    struct loop *l = xcalloc(1, sizeof(*l));
    l->epfd = epoll_create1(EPOLL_CLOEXEC);
    l->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (l->epfd < 0 || l->wakefd < 0) {
        log_error("event loop: %s", strerror(errno));
        if (l->epfd >= 0)
            close(l->epfd);
        if (l->wakefd >= 0)
            close(l->wakefd);
        free(l);
        return NULL;
    }
    pthread_mutex_init(&l->post_lock, NULL);
    loop_add(l, l->wakefd, EPOLLIN, loop_wake_read, NULL);
    return l;
}

static void loop_bury(struct loop *l)
{
    while (l->graveyard) {
        struct handler *h = l->graveyard;
        l->graveyard = h->next;
        free(h);
    }
}

void loop_free(struct loop *l)
{
    if (!l)
        return;
    for (int i = 0; i < LOOP_BUCKETS; i++) {
        struct handler *h = l->table[i];
        while (h) {
            struct handler *next = h->next;
            free(h);
            h = next;
        }
    }
    loop_bury(l);
    while (l->timers) {
        struct timer *t = l->timers;
        l->timers = t->next;
        free(t);
    }
    while (l->posts) {
        struct post *p = l->posts;
        l->posts = p->next;
        free(p);
    }
    close(l->epfd);
    close(l->wakefd);
    pthread_mutex_destroy(&l->post_lock);
    free(l);
}

int loop_add(struct loop *l, int fd, uint32_t events, loop_io_fn *fn, void *arg)
{
    struct handler *h = xcalloc(1, sizeof(*h));
    h->fd = fd;
    h->fn = fn;
    h->arg = arg;
    struct epoll_event ev = {.events = events, .data.ptr = h};
    if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
        free(h);
        return -1;
    }
    h->next = l->table[fd % LOOP_BUCKETS];
    l->table[fd % LOOP_BUCKETS] = h;
    return 0;
}

int loop_mod(struct loop *l, int fd, uint32_t events)
{
    struct handler *h = loop_find(l, fd);
    if (!h)
        return -1;
    struct epoll_event ev = {.events = events, .data.ptr = h};
    return epoll_ctl(l->epfd, EPOLL_CTL_MOD, fd, &ev);
}

void loop_del(struct loop *l, int fd)
{
    struct handler **pp = &l->table[fd % LOOP_BUCKETS];
    while (*pp) {
        struct handler *h = *pp;
        if (h->fd == fd && !h->dead) {
            *pp = h->next;
            epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
            /* Events for it may already sit in this round's batch: keep
             * the memory until the round is over. */
            h->dead = true;
            h->next = l->graveyard;
            l->graveyard = h;
            return;
        }
        pp = &h->next;
    }
}

uint64_t loop_timer(struct loop *l, int64_t ms, loop_fn *fn, void *arg)
{
    struct timer *t = xcalloc(1, sizeof(*t));
    t->id = ++l->next_timer_id;
    t->when = loop_now() + ms;
    t->fn = fn;
    t->arg = arg;
    struct timer **pp = &l->timers;
    while (*pp && (*pp)->when <= t->when)
        pp = &(*pp)->next;
    t->next = *pp;
    *pp = t;
    return t->id;
}

void loop_cancel(struct loop *l, uint64_t id)
{
    for (struct timer **pp = &l->timers; *pp; pp = &(*pp)->next) {
        if ((*pp)->id == id) {
            struct timer *t = *pp;
            *pp = t->next;
            free(t);
            return;
        }
    }
}

void loop_post(struct loop *l, loop_fn *fn, void *arg)
{
    struct post *p = xcalloc(1, sizeof(*p));
    p->fn = fn;
    p->arg = arg;
    pthread_mutex_lock(&l->post_lock);
    if (l->posts_tail)
        l->posts_tail->next = p;
    else
        l->posts = p;
    l->posts_tail = p;
    pthread_mutex_unlock(&l->post_lock);
    uint64_t one = 1;
    (void)!write(l->wakefd, &one, sizeof(one));
}

void loop_stop(struct loop *l)
{
    atomic_store(&l->stop, true);
    uint64_t one = 1;
    (void)!write(l->wakefd, &one, sizeof(one));
}

static void loop_run_timers(struct loop *l)
{
    int64_t now = loop_now();
    while (l->timers && l->timers->when <= now) {
        struct timer *t = l->timers;
        l->timers = t->next;
        t->fn(l, t->arg);
        free(t);
    }
}

void loop_run(struct loop *l)
{
    struct epoll_event events[256];
    while (!atomic_load(&l->stop)) {
        int timeout = -1;
        if (l->timers) {
            int64_t d = l->timers->when - loop_now();
            timeout = d < 0 ? 0 : d > 60000 ? 60000 : (int)d;
        }
        int n = epoll_wait(l->epfd, events, 256, timeout);
        if (n < 0 && errno != EINTR) {
            log_error("event loop: epoll_wait: %s", strerror(errno));
            break;
        }
        for (int i = 0; i < n; i++) {
            struct handler *h = events[i].data.ptr;
            if (!h->dead)
                h->fn(l, h->fd, events[i].events, h->arg);
        }
        loop_bury(l);
        loop_run_timers(l);
    }
}
