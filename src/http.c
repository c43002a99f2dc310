/* http.c -- the FastCGI side: see http.h.
 *
 * libfcgi is used with its documented FCGX_Request fields plus two that its
 * header marks internal but that have kept their meaning since 1996: ipcFd
 * (the connection; set by us before FCGX_Accept_r so it reads from our
 * accepted socket, and taken back by http_detach) and keepConnection (set
 * before the first FCGX_Accept_r on a new connection so its opening
 * FCGX_Finish_r does not close it). The request's listen socket is -1, so
 * libfcgi never accepts by itself: when a kept connection ends, its accept
 * fails at once and the thread goes back to our loop. */
#include "http.h"
#include "alloc.h"
#include "buf.h"
#include "config.h"
#include "log.h"
#include "loop.h"
#include "metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define HTTP_IO_TIMEOUT_S        30
#define HTTP_ACCEPT_LOG_EVERY_MS 5000
#define HTTP_WRITE_CHUNK         (64 * 1024) /* the deadline is checked between chunks */

/* The request a thread is answering: its connection and the moment its
 * answer must be written by (--request-timeout after it was read). A
 * client that reads an answer slower than that is dropped, so a few slow
 * readers cannot hold every request thread (streams are not concerned:
 * they leave the thread). */
struct http_current {
    int fd;
    int watch_fd; /* the request thread's watched descriptor (http_reading), or -1 */
    int timeout_s;
    long long deadline_ms; /* CLOCK_MONOTONIC */
    bool dropped;
};
static _Thread_local struct http_current http_current = {-1, -1, 0, 0, false};

/* A request thread's connection while it reads a request (FCGX_Accept_r)
 * or its body (http_read_body). libfcgi's reads are bounded one by one
 * (SO_RCVTIMEO), so a peer that trickles a byte at a time could hold the
 * thread for ever, and http_stop would wait for it. The watchdog shuts the
 * connection down when the whole read outlives --request-timeout, counted
 * and logged (cut), and http_stop shuts down its reading side at once, so
 * that a request already in is still answered. A kept connection's wait
 * for its next request is watched too, but quietly (kept): an idle kept
 * connection is nobody's fault. fd is a duplicate of the connection's
 * descriptor, kept open by the thread for the connection's life: libfcgi
 * may close the connection's own descriptor inside a read, and accept may
 * reuse its number at once, but never this one's while it is watched. */
struct http_reading {
    pthread_mutex_t lock;
    int fd;                /* -1: not reading */
    long long deadline_ms; /* CLOCK_MONOTONIC */
    bool kept;
    bool cut; /* shut down at its deadline */
};

struct http {
    const struct config *cfg;
    const struct http_handler *handler;
    void *arg; /* for handler->thread_init */
    int listen_fd;
    int stop_fd;
    atomic_bool stopping;
    pthread_t *threads;
    struct http_reading *reading; /* one per thread */
    int nthreads;
    pthread_t watchdog;
    bool watching;
};

static const char *status_text(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 202:
        return "Accepted";
    case 204:
        return "No Content";
    case 400:
        return "Bad Request";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 409:
        return "Conflict";
    case 413:
        return "Payload Too Large";
    case 429:
        return "Too Many Requests";
    case 503:
        return "Service Unavailable";
    default:
        return "Internal Server Error";
    }
}

/* The current request's client did not take its answer in time: shut the
 * connection down (libfcgi's writes then fail at once, and FCGX_Finish_r
 * closes it), count it and say so. */
static void http_drop_slow_client(struct http_current *c, size_t len)
{
    if (c->fd >= 0)
        shutdown(c->fd, SHUT_RDWR);
    c->dropped = true;
    metrics_add(METRIC_HTTP_DROPPED, 1);
    log_warn("dropped a client that did not read a %zu-byte answer within %d s", len, c->timeout_s);
}

/* Writes body in chunks, each with a send timeout of what is left of the
 * request's deadline, which is checked between chunks: a client is given
 * all of --request-timeout, however long, and dropped (and counted) at it. */
