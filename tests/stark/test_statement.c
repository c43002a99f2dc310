/*
 * test_statement: the statement file round-trips, and the strict parser
 * rejects every deviation with a message instead of guessing.
 */
#include "test_util.h"

#include <string.h>

#include "statement.h"

static int parse(const char *text, struct statement *st, uint16_t *id, char *err)
{
    return statement_from_json(text, strlen(text), st, id, err);
}

static void test_json_round_trip(void **state)
{
    struct statement st = {10, {0x0123456789abcdefull, FIELD_P - 1}}, back;
    char json[STATEMENT_JSON_MAX], err[ERROR_MAX];
    uint16_t id;
    size_t n;

    (void)state;
    n = statement_to_json(&st, params_default(), json);
    assert_int_equal(n, strlen(json));
    assert_string_equal(json, "{\"proof_system\":\"phasestream-stark\",\"format\":1,\"params\":1,"
                              "\"steps\":1024,\"output\":\"0123456789abcdefffffffff00000000\"}\n");
    assert_int_equal(statement_from_json(json, n, &back, &id, err), 0);
    assert_true(statement_equal(&st, &back));
    assert_int_equal(id, 1);
}

static void test_minimal_statement_with_spaces_and_any_key_order(void **state)
{
    struct statement st;
    char err[ERROR_MAX];
    uint16_t id = 99;

    (void)state;
    assert_int_equal(parse(" {\n \"output\" : \"00000000000000010000000000000002\" ,"
                           "\t\"steps\": 64 }\r\n",
                           &st, &id, err),
                     0);
    assert_int_equal(st.log_steps, 6);
    assert_int_equal(st.output[0], 1);
    assert_int_equal(st.output[1], 2);
    assert_int_equal(id, 0); /* absent */
}

static void test_rejects_malformed_statements(void **state)
{
    static const struct {
        const char *text, *why;
    } bad[] = {
            {"", "expected '{'"},
            {"{\"steps\":64}", "required"},
            {"{\"output\":\"00000000000000010000000000000002\"}", "required"},
            {"{\"steps\":64,\"steps\":64,\"output\":\"00000000000000010000000000000002\"}",
             "duplicate"},
            {"{\"step\":64,\"output\":\"00000000000000010000000000000002\"}", "unknown key"},
            {"{\"steps\":65,\"output\":\"00000000000000010000000000000002\"}", "power of two"},
            {"{\"steps\":32,\"output\":\"00000000000000010000000000000002\"}", "power of two"},
            {"{\"steps\":2097152,\"output\":\"00000000000000010000000000000002\"}", "power of two"},
            {"{\"steps\":064,\"output\":\"00000000000000010000000000000002\"}", "bad number"},
            {"{\"steps\":-64,\"output\":\"00000000000000010000000000000002\"}", "bad number"},
            {"{\"steps\":12345678901,\"output\":\"00000000000000010000000000000002\"}", "too long"},
            {"{\"steps\":64,\"output\":\"0000000000000001000000000000002\"}", "32 hex"},
            {"{\"steps\":64,\"output\":\"000000000000000100000000000000g2\"}", "hex digit"},
            {"{\"steps\":64,\"output\":\"0x00000000000000010000000000000002\"}", "no prefix"},
            {"{\"steps\":64,\"output\":\"0000000000000001000000000000000A\"}",
             "lower-case hex digit"},
            {"{\"steps\":64,\"output\":\"ffffffff000000010000000000000002\"}", "below p"},
            {"{\"steps\":64,\"output\":\"0000000000000001\\u0030000000000000002\"}",
             "unsupported string"},
            {"{\"steps\":64,\"output\":\"00000000000000010000000000000002\"} x", "trailing"},
            {"{\"steps\":64,\"output\":\"00000000000000010000000000000002\"", "expected '}'"},
            {"{\"steps\":64 \"output\":\"00000000000000010000000000000002\"}", "expected '}'"},
            {"{\"proof_system\":\"other\",\"steps\":64,\"output\":"
             "\"00000000000000010000000000000002\"}",
             "is not"},
            {"{\"format\":2,\"steps\":64,\"output\":\"00000000000000010000000000000002\"}",
             "format 2"},
            {"{\"params\":0,\"steps\":64,\"output\":\"00000000000000010000000000000002\"}",
             "out of range"},
            {"{\"params\":70000,\"steps\":64,\"output\":\"00000000000000010000000000000002\"}",
             "out of range"},
    };
    struct statement st;
    char err[ERROR_MAX];
    uint16_t id;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        assert_int_equal(parse(bad[i].text, &st, &id, err), -1);
        if (strstr(err, bad[i].why) == NULL)
            fail_msg("case %zu: \"%s\" does not mention \"%s\"", i, err, bad[i].why);
    }
}

static void test_hex_words(void **state)
{
    uint64_t w[2];
    char hex[STATEMENT_HEX_LEN + 1], err[ERROR_MAX];

    (void)state;
    /* The statement's form: lower case, no prefix. */
    assert_int_equal(statement_words_from_hex("0XFFFFFFFF00000000ffffffff00000000", w, err), -1);
    assert_int_equal(statement_words_from_hex("FFFFFFFF00000000ffffffff00000000", w, err), -1);
    assert_int_equal(statement_words_from_hex("ffffffff00000000ffffffff00000000", w, err), 0);
    assert_int_equal(w[0], FIELD_P - 1);
    /* --input: an optional prefix and either case. */
    assert_int_equal(statement_input_from_hex("0XFFFFFFFF00000000ffffffff00000000", w, err), 0);
    assert_int_equal(w[0], FIELD_P - 1);
    assert_int_equal(statement_input_from_hex("0xffffffff00000000FFFFFFFF00000000", w, err), 0);
    assert_int_equal(w[1], FIELD_P - 1);
    assert_int_equal(statement_input_from_hex("0xffffffff00000000ffffffff0000000", w, err), -1);
    statement_words_to_hex(w, hex);
    assert_string_equal(hex, "ffffffff00000000ffffffff00000000");
    assert_int_equal(statement_words_from_hex("ffffffff00000001ffffffff00000000", w, err), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_json_round_trip),
            cmocka_unit_test(test_minimal_statement_with_spaces_and_any_key_order),
            cmocka_unit_test(test_rejects_malformed_statements),
            cmocka_unit_test(test_hex_words),
    };

    return cmocka_run_group_tests_name("stark statement", tests, NULL, NULL);
}
