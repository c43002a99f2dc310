/* api.c -- the endpoints of docs/api.md: see api.h.
 *
 * Every error answer is JSON {"error": "..."} with the contract's status
 * code. Redis being unreachable is a 503 with Retry-After, never a 500. */
#include "api.h"
#include "alloc.h"
#include "buf.h"
#include "config.h"
#include "http.h"
#include "log.h"
#include "loop.h"
#include "metrics.h"
#include "pipeline.h"
#include "readiness.h"
#include "request.h"
#include "sse.h"
#include "store.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#ifndef PHASESTREAM_VERSION
#define PHASESTREAM_VERSION "0.1.0"
#endif

/* The API hands the session ids it accepts to the store, which keys them. */
_Static_assert(REQUEST_SID_MAX == STORE_SID_MAX, "a session id the API accepts fits the store");

static const char QUEUED_STEP[] = "Waiting for a runner...";
static const char RETRY_LATER[] = "Retry-After: 2\r\n";

/* What a client is told when Redis does not answer. The reason (its
 * address, the system error) is for the operator: it goes to the server
 * log, at most once per REDIS_LOG_EVERY_MS per request thread, never into
 * an answer. */
#define REDIS_UNAVAILABLE  "Redis is unavailable"
#define REDIS_LOG_EVERY_MS 5000

#define NO_SUCH_SESSION "no such session (unknown or expired)"
#define STREAM_HEADERS                                                                             \
    "Status: 200 OK\r\n"                                                                           \
    "Content-Type: text/event-stream\r\n"                                                          \
    "Cache-Control: no-cache\r\n"                                                                  \
    "X-Accel-Buffering: no\r\n"                                                                    \
    "\r\n"

static void redis_log_down(const struct store *st)
{
    static _Thread_local long long last;
    if (log_due(&last, loop_now(), REDIS_LOG_EVERY_MS))
        log_warn("answering 503: %s", store_error(st));
}

static void redis_unavailable(FCGX_Request *req, const struct store *st)
{
    redis_log_down(st);
    http_error(req, 503, RETRY_LATER, REDIS_UNAVAILABLE);
}

static char *json_text(struct json_object *o)
{
    char *s = xstrdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
                                                                JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(o);
    return s;
}

void api_init(struct api *api, const struct config *cfg, const struct pipeline *p, struct sse *sse)
{
    api->cfg = cfg;
    api->pipeline = p;
    api->sse = sse;
    struct json_object *t = pipeline_results_template(p);
    api->results_template = json_text(t);

    /* What a page may know about the pipeline: its proof types and phases
     * (never commands, environment or secrets). */
    struct json_object *o = json_object_new_object(), *types = json_object_new_array(),
                       *phases = json_object_new_array();
    for (size_t i = 0; i < p->nproof_types; i++)
        json_object_array_add(types, json_object_new_string(p->proof_types[i]));
    for (size_t i = 0; i < p->nphases; i++) {
        const struct pipeline_phase *ph = &p->phases[i];
        struct json_object *po = json_object_new_object(), *range = json_object_new_array();
        json_object_object_add(po, "name", json_object_new_string(ph->name));
        json_object_object_add(po, "step", json_object_new_string(ph->step));
        json_object_array_add(range, json_object_new_int(ph->progress_from));
        json_object_array_add(range, json_object_new_int(ph->progress_to));
        json_object_object_add(po, "progress", range);
        json_object_object_add(po, "timeout", json_object_new_int(ph->timeout));
        json_object_object_add(po, "optional",
                               json_object_new_boolean(ph->skip_unless_env != NULL));
        json_object_array_add(phases, po);
    }
    json_object_object_add(o, "proofTypes", types);
    json_object_object_add(o, "phases", phases);
    json_object_object_add(o, "allowGetCreate", json_object_new_boolean(cfg->allow_get_create));
    api->pipeline_json = json_text(o);
    api->readiness = readiness_new(p);
}

