/* Unit tests of readiness.c: the readiness file's parser, the refusal's
 * wording, and the cache following a real file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pipeline.h"
#include "readiness.h"

static char *TYPES[] = {"groth16", "plonk", "stark", NULL};
#define NTYPES 3

static int parse(const char *text, struct readiness_entry *out, char *err)
{
    return readiness_parse(text, strlen(text), TYPES, NTYPES, out, err, 256);
}

static void test_entries_by_type(void **state)
{
    (void)state;
    struct readiness_entry e[NTYPES];
    char err[256] = "";
    assert_int_equal(
            parse("{\"proofTypes\": {\"groth16\": {\"ready\": false, \"state\": \"preparing\","
                  " \"step\": 4, \"steps\": 8, \"doing\": \"circuit a\", \"eta\": [1]},"
                  " \"plonk\": {\"ready\": false, \"state\": \"failed\", \"doing\": null},"
                  " \"other\": 7}, \"updated\": \"2026-01-01T00:00:00Z\"}",
                  e, err),
            0);
    assert_false(e[0].ready);
    assert_int_equal(e[0].state, READINESS_PREPARING);
    assert_int_equal(e[0].step, 4);
    assert_int_equal(e[0].steps, 8);
    assert_string_equal(e[0].doing, "circuit a");
    assert_false(e[1].ready);
    assert_int_equal(e[1].state, READINESS_FAILED);
    assert_string_equal(e[1].doing, "");
    assert_true(e[2].ready); /* not named: ready */
    assert_int_equal(e[2].state, READINESS_READY);
    /* "state" may be left out; a ready type keeps no steps or doing. */
    assert_int_equal(parse("{\"proofTypes\": {\"groth16\": {\"ready\": false},"
                           " \"plonk\": {\"ready\": true, \"step\": 3, \"doing\": \"x\"}}}",
                           e, err),
                     0);
    assert_int_equal(e[0].state, READINESS_PREPARING);
    assert_true(e[1].ready);
    assert_int_equal(e[1].step, 0);
    assert_string_equal(e[1].doing, "");
}

static void test_doing_is_cut_and_cleaned(void **state)
{
    (void)state;
    struct readiness_entry e[NTYPES];
    char err[256];
    char text[1024] = "{\"proofTypes\": {\"groth16\": {\"ready\": false, \"doing\": \"";
    for (int i = 0; i < 150; i++)
        strcat(text, "\xc3\xa9"); /* 300 bytes */
    strcat(text, "\"}, \"plonk\": {\"ready\": false, \"doing\": "
                 "\"a\\u0000b\\nc\\td\\u001b[1me\xc0\xa3\"}, "
                 "\"stark\": {\"ready\": false, \"doing\": \"\\ud800x\"}}}");
    assert_int_equal(parse(text, e, err), 0);
    assert_int_equal(strlen(e[0].doing), READINESS_MAX_DOING);
    assert_int_equal((unsigned char)e[0].doing[0], 0xc3);
    assert_int_equal((unsigned char)e[0].doing[READINESS_MAX_DOING - 1], 0xa9);
    /* Controls and escapes go, tab stays, an overlong form is not a
     * character (json-c lets it through), nor is a lone surrogate. */
    assert_string_equal(e[1].doing, "abc\td"
                                    "e\xef\xbf\xbd\xef\xbf\xbd");
    assert_non_null(strstr(e[2].doing, "x"));
    for (const char *c = e[2].doing; *c; c++)
        assert_false((unsigned char)*c == 0xed); /* no surrogate's UTF-8 form */
}