static void http_put_body(FCGX_Request *req, const char *body, size_t len)
{
    struct http_current *c = &http_current;
    for (size_t off = 0; off < len && !c->dropped;) {
        long long left = c->deadline_ms - loop_now();
        if (c->fd < 0 || left <= 0) {
            http_drop_slow_client(c, len);
            break;
        }
        struct timeval tv = {(time_t)(left / 1000), (suseconds_t)(left % 1000) * 1000};
        setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
        size_t n = len - off < HTTP_WRITE_CHUNK ? len - off : HTTP_WRITE_CHUNK;
        if (FCGX_PutStr(body + off, (int)n, req->out) != (int)n) {
            /* A send that timed out at the deadline, or a client gone. */
            if (loop_now() >= c->deadline_ms)
                http_drop_slow_client(c, len);
            break;
        }
        off += n;
    }
}

/* The status line and headers into h, counted; len < 0: no Content-Length
 * (the body is written in pieces, and the web server frames it). */
static void http_format_headers(struct buf *h, int status, const char *content_type,
                                const char *extra_headers, long long len)
{
    /* Headers are formatted here: libfcgi's own printf lacks %zu. */
    buf_appendf(h, "Status: %d %s\r\n", status, status_text(status));
    if (content_type)
        buf_appendf(h, "Content-Type: %s\r\n", content_type);
    if (content_type && len >= 0)
        buf_appendf(h, "Content-Length: %lld\r\n", len);
    buf_appends(h, "Cache-Control: no-store\r\n");
    if (extra_headers)
        buf_appends(h, extra_headers);
    buf_appends(h, "\r\n");
    metrics_http(status);
}

static void http_put_headers(FCGX_Request *req, int status, const char *content_type,
                             const char *extra_headers, long long len)
{
    struct buf h;
    buf_init(&h);
    http_format_headers(&h, status, content_type, extra_headers, len);
    FCGX_PutStr(buf_head(&h), (int)buf_used(&h), req->out);
    buf_free(&h);
}

void http_format(struct buf *out, int status, const char *content_type, const char *extra_headers,
                 const char *body, size_t len)
{
    http_format_headers(out, status, content_type, extra_headers, (long long)len);
    if (body && len)
        buf_append(out, body, len);
}

/* {"error": msg}, for the caller to free with json_object_put(*o). */
static const char *http_error_json(const char *msg, struct json_object **o)
{
    *o = json_object_new_object();
    json_object_object_add(*o, "error", json_object_new_string(msg));
    return json_object_to_json_string_ext(*o,
                                          JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
}

void http_format_error(struct buf *out, int status, const char *extra_headers, const char *msg)
{
    struct json_object *o;
    const char *body = http_error_json(msg, &o);
    http_format(out, status, "application/json", extra_headers, body, strlen(body));
    json_object_put(o);
}

static bool http_is_head(FCGX_Request *req)
{
    const char *method = FCGX_GetParam("REQUEST_METHOD", req->envp);
    return method && strcmp(method, "HEAD") == 0;
}

void http_respond(FCGX_Request *req, int status, const char *content_type,
                  const char *extra_headers, const char *body, size_t len)
{
    http_put_headers(req, status, content_type, extra_headers, (long long)len);
    if (body && len && !http_is_head(req))
        http_put_body(req, body, len);
}

void http_begin(FCGX_Request *req, int status, const char *content_type)
{
    http_put_headers(req, status, content_type, NULL, -1);
}

bool http_write(FCGX_Request *req, const char *data, size_t len)
{
    if (http_is_head(req))
        return false; /* nothing more to write */
    http_put_body(req, data, len);
    return !http_current.dropped && FCGX_GetError(req->out) == 0;
}

void http_abort(FCGX_Request *req)
{
    (void)req;
    struct http_current *c = &http_current;
    if (c->fd >= 0)
        shutdown(c->fd, SHUT_RDWR);
    c->dropped = true;
}

void http_error(FCGX_Request *req, int status, const char *extra_headers, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    struct json_object *o;
    const char *body = http_error_json(msg, &o);
    http_respond(req, status, "application/json", extra_headers, body, strlen(body));
    json_object_put(o);
}

int http_detach(FCGX_Request *req)
{
    if (FCGX_FFlush(req->out) < 0 || req->ipcFd < 0)
        return -1;
    int fd = req->ipcFd;
    req->ipcFd = -1;
    /* Frees the streams and parameters without writing END_REQUEST and,
     * with ipcFd taken, without touching the connection. */
    FCGX_Free(req, 0);
    return fd;
}

/* ---- listening ---- */

/* --backlog, else the system's ceiling (net.core.somaxconn, which the
 * kernel would cut a larger one down to anyway), else SOMAXCONN: a storm
 * of new streams queues at the listening socket while the request threads
 * take them, and a full queue is a 502 from the web server. */
static int http_backlog(const struct config *cfg)
{
    if (cfg->backlog > 0)
        return cfg->backlog;
    int n = 0;
    FILE *f = fopen("/proc/sys/net/core/somaxconn", "re");
    if (f) {
        if (fscanf(f, "%d", &n) != 1)
            n = 0;
        fclose(f);
    }
    return n > 0 ? n : SOMAXCONN;
}

static int listen_unix(const struct config *cfg, const char *path, char *err, size_t errlen)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(sa.sun_path)) {
        snprintf(err, errlen, "socket path %s is too long", path);
        return -1;
    }
    strcpy(sa.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        snprintf(err, errlen, "socket: %s", strerror(errno));
        return -1;
    }
    /* A socket file left by a previous run is removed, but only if nothing
     * answers on it: never steal a live server's socket. */
    struct stat st;
    if (stat(path, &st) == 0 && S_ISSOCK(st.st_mode)) {
        int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        bool live = probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0;
        if (probe >= 0)
            close(probe);
        if (live) {
            snprintf(err, errlen, "%s: another server is listening there", path);
            close(fd);
            return -1;
        }
        unlink(path);
    }
    /* The socket is bound under a temporary name and renamed into place once
     * it listens: a client that finds the path can connect (between bind and
     * listen it would be refused). A path too long for the temporary name is
     * bound directly. */
    struct sockaddr_un tmp = sa;
    int n = snprintf(tmp.sun_path, sizeof(tmp.sun_path), "%s.%d", path, (int)getpid());
    bool renamed = n > 0 && (size_t)n < sizeof(tmp.sun_path);
    const char *at = renamed ? tmp.sun_path : path;
    if (renamed)
        unlink(at);
    long mode = strtol(cfg->socket_mode, NULL, 8);
    if (bind(fd, (struct sockaddr *)(renamed ? &tmp : &sa), sizeof(sa)) < 0 ||
        chmod(at, (mode_t)mode) < 0 || listen(fd, http_backlog(cfg)) < 0 ||
        (renamed && rename(at, path) < 0)) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        if (renamed)
            unlink(at);
        close(fd);
        return -1;
    }
    return fd;
}

