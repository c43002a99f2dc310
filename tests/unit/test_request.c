/* Unit tests of request.c: routes, ids, resume points, bodies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "request.h"

static int parse(struct request *r, const char *method, const char *path, const char *query,
                 const char *leid)
{
    char err[256];
    return request_parse(r, method, path, query, leid, "/api/workflow", err, sizeof(err));
}

static void test_routes_and_methods(void **state)
{
    (void)state;
    struct request r;
    assert_int_equal(parse(&r, "GET", "/api/workflow", "", NULL), 0);
    assert_int_equal(r.route, ROUTE_WORKFLOW);
    assert_int_equal(parse(&r, "GET", "/api/workflow/state", NULL, NULL), 0);
    assert_int_equal(r.route, ROUTE_STATE);
    assert_int_equal(parse(&r, "HEAD", "/api/workflow/health", NULL, NULL), 0);
    assert_true(request_method_allowed(&r));
    assert_int_equal(parse(&r, "PUT", "/api/workflow", NULL, NULL), 0);
    assert_false(request_method_allowed(&r));
    assert_string_equal(request_allow(r.route), "GET, POST, DELETE");
    assert_int_equal(parse(&r, "GET", "/api/workflow/", NULL, NULL), 404);
    assert_int_equal(parse(&r, "GET", "/api/workflowx", NULL, NULL), 404);
    assert_int_equal(parse(&r, "GET", "/other", NULL, NULL), 404);
    assert_int_equal(parse(&r, NULL, NULL, NULL, NULL), 404);
}

static void test_session_ids(void **state)
{
    (void)state;
    struct request r;
    assert_int_equal(parse(&r, "GET", "/api/workflow", "sessionId=Abc_-123", NULL), 0);
    assert_string_equal(r.session_id, "Abc_-123");
    assert_int_equal(parse(&r, "GET", "/api/workflow", "sessionId=abc%2D1234", NULL), 0);
    assert_string_equal(r.session_id, "abc-1234");
    const char *bad[] = {"sessionId=short",
                         "sessionId=abcdefg!",
                         "sessionId=abcd%20efg",
                         "sessionId=abcdefgh%00",
                         "sessionId=abcdefgh%zz",
                         "sessionId=abcdefgh%4",
                         "sessionId=abcdefgh&sessionId=abcdefgh"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(parse(&r, "GET", "/api/workflow", bad[i], NULL), 400);
    char longid[100] = "sessionId=";
    memset(longid + 10, 'a', 65);
    assert_int_equal(parse(&r, "GET", "/api/workflow", longid, NULL), 400);
    longid[10 + 64] = '\0';
    assert_int_equal(parse(&r, "GET", "/api/workflow", longid, NULL), 0);
}

static void test_the_header_wins_over_the_parameter(void **state)
{
    (void)state;
    struct request r;
    assert_int_equal(parse(&r, "GET", "/api/workflow", "sessionId=abcdefgh&lastEventId=3", NULL),
                     0);
    assert_true(r.has_last_id);
    assert_int_equal(r.last_id, 3);
    assert_int_equal(parse(&r, "GET", "/api/workflow", "sessionId=abcdefgh&lastEventId=3", "7"), 0);
    assert_int_equal(r.last_id, 7);
    assert_int_equal(parse(&r, "GET", "/api/workflow", "sessionId=abcdefgh", ""), 0);
    assert_false(r.has_last_id);
    assert_int_equal(parse(&r, "GET", "/api/workflow", "sessionId=abcdefgh", "-1"), 400);
    assert_int_equal(parse(&r, "GET", "/api/workflow", "lastEventId=1e3", NULL), 400);
    assert_int_equal(parse(&r, "GET", "/api/workflow", "lastEventId=99999999999999999999", NULL),
                     400);
}

static void test_unknown_parameters_are_ignored_logs_is_checked(void **state)
{
    (void)state;
    struct request r;
    assert_int_equal(parse(&r, "GET", "/api/workflow/state", "_=123&x&sessionId=abcdefgh", NULL),
                     0);
    assert_true(r.logs);
    assert_int_equal(parse(&r, "GET", "/api/workflow/state", "logs=0", NULL), 0);
    assert_false(r.logs);
    assert_int_equal(parse(&r, "GET", "/api/workflow/state", "logs=2", NULL), 400);
}

static int body(struct request *r, const char *ctype, const char *b)
{
    char err[256];
    memset(r, 0, sizeof(*r));
    return request_parse_body(r, ctype, b, strlen(b), err, sizeof(err));
}

static void test_bodies(void **state)
{
    (void)state;
    struct request r;
    assert_int_equal(body(&r, "application/json; charset=utf-8", "{\"proofType\":\"plonk\"}"), 0);
    assert_string_equal(r.proof_type, "plonk");
    assert_int_equal(body(&r, "application/x-www-form-urlencoded", "a=b&proofType=stark"), 0);
    assert_string_equal(r.proof_type, "stark");
    assert_int_equal(body(&r, NULL, " {\"proofType\":\"groth16\"}"), 0);
    assert_string_equal(r.proof_type, "groth16");
    assert_int_equal(body(&r, NULL, "proofType=groth16"), 0);
    assert_int_equal(body(&r, "application/json", "{}"), 0);
    assert_false(r.has_proof_type);
    assert_int_equal(body(&r, "application/json", "{\"proofType\":1}"), 400);
    assert_int_equal(body(&r, "application/json", "{\"proofType\":\"a b\"}"), 400);
    assert_int_equal(body(&r, "application/json", "[]"), 400);
    assert_int_equal(body(&r, "application/json", "{\"proofType\":\"x\"} {"), 400);
    /* A body as a file or a heredoc sends it, with its newline. */
    assert_int_equal(body(&r, "application/json", "{\"proofType\":\"groth16\"}\r\n"), 0);
    assert_string_equal(r.proof_type, "groth16");
    /* One flat object: nesting stops at REQUEST_JSON_DEPTH. */
    assert_int_equal(body(&r, "application/json", "{\"a\":[[[[[[[[[[1]]]]]]]]]]}"), 400);
    assert_int_equal(body(&r, "multipart/form-data", "x"), 400);
    /* json-c keeps the NUL; a reader that stops at it would see "groth16". */
    assert_int_equal(body(&r, "application/json", "{\"proofType\":\"groth16\\u0000\"}"), 400);
    assert_int_equal(body(&r, "application/json", "{\"proofType\":\"groth16\\u0000x\"}"), 400);
    assert_int_equal(body(&r, NULL, "proofType=groth16%00"), 400);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_routes_and_methods),
            cmocka_unit_test(test_session_ids),
            cmocka_unit_test(test_the_header_wins_over_the_parameter),
            cmocka_unit_test(test_unknown_parameters_are_ignored_logs_is_checked),
            cmocka_unit_test(test_bodies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
