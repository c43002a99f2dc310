/* Unit tests of lines.c: splitting, cleaning, masking, cutting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "lines.h"

struct collected {
    char *lines[16];
    enum line_end end[16];
    int n;
};

static void collect(void *ctx, const char *line, size_t len, enum line_end end)
{
    struct collected *c = ctx;
    assert_true(c->n < 16);
    c->lines[c->n] = strndup(line, len);
    c->end[c->n++] = end;
}

static void collected_free(struct collected *c)
{
    for (int i = 0; i < c->n; i++)
        free(c->lines[i]);
}

static const struct line_rules plain = {.limit = 16};

static void test_lines_split_across_chunks(void **state)
{
    (void)state;
    struct linebuf lb;
    struct collected c = {0};
    linebuf_init(&lb, &plain);
    linebuf_feed(&lb, "one\ntw", 6, collect, &c);
    linebuf_feed(&lb, "o\n\nthr", 6, collect, &c);
    assert_int_equal(c.n, 3);
    assert_string_equal(c.lines[0], "one");
    assert_string_equal(c.lines[1], "two");
    assert_string_equal(c.lines[2], "");
    linebuf_finish(&lb, collect, &c);
    assert_int_equal(c.n, 4);
    assert_string_equal(c.lines[3], "thr");
    assert_int_equal(c.end[3], LINE_PARTIAL);
    linebuf_free(&lb);
    collected_free(&c);
}

static void test_an_overlong_line_is_emitted_once_and_its_rest_dropped(void **state)
{
    (void)state;
    struct linebuf lb;
    struct collected c = {0};
    linebuf_init(&lb, &plain); /* capacity 16 + 0 + 4 */
    char big[100];
    memset(big, 'x', sizeof(big));
    linebuf_feed(&lb, big, 50, collect, &c);
    linebuf_feed(&lb, big, 50, collect, &c);
    linebuf_feed(&lb, "yy\nnext\n", 8, collect, &c);
    assert_int_equal(c.n, 2);
    assert_int_equal(c.end[0], LINE_CUT);
    assert_int_equal(strlen(c.lines[0]), 20);
    assert_string_equal(c.lines[1], "next");
    assert_int_equal(c.end[1], LINE_WHOLE);
    linebuf_free(&lb);
    collected_free(&c);
}

static char *clean(const struct line_rules *r, const char *s, size_t n)
{
    return line_sanitize(r, s, n, LINE_WHOLE, NULL);
}

static void test_invalid_utf8_becomes_replacement_characters(void **state)
{
    (void)state;
    struct line_rules r = {.limit = 200};
    const char in[] = "a\xff"
                      "b\xc3"
                      "c\xc0\xaf"
                      "d\xed\xa0\x80"
                      "e\xf4\x90\x80\x80"
                      "f\xe2\x9c\x85";
    char *out = clean(&r, in, sizeof(in) - 1);
    assert_string_equal(out, "a\xef\xbf\xbd"
                             "b\xef\xbf\xbd"
                             "c\xef\xbf\xbd\xef\xbf\xbd"
                             "d\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
                             "e\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
                             "f\xe2\x9c\x85");
    free(out);
}

static void test_control_characters_and_escape_sequences_go_tab_stays(void **state)
{
    (void)state;
    struct line_rules r = {.limit = 200};
    const char in[] = "\x1b[1;31mred\x1b[0m\ttab\x01\x7f\x00z\xc2\x85\x1b]0;title\x07!\r";
    char *out = clean(&r, in, sizeof(in) - 1);
    assert_string_equal(out, "red\ttabz!");
    free(out);
}

static void test_secrets_are_masked_longest_first_even_behind_controls(void **state)
{
    (void)state;
    const char *secrets[] = {"abc", "abcdef", ""};
    struct line_rules r = {.limit = 200, .secrets = secrets, .nsecrets = 3};
    const char in[] = "x abcdef y abc z ab\x01"
                      "cdef";
    char *out = clean(&r, in, sizeof(in) - 1);
    assert_string_equal(out, "x *** y *** z ***");
    free(out);
    char *m = line_mask(&r, "abcabc");
    assert_string_equal(m, "******");
    free(m);
}

static void test_cut_on_a_character_boundary_with_a_marker(void **state)
{
    (void)state;
    struct line_rules r = {.limit = 5};
    /* "ab" then three 2-byte characters: the cut at 5 would split one. */
    const char in[] = "ab\xc3\xa9\xc3\xa9\xc3\xa9";
    size_t len;
    char *out = line_sanitize(&r, in, sizeof(in) - 1, LINE_WHOLE, &len);
    assert_string_equal(out, "ab\xc3\xa9" LINE_CUT_MARKER);
    assert_int_equal(len, strlen(out));
    free(out);
}

static void test_a_secret_cut_in_half_is_still_masked(void **state)
{
    (void)state;
    const char *secrets[] = {"SECRETVALUE"};
    struct line_rules r = {.limit = 10, .secrets = secrets, .nsecrets = 1};
    const char in[] = "12345SECRETVALUE";
    char *out = line_sanitize(&r, in, 12, LINE_CUT, NULL); /* the reader cut it at 12 */
    assert_null(strstr(out, "SECRE"));
    assert_string_equal(out, "12345***" LINE_CUT_MARKER);
    free(out);
}

