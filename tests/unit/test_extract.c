/* Unit tests of pipeline.c and extract.c: a pipeline parsed from text, its
 * results template, and every extraction action. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "extract.h"
#include "pipeline.h"

static const char PIPELINE[] =
        "{\"proofTypes\": [\"groth16\", \"plonk\"],"
        " \"phases\": [{\"name\": \"gen\", \"step\": \"Generating\", \"progress\": [10, 50],"
        "  \"command\": [\"bin/x\", \"{proofType}\", \"{sessionId}\"], \"cwd\": \".\","
        "  \"extract\": ["
        "   {\"pattern\": \"(\\\\S+_proof\\\\.json)\", \"append\": \"proofs.{proofType}\", "
        "\"unique\": true},"
        "   {\"pattern\": \"ok\", \"count\": \"stats.ok\"},"
        "   {\"pattern\": \"gas (\\\\S+)\", \"set\": \"stats.gas\", \"as\": \"number\"},"
        "   {\"pattern\": \"name (\\\\w+)\", \"set\": \"stats.name\"},"
        "   {\"pattern\": \"^(\\\\d+)%\", \"progress\": true},"
        "   {\"pattern\": \"tx (0x\\\\w+)(?: (\\\\S+))?\", \"append\": \"txs\","
        "    \"event\": {\"type\": \"transaction\", \"data\": {\"txHash\": \"$1\", \"url\": \"$2\","
        "     \"n\": 1, \"tags\": [\"$1!\"]}}},"
        "   {\"pattern\": \"^(a+)+$\", \"count\": \"stats.evil\"}"
        "  ]}]}";

struct sink_log {
    int progress[8];
    int nprogress;
    char *events[8];
    int nevents;
};

static void on_progress(void *ctx, int p)
{
    struct sink_log *s = ctx;
    s->progress[s->nprogress++] = p;
}

static void on_event(void *ctx, const char *type, const char *data)
{
    struct sink_log *s = ctx;
    char buf[512];
    snprintf(buf, sizeof(buf), "%s %s", type, data);
    s->events[s->nevents++] = strdup(buf);
}

static const struct extract_sink sink = {on_progress, on_event};

static struct pipeline *load(void)
{
    char err[512];
    struct pipeline *p = pipeline_parse(PIPELINE, "/tmp/p.json", err, sizeof(err));
    if (!p)
        fail_msg("%s", err);
    return p;
}

static void test_the_pipeline_is_parsed_into_its_struct(void **state)
{
    (void)state;
    struct pipeline *p = load();
    assert_int_equal(p->nphases, 1);
    assert_string_equal(p->dir, "/tmp");
    assert_string_equal(p->phases[0].argv[0], "/tmp/bin/x"); /* relative to the file */
    assert_string_equal(p->phases[0].cwd, "/tmp");
    assert_int_equal(p->phases[0].timeout, 60);
    assert_int_equal(p->phases[0].progress_from, 10);
    char *e = pipeline_expand(p->phases[0].argv[2], "groth16", "SID", "/w");
    assert_string_equal(e, "SID");
    free(e);
    struct json_object *t = pipeline_results_template(p);
    assert_string_equal(
            json_object_to_json_string_ext(t, JSON_C_TO_STRING_PLAIN),
            "{\"proofs\":{\"groth16\":[],\"plonk\":[]},\"stats\":{\"ok\":0,\"gas\":null,"
            "\"name\":null,\"evil\":0},\"txs\":[]}");
    json_object_put(t);
    pipeline_free(p);
}

static void feed(struct extract *x, const struct pipeline *p, const char *line, struct sink_log *s)
{
    extract_line(x, &p->phases[0], line, strlen(line), &sink, s);
}

