/* runner.c -- runner threads: see runner.h.
 *
 * One session, one runner thread, one loop: poll() over the phase's stdout
 * and stderr pipes, its pidfd, and the runner's wake eventfd (cancel,
 * shutdown). Lines become events in a local queue that is written to Redis
 * after each read, in one pipelined round trip, so a burst of output costs
 * one round trip, and a line printed alone is in Redis within a millisecond
 * or two of being printed.
 *
 * The queue is also what keeps the log whole through a Redis outage: events
 * that could not be written stay queued, in order, and are written when
 * Redis answers again. The queue is bounded; past the bound, output lines
 * are counted instead of kept, and one log event says how many were lost.
 * Each queued event carries a sequence number, so an append whose reply was
 * lost with the connection is not stored twice on the retry. */
#include "runner.h"
#include "alloc.h"
#include "config.h"
#include "events.h"
#include "extract.h"
#include "lines.h"
#include "log.h"
#include "metrics.h"
#include "pipeline.h"
#include "proc.h"
#include "store.h"

#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define PENDING_MAX_EVENTS 20000
#define PENDING_MAX_BYTES  (16 << 20)
#define EVENT_RESERVE      16 /* events kept free under max-events for status and the end */
#define FLUSH_BACKOFF_MIN  100
#define FLUSH_BACKOFF_MAX  2000
#define READ_CHUNK         65536
#define STDERR_TAIL        240 /* bytes of the last stderr line quoted in an error */

struct runners;

struct runner {
    struct runners *pool;
    int index;
    pthread_t thread;
    struct store *store;
    int wake_fd;
    atomic_bool cancel;
    char sid[STORE_SID_MAX + 1]; /* the session it runs, under pool->lock */
};

struct runners {
    const struct config *cfg;
    const struct pipeline *pipeline;
    char instance[128];
    struct runner *runners;
    int n;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    unsigned long wake_gen;
    atomic_bool stopping;
    atomic_llong deadline_ms; /* running phases end at this time; 0: none */
    atomic_bool hurry;        /* a stop without grace: do not wait for Redis */
};

/* An event waiting to be written. */
struct pending {
    uint64_t seq;
    char *type;
    char *payload;
    char *fields[8]; /* name, value pairs */
    size_t nfields;
    bool droppable; /* a plain log line, nothing else depends on it */
};

/* How a phase ended. */
enum outcome {
    OUT_OK,
    OUT_EXIT,
    OUT_SIGNAL,
    OUT_TIMEOUT,
    OUT_CANCELLED,
    OUT_SHUTDOWN,
    OUT_SPAWN,
    OUT_CLOSED,
    OUT_REDIS
};

/* The error event's code for the endings that have a name; the others
 * carry the phase's exit status. */
static const char *const outcome_code[] = {
        [OUT_TIMEOUT] = "timeout",
        [OUT_CANCELLED] = "cancelled",
        [OUT_SHUTDOWN] = "lost",
        [OUT_REDIS] = "redis",
};

