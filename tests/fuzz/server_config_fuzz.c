/*
 * server_config_fuzz: libFuzzer target for the settings file and the Redis
 * URL (config.c).
 *
 * Input: a settings file. It is written to a memfd and read by config_load
 * as `phasestream --config /proc/self/fd/N`, with none of the server's
 * variables in the environment; and every line of it is also parsed alone
 * as a Redis URL.
 *
 * The oracles: a rejection says why; accepted settings keep the checks
 * config_load documents (a key prefix of 1 to 64 bytes, a URL prefix that
 * starts and does not end with '/', positive thread and body limits, a TCP
 * address or a socket path for Redis). An accepted Redis URL is either a
 * unix socket (an absolute path) or a host and a port from 1 to 65535, with
 * a database from 0 to 1000000; written back as a URL (the password
 * percent-encoded) it parses to the same address. (A host with both ':'
 * and ']' has no such URL, since '[' ends at the first ']', and is left
 * out of that check.)
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config.h"
#include "server_fuzz.h"

static int config_fd = -1;
static char config_arg[64];

static bool same_str(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* Appends s percent-encoded (all but letters and digits) to out. */
static size_t url_encode(char *out, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= '0' && *p <= '9') || (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z')) {
            out[o++] = (char)*p;
        } else {
            out[o++] = '%';
            out[o++] = hex[*p >> 4];
            out[o++] = hex[*p & 15];
        }
    }
    out[o] = '\0';
    return o;
}

/* The address as a URL that must parse back to it. */
static char *redis_url(const struct redis_addr *a)
{
    size_t cap = 64 + 3 * (strlen(a->path ? a->path : a->host) + (a->user ? strlen(a->user) : 0) +
                           (a->password ? strlen(a->password) : 0));
    char *u = malloc(cap);
    if (!u)
        abort();
    if (a->path) {
        snprintf(u, cap, "unix://%s?db=%d", a->path, a->db);
        return u;
    }
    size_t o = (size_t)snprintf(u, cap, "redis://");
    if (a->password) {
        o += (size_t)snprintf(u + o, cap - o, "%s:", a->user ? a->user : "");
        o += url_encode(u + o, a->password);
        u[o++] = '@';
    }
    bool bracket = strchr(a->host, ':') || a->host[0] == '[';
    snprintf(u + o, cap - o, "%s%s%s:%d/%d", bracket ? "[" : "", a->host, bracket ? "]" : "",
             a->port, a->db);
    return u;
}

static void check_redis_url(const char *url)
{
    struct redis_addr a, back;
    char err[512] = "";
    if (config_parse_redis_url(url, &a, err, sizeof(err)) < 0) {
        if (!err[0])
            fuzz_fail("Redis URL \"%s\" rejected without a reason", url);
        return;
    }
    if (!a.path == !a.host || (a.path && a.path[0] != '/') ||
        (a.host && (!a.host[0] || a.port < 1 || a.port > 65535)) || a.db < 0 || a.db > 1000000 ||
        (a.user && !a.password))
        fuzz_fail("Redis URL \"%s\" accepted as host %s port %d path %s db %d", url,
                  a.host ? a.host : "-", a.port, a.path ? a.path : "-", a.db);
    if (a.host && strchr(a.host, ':') && strchr(a.host, ']')) {
        config_free_redis(&a); /* no URL spells that host: [ ends at the first ] */
        return;
    }
    char *again = redis_url(&a);
    if (config_parse_redis_url(again, &back, err, sizeof(err)) < 0)
        fuzz_fail("\"%s\" read from \"%s\" is rejected: %s", again, url, err);
    if (!same_str(a.host, back.host) || !same_str(a.path, back.path) || a.port != back.port ||
        a.db != back.db || !same_str(a.user, back.user) || !same_str(a.password, back.password))
        fuzz_fail("\"%s\" read from \"%s\" parses to another address", again, url);
    free(again);
    config_free_redis(&back);
    config_free_redis(&a);
}

static void check_config(const struct config *c)
{
    size_t kp = strlen(c->key_prefix), up = strlen(c->url_prefix);
    if (kp == 0 || kp > 64 || c->url_prefix[0] != '/' || (up > 1 && c->url_prefix[up - 1] == '/'))
        fuzz_fail("key prefix \"%s\", URL prefix \"%s\" accepted", c->key_prefix, c->url_prefix);
    if (c->threads < 1 || c->max_body < 64 || c->line_limit < 80 || c->max_events < 100 ||
        c->runners < 0 || (!c->http && !c->runners))
        fuzz_fail("threads %d, max-body %d, line-limit %d, max-events %d, runners %d accepted",
                  c->threads, c->max_body, c->line_limit, c->max_events, c->runners);
    if (!c->redis.path == !c->redis.host)
        fuzz_fail("Redis is neither a host nor a socket, or both");
}

static void check_settings(const uint8_t *data, size_t size)
{
    if (config_fd < 0) {
        config_fd = memfd_create("phasestream.conf", 0);
        if (config_fd < 0)
            abort();
        snprintf(config_arg, sizeof(config_arg), "/proc/self/fd/%d", config_fd);
        /* The settings under test come from the file alone. */
        clearenv();
    }
    if (ftruncate(config_fd, 0) < 0 || pwrite(config_fd, data, size, 0) != (ssize_t)size)
        abort();
    char *argv[] = {"phasestream", "--config", config_arg, NULL};
    struct config c;
    char err[1024] = "";
    enum config_result rc = config_load(&c, 3, argv, err, sizeof(err));
    if (rc == CONFIG_OK)
        check_config(&c);
    else if (rc != CONFIG_ERROR || !err[0])
        fuzz_fail("settings answered %d with \"%s\"", (int)rc, err);
    config_free(&c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_settings(data, size);
    const uint8_t *p = data;
    size_t n = size;
    char *line;
    while ((line = fuzz_field(&p, &n, '\n', NULL)) != NULL) {
        check_redis_url(line);
        free(line);
    }
    return 0;
}
