/* main.c -- start-up, the roles, signals and shutdown.
 *
 * Threads: the main thread waits for signals; a pool of request threads
 * (http.c) answers the FastCGI side; one event-loop thread (loop.c) carries
 * the stream side (sse.c) and the Redis notifications (bus.c); N runner
 * threads (runner.c) run workflows. Every thread but main blocks all
 * signals, so SIGTERM and SIGINT are handled here, in order, with sigwait.
 *
 * Shutdown (SIGTERM or SIGINT): stop accepting, end open streams cleanly so
 * viewers reconnect elsewhere, stop claiming, give running phases
 * shutdown-grace seconds to finish, then end them with an error event
 * saying the server shut down. A second signal ends them at once. No
 * session is left "running" with nobody running it.
 *
 * Ownership at shutdown: the loop thread calls into the runners (queue and
 * cancel notifications, whose subscriptions carry the runners as their
 * argument), so it is stopped and joined before the runners are freed. */
#include "api.h"
#include "bus.h"
#include "config.h"
#include "http.h"
#include "log.h"
#include "loop.h"
#include "metrics.h"
#include "pipeline.h"
#include "proc.h"
#include "reaper.h"
#include "runner.h"
#include "sse.h"
#include "store.h"
#include "store_schema.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* Everything the server runs, in the order it is started. */
struct server {
    struct config cfg;
    struct pipeline *p;
    sigset_t sigs; /* the shutdown signals, blocked in every thread */
    int listen_fd;
    struct loop *loop;
    pthread_t loop_thread;
    bool loop_started;
    struct runners *runners; /* NULL with --runners 0 */
    struct bus *bus;
    struct reaper *reaper;
    struct sse *sse;
    struct api api;
    struct http *http;
};

/* A session was queued; arg is the runners, or NULL when there are none. */
static void on_queue(void *arg, const char *data, size_t len)
{
    (void)data;
    (void)len;
    if (arg)
        runners_wake(arg);
}

static void on_cancel(void *arg, const char *data, size_t len)
{
    char sid[STORE_SID_MAX + 1];
    if (arg && store_cancel_parse(data, len, sid))
        runners_cancel(arg, sid);
}

static void *loop_thread(void *arg)
{
    loop_run(arg);
    return NULL;
}

/* Reports commands that cannot be run now; not an error, since the scripts
 * may be installed after the configuration is. Returns how many. */
static int check_commands(const struct pipeline *p)
{
    int missing = 0;
    for (size_t i = 0; i < p->nphases; i++) {
        const char *cmd = p->phases[i].argv[0];
        char path[PATH_MAX];
        if (proc_find(cmd, environ, path, sizeof(path)) != 0) {
            fprintf(stderr,
                    "warning: phase %s: command %s is not found or not executable "
                    "(a run will end with an error event)\n",
                    p->phases[i].name, cmd);
            missing++;
        }
    }
    return missing;
}

static void raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

/* The settings, the log file and the pipeline. Returns -1 to go on, else
 * the exit status (everything freed). */
