/* sseload: many EventSource viewers on one stream, one epoll loop.
 *
 * Model: V viewers each open an HTTP/1.1 GET with Accept: text/event-stream
 * to host:port PATH, read a chunked or close-delimited body and parse it as
 * SSE (id, event, data, retry fields; comments). Every event whose data holds
 * "t=<ns CLOCK_REALTIME> seq=<n>" is checked: latency = receive time - t into
 * a 0.1 ms histogram; per viewer the seqs must be 0, 1, 2, ... exactly once
 * (a bitmap of --expect bits tells duplicates from late arrivals). A viewer
 * is done on a terminal event ("complete" or "error" event, or data "END"),
 * on a 204, or at --duration. With --reconnect a stream that ends otherwise
 * (or a failed connect) is retried after the retry delay with Last-Event-ID,
 * as EventSource does; a non-200 answer other than 204 is a dead viewer.
 *
 * Bounds: viewers <= MAX_VIEWERS; header block <= HDR_MAX bytes; an SSE line
 * or an event's data over LINE_MAX bytes is cut. Single-threaded.
 *
 * Output: one JSON line on stdout; "missing" counts over every viewer that
 * ever got a 200, "missing_done" over those that saw the end. --ready-file F
 * is created once every viewer has had its first answer (or failed), or after
 * --ready-timeout seconds. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_VIEWERS 100000
#define HDR_MAX     4096
#define LINE_MAX    4096
#define HIST_BINS   100000 /* 0.1 ms each: up to 10 s */
#define RETRY_MS    3000   /* EventSource's default before any retry: field */

enum vstate { V_IDLE, V_CONNECTING, V_HEADERS, V_BODY, V_WAIT, V_DONE, V_DEAD };
enum chstate { CH_SIZE, CH_EXT, CH_DATA, CH_DATA_END, CH_END };

typedef struct viewer {
    int fd;
    enum vstate state;
    int ever_ok;   /* got a 200 at least once */
    int got_event; /* received at least one event */
    int answered;  /* first answer (or failure) seen: counts for readiness */
    int chunked;
    enum chstate ch;
    uint64_t ch_left;
    uint64_t due_ns; /* V_IDLE / V_WAIT: when to connect */
    uint64_t next_seq;
    uint64_t distinct;
    uint8_t *seen; /* --expect bits */
    int retry_ms;
    char last_id[64];
    char cur_id[64];
    int has_cur_id;
    char cur_event[32];
    size_t hdr_len;
    char *hdr; /* HDR_MAX while in headers */
    size_t line_len;
    char line[LINE_MAX];
    size_t data_len;
    char data[LINE_MAX];
} viewer;

static struct {
    const char *host, *path, *ready_file;
    int port, viewers, reconnect;
    double duration, ready_timeout, pace_us;
    uint64_t expect;
} opt = {"127.0.0.1", "/", NULL, 80, 1, 0, 60, 60, 0, 0};

static struct {
    uint64_t connected, connect_errors, io_errors, eof_before_answer, events, seq_events;
    uint64_t missing, duplicates, out_of_order, reconnects, ended_early, done, dead;
    uint64_t status[600];
    uint64_t hist[HIST_BINS + 1];
    uint64_t lat_max_us, first_t_ns, last_recv_ns, first_recv_ns;
    uint64_t ready_ns;
} st;

static volatile sig_atomic_t stop;
static viewer *vs;
static int epfd;
static struct sockaddr_in addr;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void v_close(viewer *v)
{
    if (v->fd >= 0) {
        close(v->fd);
        v->fd = -1;
    }
    free(v->hdr);
    v->hdr = NULL;
}

static void v_dead(viewer *v)
{
    v_close(v);
    v->state = V_DEAD;
    v->answered = 1;
    st.dead++;
}

static void v_done(viewer *v)
{
    v_close(v);
    v->state = V_DONE;
    v->answered = 1;
    st.done++;
}

/* The stream ended without a terminal event, or the connection failed. */
static void v_lost(viewer *v)
{
    v_close(v);
    if (!opt.reconnect) {
        st.ended_early++;
        v->state = V_DEAD;
        v->answered = 1;
        st.dead++;
        return;
    }
    v->state = V_WAIT;
    v->due_ns = now_ns() + (uint64_t)v->retry_ms * 1000000ull;
}

static void v_connect(viewer *v)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        perror("socket");
        exit(2);
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (v->state == V_WAIT)
        st.reconnects++;
    v->fd = fd;
    if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 && errno != EINPROGRESS) {
        st.connect_errors++;
        v->answered = 1;
        v_lost(v);
        return;
    }
    v->state = V_CONNECTING;
    struct epoll_event ev = {.events = EPOLLOUT | EPOLLIN | EPOLLRDHUP, .data.ptr = v};
    epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
}

