/* request.c -- request parsing and validation: see request.h. */
#include "request.h"
#include "ident.h"
#include "json_strict.h"

#include <ctype.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static bool sid_valid(const char *s)
{
    return ident_valid(s, strlen(s), IDENT_SID_MIN, REQUEST_SID_MAX);
}

static bool proof_type_syntax(const char *s, size_t len)
{
    return ident_valid(s, len, 1, REQUEST_TYPE_MAX);
}

/* Decimal event id: 1-19 digits, no sign, no spaces. */
static bool parse_event_id(const char *s, uint64_t *out)
{
    size_t n = strlen(s);
    if (n == 0 || n > 18)
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return false;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    *out = v;
    return true;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Percent-decodes s[0..n) into out (cap bytes, NUL-terminated); '+' is a
 * space. False on a bad escape, an embedded NUL or no room. */
static bool url_decode(const char *s, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)s[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            if (i + 2 >= n)
                return false;
            int h = hexval((unsigned char)s[i + 1]), l = hexval((unsigned char)s[i + 2]);
            if (h < 0 || l < 0)
                return false;
            c = h * 16 + l;
            i += 2;
        }
        if (c == 0 || o + 1 >= cap)
            return false;
        out[o++] = (char)c;
    }
    out[o] = '\0';
    return true;
}

/* The parameters the API knows; others (cache busters) are ignored. */
enum { P_SESSION, P_LAST_ID, P_PROOF_TYPE, P_LOGS, P_COUNT };
static const char *const param_names[P_COUNT] = {"sessionId", "lastEventId", "proofType", "logs"};

/* Splits a=b&c=d into the known parameters. */
static int parse_pairs(const char *q, size_t qlen, char values[P_COUNT][REQUEST_QUERY_MAX + 1],
                       bool seen[P_COUNT], char *err, size_t errlen)
{
    const char *p = q, *end = q + qlen;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *stop = amp ? amp : end;
        const char *eq = memchr(p, '=', (size_t)(stop - p));
        char key[64];
        const char *kend = eq ? eq : stop;
        if (kend > p && url_decode(p, (size_t)(kend - p), key, sizeof(key))) {
            for (int i = 0; i < P_COUNT; i++) {
                if (strcmp(key, param_names[i]) != 0)
                    continue;
                if (seen[i]) {
                    snprintf(err, errlen, "%s is given more than once", param_names[i]);
                    return 400;
                }
                const char *v = eq ? eq + 1 : stop;
                if (!url_decode(v, (size_t)(stop - v), values[i], REQUEST_QUERY_MAX + 1)) {
                    snprintf(err, errlen, "%s is too long or not correctly URL-encoded",
                             param_names[i]);
                    return 400;
                }
                seen[i] = true;
            }
        }
        p = stop + 1;
    }
    return 0;
}

/* Validates the known parameters into r. */
static int apply_params(struct request *r, char values[P_COUNT][REQUEST_QUERY_MAX + 1],
                        const bool seen[P_COUNT], char *err, size_t errlen)
{
    if (seen[P_SESSION]) {
        if (!sid_valid(values[P_SESSION])) {
            snprintf(err, errlen, "sessionId must be 8 to 64 characters of A-Z, a-z, 0-9, _ and -");
            return 400;
        }
        snprintf(r->session_id, sizeof(r->session_id), "%s", values[P_SESSION]);
        r->has_session = true;
    }
    if (seen[P_LAST_ID] && !r->has_last_id) {
        if (!parse_event_id(values[P_LAST_ID], &r->last_id)) {
            snprintf(err, errlen, "lastEventId must be a non-negative whole number");
            return 400;
        }
        r->has_last_id = true;
    }
    if (seen[P_PROOF_TYPE]) {
        if (!proof_type_syntax(values[P_PROOF_TYPE], strlen(values[P_PROOF_TYPE]))) {
            snprintf(err, errlen, "proofType must be 1 to %d characters of A-Z, a-z, 0-9, _ and -",
                     REQUEST_TYPE_MAX);
            return 400;
        }
        snprintf(r->proof_type, sizeof(r->proof_type), "%s", values[P_PROOF_TYPE]);
        r->has_proof_type = true;
    }
    if (seen[P_LOGS]) {
        const char *v = values[P_LOGS];
        if (strcmp(v, "0") == 0 || strcmp(v, "false") == 0)
            r->logs = false;
        else if (strcmp(v, "1") == 0 || strcmp(v, "true") == 0)
            r->logs = true;
        else {
            snprintf(err, errlen, "logs must be 0 or 1");
            return 400;
        }
    }
    return 0;
}