void api_free(struct api *api)
{
    free(api->results_template);
    free(api->pipeline_json);
    readiness_free(api->readiness);
}

/* 131 random bits from the kernel, base64url without padding: 22
 * characters, which also satisfy the client-chosen id pattern. The first
 * is a letter (5 bits), so that an id in a phase's argv never reads as an
 * option. */
static int new_session_id(char out[STORE_SID_MAX + 1])
{
    static const char alphabet[] =
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    unsigned char raw[18]; /* 144 bits read; 132 used */
    size_t got = 0;
    while (got < sizeof(raw)) {
        ssize_t n = getrandom(raw + got, sizeof(raw) - got, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        got += (size_t)n;
    }
    for (int i = 0; i < 22; i++) {
        int bit = i * 6;
        unsigned v = ((unsigned)raw[bit / 8] << 8 | raw[bit / 8 + 1]) >> (10 - bit % 8);
        out[i] = alphabet[i == 0 ? v & 31 : v & 63];
    }
    out[22] = '\0';
    return 0;
}

static void reply_json(FCGX_Request *req, int status, const char *extra, char *body)
{
    http_respond(req, status, "application/json", extra, body, strlen(body));
    free(body);
}

static void proof_type_error(struct api *api, FCGX_Request *req, const struct request *r)
{
    char list[512];
    pipeline_proof_type_list(api->pipeline, list, sizeof(list));
    if (!r->has_proof_type)
        http_error(req, 400, NULL, "proofType is required; one of: %s", list);
    else
        http_error(req, 400, NULL, "unknown proofType '%s'; one of: %s", r->proof_type, list);
}

/* Answers 409 for a proof type that cannot run yet: no session is made for
 * it, so none waits in the queue for something that may take minutes or
 * never come. True when it did. */
static bool not_ready(struct api *api, FCGX_Request *req, const char *type)
{
    char why[512];
    if (readiness_check(api->readiness, type, why, sizeof(why)))
        return false;
    http_error(req, 409, NULL, "%s", why);
    return true;
}

/* Answers a failed create; true when it did. */
static bool create_failed(FCGX_Request *req, struct store *st, enum store_create rc,
                          const struct config *cfg)
{
    if (rc == STORE_QUEUE_FULL) {
        http_error(req, 429, "Retry-After: 10\r\n",
                   "the queue of waiting workflows is full (%d); try again later", cfg->max_queue);
        return true;
    }
    if (rc == STORE_CREATE_DOWN) {
        redis_unavailable(req, st);
        return true;
    }
    return false;
}

static void api_create(struct api *api, struct store *st, FCGX_Request *req, struct request *r)
{
    const struct config *cfg = api->cfg;
    const char *cl = FCGX_GetParam("CONTENT_LENGTH", req->envp);
    long declared = cl && *cl ? strtol(cl, NULL, 10) : 0;
    if (declared < 0 || declared > cfg->max_body) {
        http_error(req, 413, NULL, "the body is larger than %d bytes", cfg->max_body);
        return;
    }
    char *body = xmalloc((size_t)cfg->max_body + 2);
    int n = http_read_body(req, body, cfg->max_body + 1);
    if (n < 0 || n < declared) {
        /* Dropped or failed (nobody to answer), or ended early: a cut body
         * must not pass for a shorter one ("proofType=groth16&..." cut
         * after the type would still create a session). */
        free(body);
        if (n >= 0)
            http_error(req, 400, NULL, "the body ended before its %ld bytes", declared);
        return;
    }
    if (n > cfg->max_body) {
        free(body);
        http_error(req, 413, NULL, "the body is larger than %d bytes", cfg->max_body);
        return;
    }
    body[n] = '\0';
    char err[256];
    int status = request_parse_body(r, FCGX_GetParam("CONTENT_TYPE", req->envp), body, (size_t)n,
                                    err, sizeof(err));
    free(body);
    if (status) {
        http_error(req, status, NULL, "%s", err);
        return;
    }
    if (!r->has_proof_type || !pipeline_has_proof_type(api->pipeline, r->proof_type)) {
        proof_type_error(api, req, r);
        return;
    }
    if (not_ready(api, req, r->proof_type))
        return;

    char sid[STORE_SID_MAX + 1];
    if (new_session_id(sid) < 0) {
        http_error(req, 503, RETRY_LATER, "no randomness for a session id: %s", strerror(errno));
        return;
    }
    enum store_create rc = store_create(st, sid, r->proof_type, api->results_template, QUEUED_STEP);
    if (create_failed(req, st, rc, cfg))
        return;
    metrics_add(METRIC_CREATED, 1);
    log_info("session %s (%s): created", sid, r->proof_type);

    char *events = xasprintf("%s?sessionId=%s", cfg->url_prefix, sid);
    char *state = xasprintf("%s/state?sessionId=%s", cfg->url_prefix, sid);
    char *location = xasprintf("Location: %s\r\n", events);
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "sessionId", json_object_new_string(sid));
    json_object_object_add(o, "proofType", json_object_new_string(r->proof_type));
    json_object_object_add(o, "status", json_object_new_string("queued"));
    json_object_object_add(o, "events", json_object_new_string(events));
    json_object_object_add(o, "state", json_object_new_string(state));
    reply_json(req, 201, location, json_text(o));
    free(events);
    free(state);
    free(location);
}

