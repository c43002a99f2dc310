/* runner.c -- runner threads: see runner.h.
 *
 * A runner thread claims a session, then runs it: its phases one after the
 * other (phase.c), every output line turned into events (extract.c) queued
 * in the session's outbox (outbox.c), which writes them to Redis in order,
 * and exactly one terminal event at the end.
 *
 * Threads: the pool's lock guards each runner's sid (read by
 * runners_cancel from the loop thread) and the wake generation; cancel,
 * stopping, deadline_ms and hurry are atomics read by the running phase. */
#include "runner.h"
#include "alloc.h"
#include "config.h"
#include "events.h"
#include "extract.h"
#include "lines.h"
#include "log.h"
#include "loop.h"
#include "metrics.h"
#include "outbox.h"
#include "phase.h"
#include "pipeline.h"
#include "proc.h"
#include "store.h"

#include <errno.h>
#include <ftw.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

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

struct session {
    struct runner *r;
    const struct config *cfg;
    const struct pipeline *p;
    struct store_claim claim;
    char workdir[512];
    struct extract *x;
    struct outbox ob;
    /* the current phase */
    const struct pipeline_phase *phase;
    size_t phase_index;
    struct line_rules rules;
    /* the strings rules masks, rules.nsecrets of them, owned */
    const char *secret_values[LINE_MAX_SECRETS];
    struct extract_drops drops; /* of the extraction bounds, already reported */
};

/* The pipeline's secrets and the Redis password are masked: each takes at
 * least one string, a multi-line value one per line (secret_values checks
 * the rest at start-up and before every phase). */
_Static_assert(PIPELINE_MAX_SECRETS + 1 <= LINE_MAX_SECRETS, "room for every secret");

/* ---- events of a session ---- */

static const char *session_phase_name(const struct session *s)
{
    return s->phase ? s->phase->name : "";
}

static void emit_status(struct session *s, const char *phase, int progress, const char *step,
                        bool skipped)
{
    char pr[16];
    snprintf(pr, sizeof(pr), "%d", progress);
    outbox_push(&s->ob, "status", event_status_json(phase, progress, step, skipped), "phase", phase,
                "currentStep", step, "progress", pr, END_FIELDS);
}

static void emit_notice(struct session *s, const char *message)
{
    char *masked = line_mask(&s->rules, message);
    outbox_push(&s->ob, "log", event_log_json(masked, session_phase_name(s), false, "warning"),
                END_FIELDS);
    free(masked);
}

/* The session's processes that left its process groups (setsid) and
 * outlived their phase are ended (proc.h): before the terminal event, which
 * says so (tell), and once more when the runner lets go of the session,
 * which may have ended without one (Redis refused it: ended or expired
 * elsewhere). */
static void session_end_escapees(struct session *s, bool tell)
{
    char entry[STORE_SID_MAX + 16];
    snprintf(entry, sizeof(entry), "SESSION_ID=%s", s->claim.sid);
    int n = proc_end_escapees(entry);
    if (n == 0)
        return;
    log_warn("session %s: ended %d process%s that had left the phase's process group", s->claim.sid,
             n, n == 1 ? "" : "es");
    if (!tell)
        return;
    char *msg = xasprintf("%d process%s of this session that had left its process group %s "
                          "ended",
                          n, n == 1 ? "" : "es", n == 1 ? "was" : "were");
    emit_notice(s, msg);
    free(msg);
}

/* The terminal error event; code_str NULL means the numeric code. */
static void emit_error(struct session *s, const char *message, int code, const char *code_str)
{
    session_end_escapees(s, true);
    char *masked = line_mask(&s->rules, message);
    outbox_push(&s->ob, "error",
                event_error_json(masked, s->phase ? s->phase->name : NULL, code, code_str), "error",
                masked, END_FIELDS);
    free(masked);
    metrics_add(METRIC_FAILED, 1);
}

static void emit_complete(struct session *s)
{
    static const char step[] = "Workflow complete!";
    session_end_escapees(s, true);
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
    outbox_push(&s->ob, "complete", event_state_json(&ws, NULL, 0), END_FIELDS);
    metrics_add(METRIC_COMPLETED, 1);
}

/* Sink for extraction: progress figures and extra events, queued after the
 * line that produced them. Each rule gives at most one of each. */