static void v_send_request(viewer *v)
{
    char req[1024];
    int n = snprintf(req, sizeof(req),
                     "GET %s HTTP/1.1\r\nHost: %s\r\nAccept: text/event-stream\r\n"
                     "Cache-Control: no-cache\r\n%s%s%s\r\n",
                     opt.path, opt.host, v->last_id[0] ? "Last-Event-ID: " : "", v->last_id,
                     v->last_id[0] ? "\r\n" : "");
    /* A fresh socket's send buffer takes a request this small at once. */
    if (write(v->fd, req, (size_t)n) != n) {
        st.io_errors++;
        v->answered = 1;
        v_lost(v);
        return;
    }
    v->state = V_HEADERS;
    v->hdr = malloc(HDR_MAX);
    v->hdr_len = 0;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = v};
    epoll_ctl(epfd, EPOLL_CTL_MOD, v->fd, &ev);
}

static void hist_add(uint64_t us)
{
    uint64_t bin = us / 100;
    st.hist[bin > HIST_BINS ? HIST_BINS : bin]++;
    if (us > st.lat_max_us)
        st.lat_max_us = us;
}

static int parse_u64_after(const char *s, const char *key, uint64_t *out)
{
    const char *p = s;
    size_t kl = strlen(key);
    while ((p = strstr(p, key)) != NULL) {
        if (p == s || !((p[-1] >= 'a' && p[-1] <= 'z') || (p[-1] >= 'A' && p[-1] <= 'Z'))) {
            p += kl;
            if (*p < '0' || *p > '9')
                return -1;
            *out = strtoull(p, NULL, 10);
            return 0;
        }
        p += kl;
    }
    return -1;
}

static void check_seq(viewer *v, uint64_t seq)
{
    int seen = 0;
    if (v->seen && seq < opt.expect) {
        seen = v->seen[seq / 8] & (1u << (seq % 8));
        v->seen[seq / 8] |= (uint8_t)(1u << (seq % 8));
    }
    if (seq == v->next_seq) {
        v->next_seq++;
    } else if (seq > v->next_seq) {
        st.missing += seq - v->next_seq; /* taken back if they come late */
        v->next_seq = seq + 1;
    } else if (seen || !v->seen) {
        st.duplicates++;
        return;
    } else {
        st.out_of_order++;
        st.missing--;
    }
    v->distinct++;
}

static void dispatch(viewer *v)
{
    if (v->has_cur_id) {
        snprintf(v->last_id, sizeof(v->last_id), "%s", v->cur_id);
        v->has_cur_id = 0;
    }
    if (v->data_len == 0) {
        v->cur_event[0] = 0;
        return;
    }
    v->data[v->data_len] = 0;
    uint64_t now = now_ns(), t, seq;
    st.events++;
    v->got_event = 1;
    if (parse_u64_after(v->data, "t=", &t) == 0 && parse_u64_after(v->data, "seq=", &seq) == 0) {
        st.seq_events++;
        hist_add(now > t ? (now - t) / 1000 : 0);
        if (!st.first_t_ns || t < st.first_t_ns)
            st.first_t_ns = t;
        if (!st.first_recv_ns)
            st.first_recv_ns = now;
        st.last_recv_ns = now;
        check_seq(v, seq);
    }
    int terminal = !strcmp(v->cur_event, "complete") || !strcmp(v->cur_event, "error") ||
                   !strcmp(v->data, "END");
    v->data_len = 0;
    v->cur_event[0] = 0;
    if (terminal)
        v_done(v);
}

static void sse_line(viewer *v)
{
    char *l = v->line;
    size_t n = v->line_len;
    if (n && l[n - 1] == '\r')
        n--;
    l[n] = 0;
    if (n == 0) {
        dispatch(v);
        return;
    }
    if (l[0] == ':')
        return;
    char *val = strchr(l, ':');
    if (val) {
        *val++ = 0;
        if (*val == ' ')
            val++;
    } else {
        val = l + n;
    }
    if (!strcmp(l, "data")) {
        size_t vl = strlen(val);
        if (v->data_len && v->data_len < LINE_MAX - 1)
            v->data[v->data_len++] = '\n';
        if (vl > LINE_MAX - 1 - v->data_len)
            vl = LINE_MAX - 1 - v->data_len;
        memcpy(v->data + v->data_len, val, vl);
        v->data_len += vl;
    } else if (!strcmp(l, "id")) {
        snprintf(v->cur_id, sizeof(v->cur_id), "%s", val);
        v->has_cur_id = 1;
    } else if (!strcmp(l, "event")) {
        snprintf(v->cur_event, sizeof(v->cur_event), "%s", val);
    } else if (!strcmp(l, "retry")) {
        if (*val >= '0' && *val <= '9')
            v->retry_ms = atoi(val);
    }
}

