pragma circom 2.1.0;

// Knowledge of a Poseidon preimage: the prover knows `secret` such that
// Poseidon(secret) equals the public `hash`, without revealing `secret`.
//
// Template only: scripts/zk-setup adds the main component (see
// scripts/lib/circuits.cjs).

include "circomlib/circuits/poseidon.circom";

template PoseidonPreimage() {
    signal input secret;  // private
    signal input hash;    // public

    component h = Poseidon(1);
    h.inputs[0] <== secret;
    hash === h.out;
}
