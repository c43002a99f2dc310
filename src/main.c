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
 * session is left "running" with nobody running it. */
#include "alloc.h"
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

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static struct runners *main_runners;

static void on_queue(void *arg, const char *data, size_t len)
{
    (void)arg;
    (void)data;
    (void)len;
    if (main_runners)
        runners_wake(main_runners);
}

static void on_cancel(void *arg, const char *data, size_t len)
{
    (void)arg;
    char sid[STORE_SID_MAX + 1];
    if (!main_runners || len == 0 || len > STORE_SID_MAX)
        return;
    memcpy(sid, data, len);
    sid[len] = '\0';
    runners_cancel(main_runners, sid);
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
        bool found = false;
        if (strchr(cmd, '/')) {
            found = access(cmd, X_OK) == 0;
        } else {
            const char *path = getenv("PATH");
            char *copy = xstrdup(path ? path : "/usr/bin:/bin"), *save = NULL;
            for (char *d = strtok_r(copy, ":", &save); d && !found;
                 d = strtok_r(NULL, ":", &save)) {
                char *full = xasprintf("%s/%s", d, cmd);
                found = access(full, X_OK) == 0;
                free(full);
            }
            free(copy);
        }
        if (!found) {
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

int main(int argc, char **argv)
{
    struct config cfg;
    char err[1024];

    signal(SIGPIPE, SIG_IGN);
    switch (config_load(&cfg, argc, argv, err, sizeof(err))) {
    case CONFIG_EXIT_OK:
        config_free(&cfg);
        return 0;
    case CONFIG_ERROR:
        fprintf(stderr, "phasestream: %s\n", err);
        config_free(&cfg);
        return 2;
    case CONFIG_OK:
        break;
    }
    log_set_level(cfg.log_level);
    if (cfg.log_file && !cfg.check) {
        /* The log writes to fd 2: point fd 2 at the file. */
        int fd = open(cfg.log_file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
        if (fd < 0 || dup2(fd, STDERR_FILENO) < 0) {
            fprintf(stderr, "phasestream: %s: %s\n", cfg.log_file, strerror(errno));
            config_free(&cfg);
            return 1;
        }
        close(fd);
    }

    struct pipeline *p = pipeline_load(cfg.pipeline_path, err, sizeof(err));
    if (!p) {
        fprintf(stderr, "phasestream: %s\n", err);
        config_free(&cfg);
        return 1;
    }
    if (cfg.check) {
        int missing = check_commands(p);
        char types[256];
        pipeline_proof_type_list(p, types, sizeof(types));
        printf("%s: OK: %zu phases, proof types %s%s\n", p->path, p->nphases, types,
               missing ? " (see warnings)" : "");
        pipeline_free(p);
        config_free(&cfg);
        return 0;
    }

    /* Block the shutdown signals before the socket exists and before any
     * thread starts: a SIGTERM that comes while starting up is a clean stop,
     * threads inherit the mask, and only this thread takes them (sigwait). */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);

    raise_fd_limit();
    proc_init();
    metrics_init(p);

    int listen_fd = -1;
    if (cfg.http) {
        listen_fd = http_listen(&cfg, err, sizeof(err));
        if (listen_fd < 0) {
            fprintf(stderr, "phasestream: %s\n", err);
            pipeline_free(p);
            config_free(&cfg);
            return 1;
        }
    }

    struct loop *loop = loop_new();
    if (!loop) {
        pipeline_free(p);
        config_free(&cfg);
        return 1;
    }
    struct bus *bus = bus_new(loop, &cfg);
    char chan[160];
    /* The queue channel is subscribed first and for good: see bus.c. */
    store_global_key(&cfg, "chan:queue", chan, sizeof(chan));
    bus_subscribe(bus, chan, on_queue, NULL, NULL);
    store_global_key(&cfg, "chan:cancel", chan, sizeof(chan));
    bus_subscribe(bus, chan, on_cancel, NULL, NULL);

    struct reaper *reaper = reaper_start(loop, bus, &cfg);
    main_runners = cfg.runners > 0 ? runners_start(&cfg, p) : NULL;
    struct sse *sse = cfg.http ? sse_new(loop, bus, &cfg) : NULL;
    struct api api;
    api_init(&api, &cfg, p, sse);
    struct http *http = cfg.http ? http_start(&cfg, listen_fd, &api_http_handler, &api) : NULL;

    pthread_t lt;
    pthread_create(&lt, NULL, loop_thread, loop);

    log_info("phasestream started: %s, %d runner%s, %s, pipeline %s",
             cfg.http ? (cfg.listen ? cfg.listen : "listening on fd 0") : "no HTTP side",
             cfg.runners, cfg.runners == 1 ? "" : "s",
             cfg.redis.path ? cfg.redis.path : cfg.redis.host, p->path);

    /* Wait for a shutdown signal; SIGHUP is not a reload. */
    int sig;
    for (;;) {
        if (sigwait(&sigs, &sig) != 0)
            continue;
        if (sig == SIGHUP) {
            log_info("SIGHUP ignored: restart phasestream to load a new configuration");
            continue;
        }
        break;
    }
    log_info("%s: shutting down (running phases get %d s)", sig == SIGINT ? "SIGINT" : "SIGTERM",
             cfg.shutdown_grace);

    http_stop(http); /* no new requests */
    if (sse)
        sse_end_all(sse); /* viewers reconnect elsewhere */
    if (main_runners) {
        runners_shutdown(main_runners, cfg.shutdown_grace);
        /* While phases finish, a second signal hurries them. */
        struct timespec tick = {0, 200 * 1000 * 1000};
        while (metrics_get(METRIC_RUNNING) > 0) {
            siginfo_t si;
            int s = sigtimedwait(&sigs, &si, &tick);
            if (s == SIGTERM || s == SIGINT) {
                log_info("second signal: ending running phases now");
                runners_shutdown(main_runners, 0);
            }
        }
        runners_join(main_runners);
        main_runners = NULL;
    }

    loop_stop(loop);
    pthread_join(lt, NULL);
    bus_free(bus); /* first: its dying connections still call back into these */
    reaper_free(reaper);
    sse_free(sse);
    api_free(&api);
    if (cfg.http && cfg.listen && strncmp(cfg.listen, "unix:", 5) == 0)
        unlink(cfg.listen + 5);
    if (listen_fd > 0)
        close(listen_fd);
    loop_free(loop);
    pipeline_free(p);
    config_free(&cfg);
    log_info("stopped");
    return 0;
}