/* SSE bytes of the body, dechunked. Returns 0 once the viewer is done. */
static int sse_feed(viewer *v, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '\n') {
            sse_line(v);
            v->line_len = 0;
            if (v->state != V_BODY)
                return 0;
        } else if (v->line_len < LINE_MAX - 1) {
            v->line[v->line_len++] = p[i];
        }
    }
    return 1;
}

/* Body bytes; returns 0 when the viewer left V_BODY (done / stream end). */
static int body_feed(viewer *v, const char *p, size_t n)
{
    if (!v->chunked)
        return sse_feed(v, p, n);
    size_t i = 0;
    while (i < n) {
        char c = p[i];
        switch (v->ch) {
        case CH_SIZE:
            if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')) {
                int d = c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
                v->ch_left = v->ch_left * 16 + (uint64_t)d;
            } else if (c == '\n') {
                v->ch = v->ch_left ? CH_DATA : CH_END;
            } else {
                v->ch = CH_EXT;
            }
            i++;
            break;
        case CH_EXT:
            if (c == '\n')
                v->ch = v->ch_left ? CH_DATA : CH_END;
            i++;
            break;
        case CH_DATA: {
            size_t take = n - i < v->ch_left ? n - i : (size_t)v->ch_left;
            if (!sse_feed(v, p + i, take))
                return 0;
            i += take;
            v->ch_left -= take;
            if (!v->ch_left)
                v->ch = CH_DATA_END;
            break;
        }
        case CH_DATA_END:
            if (c == '\n') {
                v->ch = CH_SIZE;
                v->ch_left = 0;
            }
            i++;
            break;
        case CH_END:
            v_lost(v); /* the response ended without a terminal event */
            return 0;
        }
    }
    if (v->ch == CH_END) {
        v_lost(v);
        return 0;
    }
    return 1;
}

static int header_has(const char *h, const char *name, const char *val)
{
    size_t nl = strlen(name);
    for (const char *l = h; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
        if (!strncasecmp(l, name, nl) && l[nl] == ':') {
            const char *e = strchr(l, '\n');
            size_t len = e ? (size_t)(e - l) : strlen(l);
            char tmp[256];
            snprintf(tmp, sizeof(tmp), "%.*s", (int)len, l);
            return strcasestr(tmp, val) != NULL;
        }
    }
    return 0;
}

/* Header bytes; on the end of the block hands the rest to body_feed. */
static void headers_feed(viewer *v, const char *p, size_t n)
{
    size_t room = HDR_MAX - 1 - v->hdr_len, take = n < room ? n : room;
    memcpy(v->hdr + v->hdr_len, p, take);
    v->hdr_len += take;
    v->hdr[v->hdr_len] = 0;
    char *end = strstr(v->hdr, "\r\n\r\n");
    if (!end) {
        if (v->hdr_len >= HDR_MAX - 1) {
            st.io_errors++;
            v_dead(v);
        }
        return;
    }
    size_t consumed_hdr = (size_t)(end + 4 - v->hdr);
    size_t rest_off = take - (v->hdr_len - consumed_hdr);
    int code = 0;
    if (sscanf(v->hdr, "HTTP/1.%*d %d", &code) != 1 || code < 100 || code > 599)
        code = 0;
    st.status[code]++;
    v->answered = 1;
    if (code == 204) {
        v_done(v);
        return;
    }
    if (code != 200) {
        v_dead(v);
        return;
    }
    if (!v->ever_ok)
        st.connected++;
    v->ever_ok = 1;
    *end = 0;
    v->chunked = header_has(v->hdr, "Transfer-Encoding", "chunked");
    v->ch = CH_SIZE;
    v->ch_left = 0;
    v->line_len = v->data_len = 0;
    v->has_cur_id = 0;
    v->cur_event[0] = 0;
    free(v->hdr);
    v->hdr = NULL;
    v->state = V_BODY;
    if (rest_off < n)
        body_feed(v, p + rest_off, n - rest_off);
}

static char rbuf[1 << 16];

