/* config.c -- runtime settings: see config.h.
 *
 * The option table below is the single description of every setting. A
 * setting's flag is --NAME, its settings-file key is NAME, its environment
 * variable is given in the table. The settings file has one `NAME VALUE` (or
 * `NAME = VALUE`) per line and `#` comments, like redis.conf. */
#include "config.h"
#include "alloc.h"
#include "log.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef PHASESTREAM_VERSION
#define PHASESTREAM_VERSION "0.1.0"
#endif
#ifndef PHASESTREAM_PIPELINE_DEFAULT
#define PHASESTREAM_PIPELINE_DEFAULT "conf/workflow.json"
#endif

enum opt_type { OPT_STR, OPT_INT, OPT_BOOL, OPT_REDIS, OPT_LEVEL, OPT_FLAG };

struct opt {
    const char *name;
    const char *env; /* NULL: none */
    enum opt_type type;
    size_t off;
    long min, max;
    const char *arg;
    const char *help;
};

#define OFF(field) offsetof(struct config, field)

static const struct opt config_opts[] = {
        {"listen", "PHASESTREAM_LISTEN", OPT_STR, OFF(listen), 0, 0, "ADDR",
         "listen on unix:/path or host:port; without it, fd 0 is the listening socket"},
        {"socket-mode", "PHASESTREAM_SOCKET_MODE", OPT_STR, OFF(socket_mode), 0, 0, "OCTAL",
         "permissions of the unix listening socket (default 0660)"},
        {"pipeline", "PHASESTREAM_PIPELINE", OPT_STR, OFF(pipeline_path), 0, 0, "FILE",
         "the pipeline file (default " PHASESTREAM_PIPELINE_DEFAULT ")"},
        {"config", NULL, OPT_STR, OFF(config_path), 0, 0, "FILE", "runtime settings file"},
        {"redis", "REDIS_URL", OPT_REDIS, OFF(redis), 0, 0, "URL",
         "redis://[[user]:password@]host[:port][/db] or unix:///path (default "
         "redis://127.0.0.1:6379; also REDIS_HOST, REDIS_PORT, REDIS_PASSWORD)"},
        {"key-prefix", "PHASESTREAM_KEY_PREFIX", OPT_STR, OFF(key_prefix), 0, 0, "P",
         "prefix of every Redis key (default ps:)"},
        {"prefix", "PHASESTREAM_PREFIX", OPT_STR, OFF(url_prefix), 0, 0, "PATH",
         "URL mount point (default /api/workflow)"},
        {"runners", "PHASESTREAM_RUNNERS", OPT_INT, OFF(runners), 0, 256, "N",
         "workflow runner threads (default: number of cores); 0 serves HTTP only"},
        {"http", "PHASESTREAM_HTTP", OPT_INT, OFF(http), 0, 1, "0|1",
         "0 runs no HTTP side: a runner-only instance (default 1)"},
        {"threads", "PHASESTREAM_THREADS", OPT_INT, OFF(threads), 1, 256, "N",
         "request threads (default 8)"},
        {"backlog", "PHASESTREAM_BACKLOG", OPT_INT, OFF(backlog), 1, 1048576, "N",
         "connections the listening socket queues before it refuses (default: "
         "net.core.somaxconn, read at start); with fd 0 the spawner's backlog applies"},
        {"request-timeout", "PHASESTREAM_REQUEST_TIMEOUT", OPT_INT, OFF(request_timeout), 1, 3600,
         "S",
         "seconds a request thread spends on one answer that is not a stream before it "
         "drops a client that does not read it (default 30)"},
        {"session-ttl", "PHASESTREAM_SESSION_TTL", OPT_INT, OFF(session_ttl), 10, 31536000, "S",
         "seconds a session lives after its last write (default 3600)"},
        {"max-queue", "PHASESTREAM_MAX_QUEUE", OPT_INT, OFF(max_queue), 1, 1000000, "N",
         "waiting workflows before POST answers 429 (default 100)"},
        {"max-body", "PHASESTREAM_MAX_BODY", OPT_INT, OFF(max_body), 64, 1048576, "BYTES",
         "largest request body (default 16384)"},
        {"line-limit", "PHASESTREAM_LINE_LIMIT", OPT_INT, OFF(line_limit), 80, 1048576, "BYTES",
         "longest stored output line; longer ones are cut with a marker (default 8192)"},
        {"max-events", "PHASESTREAM_MAX_EVENTS", OPT_INT, OFF(max_events), 100, 10000000, "N",
         "events per session; further log lines are dropped and counted (default 100000)"},
        {"keepalive", "PHASESTREAM_KEEPALIVE", OPT_INT, OFF(keepalive), 1, 3600, "S",
         "seconds between keepalive comments on an idle stream (default 15)"},
        {"retry", "PHASESTREAM_RETRY", OPT_INT, OFF(retry_ms), 0, 3600000, "MS",
         "the retry: field of the first event (default 3000)"},
        {"heartbeat", "PHASESTREAM_HEARTBEAT", OPT_INT, OFF(heartbeat), 2, 3600, "S",
         "seconds a running session's heartbeat lives (default 6)"},
        {"redis-retry", "PHASESTREAM_REDIS_RETRY", OPT_INT, OFF(redis_retry), 1, 86400, "S",
         "seconds a running session keeps its output for Redis before it is stopped "
         "(default 60)"},
        {"kill-grace", "PHASESTREAM_KILL_GRACE", OPT_INT, OFF(kill_grace), 0, 600, "S",
         "seconds between TERM and KILL of a phase's process group (default 5)"},
        {"shutdown-grace", "PHASESTREAM_SHUTDOWN_GRACE", OPT_INT, OFF(shutdown_grace), 0, 3600, "S",
         "seconds running phases get to finish on SIGTERM (default 10)"},
        {"allow-get-create", "PHASESTREAM_ALLOW_GET_CREATE", OPT_BOOL, OFF(allow_get_create), 0, 1,
         "yes|no", "GET with sessionId and proofType creates the session (default yes)"},
        {"workdir", "PHASESTREAM_WORKDIR", OPT_STR, OFF(workdir), 0, 0, "DIR",
         "parent of the per-session WORKDIRs (default $TMPDIR/phasestream)"},
        {"keep-workdir", "PHASESTREAM_KEEP_WORKDIR", OPT_BOOL, OFF(keep_workdir), 0, 1, "yes|no",
         "keep a session's WORKDIR after it ends (default no)"},
        {"viewer-buffer", "PHASESTREAM_VIEWER_BUFFER", OPT_INT, OFF(viewer_buffer), 4096, 67108864,
         "BYTES", "output a viewer may have pending before reads pause (default 262144)"},
        {"io-uring", "PHASESTREAM_IO_URING", OPT_BOOL, OFF(io_uring), 0, 1, "yes|no",
         "send a fan-out's writes through io_uring, many per system call, where the kernel "
         "allows it (default yes)"},
        {"viewer-stall", "PHASESTREAM_VIEWER_STALL", OPT_INT, OFF(viewer_stall), 1, 3600, "S",
         "seconds a viewer may read nothing before it is dropped (default 30)"},
        {"log-level", "PHASESTREAM_LOG_LEVEL", OPT_LEVEL, OFF(log_level), 0, 0,
         "debug|info|warn|error", "the server log's level (default info)"},
        {"log-file", "PHASESTREAM_LOG_FILE", OPT_STR, OFF(log_file), 0, 0, "FILE",
         "append the server log to FILE instead of standard error"},
        {"check", NULL, OPT_FLAG, OFF(check), 0, 0, NULL,
         "validate the settings and the pipeline file, then exit 0 or 1"},
        {"version", NULL, OPT_FLAG, 0, 0, 0, NULL, "print the version and exit"},
        {"help", NULL, OPT_FLAG, 0, 0, 0, NULL, "print this help and exit"},
};

