pragma circom 2.1.0;

// Membership in a Poseidon Merkle tree: the prover knows a secret whose leaf
// Poseidon(secret) sits somewhere in the tree whose root is public, without
// revealing the secret, the leaf or its position.
//
// Node hash: Poseidon(left, right). Leaf: Poseidon(secret). The depth is the
// template parameter `levels`.
//
// Template only: scripts/zk-setup adds the main component (see
// scripts/lib/circuits.cjs).

include "circomlib/circuits/poseidon.circom";

template MerkleMembership(levels) {
    signal input secret;                    // private
    signal input pathElements[levels];      // private: the sibling at each level
    signal input pathIndices[levels];       // private: 1 when the path node is a right child
    signal input root;                      // public

    component leaf = Poseidon(1);
    leaf.inputs[0] <== secret;

    component hashers[levels];
    signal node[levels + 1];
    signal swap[levels];
    node[0] <== leaf.out;

    for (var i = 0; i < levels; i++) {
        // A path index must be a bit, or the prover could mix the two children.
        pathIndices[i] * (1 - pathIndices[i]) === 0;

        // index 0 hashes (node, sibling), index 1 (sibling, node); one
        // product serves both children.
        swap[i] <== pathIndices[i] * (pathElements[i] - node[i]);

        hashers[i] = Poseidon(2);
        hashers[i].inputs[0] <== node[i] + swap[i];
        hashers[i].inputs[1] <== pathElements[i] - swap[i];
        node[i + 1] <== hashers[i].out;
    }

    root === node[levels];
}
