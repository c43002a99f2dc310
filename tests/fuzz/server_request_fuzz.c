/*
 * server_request_fuzz: libFuzzer target for the request parser (request.c),
 * everything a client controls before a handler runs.
 *
 * Input: method, path, query string, Last-Event-ID and Content-Type, each
 * ended by a NUL (FastCGI parameters are C strings, so a NUL cannot occur
 * inside one), then the body, which may hold any byte. A field the input
 * does not reach is absent (NULL), as a missing parameter is.
 *
 * The oracles: request_parse and request_parse_body answer 0 or a 4xx
 * status with a message; what they accept is typed and in range (a route,
 * ids of the documented charset and length, an event id of at most 18
 * digits); without a query string there is no session id and no logs=0;
 * parsing twice gives the same request; the Allow header of every route is
 * one of the two the API documents.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ident.h"
#include "request.h"
#include "server_fuzz.h"

enum { F_METHOD, F_PATH, F_QUERY, F_LAST_ID, F_CTYPE, F_COUNT };

static const char *const prefixes[] = {"/api/workflow", "/"};

static void check_status(int status, const char *err, const char *what)
{
    if (status == 0)
        return;
    if (status != 400 && status != 404 && status != 413)
        fuzz_fail("%s answered %d", what, status);
    if (err[0] == '\0' || !fuzz_utf8_clean(err, strlen(err), true))
        fuzz_fail("%s answered %d with the message \"%s\"", what, status, err);
}

static void check_request(const struct request *r, const char *query)
{
    if (r->route == ROUTE_NONE || r->route > ROUTE_NONE)
        fuzz_fail("accepted without a route");
    if (r->has_session &&
        !ident_valid(r->session_id, strlen(r->session_id), IDENT_SID_MIN, IDENT_SID_MAX))
        fuzz_fail("session id \"%s\" accepted", r->session_id);
    if (r->has_proof_type && !ident_valid(r->proof_type, strlen(r->proof_type), 1, IDENT_NAME_MAX))
        fuzz_fail("proof type \"%s\" accepted", r->proof_type);
    if (r->has_last_id && r->last_id > 999999999999999999ull)
        fuzz_fail("event id %llu accepted", (unsigned long long)r->last_id);
    if ((!query || !*query) && (r->has_session || !r->logs))
        fuzz_fail("a session id or logs=0 without a query string");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *f[F_COUNT] = {NULL};
    const uint8_t *p = data;
    size_t n = size;
    for (int i = 0; i < F_COUNT && n > 0; i++)
        f[i] = fuzz_field(&p, &n, 0, NULL);
    /* The body: exactly its bytes, so that a read past it is caught. */
    uint8_t *body = malloc(n ? n : 1);
    if (!body)
        abort();
    memcpy(body, p, n);

    for (size_t k = 0; k < sizeof(prefixes) / sizeof(prefixes[0]); k++) {
        struct request r, again;
        char err[256] = "", err2[256] = "";
        int status = request_parse(&r, f[F_METHOD], f[F_PATH], f[F_QUERY], f[F_LAST_ID],
                                   prefixes[k], err, sizeof(err));
        check_status(status, err, "request_parse");
        int status2 = request_parse(&again, f[F_METHOD], f[F_PATH], f[F_QUERY], f[F_LAST_ID],
                                    prefixes[k], err2, sizeof(err2));
        if (status != status2 || strcmp(err, err2) != 0 ||
            (status == 0 && memcmp(&r, &again, sizeof(r)) != 0))
            fuzz_fail("the same request parsed twice differs");
        if (status != 0)
            continue;
        check_request(&r, f[F_QUERY]);
        const char *allow = request_allow(r.route);
        if (strcmp(allow, "GET, POST, DELETE") != 0 && strcmp(allow, "GET, HEAD") != 0)
            fuzz_fail("Allow: %s", allow);
        (void)request_method_allowed(&r);

        err[0] = '\0';
        status = request_parse_body(&r, f[F_CTYPE], (const char *)body, n, err, sizeof(err));
        check_status(status, err, "request_parse_body");
        if (status == 0) {
            if (memchr(body, '\0', n))
                fuzz_fail("a body with a NUL accepted");
            check_request(&r, f[F_QUERY]);
        }
    }

    free(body);
    for (int i = 0; i < F_COUNT; i++)
        free(f[i]);
    return 0;
}