struct session {
    struct runner *r;
    const struct config *cfg;
    const struct pipeline *p;
    struct store_claim claim;
    char workdir[512];
    struct extract *x;
    /* the event queue */
    struct pending *q;
    size_t qhead, qlen, qcap, qbytes;
    uint64_t seq;
    long stored;  /* events queued over the session's life */
    long dropped; /* lines dropped while the queue was full */
    long capped;  /* lines dropped past max-events */
    bool closed;  /* Redis refused: the session is gone or ended */
    int backoff_ms;
    int64_t retry_at; /* next flush attempt after a failure */
    int64_t next_heartbeat;
    int64_t down_since; /* when Redis stopped answering; 0 while it answers */
    bool redis_warned;
    /* the current phase */
    const struct pipeline_phase *phase;
    size_t phase_index;
    struct line_rules rules;
    const char *secret_values[128];
    char stderr_tail[STDERR_TAIL + 1];
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- the event queue ---- */

static void pending_free(struct pending *e)
{
    free(e->type);
    free(e->payload);
    for (size_t i = 0; i < e->nfields; i++)
        free(e->fields[i]);
}

/* The end of session_emit()'s field list (a typed NULL, as variadic
 * arguments need). */
#define END_FIELDS ((const char *)NULL)

/* Queues an event (payload is taken). Field pairs follow as name, value,
 * ..., END_FIELDS. Returns the queued event. */
static struct pending *session_emit(struct session *s, const char *type, char *payload,
                                    bool droppable, ...)
{
    if (s->qlen == s->qcap) {
        size_t cap = s->qcap ? s->qcap * 2 : 64;
        struct pending *q = xcalloc(cap, sizeof(*q));
        for (size_t i = 0; i < s->qlen; i++)
            q[i] = s->q[(s->qhead + i) % s->qcap];
        free(s->q);
        s->q = q;
        s->qcap = cap;
        s->qhead = 0;
    }
    struct pending *e = &s->q[(s->qhead + s->qlen) % s->qcap];
    memset(e, 0, sizeof(*e));
    e->seq = ++s->seq;
    e->type = xstrdup(type);
    e->payload = payload;
    e->droppable = droppable;
    va_list ap;
    va_start(ap, droppable);
    const char *name;
    while ((name = va_arg(ap, const char *)) != NULL && e->nfields + 2 <= 8) {
        e->fields[e->nfields++] = xstrdup(name);
        e->fields[e->nfields++] = xstrdup(va_arg(ap, const char *));
    }
    va_end(ap);
    s->qlen++;
    s->qbytes += strlen(payload);
    s->stored++;
    return e;
}

static void session_add_field(struct pending *e, const char *name, const char *value)
{
    if (e->nfields + 2 > 8)
        return;
    e->fields[e->nfields++] = xstrdup(name);
    e->fields[e->nfields++] = xstrdup(value);
}

/* Writes what it can of the queue. Returns true when the queue is empty. */
static bool session_flush(struct session *s)
{
    if (s->qlen == 0 || s->closed)
        return s->qlen == 0;
    int64_t now = now_ms();
    if (now < s->retry_at)
        return false;

    /* Contiguous views of the ring for store_append. */
    size_t n = s->qlen;
    struct store_event *ev = xcalloc(n, sizeof(*ev));
    for (size_t i = 0; i < n; i++) {
        struct pending *e = &s->q[(s->qhead + i) % s->qcap];
        ev[i].seq = e->seq;
        ev[i].type = e->type;
        ev[i].payload = e->payload;
        ev[i].fields = (const char **)e->fields;
        ev[i].nfields = e->nfields;
    }
    bool closed = false;
    int k = store_append(s->r->store, s->claim.sid, ev, n, &closed);
    free(ev);
    if (k > 0) {
        for (int i = 0; i < k; i++) {
            struct pending *e = &s->q[s->qhead];
            s->qbytes -= strlen(e->payload);
            pending_free(e);
            s->qhead = (s->qhead + 1) % s->qcap;
            s->qlen--;
        }
        metrics_add(METRIC_EVENTS, k);
    }
    if (closed) {
        s->closed = true;
        log_warn("session %s: Redis refused further events (ended or expired elsewhere)",
                 s->claim.sid);
        return false;
    }
    if (s->qlen > 0) {
        if (!s->down_since)
            s->down_since = now;
        if (!s->redis_warned)
            log_warn("session %s: %s; %zu events kept for later", s->claim.sid,
                     store_error(s->r->store), s->qlen);
        s->redis_warned = true;
        s->retry_at = now + s->backoff_ms;
        s->backoff_ms =
                s->backoff_ms * 2 > FLUSH_BACKOFF_MAX ? FLUSH_BACKOFF_MAX : s->backoff_ms * 2;
        return false;
    }
    if (s->redis_warned)
        log_info("session %s: Redis is back; the kept events are written", s->claim.sid);
    s->redis_warned = false;
    s->down_since = 0;
    s->backoff_ms = FLUSH_BACKOFF_MIN;
    s->retry_at = 0;
    if (s->dropped > 0) {
        char *msg = xasprintf("%ld output lines were not stored: Redis was unreachable and the "
                              "runner's buffer was full",
                              s->dropped);
        s->dropped = 0;
        session_emit(s, "log",
                     event_log_json(msg, s->phase ? s->phase->name : "", false, "warning"), false,
                     END_FIELDS);
        free(msg);
        return session_flush(s);
    }
    return true;
}

/* Is there room for one more output line? Counts the ones there is not. */
static bool session_line_room(struct session *s)
{
    if (s->stored + EVENT_RESERVE >= s->cfg->max_events) {
        if (s->capped++ == 0) {
            char *msg = xasprintf("Output limit reached: further lines of this session are not "
                                  "stored (max-events %d)",
                                  s->cfg->max_events);
            session_emit(s, "log", event_log_json(msg, s->phase->name, false, "warning"), false,
                         END_FIELDS);
            free(msg);
        }
        metrics_add(METRIC_LINES_DROPPED, 1);
        return false;
    }
    if (s->qlen >= PENDING_MAX_EVENTS || s->qbytes >= PENDING_MAX_BYTES) {
        s->dropped++;
        metrics_add(METRIC_LINES_DROPPED, 1);
        return false;
    }
    return true;
}

/* ---- events of a session ---- */

static void emit_status(struct session *s, const char *phase, int progress, const char *step,
                        bool skipped)
{
    char pr[16];
    snprintf(pr, sizeof(pr), "%d", progress);
    session_emit(s, "status", event_status_json(phase, progress, step, skipped), false, "phase",
                 phase, "currentStep", step, "progress", pr, END_FIELDS);
}

static void emit_notice(struct session *s, const char *message)
{
    char *masked = line_mask(&s->rules, message);
    session_emit(s, "log", event_log_json(masked, s->phase ? s->phase->name : "", false, "warning"),
                 false, END_FIELDS);
    free(masked);
}

/* The terminal error event; code_str NULL means the numeric code. */
static void emit_error(struct session *s, const char *message, int code, const char *code_str)
{
    char *masked = line_mask(&s->rules, message);
    session_emit(s, "error",
                 event_error_json(masked, s->phase ? s->phase->name : NULL, code, code_str), false,
                 "error", masked, END_FIELDS);
    free(masked);
    metrics_add(METRIC_FAILED, 1);
}

static void emit_complete(struct session *s)
{
    static const char step[] = "Workflow complete!";
    emit_status(s, "complete", 100, step, false);
    char now[32];
    event_timestamp(now);
    struct workflow_state ws = {
            .session_id = s->claim.sid,
            .proof_type = s->claim.proof_type,
            .status = "complete",
            .phase = "complete",
            .current_step = step,
            .progress = 100,
            .results = extract_results_json(s->x),
            .start_time = s->claim.start_time,
            .last_update = now,
    };
    session_emit(s, "complete", event_state_json(&ws, NULL, 0), false, END_FIELDS);
    metrics_add(METRIC_COMPLETED, 1);
}

/* Sink for extraction: progress figures and extra events, queued after the
 * line that produced them. */
struct derived {
    struct session *s;
    char *types[16];
    char *payloads[16];
    int progress[16];
    bool is_progress[16];
    size_t n;
};

static void sink_progress(void *ctx, int percent)
{
    struct derived *d = ctx;
    if (d->n < 16) {
        d->is_progress[d->n] = true;
        d->progress[d->n++] = percent;
    }
}

static void sink_event(void *ctx, const char *type, const char *data)
{
    struct derived *d = ctx;
    if (d->n < 16) {
        d->is_progress[d->n] = false;
        d->types[d->n] = xstrdup(type);
        d->payloads[d->n++] = xstrdup(data);
    }
}

struct stream_ctx {
    struct session *s;
    bool is_stderr;
};

/* One raw output line: clean, mask, extract, queue. */
static void on_line(void *ctx, const char *raw, size_t n, bool truncated)
{
    struct stream_ctx *sc = ctx;
    struct session *s = sc->s;
    const struct pipeline_phase *ph = s->phase;
    size_t len;
    char *line = line_sanitize(&s->rules, raw, n, truncated, &len);

    if (sc->is_stderr && len > 0)
        snprintf(s->stderr_tail, sizeof(s->stderr_tail), "%s", line);

    static const struct extract_sink sink = {sink_progress, sink_event};
    struct derived d = {.s = s};
    bool changed = extract_line(s->x, ph, line, len, &sink, &d);

    /* A line that fed a result or an event is always stored; a plain one
     * only while there is room. */
    bool plain = !changed && d.n == 0;
    if (!plain || session_line_room(s)) {
        struct pending *e = session_emit(
                s, "log", event_log_json(line, ph->name, sc->is_stderr, NULL), plain, END_FIELDS);
        if (changed)
            session_add_field(e, "results", extract_results_json(s->x));
    }
    for (size_t i = 0; i < d.n; i++) {
        if (d.is_progress[i]) {
            emit_status(s, ph->name, d.progress[i], ph->step, false);
        } else {
            session_emit(s, d.types[i], d.payloads[i], false, END_FIELDS);
            free(d.types[i]);
        }
    }
    free(line);
}

/* ---- running one phase ---- */

static bool env_has_name(const char *entry, const char *const *names, size_t n)
{
    size_t len = strcspn(entry, "=");
    for (size_t i = 0; i < n; i++)
        if (names[i] && strlen(names[i]) == len && strncmp(entry, names[i], len) == 0)
            return true;
    return false;
}

/* The phase's environment: the server's, minus what the phase sets, plus
 * the phase's env and the four documented variables. */
static char **build_env(struct session *s, const struct pipeline_phase *ph)
{
    const char *own[4] = {"PROOF_TYPE", "SESSION_ID", "PHASE", "WORKDIR"};
    size_t nenv = 0;
    while (environ[nenv])
        nenv++;
    char **envp = xcalloc(nenv + ph->nenv + 5, sizeof(char *));
    const char *names[64 + 4];
    size_t nnames = 0;
    for (size_t i = 0; i < 4; i++)
        names[nnames++] = own[i];
    for (size_t i = 0; i < ph->nenv && nnames < 68; i++)
        names[nnames++] = ph->env[i].name;
    size_t k = 0;
    for (size_t i = 0; i < nenv; i++)
        if (!env_has_name(environ[i], names, nnames))
            envp[k++] = xstrdup(environ[i]);
    for (size_t i = 0; i < ph->nenv; i++) {
        char *v = pipeline_expand(ph->env[i].value, s->claim.proof_type, s->claim.sid, s->workdir);
        envp[k++] = xasprintf("%s=%s", ph->env[i].name, v);
        free(v);
    }
    envp[k++] = xasprintf("PROOF_TYPE=%s", s->claim.proof_type);
    envp[k++] = xasprintf("SESSION_ID=%s", s->claim.sid);
    envp[k++] = xasprintf("PHASE=%s", ph->name);
    envp[k++] = xasprintf("WORKDIR=%s", s->workdir);
    envp[k] = NULL;
    return envp;
}

static void free_list(char **list)
{
    for (char **p = list; p && *p; p++)
        free(*p);
    free(list);
}

/* The secrets to mask in this phase: the values of the pipeline's secret
 * variables, from the phase's env if it sets them, else the server's. */
static void phase_rules(struct session *s, const struct pipeline_phase *ph)
{
    size_t n = 0;
    for (size_t i = 0; i < s->p->nsecrets && n < 128; i++) {
        const char *name = s->p->secrets[i];
        const char *v = getenv(name);
        for (size_t j = 0; j < ph->nenv; j++)
            if (strcmp(ph->env[j].name, name) == 0)
                v = ph->env[j].value;
        if (v && *v)
            s->secret_values[n++] = v;
    }
    s->rules.limit = (size_t)s->cfg->line_limit;
    s->rules.secrets = s->secret_values;
    s->rules.nsecrets = n;
}

static void drain_wake(int fd)
{
    uint64_t v;
    while (read(fd, &v, sizeof(v)) > 0)
        ;
}

/* Reads what a pipe has now, at most a few chunks so one busy stream does
 * not starve the other. Returns false at end of file. */
static bool read_pipe(int fd, struct linebuf *lb, struct stream_ctx *sc)
{
    char buf[READ_CHUNK];
    for (int i = 0; i < 4; i++) {
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n > 0) {
            linebuf_feed(lb, buf, (size_t)n, on_line, sc);
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return true;
        return false; /* EOF or error */
    }
    return true;
}

static void session_heartbeat(struct session *s)
{
    int64_t now = now_ms();
    if (now < s->next_heartbeat)
        return;
    s->next_heartbeat = now + s->cfg->heartbeat * 1000 / 3;
    bool cancel = false, closed = false;
    if (store_heartbeat(s->r->store, s->claim.sid, &cancel, &closed) != STORE_OK) {
        if (!s->down_since)
            s->down_since = now;
        return; /* Redis away: kept output waits; the budget is checked by the caller */
    }
    if (s->qlen == 0)
        s->down_since = 0;
    if (cancel)
        atomic_store(&s->r->cancel, true);
    if (closed)
        s->closed = true;
}

/* Has Redis been away longer than the session may wait? */
static bool redis_gone(const struct session *s, int64_t now)
{
    return s->down_since && now - s->down_since > (int64_t)s->cfg->redis_retry * 1000;
}

static enum outcome run_phase(struct session *s, char *err, size_t errlen, int *code)
{
    const struct pipeline_phase *ph = s->phase;
    struct runners *pool = s->r->pool;
    const struct config *cfg = s->cfg;