static int listen_tcp(const struct config *cfg, const char *addr, char *err, size_t errlen)
{
    char host[256];
    const char *colon = strrchr(addr, ':');
    if (!colon || colon == addr || !colon[1]) {
        snprintf(err, errlen, "listen address %s: expected unix:/path or host:port", addr);
        return -1;
    }
    size_t hlen = (size_t)(colon - addr);
    if (addr[0] == '[' && hlen >= 2 && addr[hlen - 1] == ']') { /* [::1]:9000 */
        addr++;
        hlen -= 2;
    }
    snprintf(host, sizeof(host), "%.*s", (int)hlen, addr);
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *res;
    int rc = getaddrinfo(host, colon + 1, &hints, &res);
    if (rc != 0) {
        snprintf(err, errlen, "listen address %s: %s", addr, gai_strerror(rc));
        return -1;
    }
    int fd = -1;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
            continue;
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, http_backlog(cfg)) == 0)
            break;
        snprintf(err, errlen, "listen on %s: %s", addr, strerror(errno));
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    return fd;
}

int http_listen(const struct config *cfg, char *err, size_t errlen)
{
    if (cfg->listen) {
        if (strncmp(cfg->listen, "unix:", 5) == 0)
            return listen_unix(cfg, cfg->listen + 5, err, errlen);
        return listen_tcp(cfg, cfg->listen, err, errlen);
    }
    /* Spawned by a web server or spawn-fcgi: fd 0 is the listening socket,
     * listening already, with the backlog its spawner gave it (--backlog
     * does not apply: spawn-fcgi's -b, or the web server's own setting). */
    int acc = 0;
    socklen_t len = sizeof(acc);
    if (getsockopt(0, SOL_SOCKET, SO_ACCEPTCONN, &acc, &len) < 0 || !acc) {
        snprintf(err, errlen,
                 "no --listen address, and file descriptor 0 is not a listening "
                 "socket (run under a web server or spawn-fcgi, or give --listen)");
        return -1;
    }
    int fl = fcntl(0, F_GETFL);
    fcntl(0, F_SETFL, fl | O_NONBLOCK);
    fcntl(0, F_SETFD, FD_CLOEXEC);
    return 0;
}