/* The stream's answers, made on the event loop once it has read the
 * session's head (sse_admit): the same as the synchronous path's. */
static void api_stream_answer(struct buf *out, enum sse_verdict v)
{
    static _Thread_local long long last_down; /* the loop's own rate */
    switch (v) {
    case SSE_VERDICT_STREAM:
        buf_appends(out, STREAM_HEADERS);
        metrics_http(200);
        return;
    case SSE_VERDICT_NOT_FOUND:
        http_format_error(out, 404, NULL, NO_SUCH_SESSION);
        return;
    case SSE_VERDICT_DELIVERED:
        http_format(out, 204, NULL, NULL, NULL, 0);
        return;
    case SSE_VERDICT_UNAVAILABLE:
        if (log_due(&last_down, loop_now(), REDIS_LOG_EVERY_MS))
            log_warn("answering 503 to a stream: no answer from Redis on the event loop");
        http_format_error(out, 503, RETRY_LATER, REDIS_UNAVAILABLE);
        return;
    }
}

/* The legacy create-by-GET path (a GET with a proofType under
 * --allow-get-create), checked here on the request thread with its own
 * synchronous Redis round trips: creating is a script call the loop does
 * not make, and the path is kept for the original front end only. Headers
 * are written here and the connection is handed on with sse_attach. */
static void api_stream_checked(struct api *api, struct store *st, FCGX_Request *req,
                               struct request *r)
{
    const struct config *cfg = api->cfg;
    struct store_head head;
    if (store_head(st, r->session_id, &head) != STORE_OK) {
        redis_unavailable(req, st);
        return;
    }
    if (!head.exists) {
        /* The original front end's create-by-GET, at most once per id:
         * store_create is atomic, so of many concurrent requests one
         * creates and the others find it created. */
        if (!r->has_proof_type || !cfg->allow_get_create) {
            http_error(req, 404, NULL, NO_SUCH_SESSION);
            return;
        }
        if (!pipeline_has_proof_type(api->pipeline, r->proof_type)) {
            proof_type_error(api, req, r);
            return;
        }
        if (not_ready(api, req, r->proof_type))
            return;
        enum store_create rc =
                store_create(st, r->session_id, r->proof_type, api->results_template, QUEUED_STEP);
        if (create_failed(req, st, rc, cfg))
            return;
        if (rc == STORE_CREATED) {
            metrics_add(METRIC_CREATED, 1);
            log_info("session %s (%s): created by GET", r->session_id, r->proof_type);
        }
    }
    uint64_t last = r->has_last_id ? r->last_id : 0;
    if (head.terminal && last >= head.terminal) {
        /* Everything was delivered: 204 tells EventSource to stop. */
        http_respond(req, 204, NULL, NULL, NULL, 0);
        return;
    }
    FCGX_PutS(STREAM_HEADERS, req->out);
    metrics_http(200);
    int fd = http_detach(req);
    if (fd < 0)
        return;
    sse_attach(api->sse, fd, req->requestId, r->session_id, last);
}