    char **argv = xcalloc(ph->argc + 1, sizeof(char *));
    for (size_t i = 0; i < ph->argc; i++)
        argv[i] = pipeline_expand(ph->argv[i], s->claim.proof_type, s->claim.sid, s->workdir);
    char **envp = build_env(s, ph);
    struct proc proc;
    int e = proc_spawn(&proc, argv, envp, ph->cwd, err, errlen);
    free_list(argv);
    free_list(envp);
    if (e) {
        *code = e == ENOENT ? 127 : 126; /* as a shell would say */
        return OUT_SPAWN;
    }
    log_debug("session %s: phase %s started (pid %d)", s->claim.sid, ph->name, (int)proc.pid);

    struct linebuf out, errb;
    linebuf_init(&out, &s->rules);
    linebuf_init(&errb, &s->rules);
    struct stream_ctx out_ctx = {s, false}, err_ctx = {s, true};
    int64_t start = now_ms();
    int64_t deadline = start + (int64_t)ph->timeout * 1000;
    int64_t kill_at = 0, leader_gone_at = 0;
    enum outcome reason = OUT_OK;
    bool term_sent = false;

    for (;;) {
        struct pollfd pfd[4];
        int npfd = 0, i_out = -1, i_err = -1;
        if (proc.out_fd >= 0) {
            i_out = npfd;
            pfd[npfd++] = (struct pollfd){proc.out_fd, POLLIN, 0};
        }
        if (proc.err_fd >= 0) {
            i_err = npfd;
            pfd[npfd++] = (struct pollfd){proc.err_fd, POLLIN, 0};
        }
        if (proc.pid_fd >= 0 && !proc.reaped) {
            pfd[npfd++] = (struct pollfd){proc.pid_fd, POLLIN, 0};
        }
        pfd[npfd++] = (struct pollfd){s->r->wake_fd, POLLIN, 0};

        /* Wake at least every 100 ms without a pidfd, else every 250 ms
         * for the clocks (timeout, heartbeat, flush retry). */
        int timeout = proc.pid_fd >= 0 ? 250 : 100;
        if (poll(pfd, (nfds_t)npfd, timeout) < 0 && errno != EINTR)
            break;

        if (i_out >= 0 && (pfd[i_out].revents & (POLLIN | POLLHUP | POLLERR)) &&
            !read_pipe(proc.out_fd, &out, &out_ctx)) {
            close(proc.out_fd);
            proc.out_fd = -1;
            linebuf_finish(&out, on_line, &out_ctx);
        }
        if (i_err >= 0 && (pfd[i_err].revents & (POLLIN | POLLHUP | POLLERR)) &&
            !read_pipe(proc.err_fd, &errb, &err_ctx)) {
            close(proc.err_fd);
            proc.err_fd = -1;
            linebuf_finish(&errb, on_line, &err_ctx);
        }
        drain_wake(s->r->wake_fd);
        if (proc_reap_leader(&proc))
            proc_reap_group(&proc); /* zombies of the group re-parented to us */
        session_flush(s);
        session_heartbeat(s);

        int64_t now = now_ms();
        long long shutdown_at = atomic_load(&pool->deadline_ms);
        if (!term_sent) {
            if (atomic_load(&s->r->cancel))
                reason = OUT_CANCELLED;
            else if (shutdown_at && now >= shutdown_at)
                reason = OUT_SHUTDOWN;
            else if (now >= deadline)
                reason = OUT_TIMEOUT;
            else if (s->closed)
                reason = OUT_CLOSED;
            else if (redis_gone(s, now))
                reason = OUT_REDIS;
            /* After the leader exits, what is left of its group goes too. */
            if (reason != OUT_OK || (proc.reaped && proc_group_alive(&proc))) {
                proc_signal_group(&proc, cfg->kill_grace > 0 ? SIGTERM : SIGKILL);
                term_sent = true;
                kill_at = now + (int64_t)cfg->kill_grace * 1000;
            }
        } else if (kill_at && now >= kill_at) {
            proc_signal_group(&proc, SIGKILL);
            kill_at = 0;
        }

        if (proc.reaped) {
            if (!leader_gone_at)
                leader_gone_at = now;
            bool alive = proc_group_alive(&proc);
            if (!alive && proc.out_fd < 0 && proc.err_fd < 0)
                break;
            /* A process outside the group may hold the pipes open: once the
             * group is gone, give it the grace period, then stop reading. */
            if (!alive && now - leader_gone_at > (int64_t)cfg->kill_grace * 1000 + 500)
                break;
        }
    }
    if (proc.out_fd >= 0)
        linebuf_finish(&out, on_line, &out_ctx);
    if (proc.err_fd >= 0)
        linebuf_finish(&errb, on_line, &err_ctx);
    linebuf_free(&out);
    linebuf_free(&errb);
    proc_reap_group(&proc);
    proc_close(&proc);
    metrics_phase_duration(s->phase_index, (double)(now_ms() - start) / 1000.0);

