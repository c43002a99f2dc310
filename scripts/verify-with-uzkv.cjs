#!/usr/bin/env node
'use strict';
// Phase 2 of the default pipeline: verify every proof in WORKDIR.
//
// Environment: WORKDIR (required), ZK_DIR (the setup, default <repo>/var/zk);
// RPC_URL and DEPLOYMENT_FILE (written by `scripts/chain start`) to measure
// on-chain gas as well.
//
// Each proof is verified off-chain with snarkjs against the setup's
// verification key:
//   ✅ <circuit> <type> proof Verified
//   ❌ <circuit> <type> proof FAILED verification        (reason on stderr)
// With RPC_URL and DEPLOYMENT_FILE, each verified proof is then sent to its
// deployed Solidity verifier: eth_call must return true, and eth_estimateGas
// gives the gas of that verification transaction:
//   <circuit>: <N> gas
//   Total verification gas: <N> gas                    (always the last gas line)
// and finally:
//   Circuits verified: <count>
// Exit status: 0 when every proof verified (and, with a chain, verified
// on-chain too), 1 otherwise.

const fs = require('fs');
const path = require('path');
const { ethers } = require('ethers');
const { say, warn, fail, runMain, requireWorkdir } = require('./lib/out.cjs');
const zk = require('./lib/zk.cjs');
const { SYSTEMS, listProofs, publicFileName, releaseCurve } = require('./lib/systems.cjs');
const { connect, readDeployment, artifact } = require('./lib/eth.cjs');

const NAME = 'verify-with-uzkv';

function readJson(file) {
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

// Off-chain verification of one proof; returns the loaded proof when valid,
// or null after printing why not.
async function verifyOffChain(workdir, p) {
  const failed = (why) => {
    say(`❌ ${p.circuit} ${p.type} proof FAILED verification`);
    warn(`${NAME}: ${p.file}: ${why}`);
    return null;
  };
  const system = SYSTEMS[p.type];
  if (system.missing) return failed(`cannot verify ${p.type} proofs: ${system.missing}`);
  if (!zk.circuitByName(p.circuit)) return failed(`unknown circuit '${p.circuit}'`);
  let proof, publicSignals;
  try {
    proof = readJson(path.join(workdir, p.file));
    publicSignals = readJson(path.join(workdir, publicFileName(p.circuit, p.type)));
  } catch (e) {
    return failed(`unreadable proof or public signals: ${e.message}`);
  }
  const vkey = readJson(zk.circuitFiles(p.circuit).vkey(p.type));
  let ok = false;
  try {
    ok = await system.verify(vkey, publicSignals, proof);
  } catch (e) {
    return failed(`malformed proof: ${e.message}`);
  }
  if (!ok) return failed('the proof does not verify against the verification key');
  say(`✅ ${p.circuit} ${p.type} proof Verified`);
  return { ...p, proof, publicSignals };
}

// Gas of verifying each proof with its deployed verifier. Returns the number
// of proofs the on-chain verifier rejected.
async function measureGas(verified, rpcUrl, deploymentFile, setup) {
  const deployment = readDeployment(deploymentFile);
  if (deployment.setupId !== setup.setupId) {
    throw new Error(
      `the verifiers in ${deploymentFile} were deployed from another zk setup (${deployment.setupId}, current ${setup.setupId}): restart the chain`,
    );
  }
  const { provider } = await connect(rpcUrl);
  let total = 0n;
  let rejected = 0;
  try {
    for (const p of verified) {
      const address = (deployment.verifiers[p.circuit] || {})[p.type];
      if (!address) throw new Error(`${deploymentFile} has no ${p.type} verifier for ${p.circuit}`);
      const { abi } = artifact(zk.verifierContractName(p.circuit, p.type));
      const iface = new ethers.Interface(abi);
      const data = iface.encodeFunctionData('verifyProof', await SYSTEMS[p.type].solidityArgs(p.proof, p.publicSignals));
      const [accepted] = iface.decodeFunctionResult('verifyProof', await provider.call({ to: address, data }));
      if (!accepted) {
        say(`❌ ${p.circuit} ${p.type} proof FAILED on-chain verification`);
        warn(`${NAME}: ${p.file}: the verifier at ${address} returned false`);
        rejected++;
        continue;
      }
      const gas = await provider.estimateGas({ to: address, data });
      total += gas;
      say(`${p.circuit}: ${gas} gas`);
    }
  } finally {
    provider.destroy();
  }
  say(`Total verification gas: ${total} gas`);
  return rejected;
}

async function main() {
  const workdir = requireWorkdir(NAME);
  const setup = zk.loadSetup();
  if (setup instanceof Error) fail(`${NAME}: ${setup.message}`);

  const proofs = listProofs(workdir);
  if (proofs.length === 0) fail(`${NAME}: no proofs (*_<type>_proof.json) in ${workdir}`);
  say(`Verifying ${proofs.length} proofs in ${workdir}`);

  const verified = [];
  for (const p of proofs) {
    const v = await verifyOffChain(workdir, p);
    if (v) verified.push(v);
  }
  const offChainFailures = proofs.length - verified.length;
  let rejected = 0;
  let gasError = false;

  const rpcUrl = process.env.RPC_URL;
  const deploymentFile = process.env.DEPLOYMENT_FILE;
  if (rpcUrl && !deploymentFile) {
    say('Gas: not measured (RPC_URL is set but DEPLOYMENT_FILE is not, so the verifier contracts are unknown)');
  } else if (rpcUrl && verified.length) {
    try {
      rejected = await measureGas(verified, rpcUrl, deploymentFile, setup);
    } catch (e) {
      warn(`${NAME}: on-chain gas measurement failed: ${e.message}`);
      gasError = true;
    }
  }

  say(`Circuits verified: ${verified.length - rejected}`);
  await releaseCurve();
  return offChainFailures || rejected || gasError ? 1 : 0;
}

runMain(NAME, main);