static void test_every_action(void **state)
{
    (void)state;
    struct pipeline *p = load();
    struct extract *x = extract_new(p, "plonk");
    struct sink_log s = {0};
    feed(x, p, "wrote a_proof.json", &s);
    feed(x, p, "wrote a_proof.json again", &s); /* unique */
    feed(x, p, "wrote b_proof.json ok", &s);
    feed(x, p, "ok", &s);
    feed(x, p, "gas 1.5M", &s);
    feed(x, p, "gas 250k", &s);
    feed(x, p, "gas lots", &s); /* not a number: ignored */
    feed(x, p, "name alice", &s);
    feed(x, p, "50%", &s);
    feed(x, p, "tx 0xab https://e/tx", &s);
    feed(x, p, "tx 0xcd", &s);
    assert_string_equal(
            extract_results_json(x),
            "{\"proofs\":{\"groth16\":[],\"plonk\":[\"a_proof.json\",\"b_proof.json\"]},"
            "\"stats\":{\"ok\":2,\"gas\":250000,\"name\":\"alice\",\"evil\":0},"
            "\"txs\":[\"0xab\",\"0xcd\"]}");
    assert_int_equal(s.nprogress, 1);
    assert_int_equal(s.progress[0], 30); /* 50% of 10..50 */
    assert_int_equal(s.nevents, 2);
    const char *want[] = {
            "transaction {\"txHash\":\"0xab\",\"url\":\"https://e/tx\",\"n\":1,"
            "\"tags\":[\"0xab!\"],\"timestamp\":\"",
            "transaction {\"txHash\":\"0xcd\",\"url\":\"\",\"n\":1,\"tags\":[\"0xcd!\"],"
            "\"timestamp\":\""};
    for (int i = 0; i < 2; i++) {
        assert_memory_equal(s.events[i], want[i], strlen(want[i]));
        assert_int_equal(strlen(s.events[i]), strlen(want[i]) + 24 + 2);
    }
    assert_true(extract_has(x, "txs"));
    assert_true(extract_has(x, "proofs.{proofType}"));
    assert_false(extract_has(x, "proofs.groth16"));
    for (int i = 0; i < s.nevents; i++)
        free(s.events[i]);
    extract_free(x);
    pipeline_free(p);
}

static void test_a_catastrophic_pattern_is_bounded(void **state)
{
    (void)state;
    struct pipeline *p = load();
    struct extract *x = extract_new(p, "groth16");
    struct sink_log s = {0};
    char line[4096];
    memset(line, 'a', sizeof(line) - 2);
    line[sizeof(line) - 2] = 'b';
    line[sizeof(line) - 1] = '\0';
    feed(x, p, line, &s); /* (a+)+$ against aaaa...b: the match limit stops it */
    assert_string_equal(json_object_to_json_string(json_object_object_get(
                                json_object_object_get(extract_results(x), "stats"), "evil")),
                        "0");
    struct extract_drops d;
    extract_drops(x, &d);
    assert_int_equal(d.match_limit, 1); /* counted, so the runner can say so */
    extract_free(x);
    pipeline_free(p);
}

static void test_results_are_bounded_and_drops_counted(void **state)
{
    (void)state;
    struct pipeline *p = load();
    struct extract *x = extract_new(p, "groth16");
    struct sink_log s = {0};
    char line[64];
    for (int i = 0; i < EXTRACT_MAX_ITEMS + 5; i++) {
        snprintf(line, sizeof(line), "f%d_proof.json", i);
        feed(x, p, line, &s);
    }
    struct json_object *proofs =
            json_object_object_get(json_object_object_get(extract_results(x), "proofs"), "groth16");
    assert_int_equal(json_object_array_length(proofs), EXTRACT_MAX_ITEMS);
    struct extract_drops d;
    extract_drops(x, &d);
    assert_int_equal(d.values, 5);
    /* A set value replaces the old one's bytes: setting it again and again
     * never fills the bound. */
    for (int i = 0; i < 2 * EXTRACT_MAX_BYTES / 8; i++)
        feed(x, p, "name abcdefgh", &s);
    extract_drops(x, &d);
    assert_int_equal(d.values, 5);
    extract_free(x);
    pipeline_free(p);
}

