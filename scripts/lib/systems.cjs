'use strict';
// The proof systems the phase scripts know, and the file names they use.
//
// A proof of circuit C with system T is written to WORKDIR as
// C_T_proof.<ext> next to its public signals C_T_public.json; phasestream's
// default rules collect the proof names (`\S+_groth16_proof\.json`, ...), and
// the verify and attest phases find the proofs by the same names.

const fs = require('fs');
const snarkjs = require('snarkjs');

// snarkjs writes a verifier call's arguments as the text of a Solidity
// argument list: `[..],[[..],[..]],[..],[..]` for groth16 but `[..][..]`
// (no comma) for plonk. Both become a JSON array of the arguments.
function parseCallData(text) {
  return JSON.parse(`[${text.replace(/\]\s*\[/g, '],[')}]`);
}

// Each SNARK system: prove from a witness, verify off-chain, and turn a
// proof into the argument list of the Solidity verifier's verifyProof().
const SYSTEMS = {
  groth16: {
    proofExt: 'json',
    prove: (zkey, wtns) => snarkjs.groth16.prove(zkey, wtns),
    verify: (vkey, pub, proof) => snarkjs.groth16.verify(vkey, pub, proof),
    // verifyProof(uint[2] a, uint[2][2] b, uint[2] c, uint[n] pub)
    solidityArgs: async (proof, pub) => parseCallData(await snarkjs.groth16.exportSolidityCallData(proof, pub)),
  },
  plonk: {
    proofExt: 'json',
    prove: (zkey, wtns) => snarkjs.plonk.prove(zkey, wtns),
    verify: (vkey, pub, proof) => snarkjs.plonk.verify(vkey, pub, proof),
    // verifyProof(uint256[24] proof, uint256[n] pub)
    solidityArgs: async (proof, pub) => parseCallData(await snarkjs.plonk.exportSolidityCallData(proof, pub)),
  },
  // STARK proofs are to come from the project's own prover (src/stark, built
  // as a `stark` binary with `prove` and `verify` subcommands) writing
  // C_stark_proof.ub. Until it is wired in here, with its own prove/verify
  // entries, `stark` is refused with this reason rather than faked.
  stark: {
    proofExt: 'ub',
    missing:
      'no STARK prover is installed: the npm packages provide groth16 and plonk only, ' +
      'and the project STARK prover (src/stark) is not wired into the phase scripts yet',
  },
};

// The systems with a snarkjs setup (proving key, verification key, Solidity
// verifier) made by zk-setup and deployed by `chain start`.
const SNARK_TYPES = ['groth16', 'plonk'];

function proofFileName(circuit, type) {
  return `${circuit}_${type}_proof.${SYSTEMS[type].proofExt}`;
}

function publicFileName(circuit, type) {
  return `${circuit}_${type}_public.json`;
}

// "merkle_membership_plonk_proof.json" -> { circuit, type }, or null.
function parseProofFileName(file) {
  const m = /^(.+)_([a-z0-9]+)_proof\.([a-z]+)$/.exec(file);
  if (!m || !SYSTEMS[m[2]] || SYSTEMS[m[2]].proofExt !== m[3]) return null;
  return { circuit: m[1], type: m[2] };
}

// Every proof file in a directory, sorted by name for a stable order.
function listProofs(dir) {
  return fs
    .readdirSync(dir)
    .sort()
    .map((file) => ({ file, ...parseProofFileName(file) }))
    .filter((p) => p.type);
}

// snarkjs keeps worker threads for the BN128 curve once it has used it;
// end them so the process can exit by itself.
async function releaseCurve() {
  if (globalThis.curve_bn128) await globalThis.curve_bn128.terminate();
}

module.exports = {
  SYSTEMS,
  SNARK_TYPES,
  proofFileName,
  publicFileName,
  parseProofFileName,
  listProofs,
  releaseCurve,
};
