/* Unit tests of fcgi.c: the exact bytes of STDOUT and END_REQUEST records,
 * padding, and the split of long content. The expected bytes are written
 * out from the FastCGI 1.0 spec, not computed with the code under test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "fcgi.h"

/* Asserts that the n bytes at b's offset *at are want, and moves past them. */
static void expect_bytes(const struct buf *b, size_t *at, const void *want, size_t n)
{
    assert_true(*at + n <= buf_used(b));
    assert_memory_equal(buf_head(b) + *at, want, n);
    *at += n;
}

/* Asserts n bytes equal to c at *at, and moves past them. */
static void expect_run(const struct buf *b, size_t *at, char c, size_t n)
{
    assert_true(*at + n <= buf_used(b));
    for (size_t i = 0; i < n; i++)
        if (buf_head(b)[*at + i] != c)
            fail_msg("byte %zu is 0x%02x, not 0x%02x", *at + i, (unsigned char)buf_head(b)[*at + i],
                     (unsigned char)c);
    *at += n;
}

static void test_stdout_record_is_padded_to_eight_bytes(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b);
    fcgi_stdout(&b, 0x0102, "abc", 3);
    static const unsigned char want[] = {1,   6,   0x01, 0x02, 0, 3, 5, 0, /* header */
                                         'a', 'b', 'c',  0,    0, 0, 0, 0};
    assert_int_equal(buf_used(&b), sizeof(want));
    assert_memory_equal(buf_head(&b), want, sizeof(want));
    buf_free(&b);
}

static void test_stdout_content_of_a_multiple_of_eight_has_no_padding(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b);
    fcgi_stdout(&b, 1, "12345678", 8);
    static const unsigned char want[] = {1,   6,   0,   1,   0,   8,   0,   0,
                                         '1', '2', '3', '4', '5', '6', '7', '8'};
    assert_int_equal(buf_used(&b), sizeof(want));
    assert_memory_equal(buf_head(&b), want, sizeof(want));
    buf_free(&b);
}

static void test_empty_stdout_content_writes_no_record(void **state)
{
    (void)state;
    /* An empty STDOUT record would end the stream: nothing is written. */
    struct buf b;
    buf_init(&b);
    fcgi_stdout(&b, 1, "", 0);
    assert_int_equal(buf_used(&b), 0);
    buf_free(&b);
}

static void test_records_are_appended_after_what_the_buffer_holds(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b);
    buf_appends(&b, "xy");
    fcgi_stdout(&b, 0xfffe, "z", 1);
    static const unsigned char want[] = {'x', 'y', 1, 6, 0xff, 0xfe, 0, 1, 7,
                                         0,   'z', 0, 0, 0,    0,    0, 0, 0};
    assert_int_equal(buf_used(&b), sizeof(want));
    assert_memory_equal(buf_head(&b), want, sizeof(want));
    buf_free(&b);
}

static void test_end_request_is_an_empty_stdout_then_request_complete(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b);
    fcgi_end_request(&b, 0x1234);
    static const unsigned char want[] = {
            1, 6, 0x12, 0x34, 0, 0, 0, 0, /* empty STDOUT: end of the stream */
            1, 3, 0x12, 0x34, 0, 8, 0, 0, /* END_REQUEST, 8 bytes of body */
            0, 0, 0,    0,    0, 0, 0, 0, /* appStatus 0, FCGI_REQUEST_COMPLETE */
    };
    assert_int_equal(buf_used(&b), sizeof(want));
    assert_memory_equal(buf_head(&b), want, sizeof(want));
    buf_free(&b);
}

/* fcgi_stdout of n bytes of 'a' .. 'a'+i%26. */
static void stdout_of(struct buf *b, size_t n, char **content)
{
    *content = malloc(n);
    for (size_t i = 0; i < n; i++)
        (*content)[i] = (char)('a' + i % 26);
    buf_init(b);
    fcgi_stdout(b, 7, *content, n);
}

static void test_65528_bytes_fit_one_record(void **state)
{
    (void)state;
    struct buf b;
    char *content;
    stdout_of(&b, 65528, &content);
    size_t at = 0;
    expect_bytes(&b, &at, (unsigned char[]){1, 6, 0, 7, 0xff, 0xf8, 0, 0}, 8);
    expect_bytes(&b, &at, content, 65528);
    assert_int_equal(at, buf_used(&b));
    free(content);
    buf_free(&b);
}

static void test_65535_bytes_split_into_65528_and_7(void **state)
{
    (void)state;
    /* 65535 is the protocol's limit, but a record of it would need padding
     * to 65536: the first record stops at 65528, the largest multiple of 8. */
    struct buf b;
    char *content;
    stdout_of(&b, 65535, &content);
    size_t at = 0;
    expect_bytes(&b, &at, (unsigned char[]){1, 6, 0, 7, 0xff, 0xf8, 0, 0}, 8);
    expect_bytes(&b, &at, content, 65528);
    expect_bytes(&b, &at, (unsigned char[]){1, 6, 0, 7, 0, 7, 1, 0}, 8);
    expect_bytes(&b, &at, content + 65528, 7);
    expect_run(&b, &at, 0, 1);
    assert_int_equal(at, buf_used(&b));
    free(content);
    buf_free(&b);
}

static void test_long_content_takes_as_many_records_as_it_needs(void **state)
{
    (void)state;
    struct buf b;
    char *content;
    size_t n = 2 * 65528 + 1;
    stdout_of(&b, n, &content);
    size_t at = 0;
    for (int i = 0; i < 2; i++) {
        expect_bytes(&b, &at, (unsigned char[]){1, 6, 0, 7, 0xff, 0xf8, 0, 0}, 8);
        expect_bytes(&b, &at, content + (size_t)i * 65528, 65528);
    }
    expect_bytes(&b, &at, (unsigned char[]){1, 6, 0, 7, 0, 1, 7, 0}, 8);
    expect_bytes(&b, &at, content + 2 * 65528, 1);
    expect_run(&b, &at, 0, 7);
    assert_int_equal(at, buf_used(&b));
    free(content);
    buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_stdout_record_is_padded_to_eight_bytes),
            cmocka_unit_test(test_stdout_content_of_a_multiple_of_eight_has_no_padding),
            cmocka_unit_test(test_empty_stdout_content_writes_no_record),
            cmocka_unit_test(test_records_are_appended_after_what_the_buffer_holds),
            cmocka_unit_test(test_end_request_is_an_empty_stdout_then_request_complete),
            cmocka_unit_test(test_65528_bytes_fit_one_record),
            cmocka_unit_test(test_65535_bytes_split_into_65528_and_7),
            cmocka_unit_test(test_long_content_takes_as_many_records_as_it_needs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
