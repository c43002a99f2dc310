#!/usr/bin/env node
'use strict';
// Phase 2 of the default pipeline: verify every proof in WORKDIR.
//
// Environment: WORKDIR (required), ZK_DIR (the groth16/plonk setup, default
// <repo>/var/zk), STARK_BIN (the STARK tool, see lib/stark.cjs); RPC_URL and
// DEPLOYMENT_FILE (written by `scripts/chain start`) to measure the on-chain
// verification gas.
//
// Each proof is verified off-chain: groth16 and plonk with snarkjs against
// the setup's verification key, stark with the project's C verifier against
// the proof's statement file:
//   ✅ <name> <type> proof Verified
//   ❌ <name> <type> proof FAILED verification        (reason on stderr)
// Then the gas of the verified proofs, one line each and the total, always
// the last line that mentions gas:
//   groth16, plonk (only with RPC_URL and DEPLOYMENT_FILE): each proof is
//   sent to its deployed Solidity verifier; eth_call must return true, and
//   eth_estimateGas gives the gas of that verification transaction:
//     <circuit>: <N> gas
//     Total verification gas: <N> gas
//   stark, with RPC_URL and DEPLOYMENT_FILE: each proof is sent to the
//   deployed StarkVerifier, which must accept it (it reverts otherwise), and
//   eth_estimateGas gives the gas of that verification transaction:
//     <name>: <N> gas (on-chain verification, calldata included)
//     Total verification gas: <N> gas
//   stark without a chain: the EIP-2028 calldata gas of the proof's bytes:
//     <name>: <N> gas (calldata of the proof bytes; no chain to verify on)
//     Total calldata gas: <N> gas
// and finally:
//   Circuits verified: <count>
// Exit status: 0 when every proof verified (and, with a chain, verified
// on-chain too), 1 otherwise.

const { say, warn, fail, runMain, requireWorkdir } = require('./lib/out.cjs');
const { SYSTEMS, listProofs, proofPaths, proofPatterns, releaseCurve } = require('./lib/systems.cjs');

const NAME = 'verify-with-uzkv';

function reportFailure(p, what, why) {
  say(`❌ ${p.name} ${p.type} proof FAILED ${what}`);
  warn(`${NAME}: ${p.file}: ${why}`);
}

async function main() {
  const workdir = requireWorkdir(NAME);
  const proofs = listProofs(workdir);
  if (proofs.length === 0) fail(`${NAME}: no proofs (${proofPatterns()}) in ${workdir}`);
  say(`Verifying ${proofs.length} proofs in the session's work directory`);

  // A WORKDIR holds one proof type; each type present is verified in turn.
  let failures = 0;
  let verifiedCount = 0;
  let gasError = false;
  for (const type of [...new Set(proofs.map((p) => p.type))]) {
    const system = SYSTEMS[type];
    let ctx;
    try {
      ctx = await system.prepareVerifying(say);
    } catch (e) {
      fail(`${NAME}: cannot verify ${type} proofs: ${e.message}`);
    }

    const verified = [];
    for (const p of proofs.filter((q) => q.type === type)) {
      const r = await system.verify(ctx, p.name, proofPaths(workdir, p.name, type));
      if (r.ok) {
        say(`✅ ${p.name} ${type} proof Verified`);
        verified.push({ ...p, data: r.data });
      } else {
        reportFailure(p, 'verification', r.why);
        failures++;
      }
    }

    let rejected = 0;
    const rejectedOnChain = (p, why) => {
      reportFailure(p, 'on-chain verification', why);
      rejected++;
    };
    try {
      await system.reportGas(ctx, verified, { say, rejected: rejectedOnChain });
    } catch (e) {
      warn(`${NAME}: ${e.message}`);
      gasError = true;
    }
    failures += rejected;
    verifiedCount += verified.length - rejected;
  }

  say(`Circuits verified: ${verifiedCount}`);
  await releaseCurve();
  return failures || gasError ? 1 : 0;
}

runMain(NAME, main);