#define NOPTS (sizeof(config_opts) / sizeof(config_opts[0]))

/* Prints text from column `indent`, wrapped at 79 columns. */
static void usage_wrap(FILE *f, const char *text, int col, int indent)
{
    while (*text) {
        int room = 79 - col;
        int len = (int)strlen(text);
        int take = len;
        if (len > room) {
            take = room;
            while (take > 0 && text[take] != ' ')
                take--;
            if (take == 0)
                take = room;
        }
        fprintf(f, "%.*s\n", take, text);
        text += take;
        while (*text == ' ')
            text++;
        if (*text)
            fprintf(f, "%*s", indent, "");
        col = indent;
    }
}

void config_usage(void *fp)
{
    FILE *f = fp;
    fprintf(f, "Usage: phasestream [OPTIONS]\n"
               "FastCGI responder that runs a phased workflow, keeps each session in Redis\n"
               "and streams it to browsers as Server-Sent Events.\n\nOptions:\n");
    for (size_t i = 0; i < NOPTS; i++) {
        const struct opt *o = &config_opts[i];
        char left[64], text[512];
        snprintf(left, sizeof(left), "--%s%s%s", o->name, o->arg ? " " : "", o->arg ? o->arg : "");
        snprintf(text, sizeof(text), "%s%s%s%s", o->help, o->env ? " [env " : "",
                 o->env ? o->env : "", o->env ? "]" : "");
        if (strlen(left) > 24) {
            fprintf(f, "  %s\n%28s", left, "");
        } else {
            fprintf(f, "  %-24s  ", left);
        }
        usage_wrap(f, text, 28, 28);
    }
}