static void test_a_unique_rule_remembers_its_bound_of_captures(void **state)
{
    (void)state;
    struct pipeline *p = load();
    struct extract *x = extract_new(p, "groth16");
    struct sink_log s = {0};
    struct extract_drops d;
    char line[64];
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < EXTRACT_UNIQUE_MAX; i++) {
            snprintf(line, sizeof(line), "f%d_proof.json", i);
            feed(x, p, line, &s);
        }
        /* The first pass: every value new, the results keep their bound.
         * The second: every value seen, nothing more is dropped. */
        extract_drops(x, &d);
        assert_int_equal(d.values, EXTRACT_UNIQUE_MAX - EXTRACT_MAX_ITEMS);
    }
    feed(x, p, "f999999_proof.json", &s); /* past the bound: cannot tell */
    feed(x, p, "f17_proof.json", &s);     /* seen */
    extract_drops(x, &d);
    assert_int_equal(d.values, EXTRACT_UNIQUE_MAX - EXTRACT_MAX_ITEMS + 1);
    extract_free(x);
    pipeline_free(p);
}

static void test_a_unique_rule_remembers_a_bounded_amount_of_text(void **state)
{
    (void)state;
    char err[512];
    struct pipeline *p = pipeline_parse(
            "{\"proofTypes\": [\"a\"], \"phases\": [{\"name\": \"gen\", \"step\": \"G\","
            " \"command\": [\"x\"], \"extract\": [{\"pattern\": \"^u (\\\\S+)\", \"count\": \"n\","
            " \"unique\": true}]}]}",
            "/tmp/p.json", err, sizeof(err));
    if (!p)
        fail_msg("%s", err);
    struct extract *x = extract_new(p, "a");
    struct sink_log s = {0};
    struct extract_drops d;
    static char line[8100];
    int fit = EXTRACT_UNIQUE_BYTES / 8000;
    for (int i = 0; i < fit + 8; i++) {
        int n = snprintf(line, sizeof(line), "u %04d", i);
        memset(line + n, 'v', 8000 - 4);
        line[n + 8000 - 4] = '\0'; /* captures of 8,000 bytes */
        feed(x, p, line, &s);
    }
    struct json_object *count = json_object_object_get(extract_results(x), "n");
    assert_int_equal(json_object_get_int(count), fit);
    extract_drops(x, &d);
    assert_int_equal(d.values, 8);
    memcpy(line, "u 9999", 6);
    line[6 + 7000] = '\0';
    feed(x, p, line, &s); /* new, but no room left to remember it */
    memcpy(line, "u 0000", 6);
    line[6 + 7000] = 'v';
    feed(x, p, line, &s); /* seen */
    extract_drops(x, &d);
    assert_int_equal(d.values, 9);
    assert_int_equal(json_object_get_int(json_object_object_get(extract_results(x), "n")), fit);
    extract_free(x);
    pipeline_free(p);
}

static void test_numbers_with_suffixes(void **state)
{
    (void)state;
    struct {
        const char *in;
        double want;
    } ok[] = {{"250k", 250000}, {"1.5M", 1500000}, {"42", 42},      {"1,234,567", 1234567},
              {"3 k", 3000},    {"2G", 2e9},       {" 7.25 ", 7.25}};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        double v;
        assert_true(extract_parse_number(ok[i].in, &v));
        assert_true(v == ok[i].want);
    }
    const char *bad[] = {"", "k", "abc", ".", "1.2.3"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        double v;
        assert_false(extract_parse_number(bad[i], &v));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_the_pipeline_is_parsed_into_its_struct),
            cmocka_unit_test(test_every_action),
            cmocka_unit_test(test_a_catastrophic_pattern_is_bounded),
            cmocka_unit_test(test_results_are_bounded_and_drops_counted),
            cmocka_unit_test(test_a_unique_rule_remembers_its_bound_of_captures),
            cmocka_unit_test(test_a_unique_rule_remembers_a_bounded_amount_of_text),
            cmocka_unit_test(test_numbers_with_suffixes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