/* ---- request threads ---- */

/* The request thread's own server and watched read (http_thread). */
static _Thread_local struct http *http_self;
static _Thread_local struct http_reading *http_self_reading;

/* fd is read until deadline_ms. Once http_stop has begun, a read that
 * starts has its reading side shut down at once: its watch may already
 * have passed. */
static void http_reading_set(struct http *h, struct http_reading *rd, int fd, bool kept,
                             long long deadline_ms)
{
    pthread_mutex_lock(&rd->lock);
    rd->fd = fd;
    rd->kept = kept;
    rd->cut = false;
    rd->deadline_ms = deadline_ms;
    if (fd >= 0 && atomic_load(&h->stopping))
        shutdown(fd, SHUT_RD);
    pthread_mutex_unlock(&rd->lock);
}

/* Ends the watch; true when the watchdog cut the read at its deadline. */
static bool http_reading_end(struct http_reading *rd)
{
    pthread_mutex_lock(&rd->lock);
    bool cut = rd->cut;
    rd->fd = -1;
    pthread_mutex_unlock(&rd->lock);
    return cut;
}

/* Reads the connection's next request, under the watchdog (watch is the
 * connection's duplicate, or -1 for none). A kept connection first waits
 * quietly for the request's first bytes, which then has the whole
 * deadline. A request cut at its deadline is not handled, even if its last
 * byte came in as it was cut. */
static bool http_accept(struct http *h, struct http_reading *rd, FCGX_Request *req, int watch,
                        bool kept)
{
    long long timeout_ms = h->cfg->request_timeout * 1000LL;
    if (kept && watch >= 0) {
        http_reading_set(h, rd, watch, true, loop_now() + timeout_ms);
        struct pollfd p = {watch, POLLIN, 0};
        while (poll(&p, 1, -1) < 0 && errno == EINTR)
            ;
        http_reading_end(rd);
    }
    if (watch >= 0)
        http_reading_set(h, rd, watch, false, loop_now() + timeout_ms);
    bool ok = FCGX_Accept_r(req) == 0;
    if (watch >= 0 && http_reading_end(rd) && ok) {
        FCGX_Free(req, 1);
        ok = false;
    }
    return ok;
}

int http_read_body(FCGX_Request *req, char *buf, int max)
{
    struct http_reading *rd = http_current.watch_fd >= 0 ? http_self_reading : NULL;
    if (rd)
        http_reading_set(http_self, rd, http_current.watch_fd, false, http_current.deadline_ms);
    int n = FCGX_GetStr(buf, max, req->in);
    if (rd && http_reading_end(rd)) {
        http_current.dropped = true; /* cut: nothing more is written */
        return -1;
    }
    return n; /* short when the body ended or its read failed: the caller says so */
}

static void http_serve(struct http *h, struct http_reading *rd, FCGX_Request *req, void *state,
                       int fd)
{
    struct timeval tv = {HTTP_IO_TIMEOUT_S, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    /* Without a duplicate (no descriptor left), reads are bounded one by
     * one only. */
    int watch = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    req->ipcFd = fd;
    req->keepConnection = 1; /* see the comment at the top */
    for (bool kept = false; http_accept(h, rd, req, watch, kept); kept = true) {
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)); /* a kept connection's */
        http_current.fd = fd;
        http_current.watch_fd = watch;
        http_current.timeout_s = h->cfg->request_timeout;
        http_current.deadline_ms = loop_now() + h->cfg->request_timeout * 1000LL;
        http_current.dropped = false;
        h->handler->handle(state, req);
        if (req->ipcFd < 0)
            break; /* detached: the event loop has it */
        FCGX_Finish_r(req);
        if (req->ipcFd < 0)
            break; /* closed: the web server did not ask to keep it */
        if (atomic_load(&h->stopping)) {
            close(req->ipcFd);
            req->ipcFd = -1;
            break;
        }
    }
    http_current.watch_fd = -1;
    if (watch >= 0)
        close(watch);
}

/* Cuts what has read for too long; when stopping, shuts down the reading
 * side of everything being read (a request already in is still answered). */
