/* config.h -- runtime settings: defaults, settings file, environment, flags.
 *
 * One table (config.c) describes every setting once: its flag, its key in the
 * settings file, its environment variable, its type, range and help text.
 * `--help`, the settings-file reader, the environment and the command line
 * are all driven by that table, so they cannot disagree.
 *
 * Precedence, lowest first: built-in defaults, the settings file (--config),
 * the environment, the command line. */
#ifndef PHASESTREAM_CONFIG_H
#define PHASESTREAM_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

/* Where Redis is: a TCP host and port, or a unix socket path. */
struct redis_addr {
    char *host; /* NULL when path is set */
    int port;
    char *path;     /* unix socket, or NULL */
    char *user;     /* ACL user, or NULL */
    char *password; /* NULL: no AUTH */
    int db;
};

struct config {
    char *listen;        /* "unix:/path" or "host:port"; NULL: fd 0 */
    char *socket_mode;   /* octal permissions of a unix listening socket */
    char *pipeline_path; /* the pipeline file */
    char *config_path;   /* the settings file, if any */
    struct redis_addr redis;
    char *key_prefix;    /* of every Redis key */
    char *url_prefix;    /* URL mount point */
    int runners;         /* runner threads; 0: HTTP only */
    int http;            /* 0: no HTTP side (runner-only instance) */
    int threads;         /* request threads */
    int backlog;         /* of the listening socket; 0: the system's somaxconn */
    int request_timeout; /* seconds for one answer that is not a stream */
    int session_ttl;     /* seconds after the last write */
    int max_queue;       /* waiting sessions before 429 */
    int max_body;        /* request body bytes */
    int line_limit;      /* bytes of one output line */
    int max_events;      /* events per session */
    int keepalive;       /* seconds between SSE comments while idle */
    int retry_ms;        /* SSE retry: field */
    int heartbeat;       /* seconds a running session's heartbeat lives */
    int redis_retry;     /* seconds a running session waits for Redis */
    int kill_grace;      /* seconds between TERM and KILL */
    int shutdown_grace;  /* seconds running phases get at shutdown */
    int allow_get_create;
    char *workdir; /* parent of the per-session WORKDIRs */
    int keep_workdir;
    int log_level;
    char *log_file;    /* the server log, or NULL for standard error */
    int viewer_buffer; /* bytes a viewer may have pending */
    int viewer_stall;  /* seconds a viewer may not read before it is dropped */
    int io_uring;      /* the fan-out's sends through io_uring where possible */
    bool check;        /* --check: validate and exit */
};

enum config_result { CONFIG_OK, CONFIG_EXIT_OK, CONFIG_ERROR };

/* Fills cfg from defaults, the settings file, environ and argv. On
 * CONFIG_ERROR, err holds the reason; CONFIG_EXIT_OK means --help or
 * --version was answered. */
enum config_result config_load(struct config *cfg, int argc, char **argv, char *err, size_t errlen);
void config_free(struct config *cfg);

/* Parses redis://[[user]:password@]host[:port][/db] or unix:///path[?db=N]. */
int config_parse_redis_url(const char *url, struct redis_addr *out, char *err, size_t errlen);
void config_free_redis(struct redis_addr *addr);

/* Writes the --help text to f. */
void config_usage(void *f);

#endif