static void test_malformed_files_leave_every_type_ready(void **state)
{
    (void)state;
    const char *bad[][2] = {
            {"", "not JSON"},
            {"{\"proofTypes\": {}} x", "not JSON"},
            {"[]", "top level"},
            {"{}", "\"proofTypes\" must be an object"},
            {"{\"proofTypes\": {\"groth16\": 1}}", "proofTypes.groth16 must be an object"},
            {"{\"proofTypes\": {\"groth16\": {}}}", "proofTypes.groth16.ready"},
            {"{\"proofTypes\": {\"groth16\": {\"ready\": 0}}}", "proofTypes.groth16.ready"},
            {"{\"proofTypes\": {\"groth16\": {\"ready\": false, \"state\": 1}}}", "state must be"},
            {"{\"proofTypes\": {\"groth16\": {\"ready\": true, \"state\": \"failed\"}}}",
             "ready is true but state is \"failed\""},
            {"{\"proofTypes\": {\"groth16\": {\"ready\": false, \"step\": 1.5}}}", "whole number"},
            {"{\"proofTypes\": {\"groth16\": {\"ready\": false, \"steps\": -1}}}", "from 0 to"},
            {"{\"proofTypes\": {\"groth16\": {\"ready\": false, \"step\": 3, \"steps\": 2}}}",
             "beyond"},
            {"{\"proofTypes\": {\"groth16\": {\"ready\": false, \"doing\": {}}}}", "doing"},
            {"{\"proofTypes\": {\"groth16\": {\"ready\": false, \"doing\": \"\xff\"}}}", "utf-8"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct readiness_entry e[NTYPES];
        char err[256] = "";
        memset(e, 0, sizeof(e));
        assert_int_equal(parse(bad[i][0], e, err), -1);
        if (!strstr(err, bad[i][1]))
            fail_msg("%s: \"%s\" does not say %s", bad[i][0], err, bad[i][1]);
        for (int t = 0; t < NTYPES; t++)
            assert_true(e[t].ready);
    }
    /* A NUL inside, and the size bound. */
    struct readiness_entry e[NTYPES];
    char err[256];
    assert_int_equal(readiness_parse("{}\0{}", 5, TYPES, NTYPES, e, err, sizeof(err)), -1);
    assert_string_equal(err, "holds a NUL byte");
    size_t big = READINESS_MAX_FILE + 1;
    char *text = malloc(big);
    memset(text, ' ', big);
    memcpy(text, "{\"proofTypes\": {}}", 18);
    assert_int_equal(readiness_parse(text, big, TYPES, NTYPES, e, err, sizeof(err)), -1);
    assert_string_equal(err, "larger than 64 KiB");
    assert_int_equal(readiness_parse(text, big - 1, TYPES, NTYPES, e, err, sizeof(err)), 0);
    free(text);
}

static void test_the_refusal_says_how_far_it_is(void **state)
{
    (void)state;
    struct readiness_entry e = {.state = READINESS_PREPARING, .step = 4, .steps = 8};
    strcpy(e.doing, "circuit poseidon_preimage");
    char msg[512];
    readiness_describe("groth16", &e, msg, sizeof(msg));
    assert_string_equal(msg, "groth16 is not ready yet: waiting for the setup (preparing, step 4 "
                             "of 8: circuit poseidon_preimage); try again when it is ready");
    e.steps = 0;
    e.doing[0] = '\0';
    readiness_describe("groth16", &e, msg, sizeof(msg));
    assert_string_equal(msg, "groth16 is not ready yet: waiting for the setup (preparing); try "
                             "again when it is ready");
    e.state = READINESS_FAILED;
    strcpy(e.doing, "solc: out of memory");
    readiness_describe("plonk", &e, msg, sizeof(msg));
    assert_string_equal(msg, "plonk cannot run: its setup failed (solc: out of memory)");
}

static void write_file(const char *path, const char *text)
{
    char tmp[512];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    assert_int_equal(rename(tmp, path), 0);
}

static void test_the_cache_follows_the_file(void **state)
{
    (void)state;
    char dir[] = "/tmp/readiness-test-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof(path), "%s/readiness.json", dir);
    struct pipeline p = {.proof_types = TYPES, .nproof_types = NTYPES, .readiness = path};
    struct readiness *r = readiness_new(&p);
    char msg[512];
    char *json = readiness_json(r);
    assert_string_equal(json, "{\"groth16\":{\"ready\":true,\"state\":\"ready\"},"
                              "\"plonk\":{\"ready\":true,\"state\":\"ready\"},"
                              "\"stark\":{\"ready\":true,\"state\":\"ready\"}}");
    free(json);
    write_file(path, "{\"proofTypes\": {\"plonk\": {\"ready\": false, \"state\": \"preparing\","
                     " \"step\": 1, \"steps\": 2, \"doing\": \"x/y\"}}}");
    json = readiness_json(r);
    assert_non_null(strstr(json, "\"plonk\":{\"ready\":false,\"state\":\"preparing\",\"step\":1,"
                                 "\"steps\":2,\"doing\":\"x/y\"}"));
    free(json);
    assert_true(readiness_check(r, "groth16", msg, sizeof(msg)));
    assert_false(readiness_check(r, "plonk", msg, sizeof(msg)));
    assert_string_equal(msg, "plonk is not ready yet: waiting for the setup (preparing, step 1 of "
                             "2: x/y); try again when it is ready");
    write_file(path, "{\"proofTypes\": {\"plonk\": {\"ready\": true}}}");
    assert_true(readiness_check(r, "plonk", msg, sizeof(msg)));
    unlink(path);
    assert_true(readiness_check(r, "plonk", msg, sizeof(msg)));
    readiness_free(r);
    rmdir(dir);

    /* No file named: everything is ready. */
    p.readiness = NULL;
    r = readiness_new(&p);
    assert_true(readiness_check(r, "plonk", msg, sizeof(msg)));
    readiness_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_entries_by_type),
            cmocka_unit_test(test_doing_is_cut_and_cleaned),
            cmocka_unit_test(test_malformed_files_leave_every_type_ready),
            cmocka_unit_test(test_the_refusal_says_how_far_it_is),
            cmocka_unit_test(test_the_cache_follows_the_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
