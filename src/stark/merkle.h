/*
 * merkle: binary Merkle trees over SHA-256, the commitment scheme of the
 * proof.
 *
 * A tree commits to 2^depth leaves, each an opaque byte string (a row of
 * field elements, encoded by the caller). Leaves and inner nodes are hashed
 * with different one-byte prefixes (0x00 and 0x01), so no inner node can be
 * passed off as a leaf. An opening is the leaf's bytes plus `depth` sibling
 * digests from the bottom up; the verifier recomputes the root.
 */
#ifndef STARK_MERKLE_H
#define STARK_MERKLE_H

#include <stddef.h>
#include <stdint.h>

#include "sha256.h"

#define MERKLE_MAX_DEPTH 30

struct merkle_tree {
    unsigned depth;
    /* Heap order: nodes[1] is the root, nodes[2^depth + i] leaf i. */
    uint8_t (*nodes)[SHA256_LEN];
};

/* 0 on success, -1 when memory is short or depth is out of range. */
int merkle_tree_init(struct merkle_tree *tree, unsigned depth);
void merkle_tree_free(struct merkle_tree *tree);

/* Hashes leaf i's bytes into its slot; call for every leaf, then build. */
void merkle_tree_set_leaf(struct merkle_tree *tree, struct sha256 *h, size_t i, const uint8_t *leaf,
                          size_t len);
void merkle_tree_build(struct merkle_tree *tree, struct sha256 *h);
const uint8_t *merkle_tree_root(const struct merkle_tree *tree);
/* Writes the depth sibling digests of leaf i, bottom first. */
void merkle_tree_path(const struct merkle_tree *tree, size_t i, uint8_t (*path)[SHA256_LEN]);

/* 1 if the leaf bytes at index i, with path, hash up to root; else 0. */
int merkle_verify(struct sha256 *h, const uint8_t root[SHA256_LEN], unsigned depth, size_t i,
                  const uint8_t *leaf, size_t len, const uint8_t (*path)[SHA256_LEN]);

#endif