static void test_a_partial_last_line_masks_a_dangling_secret_prefix(void **state)
{
    (void)state;
    const char *secrets[] = {"SUPERSECRETVALUE123"};
    struct line_rules r = {.limit = 200, .secrets = secrets, .nsecrets = 1};
    struct linebuf lb;
    struct collected c = {0};
    linebuf_init(&lb, &r);
    /* The phase is killed in the middle of printing the secret. */
    linebuf_feed(&lb, "key=SUPERSEC", 12, collect, &c);
    linebuf_finish(&lb, collect, &c);
    assert_int_equal(c.n, 1);
    assert_int_equal(c.end[0], LINE_PARTIAL);
    char *out = line_sanitize(&r, c.lines[0], strlen(c.lines[0]), c.end[0], NULL);
    assert_string_equal(out, "key=***"); /* masked, and no cut marker */
    free(out);
    out = line_sanitize(&r, "done", 4, LINE_PARTIAL, NULL);
    assert_string_equal(out, "done");
    free(out);
    linebuf_free(&lb);
    collected_free(&c);
}

static void test_a_secret_cut_inside_a_character_is_still_masked(void **state)
{
    (void)state;
    const char *secrets[] = {"SUPERSEC\xc3\xa9"
                             "123"}; /* SUPERSECé123 */
    struct line_rules r = {.limit = 200, .secrets = secrets, .nsecrets = 1};
    /* Killed between the two bytes of é: cleaning would turn the lone
     * first byte into U+FFFD and hide the prefix. */
    char *out = line_sanitize(&r, "key=SUPERSEC\xc3", 13, LINE_PARTIAL, NULL);
    assert_null(strstr(out, "SUPERSEC"));
    assert_string_equal(out, "key=***");
    free(out);
}

static void test_an_escape_sequence_cannot_eat_a_secrets_first_byte(void **state)
{
    (void)state;
    const char *secrets[] = {"S3cr3tValue_ABCDEFG"};
    struct line_rules r = {.limit = 200, .secrets = secrets, .nsecrets = 1};
    /* ESC S is a two-byte sequence and ESC [ S a CSI ending in S: cleaning
     * first would leave "3cr3tValue_ABCDEFG" behind. */
    const char *ins[] = {"key=\x1bS3cr3tValue_ABCDEFG", "key=\x1b[S3cr3tValue_ABCDEFG end"};
    for (size_t i = 0; i < 2; i++) {
        char *out = clean(&r, ins[i], strlen(ins[i]));
        assert_null(strstr(out, "3cr3t"));
        assert_null(strstr(out, "ABCDEFG"));
        assert_int_equal(strncmp(out, "key=", 4), 0);
        free(out);
    }
}

static void test_a_utf8_prefix_never_ends_inside_a_character(void **state)
{
    (void)state;
    const char s[] = "ab\xc3\xa9\xe2\x9c\x85"; /* a b é ✅: 2 + 2 + 3 bytes */
    assert_int_equal(line_utf8_prefix(s, 7, 100), 7);
    assert_int_equal(line_utf8_prefix(s, 7, 7), 7);
    assert_int_equal(line_utf8_prefix(s, 7, 6), 4); /* not into the check mark */
    assert_int_equal(line_utf8_prefix(s, 7, 5), 4);
    assert_int_equal(line_utf8_prefix(s, 7, 4), 4);
    assert_int_equal(line_utf8_prefix(s, 7, 3), 2); /* not into é */
    assert_int_equal(line_utf8_prefix(s, 7, 0), 0);
}

static void test_a_multi_line_secret_is_split_into_its_lines(void **state)
{
    (void)state;
    const char *v[LINE_MAX_SECRETS];
    size_t n = 0;
    /* "\n", "\r\n" and "\r" all end a line; blanks around a line go; lines
     * shorter than LINE_SECRET_LINE_MIN ("}" and "ab") and blank ones are
     * not masked on their own; a repeated line is kept once. */
    assert_int_equal(line_secret_split("-----BEGIN KEY-----\nMIIEvQIB\r\n  ADAN\t\r}\n\nab\n"
                                       "MIIEvQIB\n-----END KEY-----",
                                       v, &n, LINE_MAX_SECRETS),
                     0);
    assert_int_equal(n, 4);
    assert_string_equal(v[0], "-----BEGIN KEY-----");
    assert_string_equal(v[1], "MIIEvQIB");
    assert_string_equal(v[2], "ADAN");
    assert_string_equal(v[3], "-----END KEY-----");
    /* A value without a line break is taken as it is, blanks and all, and
     * once: the pipeline may name the same value twice. */
    assert_int_equal(line_secret_split(" s3cr3t ", v, &n, LINE_MAX_SECRETS), 0);
    assert_int_equal(line_secret_split(" s3cr3t ", v, &n, LINE_MAX_SECRETS), 0);
    assert_int_equal(line_secret_split("", v, &n, LINE_MAX_SECRETS), 0);
    assert_int_equal(n, 5);
    assert_string_equal(v[4], " s3cr3t ");
    /* The only line of a value that is not blank is masked at any length:
     * a short password read from a file keeps its newline. */
    assert_int_equal(line_secret_split("pw1\n", v, &n, LINE_MAX_SECRETS), 0);
    assert_int_equal(line_secret_split("\n\n", v, &n, LINE_MAX_SECRETS), 0);
    assert_int_equal(n, 6);
    assert_string_equal(v[5], "pw1");
    /* No line long enough: every line that is not blank, not none. */
    assert_int_equal(line_secret_split("ab\ncd\n", v, &n, LINE_MAX_SECRETS), 0);
    assert_int_equal(n, 8);
    assert_string_equal(v[6], "ab");
    assert_string_equal(v[7], "cd");
    line_secrets_free(v, n);
}

