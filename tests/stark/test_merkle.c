/*
 * test_merkle: commitments open at every leaf and reject every change to a
 * leaf, a path, an index, a depth or the root.
 */
#include "test_util.h"

#include <string.h>

#include "merkle.h"

static void make_leaf(uint8_t leaf[24], size_t i)
{
    memset(leaf, 0, 24);
    memcpy(leaf, "leaf", 4);
    for (int b = 0; b < 8; b++)
        leaf[8 + b] = (uint8_t)(i >> (8 * b));
}

static void build(struct merkle_tree *t, struct sha256 *h, unsigned depth)
{
    uint8_t leaf[24];

    assert_int_equal(merkle_tree_init(t, depth), 0);
    for (size_t i = 0; i < ((size_t)1 << depth); i++) {
        make_leaf(leaf, i);
        merkle_tree_set_leaf(t, h, i, leaf, sizeof(leaf));
    }
    merkle_tree_build(t, h);
}

static void test_every_leaf_opens_at_every_depth(void **state)
{
    struct sha256 *h = sha256_new();
    uint8_t leaf[24], path[MERKLE_MAX_DEPTH][SHA256_LEN];

    (void)state;
    for (unsigned depth = 0; depth <= 8; depth++) {
        struct merkle_tree t;

        build(&t, h, depth);
        for (size_t i = 0; i < ((size_t)1 << depth); i++) {
            make_leaf(leaf, i);
            merkle_tree_path(&t, i, path);
            assert_true(merkle_verify(h, merkle_tree_root(&t), depth, i, leaf, sizeof(leaf),
                                      (const uint8_t(*)[SHA256_LEN])path));
        }
        merkle_tree_free(&t);
    }
    sha256_free(h);
}

static void test_openings_reject_any_change(void **state)
{
    struct sha256 *h = sha256_new();
    struct merkle_tree t;
    uint8_t leaf[24], path[6][SHA256_LEN], root[SHA256_LEN];
    const uint8_t(*cpath)[SHA256_LEN] = (const uint8_t(*)[SHA256_LEN])path;
    size_t i = 37;

    (void)state;
    build(&t, h, 6);
    memcpy(root, merkle_tree_root(&t), SHA256_LEN);
    make_leaf(leaf, i);
    merkle_tree_path(&t, i, path);
    assert_true(merkle_verify(h, root, 6, i, leaf, sizeof(leaf), cpath));

    for (size_t b = 0; b < sizeof(leaf); b++) {
        leaf[b] ^= 0x20;
        assert_false(merkle_verify(h, root, 6, i, leaf, sizeof(leaf), cpath));
        leaf[b] ^= 0x20;
    }
    for (size_t b = 0; b < sizeof(path); b++) {
        path[b / SHA256_LEN][b % SHA256_LEN] ^= 0x01;
        assert_false(merkle_verify(h, root, 6, i, leaf, sizeof(leaf), cpath));
        path[b / SHA256_LEN][b % SHA256_LEN] ^= 0x01;
    }
    for (size_t b = 0; b < SHA256_LEN; b++) {
        root[b] ^= 0x80;
        assert_false(merkle_verify(h, root, 6, i, leaf, sizeof(leaf), cpath));
        root[b] ^= 0x80;
    }
    assert_false(merkle_verify(h, root, 6, i ^ 1, leaf, sizeof(leaf), cpath));
    assert_false(merkle_verify(h, root, 5, i, leaf, sizeof(leaf), cpath));
    assert_false(merkle_verify(h, root, 6, i + 64, leaf, sizeof(leaf), cpath));
    assert_false(merkle_verify(h, root, 6, i, leaf, sizeof(leaf) - 1, cpath));
    assert_true(merkle_verify(h, root, 6, i, leaf, sizeof(leaf), cpath));
    merkle_tree_free(&t);
    sha256_free(h);
}

static void test_inner_node_is_not_a_leaf(void **state)
{
    struct sha256 *h = sha256_new();
    struct merkle_tree t;
    uint8_t children[2 * SHA256_LEN];

    (void)state;
    /* A depth-1 tree's root must not open as a one-leaf tree whose leaf is
     * the concatenation of its children: leaves and nodes are prefixed. */
    build(&t, h, 1);
    memcpy(children, t.nodes[2], SHA256_LEN);
    memcpy(children + SHA256_LEN, t.nodes[3], SHA256_LEN);
    assert_false(merkle_verify(h, merkle_tree_root(&t), 0, 0, children, sizeof(children), NULL));
    merkle_tree_free(&t);
    sha256_free(h);
}

static void test_root_depends_on_every_leaf(void **state)
{
    struct sha256 *h = sha256_new();
    struct merkle_tree a, b;
    uint8_t leaf[24];

    (void)state;
    build(&a, h, 4);
    for (size_t i = 0; i < 16; i++) {
        build(&b, h, 4);
        make_leaf(leaf, i);
        leaf[23] = 1;
        merkle_tree_set_leaf(&b, h, i, leaf, sizeof(leaf));
        merkle_tree_build(&b, h);
        assert_memory_not_equal(merkle_tree_root(&a), merkle_tree_root(&b), SHA256_LEN);
        merkle_tree_free(&b);
    }
    merkle_tree_free(&a);
    sha256_free(h);
}

static void test_sha256_is_the_standard_function(void **state)
{
    /* FIPS 180-2 test vector, so the hash really is SHA-256. */
    static const uint8_t want[SHA256_LEN] = {
            0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40,
            0xde, 0x5d, 0xae, 0x22, 0x23, 0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17,
            0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad,
    };
    struct sha256 *h = sha256_new();
    uint8_t d[SHA256_LEN];

    (void)state;
    assert_non_null(h);
    sha256_begin(h);
    sha256_update(h, "abc", 3);
    sha256_end(h, d);
    assert_memory_equal(d, want, SHA256_LEN);
    sha256_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_sha256_is_the_standard_function),
            cmocka_unit_test(test_every_leaf_opens_at_every_depth),
            cmocka_unit_test(test_openings_reject_any_change),
            cmocka_unit_test(test_inner_node_is_not_a_leaf),
            cmocka_unit_test(test_root_depends_on_every_leaf),
    };

    return cmocka_run_group_tests_name("stark merkle", tests, NULL, NULL);
}
