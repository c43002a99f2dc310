/* phase.c -- running one phase of a session: see phase.h.
 *
 * phase_run() is four steps: spawn, then a loop that polls (reads output,
 * reaps), decides (whether the phase must end, and why) and kills (TERM,
 * then KILL after the grace period), then the result from the wait status.
 * The loop wakes at least every 250 ms (100 ms without a pidfd) for its
 * clocks: the timeout, the heartbeat, the outbox's retry. */
#include "phase.h"
#include "alloc.h"
#include "buf.h"
#include "config.h"
#include "lines.h"
#include "log.h"
#include "loop.h"
#include "metrics.h"
#include "outbox.h"
#include "pipeline.h"
#include "proc.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define PHASE_READ_CHUNK 65536
#define PHASE_SWEEP_MS   1000 /* between two sweeps for orphans (proc_reap_orphans) */

/* Per outcome: the error event's code (NULL: the exit code) and message.
 * In a message, {phase}, {timeout}, {retry}, {code}, {signal}, {signame},
 * {tail} (": " and the last stderr line, or nothing) and {detail} stand for
 * their values. */
static const struct {
    const char *code;
    const char *message;
} phase_outcomes[] = {
        [PHASE_OK] = {NULL, ""},
        [PHASE_EXIT] = {NULL, "Phase {phase} failed with exit code {code}{tail}"},
        [PHASE_SIGNAL] = {NULL, "Phase {phase} was killed by signal {signal} ({signame}){tail}"},
        [PHASE_TIMEOUT] = {"timeout", "Phase {phase} timed out after {timeout} s"},
        [PHASE_CANCELLED] = {"cancelled", "Cancelled by request during phase {phase}"},
        [PHASE_SHUTDOWN] = {"lost",
                            "phasestream shut down during phase {phase}; the workflow did not "
                            "finish"},
        [PHASE_SPAWN] = {NULL, "Phase {phase} could not start: {detail}"},
        [PHASE_CLOSED] = {NULL, "the session was ended elsewhere"},
        [PHASE_REDIS] = {"redis",
                         "Redis was unreachable for more than {retry} s during phase {phase}; the "
                         "workflow was stopped"},
};

const char *phase_outcome_code(enum phase_outcome o)
{
    return phase_outcomes[o].code;
}

/* Appends the value of the placeholder name[0..n). */
static void phase_message_value(struct buf *b, const char *name, size_t n,
                                const struct phase_run *run, const struct phase_result *res)
{
#define IS(s) (n == sizeof(s) - 1 && memcmp(name, s, n) == 0)
    if (IS("phase"))
        buf_appends(b, run->ph->name);
    else if (IS("timeout"))
        buf_appendf(b, "%d", run->ph->timeout);
    else if (IS("retry"))
        buf_appendf(b, "%d", run->cfg->redis_retry);
    else if (IS("code"))
        buf_appendf(b, "%d", res->code);
    else if (IS("signal"))
        buf_appendf(b, "%d", res->signal);
    else if (IS("signame"))
        buf_appends(b, strsignal(res->signal));
    else if (IS("tail") && res->stderr_tail[0])
        buf_appendf(b, ": %s", res->stderr_tail);
    else if (IS("detail"))
        buf_appends(b, res->detail);
#undef IS
}

char *phase_message(const struct phase_run *run, const struct phase_result *res)
{
    struct buf b;
    buf_init(&b);
    const char *p = phase_outcomes[res->outcome].message;
    while (*p) {
        const char *open = strchr(p, '{');
        const char *close = open ? strchr(open, '}') : NULL;
        if (!close) {
            buf_appends(&b, p);
            break;
        }
        buf_append(&b, p, (size_t)(open - p));
        phase_message_value(&b, open + 1, (size_t)(close - open - 1), run, res);
        p = close + 1;
    }
    char *msg = xstrdup(buf_cstr(&b));
    buf_free(&b);
    return msg;
}

/* ---- spawn ---- */