static void http_watch(struct http *h, bool stopping)
{
    long long now = loop_now();
    for (int i = 0; i < h->nthreads; i++) {
        struct http_reading *rd = &h->reading[i];
        pthread_mutex_lock(&rd->lock);
        if (rd->fd >= 0 && !rd->cut && stopping) {
            shutdown(rd->fd, SHUT_RD);
        } else if (rd->fd >= 0 && !rd->cut && now >= rd->deadline_ms) {
            shutdown(rd->fd, SHUT_RDWR);
            rd->cut = true;
            if (!rd->kept) {
                metrics_add(METRIC_HTTP_DROPPED, 1);
                static long long last;
                if (log_due(&last, now, HTTP_ACCEPT_LOG_EVERY_MS))
                    log_warn("dropped a FastCGI connection that had not sent a whole request "
                             "within %d s",
                             h->cfg->request_timeout);
            }
        }
        pthread_mutex_unlock(&rd->lock);
    }
}

static void *http_watchdog(void *arg)
{
    struct http *h = arg;
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    struct pollfd pfd = {h->stop_fd, POLLIN, 0};
    while (!atomic_load(&h->stopping)) {
        if (poll(&pfd, 1, 1000) < 0 && errno != EINTR)
            break;
        http_watch(h, atomic_load(&h->stopping));
    }
    return NULL;
}

struct http_thread_arg {
    struct http *h;
    struct http_reading *rd;
};

static void *http_thread(void *arg)
{
    struct http *h = ((struct http_thread_arg *)arg)->h;
    struct http_reading *rd = ((struct http_thread_arg *)arg)->rd;
    free(arg);
    http_self = h;
    http_self_reading = rd;
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);

    FCGX_Request req;
    FCGX_InitRequest(&req, -1, 0);
    void *state = h->handler->thread_init(h->arg);
    while (!atomic_load(&h->stopping)) {
        struct pollfd pfd[2] = {{h->listen_fd, POLLIN, 0}, {h->stop_fd, POLLIN, 0}};
        if (poll(pfd, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (pfd[1].revents)
            break;
        int fd = accept4(h->listen_fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE) {
                static _Thread_local long long last;
                if (log_due(&last, loop_now(), HTTP_ACCEPT_LOG_EVERY_MS))
                    log_error("accept: %s (new connections wait in the backlog)", strerror(errno));
                usleep(100000);
            }
            continue;
        }
        http_serve(h, rd, &req, state, fd);
    }
    h->handler->thread_free(state);
    return NULL;
}

struct http *http_start(const struct config *cfg, int listen_fd, const struct http_handler *handler,
                        void *arg)
{
    if (FCGX_Init() != 0) {
        log_error("libfcgi failed to initialise");
        return NULL;
    }
    struct http *h = xcalloc(1, sizeof(*h));
    h->cfg = cfg;
    h->handler = handler;
    h->arg = arg;
    h->listen_fd = listen_fd;
    h->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    h->threads = xcalloc((size_t)cfg->threads, sizeof(pthread_t));
    h->reading = xcalloc((size_t)cfg->threads, sizeof(*h->reading));
    for (int i = 0; i < cfg->threads; i++) {
        pthread_mutex_init(&h->reading[i].lock, NULL);
        h->reading[i].fd = -1;
    }
    for (int i = 0; i < cfg->threads; i++) {
        struct http_thread_arg *ta = xmalloc(sizeof(*ta));
        *ta = (struct http_thread_arg){h, &h->reading[i]};
        int err = pthread_create(&h->threads[i], NULL, http_thread, ta);
        if (err != 0) {
            free(ta);
            log_error("cannot start request thread %d: %s", i, strerror(err));
            break;
        }
        h->nthreads++;
    }
    int err = pthread_create(&h->watchdog, NULL, http_watchdog, h);
    if (err != 0)
        log_error("cannot start the request watchdog: %s", strerror(err));
    h->watching = err == 0;
    return h;
}

void http_stop(struct http *h)
{
    if (!h)
        return;
    atomic_store(&h->stopping, true);
    uint64_t one = 1;
    (void)!write(h->stop_fd, &one, sizeof(one));
    if (h->watching)
        pthread_join(h->watchdog, NULL);
    http_watch(h, true); /* requests being read are not waited for */
    for (int i = 0; i < h->nthreads; i++)
        pthread_join(h->threads[i], NULL);
    for (int i = 0; i < h->cfg->threads; i++)
        pthread_mutex_destroy(&h->reading[i].lock);
    close(h->stop_fd);
    free(h->reading);
    free(h->threads);
    free(h);
}
