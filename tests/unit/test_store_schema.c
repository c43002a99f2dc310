/* Unit tests of store_schema.c: the key names, the stored event format and
 * the notify message, which both faces of the store and every script share. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "store_schema.h"

static void test_keys_carry_the_prefix_and_the_hash_tag(void **state)
{
    (void)state;
    struct config cfg = {.key_prefix = "ps:", .session_ttl = 3600};
    struct store_session_keys k;
    store_session_keys(&cfg, "abc", &k);
    assert_string_equal(k.state, "ps:{abc}:state");
    assert_string_equal(k.events, "ps:{abc}:events");
    assert_string_equal(k.notify, "ps:{abc}:notify");
    struct store_global_keys g;
    store_global_keys(&cfg, &g);
    assert_string_equal(g.queue, "ps:queue");
    assert_string_equal(g.running, "ps:running");
    assert_string_equal(g.queue_chan, "ps:chan:queue");
    assert_string_equal(g.cancel_chan, "ps:chan:cancel");

    /* Every script that builds a key from an id finds it the same way. */
    const char *claim = store_script_text(STORE_SCRIPT_CLAIM);
    assert_non_null(strstr(claim, "string.format('%s{%s}:%s', prefix, sid, what)"));
    assert_null(strstr(claim, "'{' .."));

    struct store_global_keys gk;
    struct store_session_argv a;
    store_global_keys(&cfg, &gk);
    const char *own[] = {"x", "y"};
    store_session_argv(&cfg, "abc", &gk, own, 2, &a);
    assert_int_equal(a.nargs, 6);
    assert_string_equal(a.args[4], "x");
    assert_string_equal(a.args[5], "y");
    assert_string_equal(a.keys[0], "ps:{abc}:state");
    assert_string_equal(a.keys[3], "ps:running");
    assert_string_equal(a.args[0], "abc");
    assert_string_equal(a.args[1], "ps:{abc}:notify");
    assert_int_equal(strlen(a.args[2]), 24);
    assert_string_equal(a.args[3], "3600");
}

static void test_elements_parse_into_id_type_and_data(void **state)
{
    (void)state;
    struct store_entry e;
    const char el[] = "error\n{\"error\":\"x\"}";
    store_entry_parse(7, el, sizeof(el) - 1, &e);
    assert_int_equal(e.id, 7);
    assert_int_equal(e.type_len, 5);
    assert_memory_equal(e.type, "error", 5);
    assert_int_equal(e.data_len, 13);
    assert_memory_equal(e.data, "{\"error\":\"x\"}", 13);
    assert_true(store_entry_terminal(&e));

    store_entry_parse(1, "log\n", 4, &e);
    assert_int_equal(e.type_len, 3);
    assert_int_equal(e.data_len, 0);
    assert_false(store_entry_terminal(&e));

    /* No line break: all data, of the default SSE type. */
    store_entry_parse(2, "complete", 8, &e);
    assert_int_equal(e.type_len, 7);
    assert_memory_equal(e.type, "message", 7);
    assert_int_equal(e.data_len, 8);
    assert_false(store_entry_terminal(&e));
}

static void test_notify_messages_are_decimal_ids(void **state)
{
    (void)state;
    uint64_t id = 0;
    assert_true(store_notify_parse("42", 2, &id));
    assert_int_equal(id, 42);
    assert_false(store_notify_parse("", 0, &id));
    assert_false(store_notify_parse("123456789012345678901234", 24, &id));
}

static void test_cancel_messages_are_session_ids(void **state)
{
    (void)state;
    char sid[STORE_SID_MAX + 1];
    assert_true(store_cancel_parse("abc", 3, sid));
    assert_string_equal(sid, "abc");
    assert_false(store_cancel_parse("", 0, sid));
    assert_false(store_cancel_parse("a\0b", 3, sid));
    char big[STORE_SID_MAX + 1];
    memset(big, 'a', sizeof(big));
    assert_false(store_cancel_parse(big, sizeof(big), sid));
}

static void test_a_connection_opens_with_auth_select_and_its_name(void **state)
{
    (void)state;
    struct redis_addr a = {.host = "h", .port = 1, .user = "u", .password = "p", .db = 3};
    struct store_hello h;
    store_hello(&a, false, &h);
    assert_int_equal(h.n, 3);
    assert_int_equal(h.cmd[0].argc, 3);
    assert_string_equal(h.cmd[0].argv[0], "AUTH");
    assert_string_equal(h.cmd[0].argv[1], "u");
    assert_string_equal(h.cmd[0].argv[2], "p");
    assert_true(h.cmd[0].required);
    assert_string_equal(h.cmd[1].argv[0], "SELECT");
    assert_string_equal(h.cmd[1].argv[1], "3");
    assert_true(h.cmd[1].required);
    assert_string_equal(h.cmd[2].argv[2], "phasestream");
    assert_false(h.cmd[2].required);
    /* A subscriber does not SELECT; no password, no AUTH. */
    a.user = a.password = NULL;
    store_hello(&a, true, &h);
    assert_int_equal(h.n, 1);
    assert_string_equal(h.cmd[0].argv[0], "CLIENT");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_keys_carry_the_prefix_and_the_hash_tag),
            cmocka_unit_test(test_elements_parse_into_id_type_and_data),
            cmocka_unit_test(test_notify_messages_are_decimal_ids),
            cmocka_unit_test(test_cancel_messages_are_session_ids),
            cmocka_unit_test(test_a_connection_opens_with_auth_select_and_its_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
