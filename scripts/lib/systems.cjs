'use strict';
// The proof systems the phase scripts know, and the file names they use.
//
// A proof named N (a circuit, or a STARK statement) made with system T is
// written to WORKDIR as N_T_proof.<ext> next to its public inputs
// N_T_public.json; phasestream's default rules collect the proof names
// (`\S+_groth16_proof\.json`, `\S+_stark_proof\.ub`, ...), and the verify and
// attest phases find the proofs by the same names.
//
// Every system has the same entries, so the phase scripts never ask which
// one they hold:
//   proofExt                      extension of its proof files
//   names                         the proofs generate makes, in order
//   prepareProving(say)           once per generate run; returns the context
//                                 prove() needs, or throws an Error saying
//                                 what is missing and how to get it
//   prove(ctx, name, files, note) make one proof with fresh inputs: writes
//                                 files.public and files.proof; note(text)
//                                 reports a step
//   prepareVerifying(say)         once per verify run, like prepareProving
//   verify(ctx, name, files)      { ok: true, data } or { ok: false, why }
//   verifyCall(name, files, deployment)
//                                 the proof's on-chain verification:
//                                 { address, data } of a verifier call that
//                                 returns true (for Attestor.attestVerified)
//   reportGas(ctx, verified, out) print `<name>: <N> gas ...` lines and a
//                                 total, always the last gas line; calls
//                                 out.rejected(p, why) for a proof a chain
//                                 refuses; throws when it cannot measure
// groth16 and plonk come from snarkjs (lib/snark.cjs), stark from the
// project's C prover and verifier (lib/stark.cjs).

const fs = require('fs');
const path = require('path');
const { snarkSystem } = require('./snark.cjs');
const { starkSystem } = require('./stark.cjs');

const SYSTEMS = {
  groth16: snarkSystem('groth16'),
  plonk: snarkSystem('plonk'),
  stark: starkSystem,
};

// The systems with a snarkjs setup (proving key, verification key, Solidity
// verifier) made by zk-setup and deployed by `chain start`.
const SNARK_TYPES = ['groth16', 'plonk'];

function proofFileName(name, type) {
  return `${name}_${type}_proof.${SYSTEMS[type].proofExt}`;
}

function publicFileName(name, type) {
  return `${name}_${type}_public.json`;
}

// The paths of one proof's files in `dir`: { proof, public }.
function proofPaths(dir, name, type) {
  return { proof: path.join(dir, proofFileName(name, type)), public: path.join(dir, publicFileName(name, type)) };
}

// "merkle_membership_plonk_proof.json" -> { name, type }, or null.
function parseProofFileName(file) {
  const m = /^(.+)_([a-z0-9]+)_proof\.([a-z]+)$/.exec(file);
  if (!m || !SYSTEMS[m[2]] || SYSTEMS[m[2]].proofExt !== m[3]) return null;
  return { name: m[1], type: m[2] };
}

// Every proof file in a directory: by type, then in the order generate
// makes them (names it does not make last, by file name).
function listProofs(dir) {
  const rank = (p) => {
    const i = SYSTEMS[p.type].names.indexOf(p.name);
    return i < 0 ? Infinity : i;
  };
  return fs
    .readdirSync(dir)
    .sort()
    .map((file) => ({ file, ...parseProofFileName(file) }))
    .filter((p) => p.type)
    .sort((a, b) => a.type.localeCompare(b.type) || rank(a) - rank(b));
}

// The file patterns, for messages: "*_groth16_proof.json, ..., *_stark_proof.ub".
function proofPatterns() {
  return Object.keys(SYSTEMS)
    .map((type) => `*_${type}_proof.${SYSTEMS[type].proofExt}`)
    .join(', ');
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
  proofPaths,
  parseProofFileName,
  listProofs,
  proofPatterns,
  releaseCurve,
};