#define DERIVED_MAX (2 * PIPELINE_MAX_RULES)
struct derived {
    struct session *s;
    char *types[DERIVED_MAX];
    char *payloads[DERIVED_MAX];
    int progress[DERIVED_MAX];
    bool is_progress[DERIVED_MAX];
    size_t n;
};

static void sink_progress(void *ctx, int percent)
{
    struct derived *d = ctx;
    d->is_progress[d->n] = true;
    d->progress[d->n++] = percent;
}

static void sink_event(void *ctx, const char *type, const char *data)
{
    struct derived *d = ctx;
    d->is_progress[d->n] = false;
    d->types[d->n] = xstrdup(type);
    d->payloads[d->n++] = xstrdup(data);
}

static const char *session_results_json(void *arg)
{
    return extract_results_json(arg);
}

/* Says once per session, for each extraction bound, that it was hit; the
 * server log and the metrics count every drop. */
static void session_report_drops(struct session *s)
{
    struct extract_drops now;
    extract_drops(s->x, &now);
    if (now.values > s->drops.values) {
        if (s->drops.values == 0) {
            char *msg = xasprintf("Results limit reached: further values are not collected (at "
                                  "most %d per result, %d KiB in all)",
                                  EXTRACT_MAX_ITEMS, EXTRACT_MAX_BYTES >> 10);
            emit_notice(s, msg);
            free(msg);
            log_warn("session %s: results limit reached", s->claim.sid);
        }
        metrics_add(METRIC_RESULTS_DROPPED, now.values - s->drops.values);
    }
    if (now.match_limit > s->drops.match_limit)
        metrics_add(METRIC_MATCH_LIMITED, now.match_limit - s->drops.match_limit);
    if (now.match_limit > s->drops.match_limit && s->drops.match_limit == 0) {
        char *msg = xasprintf("A pattern of phase %s gave up on a line at its match limit (%d "
                              "steps); such lines count as not matching",
                              session_phase_name(s), EXTRACT_MATCH_LIMIT);
        emit_notice(s, msg);
        free(msg);
        log_warn("session %s: a pattern hit the PCRE2 match limit", s->claim.sid);
    }
    s->drops = now;
}

/* Queues an event derived from a line, if there is room for it. */
static void session_derived(struct session *s, const struct derived *d, size_t i)
{
    const struct pipeline_phase *ph = s->phase;
    bool room = outbox_line_room(&s->ob, ph->name);
    if (d->is_progress[i]) {
        if (room)
            emit_status(s, ph->name, d->progress[i], ph->step, false);
        return;
    }
    if (room)
        outbox_push(&s->ob, d->types[i], d->payloads[i], END_FIELDS);
    else
        free(d->payloads[i]);
    free(d->types[i]);
}

/* One clean output line of the phase: extract, queue. Every event, the
 * line's and those its rules derive, counts against max-events; a change
 * of the results reaches the state hash with the next write. */
static void session_on_line(void *arg, const char *line, size_t len, bool is_stderr)
{
    struct session *s = arg;
    const struct pipeline_phase *ph = s->phase;

    static const struct extract_sink sink = {sink_progress, sink_event};
    struct derived d = {.s = s};
    if (extract_line(s->x, ph, line, len, &sink, &d))
        outbox_results_changed(&s->ob, session_results_json, s->x);
    session_report_drops(s);
    if (outbox_line_room(&s->ob, ph->name))
        outbox_push(&s->ob, "log", event_log_json(line, ph->name, is_stderr, NULL), END_FIELDS);
    for (size_t i = 0; i < d.n; i++)
        session_derived(s, &d, i);
}

/* ---- a whole session ---- */

/* The strings to mask in a phase: the values of the pipeline's secret
 * variables, from the phase's env if it sets them (expanded as the phase
 * gets them, when s is given), else the server's, and the Redis password
 * (phases do not get it, but may find it elsewhere); a multi-line value line
 * by line (line_secret_split). Returns -1 with err filled, and nothing in
 * out, when they need more than LINE_MAX_SECRETS strings: masking only some
 * lines of a secret would leak the others. Expanding adds no line (unless
 * the work directory's path holds a line break), so the check at start-up,
 * without s, bounds the count at run time. */
