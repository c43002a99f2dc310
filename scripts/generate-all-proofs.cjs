#!/usr/bin/env node
'use strict';
// Phase 1 of the default pipeline: generate one proof per circuit.
//
//   generate-all-proofs.cjs <proofType>      (groth16 | plonk | stark)
//
// Environment: WORKDIR (required: where the proofs go), PROOF_TYPE (used when
// no argument is given), SESSION_ID (goes into the signed message), ZK_DIR
// (the cached setup, default <repo>/var/zk).
//
// Every run draws fresh inputs (lib/inputs.cjs), computes the witness with
// the circuit's WebAssembly and proves with the setup's proving key. Output,
// one line per step as it happens; each proof is announced by exactly one
// line holding its file name, which phasestream's rules collect:
//   poseidon_preimage: new random secret
//   poseidon_preimage: witness computed (0.1 s)
//   ✓ poseidon_preimage_groth16_proof.json (1.8 s)
// Exit status: 0 all proofs written, 1 failure, 2 bad usage or unknown type.

const fs = require('fs');
const path = require('path');
const snarkjs = require('snarkjs');
const { seconds, say, fail, runMain, requireWorkdir } = require('./lib/out.cjs');
const { CIRCUITS, loadSetup, circuitFiles } = require('./lib/zk.cjs');
const { SYSTEMS, proofFileName, publicFileName, releaseCurve } = require('./lib/systems.cjs');
const { freshInputs, prepareInputs } = require('./lib/inputs.cjs');

const NAME = 'generate-all-proofs';

async function main() {
  const type = process.argv[2] || process.env.PROOF_TYPE;
  if (!type) fail(`${NAME}: usage: generate-all-proofs.cjs <${Object.keys(SYSTEMS).join('|')}>`, 2);
  const system = SYSTEMS[type];
  if (!system) {
    fail(`${NAME}: unknown proof type '${type}' (known: ${Object.keys(SYSTEMS).join(', ')})`, 2);
  }
  if (system.missing) fail(`${NAME}: cannot generate ${type} proofs: ${system.missing}`, 1);

  const workdir = requireWorkdir(NAME);
  const setup = loadSetup();
  if (setup instanceof Error) fail(`${NAME}: ${setup.message}`, 1);

  const started = performance.now();
  say(`Generating ${CIRCUITS.length} ${type} proofs (fresh random inputs) in ${workdir}`);
  // Both take a second or more: build them side by side, once.
  await Promise.all([prepareInputs(), snarkjs.curves.getCurveFromName('bn128')]);
  say(`Poseidon, Baby Jubjub and BN128 ready (${seconds(started)})`);

  for (const circuit of CIRCUITS) {
    const files = circuitFiles(circuit.name);
    const t0 = performance.now();

    const { input, note } = await freshInputs(circuit.name);
    say(`${circuit.name}: ${note}`);

    // The witness stays in memory: snarkjs accepts {type: 'mem'} for a file.
    const wtns = { type: 'mem' };
    await snarkjs.wtns.calculate(input, files.wasm, wtns);
    say(`${circuit.name}: witness computed (${seconds(t0)})`);

    const { proof, publicSignals } = await system.prove(files.zkey(type), wtns);
    const proofFile = proofFileName(circuit.name, type);
    // Public signals first, so that a proof file never exists without them.
    fs.writeFileSync(path.join(workdir, publicFileName(circuit.name, type)), JSON.stringify(publicSignals) + '\n');
    fs.writeFileSync(path.join(workdir, proofFile), JSON.stringify(proof) + '\n');
    say(`✓ ${proofFile} (${seconds(t0)})`);
  }

  say(`All ${CIRCUITS.length} ${type} proofs generated in ${seconds(started)}`);
  await releaseCurve();
  return 0;
}

runMain(NAME, main);
