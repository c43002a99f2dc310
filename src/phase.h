/* phase.h -- running one phase of a session: spawn, poll, decide, kill.
 *
 * A phase runs as its own process group (proc.h). One loop, on the runner
 * thread, poll()s over the phase's stdout and stderr pipes, its pidfd and
 * the runner's wake eventfd (cancel, shutdown); every complete output line
 * is cleaned and masked (lines.h) and handed to the session, and the
 * session's outbox is flushed and its heartbeat kept after each read. The
 * phase ends itself when its time is up, on cancel, on shutdown, when the
 * session was ended elsewhere, or when Redis has been away too long: its
 * group gets SIGTERM, and SIGKILL after kill-grace seconds.
 *
 * What happened is an outcome; the error event's code and message for each
 * outcome come from one table (phase.c). Deciding what the session does
 * next (an accepted exit status, the next phase) is the caller's.
 *
 * Thread rules: runs on the calling runner thread; cancel and shutdown_at
 * are written by other threads. */
#ifndef PHASESTREAM_PHASE_H
#define PHASESTREAM_PHASE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#define PHASE_STDERR_TAIL 240 /* bytes of the last stderr line quoted in an error */

struct config;
struct line_rules;
struct outbox;
struct pipeline_phase;

/* How a phase ended. */
enum phase_outcome {
    PHASE_OK,
    PHASE_EXIT,   /* non-zero exit status */
    PHASE_SIGNAL, /* killed by a signal it was not sent by us */
    PHASE_TIMEOUT,
    PHASE_CANCELLED,
    PHASE_SHUTDOWN,
    PHASE_SPAWN,  /* could not start */
    PHASE_CLOSED, /* the session was ended elsewhere */
    PHASE_REDIS   /* Redis away longer than redis-retry */
};

/* A clean output line of the phase (NUL-terminated, len bytes). */
typedef void phase_line_fn(void *arg, const char *line, size_t len, bool is_stderr);

/* What a phase runs with: its session's side. */
struct phase_run {
    const struct config *cfg;
    const struct pipeline_phase *ph;
    size_t index; /* in the pipeline */
    const char *proof_type;
    const char *sid;
    const char *workdir;
    const struct line_rules *rules;
    struct outbox *ob;
    int wake_fd;                     /* readable on cancel and shutdown */
    atomic_bool *cancel;             /* set on cancel (also by the heartbeat) */
    const atomic_llong *shutdown_at; /* ms; 0: no shutdown */
    phase_line_fn *on_line;
    void *arg;
};

struct phase_result {
    enum phase_outcome outcome;
    int code;                                /* exit code as a shell says it */
    int signal;                              /* PHASE_SIGNAL */
    char detail[1024];                       /* PHASE_SPAWN: why */
    char stderr_tail[PHASE_STDERR_TAIL + 1]; /* the last stderr line */
};

void phase_run(const struct phase_run *run, struct phase_result *res);

/* The error event's code for the outcomes that have a name; NULL for the
 * ones that carry the exit code. */
const char *phase_outcome_code(enum phase_outcome o);
/* The error event's message for an outcome other than PHASE_OK. */
char *phase_message(const struct phase_run *run, const struct phase_result *res);

#endif