static int secret_values(const struct config *cfg, const struct pipeline *p,
                         const struct pipeline_phase *ph, const struct session *s, const char **out,
                         size_t *n, char *err, size_t errlen)
{
    const char *full = NULL;
    *n = 0;
    for (size_t i = 0; i < p->nsecrets && !full; i++) {
        const char *name = p->secrets[i];
        const char *v = getenv(name), *set = NULL;
        for (size_t j = 0; j < ph->nenv; j++)
            if (strcmp(ph->env[j].name, name) == 0)
                set = ph->env[j].value;
        char *expanded =
                set && s ? pipeline_expand(set, s->claim.proof_type, s->claim.sid, s->workdir)
                         : NULL;
        if (set)
            v = expanded ? expanded : set;
        if (v && line_secret_split(v, out, n, LINE_MAX_SECRETS) < 0)
            full = name;
        free(expanded);
    }
    if (!full && cfg->redis.password &&
        line_secret_split(cfg->redis.password, out, n, LINE_MAX_SECRETS) < 0)
        full = "the Redis password";
    if (!full)
        return 0;
    snprintf(err, errlen,
             "phase %s: its secrets' values need more than %d strings to mask (a multi-line "
             "value takes one per line); %s does not fit",
             ph->name, LINE_MAX_SECRETS, full);
    line_secrets_free(out, *n);
    *n = 0;
    return -1;
}

int runners_check_secrets(const struct config *cfg, const struct pipeline *p, char *err,
                          size_t errlen)
{
    const char *values[LINE_MAX_SECRETS];
    for (size_t i = 0; i < p->nphases; i++) {
        size_t n;
        if (secret_values(cfg, p, &p->phases[i], NULL, values, &n, err, errlen) < 0)
            return -1;
        line_secrets_free(values, n);
    }
    return 0;
}

/* The current phase's masking rules, in place of the last phase's. Returns
 * false, with an error event queued, when its secrets do not fit: the phase
 * is not run then. */