    const char *tail = s->stderr_tail[0] ? s->stderr_tail : NULL;
    switch (reason) {
    case OUT_CANCELLED:
        snprintf(err, errlen, "Cancelled by request during phase %s", ph->name);
        return reason;
    case OUT_SHUTDOWN:
        snprintf(err, errlen, "phasestream shut down during phase %s; the workflow did not finish",
                 ph->name);
        return reason;
    case OUT_TIMEOUT:
        snprintf(err, errlen, "Phase %s timed out after %d s", ph->name, ph->timeout);
        return reason;
    case OUT_CLOSED:
        snprintf(err, errlen, "the session was ended elsewhere");
        return reason;
    case OUT_REDIS:
        snprintf(err, errlen,
                 "Redis was unreachable for more than %d s during phase %s; the "
                 "workflow was stopped",
                 cfg->redis_retry, ph->name);
        return reason;
    default:
        break;
    }
    int st = proc.status;
    if (WIFSIGNALED(st)) {
        *code = 128 + WTERMSIG(st);
        snprintf(err, errlen, "Phase %s was killed by signal %d (%s)%s%s", ph->name, WTERMSIG(st),
                 strsignal(WTERMSIG(st)), tail ? ": " : "", tail ? tail : "");
        return OUT_SIGNAL;
    }
    *code = WIFEXITED(st) ? WEXITSTATUS(st) : 1;
    if (*code == 0)
        return OUT_OK;
    if (ph->exit_ok_if && extract_has(s->x, ph->exit_ok_if)) {
        char *msg = xasprintf("Phase %s exited with status %d; accepted because %s is not empty",
                              ph->name, *code, ph->exit_ok_if);
        emit_notice(s, msg);
        free(msg);
        return OUT_OK;
    }
    snprintf(err, errlen, "Phase %s failed with exit code %d%s%s", ph->name, *code,
             tail ? ": " : "", tail ? tail : "");
    return OUT_EXIT;
}

/* ---- a whole session ---- */

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

static int make_workdir(struct session *s, char *err, size_t errlen)
{
    const char *root = s->cfg->workdir;
    if (mkdir(root, 0700) < 0 && errno != EEXIST) {
        snprintf(err, errlen, "cannot create the work directory %s: %s", root, strerror(errno));
        return -1;
    }
    if (snprintf(s->workdir, sizeof(s->workdir), "%s/%s", root, s->claim.sid) >=
        (int)sizeof(s->workdir)) {
        snprintf(err, errlen, "the work directory path is too long");
        return -1;
    }
    if (mkdir(s->workdir, 0700) < 0 && errno != EEXIST) {
        snprintf(err, errlen, "cannot create %s: %s", s->workdir, strerror(errno));
        return -1;
    }
    return 0;
}

/* Writes the rest of the queue, waiting for Redis at most redis-retry
 * seconds more, or not at all once a stop is hurried (a second signal). */
static void session_drain(struct session *s)
{
    int64_t give_up = now_ms() + (int64_t)s->cfg->redis_retry * 1000;
    while (!session_flush(s) && !s->closed) {
        if (now_ms() > give_up || atomic_load(&s->r->pool->hurry)) {
            log_error("session %s: %zu events could not be written: %s", s->claim.sid, s->qlen,
                      store_error(s->r->store));
            break;
        }
        usleep(50000);
    }
}

static void run_session(struct runner *r, const struct store_claim *claim)
{
    struct runners *pool = r->pool;
    struct session s = {0};
    s.r = r;
    s.cfg = pool->cfg;
    s.p = pool->pipeline;
    s.claim = *claim;
    s.x = extract_new(s.p, claim->proof_type);
    s.backoff_ms = FLUSH_BACKOFF_MIN;
    s.rules.limit = (size_t)s.cfg->line_limit;
    s.rules.secrets = s.secret_values;
    atomic_store(&r->cancel, false);
    pthread_mutex_lock(&pool->lock);
    snprintf(r->sid, sizeof(r->sid), "%s", claim->sid);
    pthread_mutex_unlock(&pool->lock);
    metrics_add(METRIC_RUNNING, 1);
    log_info("session %s (%s): running", claim->sid, claim->proof_type);

    char err[1024];
    int code = 0;
    bool ended = false;
    if (make_workdir(&s, err, sizeof(err)) < 0) {
        s.phase = &s.p->phases[0];
        emit_error(&s, err, 1, NULL);
        ended = true;
    }
    for (size_t i = 0; i < s.p->nphases && !ended && !s.closed; i++) {
        const struct pipeline_phase *ph = &s.p->phases[i];
        s.phase = ph;
        s.phase_index = i;
        s.stderr_tail[0] = '\0';
        phase_rules(&s, ph);
        if (atomic_load(&r->cancel)) {
            emit_error(&s, "Cancelled by request", 0, "cancelled");
            ended = true;
            break;
        }
        if (redis_gone(&s, now_ms())) {
            char *msg = xasprintf("Redis was unreachable for more than %d s; the workflow was "
                                  "stopped before phase %s",
                                  s.cfg->redis_retry, ph->name);
            emit_error(&s, msg, 0, "redis");
            free(msg);
            ended = true;
            break;
        }
        long long shutdown_at = atomic_load(&pool->deadline_ms);
        if (shutdown_at) {
            emit_error(&s, "phasestream shut down before the workflow finished", 0, "lost");
            ended = true;
            break;
        }
        emit_status(&s, ph->name, ph->progress_from, ph->step, false);
        if (ph->skip_unless_env) {
            const char *v = getenv(ph->skip_unless_env);
            if (!v || !*v) {
                emit_notice(&s, ph->skip_message);
                emit_status(&s, ph->name, ph->progress_to, ph->step, true);
                continue;
            }
        }
        session_flush(&s);
        enum outcome o = run_phase(&s, err, sizeof(err), &code);
        if (o == OUT_OK)
            continue;
        ended = true;
        if (o == OUT_SPAWN) {
            char *msg = xasprintf("Phase %s could not start: %s", ph->name, err);
            emit_error(&s, msg, code, NULL);
            free(msg);
        } else if (o != OUT_CLOSED) {
            emit_error(&s, err, code, outcome_code[o]);
        }
    }
    if (!ended && !s.closed)
        emit_complete(&s);
    /* The WORKDIR goes before the terminal event is written (it is only
     * queued so far), so whoever sees the end sees it gone. */
    if (s.workdir[0] && !s.cfg->keep_workdir)
        nftw(s.workdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    session_drain(&s);
    for (size_t i = 0; i < s.qlen; i++)
        pending_free(&s.q[(s.qhead + i) % s.qcap]);
    free(s.q);
    extract_free(s.x);
    pthread_mutex_lock(&pool->lock);
    r->sid[0] = '\0';
    pthread_mutex_unlock(&pool->lock);
    metrics_add(METRIC_RUNNING, -1);
    log_info("session %s: finished", claim->sid);
}

/* ---- the pool ---- */

static void *runner_main(void *arg)
{
    struct runner *r = arg;
    struct runners *pool = r->pool;
    unsigned long seen = 0;
    bool down_logged = false;

    /* Signals are handled by the main thread only. */
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);

    while (!atomic_load(&pool->stopping)) {
        struct store_claim claim;
        int rc = store_claim(r->store, pool->instance, &claim);
        if (rc == 1) {
            down_logged = false;
            run_session(r, &claim);
            continue;
        }
        if (rc == STORE_DOWN && !down_logged) {
            log_warn("runner %d: cannot claim: %s", r->index, store_error(r->store));
            down_logged = true;
        } else if (rc == 0) {
            down_logged = false;
        }
        /* Sleep until a session is queued, or a second passes (a missed
         * notification, or Redis coming back). */
        pthread_mutex_lock(&pool->lock);
        if (!atomic_load(&pool->stopping) && seen == pool->wake_gen) {
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts); /* a clock step is no delay */
            ts.tv_sec += 1;
            pthread_cond_timedwait(&pool->cond, &pool->lock, &ts);
        }
        seen = pool->wake_gen;
        pthread_mutex_unlock(&pool->lock);
    }
    return NULL;
}

