/* runner.h -- runner threads: claim queued sessions and run their phases.
 *
 * A runner takes the oldest queued session (store_claim, atomic across every
 * instance sharing the Redis), runs its phases one after the other, turns
 * every output line into a stored event, and ends the session with exactly
 * one terminal event. N runner threads per process bound the concurrent
 * workflows per process to N.
 *
 * Runners never talk to viewers: they write to Redis, and the stream side
 * reads from there (docs/design.md, "The flow"). */
#ifndef PHASESTREAM_RUNNER_H
#define PHASESTREAM_RUNNER_H

#include <stddef.h>

struct config;
struct pipeline;
struct runners;

/* Makes the work directory (--workdir), or checks the one that exists: a
 * directory, not a link, owned by this user, writable by nobody else.
 * Returns -1 with err filled when it may not be used. */
int runners_check_workdir(const struct config *cfg, char *err, size_t errlen);

/* Checks that every phase's secrets fit in the masking rules (a multi-line
 * value takes one string per line, lines.h). Returns -1 with err filled
 * when one does not: its phase could not run without a leak. */
int runners_check_secrets(const struct config *cfg, const struct pipeline *p, char *err,
                          size_t errlen);

struct runners *runners_start(const struct config *cfg, const struct pipeline *p);
/* A session was queued somewhere: idle runners look at the queue now. */
void runners_wake(struct runners *rs);
/* A cancel was asked for sid: its runner, if it is here, stops it now. */
void runners_cancel(struct runners *rs, const char *sid);
/* Stop claiming; running phases get grace_s seconds, then are ended. A
 * second call ends them now. */
void runners_shutdown(struct runners *rs, int grace_s);
/* Waits for every runner thread and frees. */
void runners_join(struct runners *rs);

#endif
