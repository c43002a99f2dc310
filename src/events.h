/* events.h -- the JSON payloads of the events in docs/api.md.
 *
 * Every event a session stores is built here, so the field names the front
 * end relies on (message, timestamp, phase, stream, progress, step, error,
 * code) are spelled in one place. Each function returns a new string holding
 * one compact JSON object with no newline (an SSE data: line must not hold
 * one). */
#ifndef PHASESTREAM_EVENTS_H
#define PHASESTREAM_EVENTS_H

#include <stdbool.h>
#include <stddef.h>

/* ISO-8601 UTC with milliseconds: 2026-11-28T16:24:27.123Z */
void event_timestamp(char out[32]);

/* log: {"message","timestamp","phase","stream"} plus "type":"error" for
 * stderr, or the given kind ("warning" for server notices) when not NULL. */
char *event_log_json(const char *message, const char *phase, bool is_stderr, const char *kind);

/* status: {"phase","progress","step"} plus "skipped":true for a skipped
 * phase, and the "timestamp" it was made. */
char *event_status_json(const char *phase, int progress, const char *step, bool skipped);

/* error: {"error","phase","code","timestamp"}; code is the number when
 * code_str is NULL. */
char *event_error_json(const char *message, const char *phase, int code, const char *code_str);

/* The WorkflowState of docs/api.md. results is the session's results object as
 * JSON text; its members (generatedProofs, verificationResults, ...) become
 * top-level members. logs, when not NULL, is the JSON array text of the log
 * entries and is spliced in as is (the stored entries are already JSON, and
 * a long session's log is too big to parse only to print it again). */
struct workflow_state {
    const char *session_id, *proof_type, *status, *phase, *current_step;
    int progress;
    long queue_position; /* 1-based while queued; 0: not shown */
    const char *results;
    const char *error; /* NULL: none */
    const char *start_time, *last_update;
    long last_event_id; /* shown when > 0: the last event the answer covers */
};
char *event_state_json(const struct workflow_state *ws, const char *logs, size_t logs_len);

#endif