/* A stream request leaves the request thread as soon as it is valid: the
 * session is checked on the event loop (sse_admit), so a storm of new
 * streams never waits on this thread's Redis round trips. */
static void api_stream(struct api *api, struct store *st, FCGX_Request *req, struct request *r)
{
    if (!r->has_session) {
        http_error(req, 400, NULL, "sessionId is required");
        return;
    }
    if (r->has_proof_type && api->cfg->allow_get_create) {
        api_stream_checked(api, st, req, r);
        return;
    }
    uint64_t last = r->has_last_id ? r->last_id : 0;
    int fd = http_detach(req);
    if (fd < 0)
        return;
    sse_admit(api->sse, fd, req->requestId, r->session_id, last, api_stream_answer);
}

static void api_state_begin(void *arg)
{
    http_begin(arg, 200, "application/json");
}

static bool api_state_write(void *arg, const char *data, size_t len)
{
    return http_write(arg, data, len);
}

/* The state is written as it is read (store_state_write): a long log is
 * never held whole. */
static void api_state(struct api *api, struct store *st, FCGX_Request *req, struct request *r)
{
    (void)api;
    if (!r->has_session) {
        http_error(req, 400, NULL, "sessionId is required");
        return;
    }
    const struct store_state_sink sink = {api_state_begin, api_state_write, req};
    bool found;
    if (store_state_write(st, r->session_id, r->logs, &sink, &found) != STORE_OK) {
        if (found)
            http_abort(req); /* begun: a short answer must not pass for a whole one */
        else
            redis_unavailable(req, st);
        return;
    }
    if (!found)
        http_error(req, 404, NULL, NO_SUCH_SESSION);
}

static void api_cancel(struct api *api, struct store *st, FCGX_Request *req, struct request *r)
{
    (void)api;
    if (!r->has_session) {
        http_error(req, 400, NULL, "sessionId is required");
        return;
    }
    switch (store_cancel(st, r->session_id)) {
    case STORE_CANCEL_NOT_FOUND:
        http_error(req, 404, NULL, NO_SUCH_SESSION);
        return;
    case STORE_CANCEL_ENDED:
        http_error(req, 409, NULL, "the session has already ended");
        return;
    case STORE_CANCEL_DOWN:
        redis_unavailable(req, st);
        return;
    case STORE_CANCEL_DROPPED:
    case STORE_CANCEL_ASKED:
        log_info("session %s: cancel requested", r->session_id);
        reply_json(req, 202, NULL, xstrdup("{\"status\":\"cancelling\"}"));
        return;
    }
}

static void api_health(struct api *api, struct store *st, FCGX_Request *req)
{
    long queued, running;
    struct json_object *o = json_object_new_object();
    bool up = store_counts(st, &queued, &running) == STORE_OK;
    json_object_object_add(o, "status", json_object_new_string(up ? "ok" : "error"));
    json_object_object_add(o, "redis", json_object_new_string(up ? "ok" : "down"));
    if (up) {
        json_object_object_add(o, "queued", json_object_new_int64(queued));
        json_object_object_add(o, "running", json_object_new_int64(running));
    } else {
        redis_log_down(st);
        json_object_object_add(o, "error", json_object_new_string(REDIS_UNAVAILABLE));
    }
    json_object_object_add(o, "runners", json_object_new_int(api->cfg->runners));
    json_object_object_add(o, "runningHere", json_object_new_int64(metrics_get(METRIC_RUNNING)));
    json_object_object_add(o, "viewers", json_object_new_int64(metrics_get(METRIC_VIEWERS)));
    json_object_object_add(o, "version", json_object_new_string(PHASESTREAM_VERSION));
    reply_json(req, up ? 200 : 503, up ? NULL : RETRY_LATER, json_text(o));
}

