/* api.h -- the endpoints of docs/api.md.
 *
 * One function per endpoint, each reading a validated struct request
 * (request.h) and answering with the status codes the contract lists. The
 * stream endpoint answers what it can without Redis (400) and hands the
 * connection to the stream side, which checks the session on the event
 * loop and answers 404, 204, 503 or the stream with this module's texts
 * (sse_admit); the legacy create-by-GET path is checked here instead
 * (429 too). Both ways of creating refuse a proof type that is not ready
 * (readiness.h) with a 409, and the pipeline's description carries each
 * type's readiness as of the request.
 *
 * The request threads are http.c's; api_http_handler is what they run,
 * with the struct api as its argument. Each thread's state owns its own
 * Redis connection (a store), made when the thread starts and freed when
 * it stops: the endpoints of one thread never share it with another. */
#ifndef PHASESTREAM_API_H
#define PHASESTREAM_API_H

struct config;
struct http_handler;
struct pipeline;
struct readiness;
struct sse;

struct api {
    const struct config *cfg;
    const struct pipeline *pipeline;
    struct sse *sse;             /* NULL: no stream side (not expected with HTTP) */
    char *results_template;      /* the initial results object, JSON */
    char *pipeline_json;         /* the public description of the pipeline, but its readiness */
    struct readiness *readiness; /* which proof types can run now (readiness.h) */
};

void api_init(struct api *api, const struct config *cfg, const struct pipeline *p, struct sse *sse);
void api_free(struct api *api);

/* For http_start(), with the struct api (initialised) as its argument. */
extern const struct http_handler api_http_handler;

#endif