static bool phase_env_has_name(const char *entry, const char *const *names, size_t n)
{
    size_t len = strcspn(entry, "=");
    for (size_t i = 0; i < n; i++)
        if (names[i] && strlen(names[i]) == len && strncmp(entry, names[i], len) == 0)
            return true;
    return false;
}

/* The server's own settings, which are none of a phase's business: the
 * Redis address and password, and PHASESTREAM_* (docs/api.md). */
static bool phase_env_private(const char *entry)
{
    static const char *const names[] = {"REDIS_URL", "REDIS_HOST", "REDIS_PORT", "REDIS_PASSWORD"};
    if (strncmp(entry, "PHASESTREAM_", 12) == 0)
        return true;
    return phase_env_has_name(entry, names, sizeof(names) / sizeof(names[0]));
}

/* The phase's environment: the server's, minus its own settings and what
 * the phase sets, plus the phase's env and the four documented variables. */
static char **phase_env(const struct phase_run *run)
{
    const struct pipeline_phase *ph = run->ph;
    const char *own[4] = {"PROOF_TYPE", "SESSION_ID", "PHASE", "WORKDIR"};
    size_t nenv = 0;
    while (environ[nenv])
        nenv++;
    char **envp = xcalloc(nenv + ph->nenv + 5, sizeof(char *));
    const char *names[PIPELINE_MAX_ENV + 4];
    size_t nnames = 0;
    for (size_t i = 0; i < 4; i++)
        names[nnames++] = own[i];
    for (size_t i = 0; i < ph->nenv; i++) /* at most PIPELINE_MAX_ENV */
        names[nnames++] = ph->env[i].name;
    size_t k = 0;
    for (size_t i = 0; i < nenv; i++)
        if (!phase_env_has_name(environ[i], names, nnames) && !phase_env_private(environ[i]))
            envp[k++] = xstrdup(environ[i]);
    for (size_t i = 0; i < ph->nenv; i++) {
        char *v = pipeline_expand(ph->env[i].value, run->proof_type, run->sid, run->workdir);
        envp[k++] = xasprintf("%s=%s", ph->env[i].name, v);
        free(v);
    }
    envp[k++] = xasprintf("PROOF_TYPE=%s", run->proof_type);
    envp[k++] = xasprintf("SESSION_ID=%s", run->sid);
    envp[k++] = xasprintf("PHASE=%s", ph->name);
    envp[k++] = xasprintf("WORKDIR=%s", run->workdir);
    envp[k] = NULL;
    return envp;
}

static void phase_free_list(char **list)
{
    for (char **p = list; p && *p; p++)
        free(*p);
    free(list);
}

/* Starts the command. Returns false with res filled when it could not. */
static bool phase_spawn(const struct phase_run *run, struct proc *proc, struct phase_result *res)
{
    const struct pipeline_phase *ph = run->ph;
    char **argv = xcalloc(ph->argc + 1, sizeof(char *));
    for (size_t i = 0; i < ph->argc; i++)
        argv[i] = pipeline_expand(ph->argv[i], run->proof_type, run->sid, run->workdir);
    char **envp = phase_env(run);
    int e = proc_spawn(proc, argv, envp, ph->cwd, res->detail, sizeof(res->detail));
    phase_free_list(argv);
    phase_free_list(envp);
    if (e) {
        res->outcome = PHASE_SPAWN;
        res->code = e == ENOENT ? 127 : 126; /* as a shell would say */
        return false;
    }
    log_debug("session %s: phase %s started (pid %d)", run->sid, ph->name, (int)proc->pid);
    return true;
}

/* ---- the loop ---- */

/* One of the phase's output streams. */
struct phase_stream {
    struct phase_loop *pl;
    bool is_stderr;
    int *fd;
    struct linebuf lb;
};

/* A running phase. */
struct phase_loop {
    const struct phase_run *run;
    struct phase_result *res;
    struct proc proc;
    struct phase_stream out, err;
    int64_t start, deadline;
    int64_t kill_at;        /* the SIGKILL after SIGTERM; 0: none due */
    int64_t leader_gone_at; /* when the leader was reaped */
    int64_t next_sweep;     /* of orphans: proc_reap_orphans() */
    bool term_sent;
};