static void api_metrics(struct store *st, FCGX_Request *req)
{
    long queued = -1, running = -1;
    if (store_counts(st, &queued, &running) != STORE_OK)
        queued = running = -1;
    char *text = metrics_render(queued, running);
    http_respond(req, 200, "text/plain; version=0.0.4; charset=utf-8", NULL, text, strlen(text));
    free(text);
}

/* The pipeline's description with "readiness" as of now: the fixed part
 * was made once (api_init), the readiness comes from the file's cache. */
static void api_pipeline(struct api *api, FCGX_Request *req)
{
    char *readiness = readiness_json(api->readiness);
    size_t fixed = strlen(api->pipeline_json) - 1; /* up to its closing brace */
    reply_json(req, 200, NULL,
               xasprintf("%.*s,\"readiness\":%s}", (int)fixed, api->pipeline_json, readiness));
    free(readiness);
}

/* The request path: REQUEST_URI without its query, else SCRIPT_NAME and
 * PATH_INFO (servers differ in what they pass). */
static void request_path(FCGX_Request *req, char *out, size_t len)
{
    const char *uri = FCGX_GetParam("REQUEST_URI", req->envp);
    if (uri && *uri) {
        size_t n = strcspn(uri, "?");
        snprintf(out, len, "%.*s", (int)n, uri);
        return;
    }
    const char *script = FCGX_GetParam("SCRIPT_NAME", req->envp);
    const char *info = FCGX_GetParam("PATH_INFO", req->envp);
    snprintf(out, len, "%s%s", script ? script : "", info ? info : "");
}

static void api_handle(struct api *api, struct store *st, FCGX_Request *req)
{
    char path[2048];
    request_path(req, path, sizeof(path));
    struct request r;
    char err[256];
    int status = request_parse(&r, FCGX_GetParam("REQUEST_METHOD", req->envp), path,
                               FCGX_GetParam("QUERY_STRING", req->envp),
                               FCGX_GetParam("HTTP_LAST_EVENT_ID", req->envp), api->cfg->url_prefix,
                               err, sizeof(err));
    if (status) {
        http_error(req, status, NULL, "%s", err);
        return;
    }
    if (!request_method_allowed(&r)) {
        char allow[64];
        snprintf(allow, sizeof(allow), "Allow: %s\r\n", request_allow(r.route));
        http_error(req, 405, allow, "method not allowed here; allowed: %s", request_allow(r.route));
        return;
    }
    switch (r.route) {
    case ROUTE_WORKFLOW:
        if (r.method == METHOD_POST)
            api_create(api, st, req, &r);
        else if (r.method == METHOD_DELETE)
            api_cancel(api, st, req, &r);
        else
            api_stream(api, st, req, &r);
        break;
    case ROUTE_STATE:
        api_state(api, st, req, &r);
        break;
    case ROUTE_HEALTH:
        api_health(api, st, req);
        break;
    case ROUTE_METRICS:
        api_metrics(st, req);
        break;
    case ROUTE_PIPELINE:
        api_pipeline(api, req);
        break;
    case ROUTE_NONE:
        http_error(req, 404, NULL, "no such endpoint");
        break;
    }
}

/* ---- request threads ---- */

struct api_thread {
    struct api *api;
    struct store *store;
};

static void *api_thread_init(void *arg)
{
    struct api_thread *t = xmalloc(sizeof(*t));
    t->api = arg;
    t->store = store_new(t->api->cfg);
    return t;
}

static void api_thread_handle(void *state, FCGX_Request *req)
{
    struct api_thread *t = state;
    api_handle(t->api, t->store, req);
}

static void api_thread_free(void *state)
{
    struct api_thread *t = state;
    store_free(t->store);
    free(t);
}

const struct http_handler api_http_handler = {
        .thread_init = api_thread_init,
        .handle = api_thread_handle,
        .thread_free = api_thread_free,
};