static void test_a_multi_line_secret_that_does_not_fit_adds_nothing(void **state)
{
    (void)state;
    const char *v[8];
    size_t n = 0;
    assert_int_equal(line_secret_split("first-secret", v, &n, 8), 0);
    /* Eight lines after one secret: seven fit, so none is added. */
    const char *eight = "line1\nline2\nline3\nline4\nline5\nline6\nline7\nline8";
    assert_int_equal(line_secret_split(eight, v, &n, 8), -1);
    assert_int_equal(n, 1);
    assert_string_equal(v[0], "first-secret");
    /* Without the first secret, they fit exactly. */
    line_secrets_free(v, n);
    n = 0;
    assert_int_equal(line_secret_split(eight, v, &n, 8), 0);
    assert_int_equal(n, 8);
    assert_string_equal(v[7], "line8");
    assert_int_equal(line_secret_split("another", v, &n, 8), -1);
    assert_int_equal(n, 8);
    line_secrets_free(v, n);
}

static void test_every_line_of_a_multi_line_secret_is_masked(void **state)
{
    (void)state;
    const char *v[LINE_MAX_SECRETS];
    size_t n = 0;
    const char *key = "-----BEGIN PRIVATE KEY-----\r\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\r\n"
                      "BKcwggSjAgEAAoIBAQC7\r\n-----END PRIVATE KEY-----\r\n";
    assert_int_equal(line_secret_split(key, v, &n, LINE_MAX_SECRETS), 0);
    struct line_rules r = {.limit = 40, .secrets = v, .nsecrets = n};
    /* The phase prints the key as a shell would: split at its newlines,
     * with its carriage returns, in reads that cut its lines anywhere. */
    struct linebuf lb;
    struct collected c = {0};
    linebuf_init(&lb, &r);
    const char *out = "key: -----BEGIN PRIVATE KEY-----\r\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\r\n"
                      "BKcwggSjAgEAAoIBAQC7\r\n-----END PRIVATE KEY-----\r\n"
                      "done MIIEvQIBADANBgkq";
    for (const char *p = out; *p; p += 3)
        linebuf_feed(&lb, p, strnlen(p, 3), collect, &c);
    linebuf_finish(&lb, collect, &c);
    assert_int_equal(c.n, 5);
    const char *want[] = {"key: ***", "***", "***", "***", "done ***"};
    for (int i = 0; i < c.n; i++) {
        char *line = line_sanitize(&r, c.lines[i], strlen(c.lines[i]), c.end[i], NULL);
        assert_string_equal(line, want[i]);
        free(line);
    }
    /* Its first line past the limit: cut, marked, and no part of it kept. */
    char *cut = line_sanitize(&r, "0123456789012345678901234567890 MIIEvQIBADANBgkqhkiG9w0BAQE", 59,
                              LINE_WHOLE, NULL);
    assert_string_equal(cut, "0123456789012345678901234567890 ***" LINE_CUT_MARKER);
    free(cut);
    linebuf_free(&lb);
    collected_free(&c);
    line_secrets_free(v, n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_lines_split_across_chunks),
            cmocka_unit_test(test_an_overlong_line_is_emitted_once_and_its_rest_dropped),
            cmocka_unit_test(test_invalid_utf8_becomes_replacement_characters),
            cmocka_unit_test(test_control_characters_and_escape_sequences_go_tab_stays),
            cmocka_unit_test(test_secrets_are_masked_longest_first_even_behind_controls),
            cmocka_unit_test(test_cut_on_a_character_boundary_with_a_marker),
            cmocka_unit_test(test_a_secret_cut_in_half_is_still_masked),
            cmocka_unit_test(test_a_partial_last_line_masks_a_dangling_secret_prefix),
            cmocka_unit_test(test_an_escape_sequence_cannot_eat_a_secrets_first_byte),
            cmocka_unit_test(test_a_secret_cut_inside_a_character_is_still_masked),
            cmocka_unit_test(test_a_utf8_prefix_never_ends_inside_a_character),
            cmocka_unit_test(test_a_multi_line_secret_is_split_into_its_lines),
            cmocka_unit_test(test_a_multi_line_secret_that_does_not_fit_adds_nothing),
            cmocka_unit_test(test_every_line_of_a_multi_line_secret_is_masked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