static void config_defaults(struct config *c)
{
    memset(c, 0, sizeof(*c));
    c->pipeline_path = xstrdup(PHASESTREAM_PIPELINE_DEFAULT);
    c->socket_mode = xstrdup("0660");
    c->redis.host = xstrdup("127.0.0.1");
    c->redis.port = 6379;
    c->key_prefix = xstrdup("ps:");
    c->url_prefix = xstrdup("/api/workflow");
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    c->runners = cores > 0 ? (int)cores : 1;
    c->http = 1;
    c->io_uring = 1;
    c->threads = 8;
    c->request_timeout = 30;
    c->session_ttl = 3600;
    c->max_queue = 100;
    c->max_body = 16384;
    c->line_limit = 8192;
    c->max_events = 100000;
    c->keepalive = 15;
    c->retry_ms = 3000;
    c->heartbeat = 6;
    c->redis_retry = 60;
    c->kill_grace = 5;
    c->shutdown_grace = 10;
    c->allow_get_create = 1;
    const char *tmp = getenv("TMPDIR");
    c->workdir = xasprintf("%s/phasestream", tmp && *tmp ? tmp : "/tmp");
    c->log_level = LOG_INFO;
    c->viewer_buffer = 262144;
    c->viewer_stall = 30;
}

void config_free_redis(struct redis_addr *a)
{
    free(a->host);
    free(a->path);
    free(a->user);
    free(a->password);
    memset(a, 0, sizeof(*a));
}

void config_free(struct config *c)
{
    free(c->listen);
    free(c->socket_mode);
    free(c->pipeline_path);
    free(c->config_path);
    config_free_redis(&c->redis);
    free(c->key_prefix);
    free(c->url_prefix);
    free(c->workdir);
    free(c->log_file);
    memset(c, 0, sizeof(*c));
}

