/* pubload: publishes "t=<ns> seq=<n>" messages to an HTTP publisher (nchan)
 * over keep-alive connections, then a last message "END".
 *
 * Model: --conns C connections (1 keeps the order), each with up to --depth D
 * pipelined POSTs in flight; --rate R per second on absolute deadlines, or
 * flat out with 0. --wait-file F: start once F exists. Responses are read as
 * status line + headers + Content-Length body and counted by status.
 * Single-threaded, one epoll loop. Output: one JSON line. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS 64
#define BUF_SIZE  (1 << 20)

typedef struct conn {
    int fd;
    int inflight;
    size_t out_len, out_off;
    char *out;
    size_t in_len;
    char *in;
} conn;

static struct {
    const char *host, *path, *wait_file;
    int port, conns, depth;
    double rate;
    unsigned long long count;
} opt = {"127.0.0.1", "/pub", NULL, 80, 1, 64, 0, 1000};

static conn cs[MAX_CONNS];
static unsigned long long sent, answered, status[600];

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void queue_msg(conn *c, const char *body)
{
    size_t bl = strlen(body);
    if (c->out_off == c->out_len)
        c->out_off = c->out_len = 0;
    int n = snprintf(c->out + c->out_len, BUF_SIZE - c->out_len,
                     "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: text/plain\r\n"
                     "Content-Length: %zu\r\n\r\n%s",
                     opt.path, opt.host, bl, body);
    c->out_len += (size_t)n;
    c->inflight++;
    sent++;
}

static void queue_seq(conn *c, unsigned long long seq)
{
    char body[96];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(body, sizeof(body), "t=%lld%09ld seq=%llu", (long long)ts.tv_sec, ts.tv_nsec, seq);
    queue_msg(c, body);
}

static void flush_out(conn *c)
{
    while (c->out_off < c->out_len) {
        ssize_t n = write(c->fd, c->out + c->out_off, c->out_len - c->out_off);
        if (n <= 0)
            return;
        c->out_off += (size_t)n;
    }
}

/* Whole responses off the front of c->in. */
static void parse_in(conn *c)
{
    for (;;) {
        c->in[c->in_len] = 0;
        char *end = strstr(c->in, "\r\n\r\n");
        if (!end)
            return;
        size_t hl = (size_t)(end + 4 - c->in), bl = 0;
        char *cl = strcasestr(c->in, "\r\nContent-Length:");
        if (cl && cl < end)
            bl = strtoul(cl + 17, NULL, 10);
        if (c->in_len < hl + bl)
            return;
        int code = 0;
        sscanf(c->in, "HTTP/1.%*d %d", &code);
        status[code > 0 && code < 600 ? code : 0]++;
        answered++;
        c->inflight--;
        memmove(c->in, c->in + hl + bl, c->in_len - hl - bl);
        c->in_len -= hl + bl;
    }
}

static int read_in(conn *c)
{
    for (;;) {
        ssize_t n = read(c->fd, c->in + c->in_len, BUF_SIZE - 1 - c->in_len);
        if (n < 0 && errno == EAGAIN)
            return 0;
        if (n <= 0)
            return -1;
        c->in_len += (size_t)n;
        parse_in(c);
    }
}

static int open_conn(conn *c, int epfd)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)opt.port)};
    inet_pton(AF_INET, opt.host, &a.sin_addr);
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&a, sizeof(a)) < 0)
        return -1;
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    fcntl(c->fd, F_SETFL, O_NONBLOCK);
    c->out = malloc(BUF_SIZE);
    c->in = malloc(BUF_SIZE);
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLET, .data.ptr = c};
    return epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev);
}

static void parse_args(int argc, char **argv)
{
    static const struct option lo[] = {
            {"host", 1, 0, 'h'},  {"port", 1, 0, 'p'},      {"path", 1, 0, 'P'},
            {"count", 1, 0, 'n'}, {"rate", 1, 0, 'r'},      {"conns", 1, 0, 'c'},
            {"depth", 1, 0, 'd'}, {"wait-file", 1, 0, 'w'}, {0, 0, 0, 0}};
    int ch;
    while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (ch) {
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
            opt.count = strtoull(optarg, NULL, 10);
            break;
        case 'r':
            opt.rate = atof(optarg);
            break;
        case 'c':
            opt.conns = atoi(optarg);
            break;
        case 'd':
            opt.depth = atoi(optarg);
            break;
        case 'w':
            opt.wait_file = optarg;
            break;
        default:
            fprintf(stderr, "usage: pubload [--host H] [--port P] [--path PATH] [--count N]\n"
                            "               [--rate R] [--conns C] [--depth D] [--wait-file F]\n");
            exit(2);
        }
    }
    if (opt.conns < 1 || opt.conns > MAX_CONNS || opt.depth < 1)
        exit(2);
}

static void wait_file(void)
{
    struct timespec tick = {0, 5000000};
    for (int i = 0; opt.wait_file && i < 600 * 200 && access(opt.wait_file, F_OK) != 0; i++)
        nanosleep(&tick, NULL);
}

/* Keeps every connection's pipeline full, or queues what the rate has made due. */
static void produce(unsigned long long *seq, uint64_t t0, int *rr)
{
    if (opt.rate > 0) {
        uint64_t due = (uint64_t)((double)(mono_ns() - t0) * opt.rate / 1e9) + 1;
        while (*seq < opt.count && *seq < due) {
            conn *c = &cs[(*rr)++ % opt.conns];
            queue_seq(c, (*seq)++);
        }
        return;
    }
    for (int i = 0; i < opt.conns; i++)
        while (*seq < opt.count && cs[i].inflight < opt.depth && cs[i].out_len < BUF_SIZE - 4096)
            queue_seq(&cs[i], (*seq)++);
}

int main(int argc, char **argv)
{
    parse_args(argc, argv);
    int epfd = epoll_create1(EPOLL_CLOEXEC);
    for (int i = 0; i < opt.conns; i++)
        if (open_conn(&cs[i], epfd) < 0) {
            perror("pubload: connect");
            return 1;
        }
    wait_file();
    uint64_t t0 = mono_ns(), t_last = 0;
    unsigned long long seq = 0;
    int rr = 0, ended = 0, broken = 0;
    struct epoll_event evs[MAX_CONNS];
    while (!broken) {
        produce(&seq, t0, &rr);
        if (seq == opt.count && !t_last)
            t_last = mono_ns();
        if (seq == opt.count && !ended && answered == sent) {
            /* Every message acknowledged: the end marker, behind all of them. */
            queue_msg(&cs[0], "END");
            ended = 1;
        }
        for (int i = 0; i < opt.conns; i++)
            flush_out(&cs[i]);
        if (ended && answered == sent)
            break;
        int to = opt.rate > 0 ? 1 : 100;
        int n = epoll_wait(epfd, evs, MAX_CONNS, to);
        for (int i = 0; i < n; i++)
            if (read_in(evs[i].data.ptr) < 0)
                broken = 1;
    }
    uint64_t t_acked = mono_ns();
    double pub_s = (t_acked - t0) / 1e9;
    printf("{\"sent\":%llu,\"answered\":%llu,\"status\":{", sent, answered);
    int first = 1;
    for (int c = 0; c < 600; c++)
        if (status[c]) {
            printf("%s\"%d\":%llu", first ? "" : ",", c, status[c]);
            first = 0;
        }
    printf("},\"publish_s\":%.3f,\"msgs_per_s\":%.1f,\"broken\":%d}\n", pub_s,
           pub_s > 0 ? (double)opt.count / pub_s : 0, broken);
    return broken;
}