struct runners *runners_start(const struct config *cfg, const struct pipeline *p)
{
    struct runners *rs = xcalloc(1, sizeof(*rs));
    rs->cfg = cfg;
    rs->pipeline = p;
    rs->n = cfg->runners;
    char host[64] = "host";
    gethostname(host, sizeof(host) - 1);
    snprintf(rs->instance, sizeof(rs->instance), "%s:%d", host, (int)getpid());
    pthread_mutex_init(&rs->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&rs->cond, &ca);
    pthread_condattr_destroy(&ca);
    rs->runners = xcalloc((size_t)(rs->n ? rs->n : 1), sizeof(struct runner));
    for (int i = 0; i < rs->n; i++) {
        struct runner *r = &rs->runners[i];
        r->pool = rs;
        r->index = i;
        r->store = store_new(cfg);
        r->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (pthread_create(&r->thread, NULL, runner_main, r) != 0) {
            log_error("cannot start runner %d: %s", i, strerror(errno));
            rs->n = i;
            break;
        }
    }
    return rs;
}

void runners_wake(struct runners *rs)
{
    pthread_mutex_lock(&rs->lock);
    rs->wake_gen++;
    pthread_cond_broadcast(&rs->cond);
    pthread_mutex_unlock(&rs->lock);
}

void runners_cancel(struct runners *rs, const char *sid)
{
    pthread_mutex_lock(&rs->lock);
    for (int i = 0; i < rs->n; i++) {
        struct runner *r = &rs->runners[i];
        if (strcmp(r->sid, sid) == 0) {
            atomic_store(&r->cancel, true);
            uint64_t one = 1;
            (void)!write(r->wake_fd, &one, sizeof(one));
        }
    }
    pthread_mutex_unlock(&rs->lock);
}

void runners_shutdown(struct runners *rs, int grace_s)
{
    long long now = now_ms();
    bool again = atomic_exchange(&rs->stopping, true);
    long long deadline = again ? now : now + (long long)grace_s * 1000;
    if (again || grace_s == 0)
        atomic_store(&rs->hurry, true);
    long long cur = atomic_load(&rs->deadline_ms);
    if (!cur || deadline < cur)
        atomic_store(&rs->deadline_ms, deadline ? deadline : 1);
    runners_wake(rs);
    for (int i = 0; i < rs->n; i++) {
        uint64_t one = 1;
        (void)!write(rs->runners[i].wake_fd, &one, sizeof(one));
    }
}

void runners_join(struct runners *rs)
{
    if (!rs)
        return;
    for (int i = 0; i < rs->n; i++) {
        pthread_join(rs->runners[i].thread, NULL);
        store_free(rs->runners[i].store);
        close(rs->runners[i].wake_fd);
    }
    pthread_mutex_destroy(&rs->lock);
    pthread_cond_destroy(&rs->cond);
    free(rs->runners);
    free(rs);
}
