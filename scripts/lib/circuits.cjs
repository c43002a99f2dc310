'use strict';
// The three circuits of the default pipeline and how they are built.
//
// The .circom files under scripts/circuits/ define templates only; the main
// component (template parameters, public inputs) is stated here once, and
// zk-setup writes it into a small main file per circuit. That keeps the
// Merkle depth, for one, in a single place that both the compiler and the
// input generator (lib/inputs.cjs) read.
//
// All three compile with circom's --O1 simplification (signal-to-signal and
// signal-to-constant only). --O2 makes smaller R1CS but inlines every linear
// constraint into the products that use it, and snarkjs' PLONK pays one gate
// per extra term at every use: for the Merkle circuit 26,821 gates instead of
// 6,426. Sizes here (R1CS constraints / PLONK gates): poseidon_preimage
// 415 / 416, merkle_membership 5,625 / 6,426, eddsa_signature 6,231 / 12,850.
// The largest PLONK circuit sets the powers-of-tau size: 2^14.

const CIRCUITS = [
  {
    name: 'poseidon_preimage',
    template: 'PoseidonPreimage',
    params: [],
    publicInputs: ['hash'],
  },
  {
    name: 'merkle_membership',
    template: 'MerkleMembership',
    // Tree depth: 2^10 = 1024 leaves.
    params: [10],
    publicInputs: ['root'],
  },
  {
    name: 'eddsa_signature',
    template: 'EdDSASignature',
    params: [],
    publicInputs: ['Ax', 'Ay', 'M'],
  },
];

const SIMPLIFY = '--O1';

// Powers of tau: the ceremony supports circuits of up to 2^PTAU_POWER
// constraints (PLONK gates); snarkjs refuses a circuit that does not fit.
const PTAU_POWER = 14;

function circuitByName(name) {
  return CIRCUITS.find((c) => c.name === name) || null;
}

// The main file zk-setup compiles for one circuit.
function mainSource(circuit) {
  const pub = circuit.publicInputs.length ? ` {public [${circuit.publicInputs.join(', ')}]}` : '';
  return [
    'pragma circom 2.1.0;',
    '// Written by scripts/zk-setup from scripts/lib/circuits.cjs; do not edit.',
    `include "circuits/${circuit.name}.circom";`,
    `component main${pub} = ${circuit.template}(${circuit.params.join(', ')});`,
    '',
  ].join('\n');
}

module.exports = { CIRCUITS, SIMPLIFY, PTAU_POWER, circuitByName, mainSource };