static int parse_long(const char *s, long min, long max, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end != '\0' || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

static int parse_bool(const char *s)
{
    static const char *yes[] = {"yes", "true", "on", "1"};
    static const char *no[] = {"no", "false", "off", "0"};
    for (int i = 0; i < 4; i++) {
        if (strcasecmp(s, yes[i]) == 0)
            return 1;
        if (strcasecmp(s, no[i]) == 0)
            return 0;
    }
    return -1;
}

/* Percent-decodes the password part of a URL in place. */
static void url_unescape(char *s)
{
    char *w = s;
    for (char *r = s; *r; r++) {
        if (r[0] == '%' && isxdigit((unsigned char)r[1]) && isxdigit((unsigned char)r[2])) {
            char hex[3] = {r[1], r[2], 0};
            *w++ = (char)strtol(hex, NULL, 16);
            r += 2;
        } else {
            *w++ = *r;
        }
    }
    *w = '\0';
}

/* unix:///path[?db=N] */
static int config_redis_unix(const char *url, struct redis_addr *a, char *err, size_t errlen)
{
    long v;
    const char *path = url + 7;
    const char *q = strchr(path, '?');
    a->path = q ? xstrndup(path, (size_t)(q - path)) : xstrdup(path);
    if (a->path[0] != '/') {
        snprintf(err, errlen, "redis URL %s: the socket path must be absolute", url);
        return -1;
    }
    if (q) {
        if (strncmp(q, "?db=", 4) != 0 || parse_long(q + 4, 0, 1000000, &v) < 0) {
            snprintf(err, errlen, "redis URL: unsupported query (only ?db=N)");
            return -1;
        }
        a->db = (int)v;
    }
    return 0;
}

/* [user:]password@ before the host, if any (unescaped). Returns the rest. */
static char *config_redis_userinfo(char *rest, struct redis_addr *a)
{
    char *at = strrchr(rest, '@');
    if (!at)
        return rest;
    *at = '\0';
    char *colon = strchr(rest, ':');
    if (colon) {
        *colon = '\0';
        if (*rest)
            a->user = xstrdup(rest);
        a->password = xstrdup(colon + 1);
        url_unescape(a->password);
    } else if (*rest) {
        a->password = xstrdup(rest); /* redis://password@host */
        url_unescape(a->password);
    }
    return at + 1;
}

/* /N after the host, if any (cut off hostpart). */
static int config_redis_db(char *hostpart, struct redis_addr *a, char *err, size_t errlen)
{
    long v;
    char *slash = strchr(hostpart, '/');
    if (!slash)
        return 0;
    *slash = '\0';
    if (slash[1] && parse_long(slash + 1, 0, 1000000, &v) < 0) {
        snprintf(err, errlen, "redis URL: the database must be a number");
        return -1;
    }
    a->db = slash[1] ? (int)v : 0;
    return 0;
}

/* host, host:port, [v6]:port; the host defaults to 127.0.0.1, the port to
 * 6379. */
static int config_redis_host(char *host, struct redis_addr *a, char *err, size_t errlen)
{
    long v;
    char *portp = NULL;
    a->port = 6379;
    if (host[0] == '[') { /* [::1]:6379 */
        char *close = strchr(host, ']');
        if (!close) {
            snprintf(err, errlen, "redis URL: unterminated [ in host");
            return -1;
        }
        *close = '\0';
        host++;
        if (close[1] == ':')
            portp = close + 2;
    } else {
        char *colon = strrchr(host, ':');
        if (colon) {
            *colon = '\0';
            portp = colon + 1;
        }
    }
    if (portp) {
        if (parse_long(portp, 1, 65535, &v) < 0) {
            snprintf(err, errlen, "redis URL: bad port");
            return -1;
        }
        a->port = (int)v;
    }
    a->host = xstrdup(*host ? host : "127.0.0.1");
    return 0;
}

int config_parse_redis_url(const char *url, struct redis_addr *out, char *err, size_t errlen)
{
    struct redis_addr a = {0};
    int rc;
    if (strncmp(url, "unix://", 7) == 0) {
        rc = config_redis_unix(url, &a, err, errlen);
    } else if (strncmp(url, "redis://", 8) == 0) {
        char *rest = xstrdup(url + 8);
        char *hostpart = config_redis_userinfo(rest, &a);
        rc = config_redis_db(hostpart, &a, err, errlen);
        if (rc == 0)
            rc = config_redis_host(hostpart, &a, err, errlen);
        free(rest);
    } else {
        snprintf(err, errlen, "redis URL must start with redis:// or unix://");
        return -1;
    }
    if (rc < 0) {
        config_free_redis(&a);
        return -1;
    }
    *out = a;
    return 0;
}

static const struct opt *config_find(const char *name)
{
    for (size_t i = 0; i < NOPTS; i++)
        if (strcmp(config_opts[i].name, name) == 0)
            return &config_opts[i];
    return NULL;
}

/* Stores one value; `where` names its origin for the error message. */
static int config_set(struct config *c, const struct opt *o, const char *value, const char *where,
                      char *err, size_t errlen)
{
    void *field = (char *)c + o->off;
    long v;
    int b;

    switch (o->type) {
    case OPT_STR:
        free(*(char **)field);
        *(char **)field = xstrdup(value);
        return 0;
    case OPT_INT:
        if (parse_long(value, o->min, o->max, &v) < 0) {
            snprintf(err, errlen, "%s: %s must be a whole number from %ld to %ld, not '%s'", where,
                     o->name, o->min, o->max, value);
            return -1;
        }
        *(int *)field = (int)v;
        return 0;
    case OPT_BOOL:
        if ((b = parse_bool(value)) < 0) {
            snprintf(err, errlen, "%s: %s must be yes or no, not '%s'", where, o->name, value);
            return -1;
        }
        *(int *)field = b;
        return 0;
    case OPT_LEVEL:
        if ((b = log_level_parse(value)) < 0) {
            snprintf(err, errlen, "%s: %s must be debug, info, warn or error", where, o->name);
            return -1;
        }
        *(int *)field = b;
        return 0;
    case OPT_REDIS: {
        struct redis_addr a;
        char why[200];
        if (config_parse_redis_url(value, &a, why, sizeof(why)) < 0) {
            snprintf(err, errlen, "%s: %s", where, why);
            return -1;
        }
        config_free_redis(&c->redis);
        c->redis = a;
        return 0;
    }
    case OPT_FLAG:
        break;
    }
    snprintf(err, errlen, "%s: %s takes no value", where, o->name);
    return -1;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

static int config_read_file(struct config *c, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    char line[4096];
    int lineno = 0, rc = 0;
    while (fgets(line, sizeof(line), f)) {
        lineno++;
        char where[300];
        snprintf(where, sizeof(where), "%s:%d", path, lineno);
        if (!strchr(line, '\n') && !feof(f)) {
            snprintf(err, errlen, "%s: line too long", where);
            rc = -1;
            break;
        }
        char *s = trim(line);
        if (*s == '\0' || *s == '#')
            continue;
        char *name = s;
        while (*s && !isspace((unsigned char)*s) && *s != '=')
            s++;
        char *value = s;
        if (*s) {
            *s = '\0';
            value = trim(s + 1);
            if (*value == '=')
                value = trim(value + 1);
        }
        const struct opt *o = config_find(name);
        if (!o || o->type == OPT_FLAG || strcmp(name, "config") == 0) {
            snprintf(err, errlen, "%s: unknown setting '%s'", where, name);
            rc = -1;
            break;
        }
        if (config_set(c, o, value, where, err, errlen) < 0) {
            rc = -1;
            break;
        }
    }
    fclose(f);
    return rc;
}

/* REDIS_HOST / REDIS_PORT / REDIS_PASSWORD: the original deployment's
 * variables. REDIS_URL, when set, wins over them. */
static int config_read_env(struct config *c, char *err, size_t errlen)
{
    const char *host = getenv("REDIS_HOST"), *port = getenv("REDIS_PORT");
    const char *pass = getenv("REDIS_PASSWORD");
    if (host && *host) {
        free(c->redis.path);
        c->redis.path = NULL;
        free(c->redis.host);
        c->redis.host = xstrdup(host);
    }
    if (port && *port) {
        long v;
        if (parse_long(port, 1, 65535, &v) < 0) {
            snprintf(err, errlen, "REDIS_PORT must be a port number, not '%s'", port);
            return -1;
        }
        c->redis.port = (int)v;
    }
    if (pass && *pass) {
        free(c->redis.password);
        c->redis.password = xstrdup(pass);
    }
    for (size_t i = 0; i < NOPTS; i++) {
        const struct opt *o = &config_opts[i];
        const char *v = o->env ? getenv(o->env) : NULL;
        if (!v || !*v)
            continue;
        char where[80];
        snprintf(where, sizeof(where), "environment %s", o->env);
        if (config_set(c, o, v, where, err, errlen) < 0)
            return -1;
    }
    return 0;
}

/* Pass 1: --config, --help, --version, so the file can be read before the
 * environment and the flags override it. Returns true when --help or
 * --version was answered. */
static bool config_first_pass(struct config *c, int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            config_usage(stdout);
            return true;
        }
        if (strcmp(argv[i], "--version") == 0) {
            printf("phasestream %s\n", PHASESTREAM_VERSION);
            return true;
        }
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
            free(c->config_path);
            c->config_path = xstrdup(argv[++i]);
        } else if (strncmp(argv[i], "--config=", 9) == 0) {
            free(c->config_path);
            c->config_path = xstrdup(argv[i] + 9);
        }
    }
    return false;
}

