/* api.h -- the endpoints of API.md.
 *
 * One function per endpoint, each reading a validated struct request
 * (request.h) and answering with the status codes the contract lists. The
 * stream endpoint answers what it can answer at once (400, 404, 204, 429,
 * 503) and hands everything else to the stream side. */
#ifndef PHASESTREAM_API_H
#define PHASESTREAM_API_H

#include <fcgiapp.h>

struct config;
struct pipeline;
struct sse;
struct store;

struct api {
    const struct config *cfg;
    const struct pipeline *pipeline;
    struct sse *sse;        /* NULL: no stream side (not expected with HTTP) */
    char *results_template; /* the initial results object, JSON */
    char *pipeline_json;    /* the public description of the pipeline */
};

void api_init(struct api *api, const struct config *cfg, const struct pipeline *p, struct sse *sse);
void api_free(struct api *api);

/* Answers one request on the calling thread's store. */
void api_handle(struct api *api, struct store *st, FCGX_Request *req);

/* {"error": msg} */
char *api_error_json(const char *msg);

#endif