static int main_configure(struct server *s, int argc, char **argv)
{
    char err[1024];
    switch (config_load(&s->cfg, argc, argv, err, sizeof(err))) {
    case CONFIG_EXIT_OK:
        config_free(&s->cfg);
        return 0;
    case CONFIG_ERROR:
        fprintf(stderr, "phasestream: %s\n", err);
        config_free(&s->cfg);
        return 2;
    case CONFIG_OK:
        break;
    }
    log_set_level(s->cfg.log_level);
    if (s->cfg.log_file && !s->cfg.check) {
        /* The log writes to fd 2: point fd 2 at the file. */
        int fd = open(s->cfg.log_file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
        if (fd < 0 || dup2(fd, STDERR_FILENO) < 0) {
            fprintf(stderr, "phasestream: %s: %s\n", s->cfg.log_file, strerror(errno));
            config_free(&s->cfg);
            return 1;
        }
        close(fd);
    }
    s->p = pipeline_load(s->cfg.pipeline_path, err, sizeof(err));
    if (!s->p) {
        fprintf(stderr, "phasestream: %s\n", err);
        config_free(&s->cfg);
        return 1;
    }
    return -1;
}

/* --check: the pipeline loaded; say so, and what cannot be run. */
static int main_check(struct server *s)
{
    int missing = check_commands(s->p);
    char types[256];
    pipeline_proof_type_list(s->p, types, sizeof(types));
    printf("%s: OK: %zu phases, proof types %s%s%s%s\n", s->p->path, s->p->nphases, types,
           s->p->readiness ? ", readiness file " : "", s->p->readiness ? s->p->readiness : "",
           missing ? " (see warnings)" : "");
    return 0;
}

/* Block the shutdown signals before the socket exists and before any thread
 * starts: a SIGTERM that comes while starting up is a clean stop, threads
 * inherit the mask, and only the main thread takes them (sigwait). */
static void main_block_signals(sigset_t *sigs)
{
    sigemptyset(sigs);
    sigaddset(sigs, SIGTERM);
    sigaddset(sigs, SIGINT);
    sigaddset(sigs, SIGHUP);
    pthread_sigmask(SIG_BLOCK, sigs, NULL);
}

/* The loop's side: the notification channels, the reaper, the streams. */
static void main_start_loop_side(struct server *s)
{
    struct config *cfg = &s->cfg;
    s->bus = bus_new(s->loop, cfg);
    struct store_global_keys g;
    store_global_keys(cfg, &g);
    /* The queue channel is subscribed first and for good: see bus.c. */
    bus_subscribe(s->bus, g.queue_chan, on_queue, NULL, s->runners);
    bus_subscribe(s->bus, g.cancel_chan, on_cancel, NULL, s->runners);
    s->reaper = reaper_start(s->loop, s->bus, cfg);
    s->sse = cfg->http ? sse_new(s->loop, s->bus, cfg) : NULL;
}

/* Starts every part. Returns -1 (with a message) when nothing was started
 * that needs stopping, 0 when the server runs, 1 when the loop thread did
 * not start and the server must stop at once. */
static int main_start(struct server *s)
{
    struct config *cfg = &s->cfg;
    char err[1024];
    raise_fd_limit();
    proc_init();
    metrics_init(s->p);
    s->listen_fd = -1;
    if (cfg->runners > 0 && (runners_check_workdir(cfg, err, sizeof(err)) < 0 ||
                             runners_check_secrets(cfg, s->p, err, sizeof(err)) < 0)) {
        fprintf(stderr, "phasestream: %s\n", err);
        return -1;
    }
    if (cfg->http) {
        s->listen_fd = http_listen(cfg, err, sizeof(err));
        if (s->listen_fd < 0) {
            fprintf(stderr, "phasestream: %s\n", err);
            return -1;
        }
    }
    s->loop = loop_new();
    if (!s->loop)
        return -1;
    s->runners = cfg->runners > 0 ? runners_start(cfg, s->p) : NULL;
    main_start_loop_side(s);
    api_init(&s->api, cfg, s->p, s->sse);
    s->http = cfg->http ? http_start(cfg, s->listen_fd, &api_http_handler, &s->api) : NULL;

    int e = pthread_create(&s->loop_thread, NULL, loop_thread, s->loop);
    if (e != 0) {
        log_error("cannot start the event loop thread: %s", strerror(e));
        return 1;
    }
    s->loop_started = true;
    log_info("phasestream started: %s, %d runner%s, %s, pipeline %s",
             cfg->http ? (cfg->listen ? cfg->listen : "listening on fd 0") : "no HTTP side",
             cfg->runners, cfg->runners == 1 ? "" : "s",
             cfg->redis.path ? cfg->redis.path : cfg->redis.host, s->p->path);
    return 0;
}

/* Waits for a shutdown signal; SIGHUP is not a reload. */
static int main_wait_signal(const sigset_t *sigs)
{
    int sig;
    for (;;) {
        if (sigwait(sigs, &sig) != 0)
            continue;
        if (sig == SIGHUP) {
            log_info("SIGHUP ignored: restart phasestream to load a new configuration");
            continue;
        }
        return sig;
    }
}

/* Stops claiming and waits for the running sessions to end; while phases
 * finish, a second signal hurries them. */
static void main_finish_runners(struct server *s, int grace_s)
{
    runners_shutdown(s->runners, grace_s);
    struct timespec tick = {0, 200 * 1000 * 1000};
    while (metrics_get(METRIC_RUNNING) > 0) {
        siginfo_t si;
        int sig = sigtimedwait(&s->sigs, &si, &tick);
        if (sig == SIGTERM || sig == SIGINT) {
            log_info("second signal: ending running phases now");
            runners_shutdown(s->runners, 0);
        }
    }
}

/* Stops every part, in the order that keeps each one's callers alive. */
static void main_stop(struct server *s, int grace_s)
{
    http_stop(s->http); /* no new requests */
    if (s->sse)
        sse_end_all(s->sse); /* viewers reconnect elsewhere */
    if (s->runners)
        main_finish_runners(s, grace_s);
    if (s->loop_started) {
        loop_stop(s->loop);
        pthread_join(s->loop_thread, NULL);
    }
    /* Nothing calls into the runners any more: the loop thread is gone. */
    runners_join(s->runners);
    s->runners = NULL;
    bus_free(s->bus); /* first: its dying connections still call back into these */
    reaper_free(s->reaper);
    sse_free(s->sse);
    api_free(&s->api);
    if (s->cfg.http && s->cfg.listen && strncmp(s->cfg.listen, "unix:", 5) == 0)
        unlink(s->cfg.listen + 5);
}

int main(int argc, char **argv)
{
    struct server s = {0};
    signal(SIGPIPE, SIG_IGN);
    int rc = main_configure(&s, argc, argv);
    if (rc >= 0)
        return rc;
    if (s.cfg.check) {
        rc = main_check(&s);
    } else {
        main_block_signals(&s.sigs);
        rc = main_start(&s);
        if (rc == 0) {
            int sig = main_wait_signal(&s.sigs);
            log_info("%s: shutting down (running phases get %d s)",
                     sig == SIGINT ? "SIGINT" : "SIGTERM", s.cfg.shutdown_grace);
            main_stop(&s, s.cfg.shutdown_grace);
            log_info("stopped");
        } else if (rc > 0) {
            main_stop(&s, 0);
        }
        rc = rc == 0 ? 0 : 1;
        if (s.listen_fd > 0)
            close(s.listen_fd);
        loop_free(s.loop);
    }
    pipeline_free(s.p);
    config_free(&s.cfg);
    return rc;
}