/* One flag of pass 2, --name VALUE or --name=VALUE, at argv[*i]; *i moves
 * past its value. */
static int config_read_flag(struct config *c, int argc, char **argv, int *i, char *err,
                            size_t errlen)
{
    const char *arg = argv[*i];
    if (strncmp(arg, "--", 2) != 0) {
        snprintf(err, errlen, "unexpected argument '%s' (see --help)", arg);
        return -1;
    }
    char name[64];
    const char *eq = strchr(arg + 2, '=');
    size_t nlen = eq ? (size_t)(eq - arg - 2) : strlen(arg + 2);
    if (nlen >= sizeof(name)) {
        snprintf(err, errlen, "unknown option '%.40s...'", arg);
        return -1;
    }
    memcpy(name, arg + 2, nlen);
    name[nlen] = '\0';
    const struct opt *o = config_find(name);
    if (!o) {
        snprintf(err, errlen, "unknown option '--%s' (see --help)", name);
        return -1;
    }
    if (o->type == OPT_FLAG) {
        if (eq) {
            snprintf(err, errlen, "--%s takes no value", name);
            return -1;
        }
        if (strcmp(name, "check") == 0)
            c->check = true;
        return 0;
    }
    const char *value = eq ? eq + 1 : NULL;
    if (!value) {
        if (*i + 1 >= argc) {
            snprintf(err, errlen, "--%s needs a value (%s)", name, o->arg);
            return -1;
        }
        value = argv[++*i];
    }
    if (strcmp(name, "config") == 0)
        return 0; /* read in pass 1 */
    char where[80];
    snprintf(where, sizeof(where), "--%s", name);
    return config_set(c, o, value, where, err, errlen);
}

