/*
 * test_transcript: Fiat-Shamir challenges are deterministic, depend on
 * everything absorbed (including message boundaries), and grinding nonces
 * check out only when they meet the difficulty.
 */
#include "test_util.h"

#include <string.h>

#include "transcript.h"

static void test_same_messages_give_same_challenges(void **state)
{
    struct sha256 *h = sha256_new();
    struct transcript a, b;

    (void)state;
    transcript_init(&a, h, "test");
    transcript_init(&b, h, "test");
    transcript_absorb(&a, "abc", 3);
    transcript_absorb(&b, "abc", 3);
    for (int i = 0; i < 10; i++)
        assert_true(field_ext_eq(transcript_draw_ext(&a), transcript_draw_ext(&b)));
    sha256_free(h);
}

static void test_challenges_depend_on_label_data_and_boundaries(void **state)
{
    struct sha256 *h = sha256_new();
    struct transcript base, other;
    uint64_t c;

    (void)state;
    transcript_init(&base, h, "test");
    transcript_absorb(&base, "ab", 2);
    transcript_absorb(&base, "c", 1);
    c = transcript_draw_field(&base);

    transcript_init(&other, h, "test");
    transcript_absorb(&other, "abc", 3); /* same bytes, other split */
    assert_int_not_equal(transcript_draw_field(&other), c);

    transcript_init(&other, h, "test2");
    transcript_absorb(&other, "ab", 2);
    transcript_absorb(&other, "c", 1);
    assert_int_not_equal(transcript_draw_field(&other), c);

    transcript_init(&other, h, "test");
    transcript_absorb(&other, "ab", 2);
    transcript_absorb(&other, "d", 1);
    assert_int_not_equal(transcript_draw_field(&other), c);
    sha256_free(h);
}

static void test_absorb_ext_equals_absorbing_the_encoding(void **state)
{
    struct sha256 *h = sha256_new();
    struct transcript a, b;
    struct field_ext v[3] = {{1, 2}, {3, FIELD_P - 1}, {0, 5}};
    uint8_t buf[3 * FIELD_EXT_BYTES];

    (void)state;
    for (int i = 0; i < 3; i++)
        field_ext_write(buf + i * FIELD_EXT_BYTES, v[i]);
    transcript_init(&a, h, "x");
    transcript_init(&b, h, "x");
    transcript_absorb_ext(&a, v, 3);
    transcript_absorb(&b, buf, sizeof(buf));
    assert_memory_equal(a.state, b.state, SHA256_LEN);
    sha256_free(h);
}

static void test_indices_are_in_range_and_spread(void **state)
{
    struct sha256 *h = sha256_new();
    struct transcript t;
    unsigned seen[8] = {0};

    (void)state;
    transcript_init(&t, h, "idx");
    for (int i = 0; i < 800; i++) {
        uint64_t v = transcript_draw_index(&t, 3);

        assert_true(v < 8);
        seen[v]++;
    }
    for (int k = 0; k < 8; k++)
        assert_true(seen[k] > 50); /* each ~100; a stuck bit would be 0 */
    for (int i = 0; i < 100; i++)
        assert_true(transcript_draw_field(&t) < FIELD_P);
    sha256_free(h);
}

static void test_grinding_nonce_is_checked(void **state)
{
    struct sha256 *h = sha256_new();
    struct transcript p, v, w;
    uint64_t nonce;

    (void)state;
    transcript_init(&p, h, "grind");
    v = p;
    w = p;
    nonce = transcript_grind(&p, 12);
    assert_true(transcript_check_grind(&v, 12, nonce));
    /* Both sides absorbed the nonce: they continue in step. */
    assert_int_equal(transcript_draw_field(&p), transcript_draw_field(&v));
    /* The nonces below the found one all fail (it is the first). */
    for (uint64_t n = 0; n < nonce; n++) {
        struct transcript c = w;

        assert_false(transcript_check_grind(&c, 12, n));
    }
    /* Zero bits: any nonce passes. */
    assert_true(transcript_check_grind(&w, 0, 12345));
    sha256_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_same_messages_give_same_challenges),
            cmocka_unit_test(test_challenges_depend_on_label_data_and_boundaries),
            cmocka_unit_test(test_absorb_ext_equals_absorbing_the_encoding),
            cmocka_unit_test(test_indices_are_in_range_and_spread),
            cmocka_unit_test(test_grinding_nonce_is_checked),
    };

    return cmocka_run_group_tests_name("stark transcript", tests, NULL, NULL);
}