/* One raw output line: clean and mask it, remember stderr's last, hand it
 * to the session. */
static void phase_on_raw_line(void *ctx, const char *raw, size_t n, enum line_end end)
{
    struct phase_stream *st = ctx;
    const struct phase_run *run = st->pl->run;
    size_t len;
    char *line = line_sanitize(run->rules, raw, n, end, &len);
    if (st->is_stderr && len > 0)
        snprintf(st->pl->res->stderr_tail, sizeof(st->pl->res->stderr_tail), "%.*s",
                 (int)line_utf8_prefix(line, len, PHASE_STDERR_TAIL), line);
    run->on_line(run->arg, line, len, st->is_stderr);
    free(line);
}

/* Reads what a pipe has now, at most a few chunks so one busy stream does
 * not starve the other. Returns false at end of file. */
static bool phase_read_some(struct phase_stream *st)
{
    char buf[PHASE_READ_CHUNK];
    for (int i = 0; i < 4; i++) {
        ssize_t n = read(*st->fd, buf, sizeof(buf));
        if (n > 0) {
            linebuf_feed(&st->lb, buf, (size_t)n, phase_on_raw_line, st);
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

/* Takes what a readable pipe has; at its end, the held partial line goes
 * out and the pipe is closed. */
static void phase_read(struct phase_stream *st)
{
    if (phase_read_some(st))
        return;
    close(*st->fd);
    *st->fd = -1;
    linebuf_finish(&st->lb, phase_on_raw_line, st);
}

static void phase_drain_wake(int fd)
{
    uint64_t v;
    while (read(fd, &v, sizeof(v)) > 0)
        ;
}

/* Waits for output, the leader's exit or a wake-up, and takes what came.
 * Returns false when poll() failed. */
static bool phase_poll(struct phase_loop *pl)
{
    struct proc *proc = &pl->proc;
    struct phase_stream *streams[2] = {&pl->out, &pl->err};
    struct phase_stream *at[4] = {NULL};
    struct pollfd pfd[4];
    int npfd = 0;
    for (int i = 0; i < 2; i++) {
        if (*streams[i]->fd >= 0) {
            at[npfd] = streams[i];
            pfd[npfd++] = (struct pollfd){*streams[i]->fd, POLLIN, 0};
        }
    }
    if (proc->pid_fd >= 0 && !proc->reaped)
        pfd[npfd++] = (struct pollfd){proc->pid_fd, POLLIN, 0};
    pfd[npfd++] = (struct pollfd){pl->run->wake_fd, POLLIN, 0};

    /* Without a pidfd, the leader's exit is noticed by the clock. */
    int timeout = proc->pid_fd >= 0 ? 250 : 100;
    if (poll(pfd, (nfds_t)npfd, timeout) < 0 && errno != EINTR)
        return false;
    for (int i = 0; i < npfd; i++)
        if (at[i] && (pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
            phase_read(at[i]);
    phase_drain_wake(pl->run->wake_fd);
    if (proc_reap_leader(proc))
        proc_reap_group(proc); /* zombies of the group re-parented to us */
    if (loop_now() >= pl->next_sweep) {
        proc_reap_orphans(); /* and of processes that left their group */
        pl->next_sweep = loop_now() + PHASE_SWEEP_MS;
    }
    return true;
}

/* Why the phase must end now, if it must. */
static enum phase_outcome phase_decide(const struct phase_loop *pl, int64_t now)
{
    const struct phase_run *run = pl->run;
    long long shutdown_at = atomic_load(run->shutdown_at);
    if (atomic_load(run->cancel))
        return PHASE_CANCELLED;
    if (shutdown_at && now >= shutdown_at)
        return PHASE_SHUTDOWN;
    if (now >= pl->deadline)
        return PHASE_TIMEOUT;
    if (run->ob->closed)
        return PHASE_CLOSED;
    if (outbox_redis_gone(run->ob, now))
        return PHASE_REDIS;
    return PHASE_OK;
}

/* Ends the group when it must end: SIGTERM, then SIGKILL after kill-grace
 * seconds (at once without a grace). After the leader exits, what is left
 * of its group goes too. */
static void phase_kill(struct phase_loop *pl, int64_t now)
{
    int grace = pl->run->cfg->kill_grace;
    if (!pl->term_sent) {
        if (pl->res->outcome == PHASE_OK && !(pl->proc.reaped && proc_group_alive(&pl->proc)))
            return;
        proc_signal_group(&pl->proc, grace > 0 ? SIGTERM : SIGKILL);
        pl->term_sent = true;
        pl->kill_at = now + (int64_t)grace * 1000;
    } else if (pl->kill_at && now >= pl->kill_at) {
        proc_signal_group(&pl->proc, SIGKILL);
        pl->kill_at = 0;
    }
}

/* Is there nothing more to wait for? */
static bool phase_over(struct phase_loop *pl, int64_t now)
{
    if (!pl->proc.reaped)
        return false;
    if (!pl->leader_gone_at)
        pl->leader_gone_at = now;
    if (proc_group_alive(&pl->proc))
        return false;
    if (pl->proc.out_fd < 0 && pl->proc.err_fd < 0)
        return true;
    /* A process outside the group may hold the pipes open: once the group
     * is gone, give it the grace period, then stop reading. */
    return now - pl->leader_gone_at > (int64_t)pl->run->cfg->kill_grace * 1000 + 500;
}

/* The last partial lines, the last zombies, the descriptors, the time. */
static void phase_finish(struct phase_loop *pl)
{
    struct phase_stream *streams[2] = {&pl->out, &pl->err};
    for (int i = 0; i < 2; i++) {
        if (*streams[i]->fd >= 0)
            linebuf_finish(&streams[i]->lb, phase_on_raw_line, streams[i]);
        linebuf_free(&streams[i]->lb);
    }
    proc_reap_group(&pl->proc);
    proc_close(&pl->proc);
    metrics_phase_duration(pl->run->index, (double)(loop_now() - pl->start) / 1000.0);
}

/* The outcome of a phase that was not ended by us: from its wait status. */
static void phase_status(struct phase_loop *pl)
{
    struct phase_result *res = pl->res;
    int st = pl->proc.status;
    if (res->outcome != PHASE_OK)
        return;
    if (WIFSIGNALED(st)) {
        res->outcome = PHASE_SIGNAL;
        res->signal = WTERMSIG(st);
        res->code = 128 + res->signal;
        return;
    }
    res->code = WIFEXITED(st) ? WEXITSTATUS(st) : 1;
    if (res->code != 0)
        res->outcome = PHASE_EXIT;
}

static void phase_stream_init(struct phase_loop *pl, struct phase_stream *st, int *fd,
                              bool is_stderr)
{
    st->pl = pl;
    st->fd = fd;
    st->is_stderr = is_stderr;
    linebuf_init(&st->lb, pl->run->rules);
}

void phase_run(const struct phase_run *run, struct phase_result *res)
{
    memset(res, 0, sizeof(*res));
    struct phase_loop pl = {.run = run, .res = res};
    if (!phase_spawn(run, &pl.proc, res))
        return;
    phase_stream_init(&pl, &pl.out, &pl.proc.out_fd, false);
    phase_stream_init(&pl, &pl.err, &pl.proc.err_fd, true);
    pl.start = loop_now();
    pl.deadline = pl.start + (int64_t)run->ph->timeout * 1000;
    for (;;) {
        if (!phase_poll(&pl))
            break;
        outbox_flush(run->ob, run->ph->name);
        if (outbox_heartbeat(run->ob))
            atomic_store(run->cancel, true);
        int64_t now = loop_now();
        if (!pl.term_sent)
            res->outcome = phase_decide(&pl, now);
        phase_kill(&pl, now);
        if (phase_over(&pl, now))
            break;
    }
    phase_finish(&pl);
    phase_status(&pl);
}
