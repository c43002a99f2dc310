/* request.h -- an HTTP request, parsed and validated.
 *
 * Everything a request carries (method, path, query string, the
 * Last-Event-ID header, the body) is untrusted. It is checked here, in one
 * place, into a struct request; the handlers never see raw input. A failed
 * check returns the HTTP status to answer (400, 404, 413) and a message for
 * the JSON error body. */
#ifndef PHASESTREAM_REQUEST_H
#define PHASESTREAM_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ident.h"

enum route {
    ROUTE_WORKFLOW, /* the prefix itself: create, stream, cancel */
    ROUTE_STATE,
    ROUTE_HEALTH,
    ROUTE_METRICS,
    ROUTE_PIPELINE,
    ROUTE_NONE, /* anything else: 404 */
};

enum method { METHOD_GET, METHOD_HEAD, METHOD_POST, METHOD_DELETE, METHOD_OTHER };

#define REQUEST_SID_MAX    IDENT_SID_MAX
#define REQUEST_TYPE_MAX   IDENT_NAME_MAX
#define REQUEST_QUERY_MAX  4096
#define REQUEST_JSON_DEPTH 8 /* a body is one flat object */

struct request {
    enum method method;
    enum route route;
    bool has_session;
    char session_id[REQUEST_SID_MAX + 1];
    bool has_last_id;
    uint64_t last_id;
    bool has_proof_type;
    char proof_type[REQUEST_TYPE_MAX + 1];
    bool logs; /* state endpoint: include the log (default) */
};

/* Method, path, query string and Last-Event-ID header (any may be NULL).
 * Returns 0, or the status to answer with err filled. */
int request_parse(struct request *r, const char *method, const char *path, const char *query,
                  const char *last_event_id, const char *url_prefix, char *err, size_t errlen);

/* A POST body: JSON {"proofType": "..."} or a form proofType=... */
int request_parse_body(struct request *r, const char *content_type, const char *body, size_t len,
                       char *err, size_t errlen);

/* The Allow header value for a route. */
const char *request_allow(enum route route);
/* Is the method allowed on the route? */
bool request_method_allowed(const struct request *r);

#endif
