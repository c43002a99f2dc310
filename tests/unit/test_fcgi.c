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

/* Asserts that b holds exactly the n bytes of want, and frees it. */
static void expect_only(struct buf *b, const void *want, size_t n)
{
    assert_int_equal(buf_used(b), n);
    assert_memory_equal(buf_head(b), want, n);
    buf_free(b);
}

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

/* Asserts that content, framed for request rid, is exactly want. */
static void expect_stdout(uint16_t rid, const char *content, const void *want, size_t n)
{
    struct buf b;
    buf_init(&b);
    fcgi_stdout(&b, rid, content, strlen(content));
    expect_only(&b, want, n);
}

static void test_stdout_record_is_padded_to_eight_bytes(void **state)
{
    (void)state;
    static const unsigned char want[] = {1,   6,   0x01, 0x02, 0, 3, 5, 0, /* header */
                                         'a', 'b', 'c',  0,    0, 0, 0, 0};
    expect_stdout(0x0102, "abc", want, sizeof(want));
}

static void test_stdout_content_of_a_multiple_of_eight_has_no_padding(void **state)
{
    (void)state;
    static const unsigned char want[] = {1,   6,   0,   1,   0,   8,   0,   0,
                                         '1', '2', '3', '4', '5', '6', '7', '8'};
    expect_stdout(1, "12345678", want, sizeof(want));
}

static void test_empty_stdout_content_writes_no_record(void **state)
{
    (void)state;
    /* An empty STDOUT record would end the stream: nothing is written. */
    expect_stdout(1, "", "", 0);
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
    expect_only(&b, want, sizeof(want));
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
    expect_only(&b, want, sizeof(want));
}

/* Long content framed for request 7, and how far the checks have read. */
struct framed {
    struct buf b;
    char *content; /* n bytes of 'a' .. 'a' + i % 26 */
    size_t at;
};

static struct framed framed_of(size_t n)
{
    struct framed f = {.content = malloc(n)};
    for (size_t i = 0; i < n; i++)
        f.content[i] = (char)('a' + i % 26);
    buf_init(&f.b);
    fcgi_stdout(&f.b, 7, f.content, n);
    return f;
}

/* Asserts a full record at f->at: 65528 bytes of content from from, no
 * padding. */
static void expect_full_record(struct framed *f, size_t from)
{
    expect_bytes(&f->b, &f->at, (unsigned char[]){1, 6, 0, 7, 0xff, 0xf8, 0, 0}, 8);
    expect_bytes(&f->b, &f->at, f->content + from, 65528);
}

/* Asserts that nothing follows f->at, and frees f. */
static void expect_nothing_more(struct framed *f)
{
    assert_int_equal(f->at, buf_used(&f->b));
    free(f->content);
    buf_free(&f->b);
}

/* Asserts a last record at f->at: len bytes of content from from, then pad
 * zero bytes, and nothing after it. Frees f. */
static void expect_last_record(struct framed *f, size_t from, unsigned char len, unsigned char pad)
{
    expect_bytes(&f->b, &f->at, (unsigned char[]){1, 6, 0, 7, 0, len, pad, 0}, 8);
    expect_bytes(&f->b, &f->at, f->content + from, len);
    expect_run(&f->b, &f->at, 0, pad);
    expect_nothing_more(f);
}

static void test_65528_bytes_fit_one_record(void **state)
{
    (void)state;
    struct framed f = framed_of(65528);
    expect_full_record(&f, 0);
    expect_nothing_more(&f);
}

static void test_65535_bytes_split_into_65528_and_7(void **state)
{
    (void)state;
    /* 65535 is the protocol's limit, but a record of it would need padding
     * to 65536: the first record stops at 65528, the largest multiple of 8. */
    struct framed f = framed_of(65535);
    expect_full_record(&f, 0);
    expect_last_record(&f, 65528, 7, 1);
}

static void test_long_content_takes_as_many_records_as_it_needs(void **state)
{
    (void)state;
    struct framed f = framed_of(2 * 65528 + 1);
    expect_full_record(&f, 0);
    expect_full_record(&f, 65528);
    expect_last_record(&f, 2 * 65528, 1, 7);
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
