/*
 * merkle: building, opening and checking SHA-256 Merkle trees.
 *
 * The whole tree lives in one array in heap order (2^(depth+1) digests), so
 * building is a single backwards sweep and a path is read by halving an
 * index. Memory is 64 bytes per leaf; for the largest trace the prover
 * allows (2^20 steps, 2^23 LDE points) that is 512 MiB per tree, which is why
 * the step count is capped (see air.h).
 *
 * Trade-off: no multi-openings or pruned caps. Queries that share upper
 * nodes repeat them; the format stays one fixed-size path per opening, which
 * keeps the parser trivial to bound.
 */
#include "merkle.h"

#include <stdlib.h>
#include <string.h>

#include "mem.h"

static const uint8_t merkle_leaf_prefix = 0x00;
static const uint8_t merkle_node_prefix = 0x01;

int merkle_tree_init(struct merkle_tree *tree, unsigned depth)
{
    tree->depth = depth;
    tree->nodes = NULL;
    if (depth > MERKLE_MAX_DEPTH)
        return -1;
    tree->nodes = mem_zalloc((size_t)2 << depth, SHA256_LEN);
    return tree->nodes == NULL ? -1 : 0;
}

void merkle_tree_free(struct merkle_tree *tree)
{
    free(tree->nodes);
    tree->nodes = NULL;
}

static void merkle_hash_leaf(struct sha256 *h, const uint8_t *leaf, size_t len,
                             uint8_t out[SHA256_LEN])
{
    sha256_begin(h);
    sha256_update(h, &merkle_leaf_prefix, 1);
    sha256_update(h, leaf, len);
    sha256_end(h, out);
}

static void merkle_hash_node(struct sha256 *h, const uint8_t left[SHA256_LEN],
                             const uint8_t right[SHA256_LEN], uint8_t out[SHA256_LEN])
{
    sha256_begin(h);
    sha256_update(h, &merkle_node_prefix, 1);
    sha256_update(h, left, SHA256_LEN);
    sha256_update(h, right, SHA256_LEN);
    sha256_end(h, out);
}

void merkle_tree_set_leaf(struct merkle_tree *tree, struct sha256 *h, size_t i, const uint8_t *leaf,
                          size_t len)
{
    merkle_hash_leaf(h, leaf, len, tree->nodes[((size_t)1 << tree->depth) + i]);
}

void merkle_tree_build(struct merkle_tree *tree, struct sha256 *h)
{
    for (size_t k = ((size_t)1 << tree->depth) - 1; k >= 1; k--)
        merkle_hash_node(h, tree->nodes[2 * k], tree->nodes[2 * k + 1], tree->nodes[k]);
}

const uint8_t *merkle_tree_root(const struct merkle_tree *tree)
{
    return tree->nodes[1];
}

void merkle_tree_path(const struct merkle_tree *tree, size_t i, uint8_t (*path)[SHA256_LEN])
{
    size_t k = ((size_t)1 << tree->depth) + i;

    for (unsigned level = 0; level < tree->depth; level++, k >>= 1)
        memcpy(path[level], tree->nodes[k ^ 1], SHA256_LEN);
}

int merkle_verify(struct sha256 *h, const uint8_t root[SHA256_LEN], unsigned depth, size_t i,
                  const uint8_t *leaf, size_t len, const uint8_t (*path)[SHA256_LEN])
{
    uint8_t acc[SHA256_LEN];

    if (depth > MERKLE_MAX_DEPTH || (i >> depth) != 0)
        return 0;
    merkle_hash_leaf(h, leaf, len, acc);
    for (unsigned level = 0; level < depth; level++, i >>= 1) {
        if (i & 1)
            merkle_hash_node(h, path[level], acc, acc);
        else
            merkle_hash_node(h, acc, path[level], acc);
    }
    return memcmp(acc, root, SHA256_LEN) == 0;
}