static void v_event(viewer *v, uint32_t events)
{
    if (v->state == V_CONNECTING) {
        int err = 0;
        socklen_t len = sizeof(err);
        getsockopt(v->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err || (events & EPOLLERR)) {
            st.connect_errors++;
            v->answered = 1;
            v_lost(v);
            return;
        }
        if (events & EPOLLOUT)
            v_send_request(v);
        return;
    }
    for (;;) {
        ssize_t n = read(v->fd, rbuf, sizeof(rbuf));
        if (n < 0 && errno == EAGAIN)
            return;
        if (n <= 0) {
            if (v->state == V_HEADERS) {
                if (n < 0)
                    st.io_errors++;
                else
                    st.eof_before_answer++;
                v->answered = 1;
            }
            v_lost(v);
            return;
        }
        if (v->state == V_HEADERS)
            headers_feed(v, rbuf, (size_t)n);
        else if (v->state == V_BODY)
            body_feed(v, rbuf, (size_t)n);
        if (v->state != V_HEADERS && v->state != V_BODY)
            return;
    }
}

static uint64_t hist_pct(double q)
{
    uint64_t total = 0, acc = 0;
    for (int i = 0; i <= HIST_BINS; i++)
        total += st.hist[i];
    if (!total)
        return 0;
    uint64_t want = (uint64_t)(q * (double)total);
    if (want >= total)
        want = total - 1;
    for (int i = 0; i <= HIST_BINS; i++) {
        acc += st.hist[i];
        if (acc > want)
            return (uint64_t)i * 100 + 50;
    }
    return 0;
}

static void report(double elapsed)
{
    uint64_t got_stream = 0, missing = st.missing, missing_done = 0;
    for (int i = 0; i < opt.viewers; i++)
        got_stream += vs[i].ever_ok && vs[i].got_event;
    if (opt.expect) {
        missing = 0;
        for (int i = 0; i < opt.viewers; i++)
            if (vs[i].ever_ok && vs[i].distinct < opt.expect) {
                missing += opt.expect - vs[i].distinct;
                if (vs[i].state == V_DONE)
                    missing_done += opt.expect - vs[i].distinct;
            }
    }
    printf("{\"viewers\":%d,\"connected\":%llu,\"got_stream\":%llu,\"status\":{", opt.viewers,
           (unsigned long long)st.connected, (unsigned long long)got_stream);
    int first = 1;
    for (int c = 0; c < 600; c++)
        if (st.status[c]) {
            printf("%s\"%d\":%llu", first ? "" : ",", c, (unsigned long long)st.status[c]);
            first = 0;
        }
    printf("},\"connect_errors\":%llu,\"io_errors\":%llu,\"eof_before_answer\":%llu,"
           "\"events\":%llu,\"seq_events\":%llu,\"missing\":%llu,\"duplicates\":%llu,"
           "\"missing_done\":%llu,\"out_of_order\":%llu,\"lat_p50_ms\":%.2f,\"lat_p99_ms\":%.2f,"
           "\"lat_max_ms\":%.2f,"
           "\"reconnects\":%llu,\"ended_early\":%llu,\"done\":%llu,\"dead\":%llu,"
           "\"first_t_ns\":%llu,\"first_recv_ns\":%llu,\"last_recv_ns\":%llu,"
           "\"ready_s\":%.3f,\"elapsed_s\":%.3f}\n",
           (unsigned long long)st.connect_errors, (unsigned long long)st.io_errors,
           (unsigned long long)st.eof_before_answer, (unsigned long long)st.events,
           (unsigned long long)st.seq_events, (unsigned long long)missing,
           (unsigned long long)st.duplicates, (unsigned long long)missing_done,
           (unsigned long long)st.out_of_order, hist_pct(0.50) / 1000.0, hist_pct(0.99) / 1000.0,
           st.lat_max_us / 1000.0, (unsigned long long)st.reconnects,
           (unsigned long long)st.ended_early, (unsigned long long)st.done,
           (unsigned long long)st.dead, (unsigned long long)st.first_t_ns,
           (unsigned long long)st.first_recv_ns, (unsigned long long)st.last_recv_ns,
           st.ready_ns / 1e9, elapsed);
    fflush(stdout);
}

static void usage(void)
{
    fprintf(stderr, "usage: sseload [--host H] [--port P] [--path PATH] [--viewers N]\n"
                    "               [--pace-us US] [--duration S] [--expect N] [--reconnect]\n"
                    "               [--ready-file F] [--ready-timeout S]\n");
    exit(2);
}