static bool phase_rules(struct session *s, const struct pipeline_phase *ph)
{
    char err[512];
    line_secrets_free(s->secret_values, s->rules.nsecrets);
    s->rules.nsecrets = 0;
    size_t n;
    if (secret_values(s->cfg, s->p, ph, s, s->secret_values, &n, err, sizeof(err)) < 0) {
        emit_error(s, err, 1, NULL);
        return false;
    }
    s->rules.nsecrets = n;
    return true;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

/* A directory phasestream may put sessions' files in: made here (0700) or,
 * if it exists, a real directory (not a symbolic link) owned by this user
 * and writable by nobody else, so that no other user can swap a session's
 * directory for a link or read what phases hand each other. */
static int workdir_trusted(const char *path, bool create, char *err, size_t errlen)
{
    if (create && mkdir(path, 0700) == 0)
        return 0;
    if (create && errno != EEXIST) {
        snprintf(err, errlen, "cannot create the work directory %s: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (lstat(path, &st) < 0) {
        snprintf(err, errlen, "cannot use the work directory %s: %s", path, strerror(errno));
        return -1;
    }
    const char *why = !S_ISDIR(st.st_mode)                 ? "is not a directory (or is a link)"
                      : st.st_uid != geteuid()             ? "belongs to another user"
                      : (st.st_mode & (S_IWGRP | S_IWOTH)) ? "is writable by other users"
                                                           : NULL;
    if (why) {
        snprintf(err, errlen, "refusing the work directory %s: it %s", path, why);
        return -1;
    }
    return 0;
}

int runners_check_workdir(const struct config *cfg, char *err, size_t errlen)
{
    return workdir_trusted(cfg->workdir, true, err, errlen);
}

static int make_workdir(struct session *s, char *err, size_t errlen)
{
    const char *root = s->cfg->workdir;
    if (workdir_trusted(root, true, err, errlen) < 0)
        return -1;
    if (snprintf(s->workdir, sizeof(s->workdir), "%s/%s", root, s->claim.sid) >=
        (int)sizeof(s->workdir)) {
        snprintf(err, errlen, "the work directory path is too long");
        return -1;
    }
    /* A session's directory is new, or left by a run of the same session
     * id with --keep-workdir: then it must pass the same checks. */
    return workdir_trusted(s->workdir, true, err, errlen);
}

/* Before a phase: a cancel, Redis away too long or a shutdown end the
 * session here (with its error event). Returns false when it ended. */
static bool session_may_go_on(struct session *s, const struct pipeline_phase *ph)
{
    if (atomic_load(&s->r->cancel)) {
        emit_error(s, "Cancelled by request", 0, "cancelled");
        return false;
    }
    if (outbox_redis_gone(&s->ob, loop_now())) {
        char *msg = xasprintf("Redis was unreachable for more than %d s; the workflow was "
                              "stopped before phase %s",
                              s->cfg->redis_retry, ph->name);
        emit_error(s, msg, 0, "redis");
        free(msg);
        return false;
    }
    if (atomic_load(&s->r->pool->deadline_ms)) {
        emit_error(s, "phasestream shut down before the workflow finished", 0, "lost");
        return false;
    }
    return true;
}

/* Runs the phase, or skips it. Returns false when the session ended. */
static bool session_phase(struct session *s, const struct pipeline_phase *ph)
{
    emit_status(s, ph->name, ph->progress_from, ph->step, false);
    if (ph->skip_unless_env) {
        const char *v = getenv(ph->skip_unless_env);
        if (!v || !*v) {
            emit_notice(s, ph->skip_message);
            emit_status(s, ph->name, ph->progress_to, ph->step, true);
            return true;
        }
    }
    outbox_flush(&s->ob, ph->name);
    struct phase_run run = {
            .cfg = s->cfg,
            .ph = ph,
            .index = s->phase_index,
            .proof_type = s->claim.proof_type,
            .sid = s->claim.sid,
            .workdir = s->workdir,
            .rules = &s->rules,
            .ob = &s->ob,
            .wake_fd = s->r->wake_fd,
            .cancel = &s->r->cancel,
            .shutdown_at = &s->r->pool->deadline_ms,
            .on_line = session_on_line,
            .arg = s,
    };
    struct phase_result res;
    phase_run(&run, &res);
    if (res.outcome == PHASE_EXIT && ph->exit_ok_if && extract_has(s->x, ph->exit_ok_if)) {
        char *msg = xasprintf("Phase %s exited with status %d; accepted because %s is not empty",
                              ph->name, res.code, ph->exit_ok_if);
        emit_notice(s, msg);
        free(msg);
        return true;
    }
    if (res.outcome == PHASE_OK)
        return true;
    if (res.outcome != PHASE_CLOSED) {
        char *msg = phase_message(&run, &res);
        emit_error(s, msg, res.code, phase_outcome_code(res.outcome));
        free(msg);
    }
    return false;
}

/* Runs the phases; queues the end: complete, or the error that ended it. */
static void session_phases(struct session *s)
{
    char err[1024];
    if (make_workdir(s, err, sizeof(err)) < 0) {
        s->phase = &s->p->phases[0];
        emit_error(s, err, 1, NULL);
        return;
    }
    for (size_t i = 0; i < s->p->nphases && !s->ob.closed; i++) {
        const struct pipeline_phase *ph = &s->p->phases[i];
        s->phase = ph;
        s->phase_index = i;
        if (!phase_rules(s, ph) || !session_may_go_on(s, ph) || !session_phase(s, ph))
            return;
    }
    if (!s->ob.closed)
        emit_complete(s);
}

static void session_set_sid(struct runner *r, const char *sid)
{
    pthread_mutex_lock(&r->pool->lock);
    snprintf(r->sid, sizeof(r->sid), "%s", sid);
    pthread_mutex_unlock(&r->pool->lock);
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
    outbox_init(&s.ob, r->store, s.claim.sid, s.cfg);
    s.rules.limit = (size_t)s.cfg->line_limit;
    s.rules.secrets = s.secret_values;
    atomic_store(&r->cancel, false);
    session_set_sid(r, claim->sid);
    metrics_add(METRIC_RUNNING, 1);
    log_info("session %s (%s): running", claim->sid, claim->proof_type);

    session_phases(&s);
    session_end_escapees(&s, false);
    /* The WORKDIR goes before the terminal event is written (it is only
     * queued so far), so whoever sees the end sees it gone. */
    if (s.workdir[0] && !s.cfg->keep_workdir)
        nftw(s.workdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    outbox_drain(&s.ob, session_phase_name(&s), &pool->hurry);
    outbox_free(&s.ob);
    line_secrets_free(s.secret_values, s.rules.nsecrets);
    extract_free(s.x);
    session_set_sid(r, "");
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
        proc_reap_orphans();
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
        int e = pthread_create(&r->thread, NULL, runner_main, r);
        if (e != 0) {
            log_error("cannot start runner %d: %s", i, strerror(e));
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
    long long now = loop_now();
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
