#!/usr/bin/env node
'use strict';
// Phase 1 of the default pipeline: generate the proof type's three proofs.
//
//   generate-all-proofs.cjs <proofType>      (groth16 | plonk | stark)
//
// Environment: WORKDIR (required: where the proofs go), PROOF_TYPE (used when
// no argument is given), SESSION_ID (goes into the signed message), ZK_DIR
// (the cached setup of groth16 and plonk, default <repo>/var/zk), STARK_BIN
// (the STARK tool, default <repo>/build/stark or the installed one).
//
// Every run draws fresh inputs. groth16 and plonk prove the three circuits
// (lib/circuits.cjs) with snarkjs and the setup's proving keys; stark proves
// three hash-chain statements with the project's C prover (lib/stark.cjs).
// Output, one line per step as it happens; each proof is announced by
// exactly one line holding its file name, which phasestream's rules collect:
//   poseidon_preimage: new random secret
//   poseidon_preimage: witness computed (0.1 s)
//   ✓ poseidon_preimage_groth16_proof.json (1.8 s)
// or for stark:
//   hash_chain_1024: new random secret, 1024 steps
//   hash_chain_1024: proved: output 391d…, 49092 bytes, 99-bit security
//   ✓ hash_chain_1024_stark_proof.ub (0.1 s)
// Exit status: 0 all proofs written, 1 failure (including a missing setup or
// prover), 2 bad usage or unknown type. A type the readiness file
// (ZK_READINESS, lib/readiness.cjs) says is not ready yet -- its setup is
// still being built behind `make run` -- is refused at once with a line
// that says so and how far the setup is, status 1.

const { seconds, say, fail, runMain, requireWorkdir } = require('./lib/out.cjs');
const { SYSTEMS, proofFileName, proofPaths, releaseCurve } = require('./lib/systems.cjs');
const readiness = require('./lib/readiness.cjs');

const NAME = 'generate-all-proofs';

async function main() {
  const type = process.argv[2] || process.env.PROOF_TYPE;
  if (!type) fail(`${NAME}: usage: generate-all-proofs.cjs <${Object.keys(SYSTEMS).join('|')}>`, 2);
  const system = SYSTEMS[type];
  if (!system) {
    fail(`${NAME}: unknown proof type '${type}' (known: ${Object.keys(SYSTEMS).join(', ')})`, 2);
  }
  const workdir = requireWorkdir(NAME);
  const ready = readiness.of(type);
  if (ready && !ready.ready) fail(`${NAME}: ${readiness.describe(type, ready)}`, 1);

  const started = performance.now();
  say(`Generating ${system.names.length} ${type} proofs (fresh random inputs) in the session's work directory`);
  let ctx;
  try {
    ctx = await system.prepareProving(say);
  } catch (e) {
    fail(`${NAME}: cannot generate ${type} proofs: ${e.message}`, 1);
  }

  for (const name of system.names) {
    const t0 = performance.now();
    await system.prove(ctx, name, proofPaths(workdir, name, type), (text) => say(`${name}: ${text}`));
    say(`✓ ${proofFileName(name, type)} (${seconds(t0)})`);
  }

  say(`All ${system.names.length} ${type} proofs generated in ${seconds(started)}`);
  await releaseCurve();
  return 0;
}

runMain(NAME, main);