/* The checks that involve more than one setting, or a setting's shape. */
static int config_check(const struct config *c, char *err, size_t errlen)
{
    if (c->key_prefix[0] == '\0' || strlen(c->key_prefix) > 64) {
        snprintf(err, errlen, "key-prefix must be 1 to 64 characters");
        return -1;
    }
    size_t plen = strlen(c->url_prefix);
    if (c->url_prefix[0] != '/' || plen > 200 || (plen > 1 && c->url_prefix[plen - 1] == '/')) {
        snprintf(err, errlen, "prefix must start with / and not end with / (got '%s')",
                 c->url_prefix);
        return -1;
    }
    char *end;
    long mode = strtol(c->socket_mode, &end, 8);
    if (*end != '\0' || end == c->socket_mode || mode < 0 || mode > 0777) {
        snprintf(err, errlen, "socket-mode must be octal permissions such as 0660");
        return -1;
    }
    if (!c->http && c->runners == 0) {
        snprintf(err, errlen, "--http 0 with --runners 0 would do nothing");
        return -1;
    }
    return 0;
}

enum config_result config_load(struct config *c, int argc, char **argv, char *err, size_t errlen)
{
    config_defaults(c);
    if (config_first_pass(c, argc, argv))
        return CONFIG_EXIT_OK;
    if (c->config_path && config_read_file(c, c->config_path, err, errlen) < 0)
        return CONFIG_ERROR;
    if (config_read_env(c, err, errlen) < 0)
        return CONFIG_ERROR;
    /* Pass 2: every flag. */
    for (int i = 1; i < argc; i++)
        if (config_read_flag(c, argc, argv, &i, err, errlen) < 0)
            return CONFIG_ERROR;
    return config_check(c, err, errlen) < 0 ? CONFIG_ERROR : CONFIG_OK;
}