int request_parse(struct request *r, const char *method, const char *path, const char *query,
                  const char *last_event_id, const char *url_prefix, char *err, size_t errlen)
{
    memset(r, 0, sizeof(*r));
    r->logs = true;
    r->route = ROUTE_NONE;

    if (!method)
        method = "";
    if (strcmp(method, "GET") == 0)
        r->method = METHOD_GET;
    else if (strcmp(method, "HEAD") == 0)
        r->method = METHOD_HEAD;
    else if (strcmp(method, "POST") == 0)
        r->method = METHOD_POST;
    else if (strcmp(method, "DELETE") == 0)
        r->method = METHOD_DELETE;
    else
        r->method = METHOD_OTHER;

    /* The route: the prefix itself, or one of its fixed children. */
    size_t plen = strlen(url_prefix);
    if (path && strncmp(path, url_prefix, plen) == 0) {
        const char *rest = path + plen;
        static const struct {
            const char *suffix;
            enum route route;
        } routes[] = {{"", ROUTE_WORKFLOW},
                      {"/state", ROUTE_STATE},
                      {"/health", ROUTE_HEALTH},
                      {"/metrics", ROUTE_METRICS},
                      {"/pipeline", ROUTE_PIPELINE}};
        for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
            if (strcmp(rest, routes[i].suffix) == 0)
                r->route = routes[i].route;
    }
    if (r->route == ROUTE_NONE) {
        snprintf(err, errlen, "no such endpoint");
        return 404;
    }

    /* Last-Event-ID (what EventSource sends on a reconnect) wins over the
     * lastEventId parameter (what a reloaded page remembered): it is the
     * more recent of the two. An empty header means none. */
    if (last_event_id && *last_event_id) {
        if (!parse_event_id(last_event_id, &r->last_id)) {
            snprintf(err, errlen, "Last-Event-ID must be a non-negative whole number");
            return 400;
        }
        r->has_last_id = true;
    }
    char values[P_COUNT][REQUEST_QUERY_MAX + 1];
    bool seen[P_COUNT] = {false};
    size_t qlen = query ? strlen(query) : 0;
    if (qlen > REQUEST_QUERY_MAX) {
        snprintf(err, errlen, "query string longer than %d bytes", REQUEST_QUERY_MAX);
        return 400;
    }
    int rc = parse_pairs(query ? query : "", qlen, values, seen, err, errlen);
    if (rc == 0)
        rc = apply_params(r, values, seen, err, errlen);
    return rc;
}

int request_parse_body(struct request *r, const char *content_type, const char *body, size_t len,
                       char *err, size_t errlen)
{
    char ctype[64] = "";
    if (content_type) {
        size_t n = strcspn(content_type, ";");
        while (n > 0 && isspace((unsigned char)content_type[n - 1]))
            n--;
        snprintf(ctype, sizeof(ctype), "%.*s", (int)n, content_type);
    }
    bool json = strcasecmp(ctype, "application/json") == 0;
    bool form = strcasecmp(ctype, "application/x-www-form-urlencoded") == 0;
    if (!json && !form) {
        if (ctype[0] != '\0' && strcasecmp(ctype, "text/plain") != 0) {
            snprintf(err, errlen, "the body must be application/json or a form");
            return 400;
        }
        /* No (or a plain) content type: guess from the first byte. */
        size_t i = 0;
        while (i < len && isspace((unsigned char)body[i]))
            i++;
        json = i < len && body[i] == '{';
        form = !json;
    }
    if (memchr(body, '\0', len)) {
        snprintf(err, errlen, "the body holds a NUL byte");
        return 400;
    }

    if (form) {
        char values[P_COUNT][REQUEST_QUERY_MAX + 1];
        bool seen[P_COUNT] = {false};
        int rc = parse_pairs(body, len, values, seen, err, errlen);
        if (rc)
            return rc;
        /* Only proofType counts in a body. */
        bool only[P_COUNT] = {false};
        only[P_PROOF_TYPE] = seen[P_PROOF_TYPE];
        return apply_params(r, values, only, err, errlen);
    }

    char why[128];
    struct json_object *obj = json_strict_parse(body, len, REQUEST_JSON_DEPTH, 0, why, sizeof(why));
    if (!json_object_is_type(obj, json_type_object)) {
        json_object_put(obj);
        if (obj)
            snprintf(err, errlen, "the body is not a JSON object");
        else
            snprintf(err, errlen, "the body is not a JSON object (%s)", why);
        return 400;
    }
    struct json_object *pt;
    int rc = 0;
    if (json_object_object_get_ex(obj, "proofType", &pt)) {
        if (!json_object_is_type(pt, json_type_string) ||
            !proof_type_syntax(json_object_get_string(pt),
                               (size_t)json_object_get_string_len(pt))) {
            snprintf(err, errlen,
                     "proofType must be a string of 1 to %d characters of A-Z, "
                     "a-z, 0-9, _ and -",
                     REQUEST_TYPE_MAX);
            rc = 400;
        } else {
            snprintf(r->proof_type, sizeof(r->proof_type), "%s", json_object_get_string(pt));
            r->has_proof_type = true;
        }
    }
    json_object_put(obj);
    return rc;
}

const char *request_allow(enum route route)
{
    return route == ROUTE_WORKFLOW ? "GET, POST, DELETE" : "GET, HEAD";
}

bool request_method_allowed(const struct request *r)
{
    switch (r->route) {
    case ROUTE_WORKFLOW:
        return r->method == METHOD_GET || r->method == METHOD_POST || r->method == METHOD_DELETE;
    case ROUTE_NONE:
        return true;
    default:
        return r->method == METHOD_GET || r->method == METHOD_HEAD;
    }
}
