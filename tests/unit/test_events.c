/* Unit tests of events.c: the payloads the front end relies on. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "events.h"

/* s starts with prefix and then holds a 24-character timestamp and "}. */
static void assert_then_timestamp(const char *s, const char *prefix)
{
    size_t n = strlen(prefix);
    assert_memory_equal(s, prefix, n);
    assert_int_equal(strlen(s), n + 24 + 2);
    assert_int_equal(s[n + 23], 'Z');
}

static void test_log_status_error_payloads(void **state)
{
    (void)state;
    char *s = event_log_json("a \"quoted\"/path\tline", "gen", true, NULL);
    struct json_object *o = json_tokener_parse(s);
    assert_non_null(o);
    assert_string_equal(json_object_get_string(json_object_object_get(o, "message")),
                        "a \"quoted\"/path\tline");
    assert_string_equal(json_object_get_string(json_object_object_get(o, "stream")), "stderr");
    assert_string_equal(json_object_get_string(json_object_object_get(o, "type")), "error");
    assert_null(strchr(s, '\n'));
    assert_non_null(strstr(s, "/path")); /* slashes are not escaped */
    json_object_put(o);
    free(s);

    /* Compared up to the timestamp, which is checked for its form. */
    s = event_status_json("verifying", 40, "Phase 2", true);
    assert_then_timestamp(s, "{\"phase\":\"verifying\",\"progress\":40,\"step\":\"Phase 2\","
                             "\"skipped\":true,\"timestamp\":\"");
    free(s);
    s = event_error_json("boom", "gen", 3, NULL);
    assert_then_timestamp(s, "{\"error\":\"boom\",\"phase\":\"gen\",\"code\":3,\"timestamp\":\"");
    free(s);
    s = event_error_json("late", NULL, 0, "timeout");
    assert_then_timestamp(
            s, "{\"error\":\"late\",\"phase\":null,\"code\":\"timeout\",\"timestamp\":\"");
    free(s);
}

static void test_the_state_splices_results_and_logs(void **state)
{
    (void)state;
    struct workflow_state ws = {.session_id = "S",
                                .proof_type = "plonk",
                                .status = "queued",
                                .phase = "queued",
                                .current_step = "wait",
                                .progress = 0,
                                .queue_position = 2,
                                .results = "{\"generatedProofs\":{\"plonk\":[]}}",
                                .start_time = "T0",
                                .last_update = "T1",
                                .last_event_id = 5};
    const char logs[] = "[{\"message\":\"m\"}]";
    char *s = event_state_json(&ws, logs, strlen(logs));
    assert_string_equal(s, "{\"sessionId\":\"S\",\"proofType\":\"plonk\",\"status\":\"queued\","
                           "\"phase\":\"queued\",\"currentStep\":\"wait\",\"progress\":0,"
                           "\"queuePosition\":2,\"generatedProofs\":{\"plonk\":[]},"
                           "\"error\":null,\"startTime\":\"T0\",\"lastUpdate\":\"T1\","
                           "\"lastEventId\":5,\"logs\":[{\"message\":\"m\"}]}");
    free(s);
    char ts[32];
    event_timestamp(ts);
    assert_int_equal(strlen(ts), 24);
    assert_int_equal(ts[23], 'Z');
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_log_status_error_payloads),
            cmocka_unit_test(test_the_state_splices_results_and_logs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