static void parse_args(int argc, char **argv)
{
    static const struct option lo[] = {{"host", 1, 0, 'h'},
                                       {"port", 1, 0, 'p'},
                                       {"path", 1, 0, 'P'},
                                       {"viewers", 1, 0, 'n'},
                                       {"pace-us", 1, 0, 'c'},
                                       {"duration", 1, 0, 'd'},
                                       {"expect", 1, 0, 'e'},
                                       {"reconnect", 0, 0, 'r'},
                                       {"ready-file", 1, 0, 'f'},
                                       {"ready-timeout", 1, 0, 't'},
                                       {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (c) {
        case 'h':
            opt.host = optarg;
            break;
        case 'p':
            opt.port = atoi(optarg);
            break;
        case 'P':
            opt.path = optarg;
            break;
        case 'n':
            opt.viewers = atoi(optarg);
            break;
        case 'c':
            opt.pace_us = atof(optarg);
            break;
        case 'd':
            opt.duration = atof(optarg);
            break;
        case 'e':
            opt.expect = strtoull(optarg, NULL, 10);
            break;
        case 'r':
            opt.reconnect = 1;
            break;
        case 'f':
            opt.ready_file = optarg;
            break;
        case 't':
            opt.ready_timeout = atof(optarg);
            break;
        default:
            usage();
        }
    }
    if (opt.viewers < 1 || opt.viewers > MAX_VIEWERS)
        usage();
}

static void raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static void mark_ready(uint64_t start)
{
    st.ready_ns = now_ns() - start;
    if (opt.ready_file) {
        int fd = open(opt.ready_file, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0)
            close(fd);
    }
}

/* Reconnects due, readiness; returns the viewers still active. */
static int scan(uint64_t now, uint64_t *next_due, int *ready, uint64_t start,
                uint64_t ready_deadline)
{
    int active = 0, answered = 0;
    for (int i = 0; i < opt.viewers; i++) {
        viewer *v = &vs[i];
        answered += v->answered;
        if (v->state == V_WAIT && v->due_ns <= now)
            v_connect(v);
        if ((v->state == V_WAIT || v->state == V_IDLE) && v->due_ns < *next_due)
            *next_due = v->due_ns;
        active += v->state != V_DONE && v->state != V_DEAD;
    }
    if (!*ready && (answered == opt.viewers || now >= ready_deadline)) {
        mark_ready(start);
        *ready = 1;
    }
    return active;
}

int main(int argc, char **argv)
{
    parse_args(argc, argv);
    raise_nofile();
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)opt.port);
    if (inet_pton(AF_INET, opt.host, &addr.sin_addr) != 1)
        usage();
    vs = calloc((size_t)opt.viewers, sizeof(*vs));
    epfd = epoll_create1(EPOLL_CLOEXEC);
    signal(SIGTERM, on_signal); /* stop and report what was seen */
    signal(SIGINT, on_signal);
    uint64_t start = now_ns(), deadline = start + (uint64_t)(opt.duration * 1e9);
    uint64_t ready_deadline = start + (uint64_t)(opt.ready_timeout * 1e9);
    for (int i = 0; i < opt.viewers; i++) {
        vs[i].fd = -1;
        vs[i].retry_ms = RETRY_MS;
        vs[i].due_ns = start + (uint64_t)(opt.pace_us * 1000.0 * i);
        if (opt.expect)
            vs[i].seen = calloc((size_t)(opt.expect + 7) / 8, 1);
    }
    int ready = 0, next_idle = 0, active = 1;
    uint64_t next_due = start, next_scan = 0;
    struct epoll_event evs[1024];
    for (;;) {
        uint64_t now = now_ns();
        while (next_idle < opt.viewers && vs[next_idle].due_ns <= now)
            v_connect(&vs[next_idle++]);
        if (next_idle < opt.viewers && vs[next_idle].due_ns < next_due)
            next_due = vs[next_idle].due_ns;
        /* The whole table every 10 ms at most: reconnects, readiness, the end. */
        if (now >= next_scan || now >= next_due) {
            next_scan = now + 10000000ull;
            next_due = deadline;
            active = scan(now, &next_due, &ready, start, ready_deadline);
        }
        if (!active || now >= deadline || stop)
            break;
        int to = (int)((next_due > now ? next_due - now : 0) / 1000000) + 1;
        if (to > 10)
            to = 10;
        int n = epoll_wait(epfd, evs, 1024, to);
        for (int i = 0; i < n; i++) {
            viewer *v = evs[i].data.ptr;
            if (v->fd >= 0)
                v_event(v, evs[i].events);
        }
    }
    if (!ready)
        mark_ready(start);
    report((now_ns() - start) / 1e9);
    return 0;
}
