'use strict';
// groth16 and plonk, through snarkjs: one proof per circuit of
// lib/circuits.cjs, with the proving and verification keys of the cached
// setup (scripts/zk-setup), and gas measured against the Solidity verifiers
// that `scripts/chain start` deployed.
//
// snarkjs, circomlibjs and ethers take most of a second to load, so they are
// required on first use: a stark run loads none of them.

const fs = require('fs');
const zk = require('./zk.cjs');
const { seconds } = require('./out.cjs');

const snarkjs = () => require('snarkjs');

function readJson(file) {
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

function loadSetupOrThrow() {
  const setup = zk.loadSetup();
  if (setup instanceof Error) throw setup;
  return setup;
}

// snarkjs writes a verifier call's arguments as the text of a Solidity
// argument list: `[..],[[..],[..]],[..],[..]` for groth16
// (verifyProof(uint[2] a, uint[2][2] b, uint[2] c, uint[n] pub)) but
// `[..][..]` (no comma) for plonk (verifyProof(uint256[24] proof,
// uint256[n] pub)). Both become a JSON array of the arguments.
function parseCallData(text) {
  return JSON.parse(`[${text.replace(/\]\s*\[/g, '],[')}]`);
}

// The ABI-encoded verifyProof call of `name`'s deployed `type` verifier for
// a proof and its public signals: { address, data }.
async function snarkVerifyCall(type, name, proof, publicSignals, deployment) {
  const { ethers } = require('ethers');
  const { artifact } = require('./eth.cjs');
  const address = (deployment.verifiers[name] || {})[type];
  if (!address) throw new Error(`the deployment has no ${type} verifier for ${name}`);
  const iface = new ethers.Interface(artifact(zk.verifierContractName(name, type)).abi);
  const args = parseCallData(await snarkjs()[type].exportSolidityCallData(proof, publicSignals));
  return { address, data: iface.encodeFunctionData('verifyProof', args) };
}

// A deployment (from `where`) must come from the current setup.
function assertSameSetup(setup, deployment, where) {
  if (deployment.setupId !== setup.setupId) {
    throw new Error(
      `the verifiers in ${where} were deployed from another zk setup (${deployment.setupId}, current ${setup.setupId}): restart the chain`,
    );
  }
  return deployment;
}

// Gas of verifying each proof with its deployed verifier (eth.cjs,
// verificationGas). Prints `<circuit>: <N> gas` per proof and the total
// last. Only with RPC_URL and DEPLOYMENT_FILE.
async function onChainGas(type, setup, verified, out) {
  const rpcUrl = process.env.RPC_URL;
  const deploymentFile = process.env.DEPLOYMENT_FILE;
  if (!rpcUrl || verified.length === 0) return;
  if (!deploymentFile) {
    out.say('Gas: not measured (RPC_URL is set but DEPLOYMENT_FILE is not, so the verifier contracts are unknown)');
    return;
  }
  const { connect, verificationGas, readDeployment } = require('./eth.cjs');
  const deployment = assertSameSetup(setup, readDeployment(deploymentFile), deploymentFile);
  const { provider } = await connect(rpcUrl);
  let total;
  try {
    const calls = [];
    for (const p of verified) {
      calls.push({ p, ...(await snarkVerifyCall(type, p.name, p.data.proof, p.data.publicSignals, deployment)) });
    }
    total = await verificationGas(provider, calls, out);
  } finally {
    provider.destroy();
  }
  out.say(`Total verification gas: ${total} gas`);
}

// The system entry (see lib/systems.cjs) for snarkjs' `type`.
function snarkSystem(type) {
  return {
    proofExt: 'json',
    names: zk.CIRCUITS.map((c) => c.name),

    async prepareProving(say) {
      const setup = loadSetupOrThrow();
      const started = performance.now();
      const { prepareInputs } = require('./inputs.cjs');
      // Both take a second or more: build them side by side, once.
      await Promise.all([prepareInputs(), snarkjs().curves.getCurveFromName('bn128')]);
      say(`Poseidon, Baby Jubjub and BN128 ready (${seconds(started)})`);
      return setup;
    },

    // Fresh inputs, the witness from the circuit's WebAssembly, the proof
    // from the setup's proving key.
    async prove(setup, name, files, note) {
      const t0 = performance.now();
      const circuit = zk.circuitFiles(name);
      const { input, note: what } = await require('./inputs.cjs').freshInputs(name);
      note(what);
      // The witness stays in memory: snarkjs accepts {type: 'mem'} for a file.
      const wtns = { type: 'mem' };
      await snarkjs().wtns.calculate(input, circuit.wasm, wtns);
      note(`witness computed (${seconds(t0)})`);
      const { proof, publicSignals } = await snarkjs()[type].prove(circuit.zkey(type), wtns);
      // Public signals first, so that a proof file never exists without them.
      fs.writeFileSync(files.public, JSON.stringify(publicSignals) + '\n');
      fs.writeFileSync(files.proof, JSON.stringify(proof) + '\n');
    },

    prepareVerifying: async () => loadSetupOrThrow(),

    // Off-chain, against the setup's verification key.
    async verify(setup, name, files) {
      if (!zk.circuitByName(name)) return { ok: false, why: `unknown circuit '${name}'` };
      let proof, publicSignals;
      try {
        proof = readJson(files.proof);
        publicSignals = readJson(files.public);
      } catch (e) {
        return { ok: false, why: `unreadable proof or public signals: ${e.message}` };
      }
      const vkey = readJson(zk.circuitFiles(name).vkey(type));
      let ok;
      try {
        ok = await snarkjs()[type].verify(vkey, publicSignals, proof);
      } catch (e) {
        return { ok: false, why: `malformed proof: ${e.message}` };
      }
      if (!ok) return { ok: false, why: 'the proof does not verify against the verification key' };
      return { ok: true, data: { proof, publicSignals } };
    },

    // The on-chain verification call of a proof's files (for the Attestor).
    async verifyCall(name, files, deployment) {
      assertSameSetup(loadSetupOrThrow(), deployment, 'the deployment file');
      return snarkVerifyCall(type, name, readJson(files.proof), readJson(files.public), deployment);
    },

    async reportGas(setup, verified, out) {
      try {
        await onChainGas(type, setup, verified, out);
      } catch (e) {
        throw new Error(`on-chain gas measurement failed: ${e.message}`);
      }
    },
  };
}

module.exports = { snarkSystem, parseCallData };
