/* events.c -- event payloads: see events.h. */
#include "events.h"
#include "alloc.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void event_timestamp(char out[32])
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    char tmp[96]; /* the compiler cannot see that the fields are small */
    snprintf(tmp, sizeof(tmp), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
    size_t n = strlen(tmp) < 31 ? strlen(tmp) : 31;
    memcpy(out, tmp, n);
    out[n] = '\0';
}

/* Serialises and frees obj. */
static char *event_finish(struct json_object *obj)
{
    char *s = xstrdup(json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN |
                                                                  JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(obj);
    return s;
}

char *event_log_json(const char *message, const char *phase, bool is_stderr, const char *kind)
{
    char ts[32];
    event_timestamp(ts);
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "message", json_object_new_string(message));
    json_object_object_add(o, "timestamp", json_object_new_string(ts));
    json_object_object_add(o, "phase", json_object_new_string(phase));
    json_object_object_add(o, "stream", json_object_new_string(is_stderr ? "stderr" : "stdout"));
    if (kind || is_stderr)
        json_object_object_add(o, "type", json_object_new_string(kind ? kind : "error"));
    return event_finish(o);
}

char *event_status_json(const char *phase, int progress, const char *step, bool skipped)
{
    char ts[32];
    event_timestamp(ts);
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "phase", json_object_new_string(phase));
    json_object_object_add(o, "progress", json_object_new_int(progress));
    json_object_object_add(o, "step", json_object_new_string(step));
    if (skipped)
        json_object_object_add(o, "skipped", json_object_new_boolean(1));
    json_object_object_add(o, "timestamp", json_object_new_string(ts));
    return event_finish(o);
}

char *event_error_json(const char *message, const char *phase, int code, const char *code_str)
{
    char ts[32];
    event_timestamp(ts);
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "error", json_object_new_string(message));
    json_object_object_add(o, "phase", phase ? json_object_new_string(phase) : NULL);
    json_object_object_add(o, "code",
                           code_str ? json_object_new_string(code_str) : json_object_new_int(code));
    json_object_object_add(o, "timestamp", json_object_new_string(ts));
    return event_finish(o);
}

char *event_state_json(const struct workflow_state *ws, const char *logs, size_t logs_len)
{
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "sessionId", json_object_new_string(ws->session_id));
    json_object_object_add(o, "proofType", json_object_new_string(ws->proof_type));
    json_object_object_add(o, "status", json_object_new_string(ws->status));
    json_object_object_add(o, "phase", json_object_new_string(ws->phase ? ws->phase : ""));
    json_object_object_add(o, "currentStep",
                           json_object_new_string(ws->current_step ? ws->current_step : ""));
    json_object_object_add(o, "progress", json_object_new_int(ws->progress));
    if (ws->queue_position > 0)
        json_object_object_add(o, "queuePosition", json_object_new_int64(ws->queue_position));

    struct json_object *results = ws->results ? json_tokener_parse(ws->results) : NULL;
    if (results && json_object_is_type(results, json_type_object)) {
        json_object_object_foreach(results, key, val)
        {
            json_object_object_add(o, key, json_object_get(val));
        }
    }
    json_object_put(results);

    json_object_object_add(o, "error", ws->error ? json_object_new_string(ws->error) : NULL);
    json_object_object_add(o, "startTime",
                           json_object_new_string(ws->start_time ? ws->start_time : ""));
    json_object_object_add(o, "lastUpdate",
                           json_object_new_string(ws->last_update ? ws->last_update : ""));
    if (ws->last_event_id > 0)
        json_object_object_add(o, "lastEventId", json_object_new_int64(ws->last_event_id));
    char *text = event_finish(o);
    if (!logs)
        return text;

    /* Splice ,"logs":[...] in before the closing brace. */
    size_t n = strlen(text);
    char *out = xmalloc(n + logs_len + 16);
    memcpy(out, text, n - 1);
    size_t len = n - 1;
    memcpy(out + len, ",\"logs\":", 8);
    len += 8;
    memcpy(out + len, logs, logs_len);
    len += logs_len;
    out[len++] = '}';
    out[len] = '\0';
    free(text);
    return out;
}
