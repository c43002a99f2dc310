'use strict';
// STARK proofs from the project's own prover and verifier: the `stark` tool
// built from src/stark (docs/stark.md has its statement, proof format and
// security). Proving and verifying are a child process each; nothing about
// the proof is computed here.
//
// The tool proves one computation, a hash chain over the Goldilocks field:
// "I know x = (x0, x1) such that the N-step chain of a width-4 permutation
// from the state (x0, x1, 0, 0) ends in a state whose first two words are
// y". A statement is (N, y); x stays secret. We prove three statements per
// run; see STATEMENTS for which and why.
//
// Proofs use parameter set 2 (102 queries where set 1 has 28: 100 bits of
// provable security, where set 1 has 55-57; docs/stark.md). It proves as
// fast as set 1; its cost is on the chain: each proof's verification is
// 6-13 M gas (eth_estimateGas), seconds of ganache's time, which is what
// sets the verify and attest phases' timeouts (docs/stark.md, "Which set the
// pipeline proves with").
//
// With a chain (RPC_URL and DEPLOYMENT_FILE), the verify phase measures each
// proof's verification gas against the deployed StarkVerifier contract
// (contracts/StarkVerifier.sol) with eth_estimateGas, calldata included
// (the contract reverts on a rejection, so the estimate also decides);
// without one it reports the calldata gas of the proof bytes, labelled so.

const fs = require('fs');
const path = require('path');
const { execFile } = require('child_process');
const { SCRIPTS_DIR, REPO_DIR } = require('./zk.cjs');

// The three statements, each proved from a new secret x that the tool draws
// from getrandom(2) (--random) on every run, so y is new every run too.
// Each length folds through a different number of FRI layers (1, 2 and 3;
// proofs of 112, 177 and 236 KB), so every run exercises three proof
// layouts rather than one shape three times. The verifications and the
// attestations stay within the 2^24-gas transaction cap of EIP-7825 by
// ganache's estimate too, which the attestation sends as its gas limit: at
// most 13.2 M estimated and 9.1 M charged for a verification (at 2^16 steps
// the estimate is 20.4 M). Proving all three takes well under a second.
const STATEMENTS = [
  { name: 'hash_chain_128', steps: 128 },
  { name: 'hash_chain_1024', steps: 1024 },
  { name: 'hash_chain_4096', steps: 4096 },
];

// The parameter set the pipeline proves with (`stark prove --params`).
const PARAMS = 2;
// One eth_estimateGas of a 2^12-step set-2 proof takes ganache ~8 s.
const CHAIN_TIMEOUT_MS = 40000;

// Limits per call, below the phases' timeouts (generate 60 s, verify 60 s),
// so a stuck tool ends with a message rather than the phase being killed.
const PROVE_TIMEOUT_MS = 45000;
const VERIFY_TIMEOUT_MS = 10000;

// Where the tool is, in order: $STARK_BIN; the repository's build/stark
// (`make build/stark`); the installed one. `make install` puts the scripts
// in $(DATADIR)/phasestream/scripts and the tool in
// $(LIBEXECDIR)/phasestream/stark, i.e. share/phasestream/../../libexec/
// under the default DATADIR and LIBEXECDIR; with others, set STARK_BIN.
const TOOL_CANDIDATES = [
  path.join(REPO_DIR, 'build', 'stark'),
  path.resolve(SCRIPTS_DIR, '..', '..', '..', 'libexec', 'phasestream', 'stark'),
];

function isExecutableFile(file) {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

// The tool's path, or an Error that says what is missing and how to get it.
function findTool() {
  const fromEnv = process.env.STARK_BIN;
  if (fromEnv) {
    if (isExecutableFile(fromEnv)) return path.resolve(fromEnv);
    throw new Error(`STARK_BIN is set to ${fromEnv}, which is not an executable file`);
  }
  const found = TOOL_CANDIDATES.find(isExecutableFile);
  if (found) return found;
  throw new Error(
    `no STARK prover/verifier binary: neither ${TOOL_CANDIDATES.join(' nor ')} exists; ` +
      `build it with 'make build/stark' in the repository (or set STARK_BIN to its path)`,
  );
}

// Run the tool; resolves to { code, stdout, stderr }. code is the exit
// status, or a string when it did not exit normally (signal, timeout, spawn
// failure).
function runTool(tool, args, timeoutMs) {
  return new Promise((resolve) => {
    execFile(tool, args, { timeout: timeoutMs, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      let code = 0;
      if (err) {
        if (typeof err.code === 'number') code = err.code;
        else if (err.killed) code = `killed after ${timeoutMs / 1000} s`;
        else code = err.signal || err.code || 'error';
      }
      resolve({ code, stdout, stderr });
    });
  });
}

// The tool's reason for a failure: its last stderr line, without the prefix.
function toolReason(r) {
  const lines = r.stderr.split('\n').filter(Boolean);
  const last = lines.length ? lines[lines.length - 1].replace(/^stark: /, '') : '';
  return `${last || 'no message'} (stark exit ${r.code})`;
}

// EIP-2028 calldata cost of submitting `bytes` in a transaction: 16 gas per
// non-zero byte, 4 per zero byte.
function calldataGas(bytes) {
  let zeros = 0;
  for (const b of bytes) if (b === 0) zeros++;
  return 16 * (bytes.length - zeros) + 4 * zeros;
}

function statementByName(name) {
  return STATEMENTS.find((s) => s.name === name) || null;
}

// The system entry (see lib/systems.cjs). The context of both phases is the
// tool's path.
const starkSystem = {
  proofExt: 'ub',
  names: STATEMENTS.map((s) => s.name),

  async prepareProving(say) {
    const tool = findTool();
    say(`STARK prover: ${tool}`);
    return tool;
  },

  // The tool writes the proof and then the statement (each to a temporary
  // name, renamed into place) and verifies its own proof before writing it.
  async prove(tool, name, files, note) {
    const { steps } = statementByName(name);
    note(`new random secret, ${steps} steps`);
    const r = await runTool(
      tool,
      ['prove', '--steps', String(steps), '--random', '--params', String(PARAMS), '--out', files.proof, '--statement-out', files.public],
      PROVE_TIMEOUT_MS,
    );
    if (r.code !== 0) {
      // Leave no proof without its statement behind.
      for (const f of [files.proof, files.public]) fs.rmSync(f, { force: true });
      throw new Error(`${name}: proving failed: ${toolReason(r)}`);
    }
    const { output } = JSON.parse(fs.readFileSync(files.public, 'utf8'));
    // "N-bit security, M bits provable": the conjectured and the provable
    // level (docs/stark.md), both said.
    const security = /(\d+)-bit security, (\d+) bits provable/.exec(r.stdout);
    const size = fs.statSync(files.proof).size;
    note(`proved: output ${output}, ${size} bytes${security ? `, ${security[1]} bits of conjectured security, ${security[2]} provable` : ''}`);
  },

  async prepareVerifying(say) {
    const tool = findTool();
    say(`STARK verifier: ${tool}`);
    return tool;
  },

  // The C verifier checks the proof against the statement file; the name
  // must also agree with the statement's length, so that a proof cannot
  // pass for one of the other statements.
  async verify(tool, name, files) {
    const expected = statementByName(name);
    if (!expected) {
      return { ok: false, why: `unknown STARK statement '${name}' (known: ${starkSystem.names.join(', ')})` };
    }
    let claimed;
    try {
      claimed = JSON.parse(fs.readFileSync(files.public, 'utf8'));
    } catch (e) {
      return { ok: false, why: `unreadable statement: ${e.message}` };
    }
    if (claimed.steps !== expected.steps) {
      return { ok: false, why: `the statement is for ${claimed.steps} steps, ${name} is ${expected.steps}` };
    }
    const r = await runTool(tool, ['verify', files.proof, '--statement', files.public], VERIFY_TIMEOUT_MS);
    if (r.code !== 0) return { ok: false, why: toolReason(r) };
    return { ok: true, data: { bytes: fs.readFileSync(files.proof), statement: claimed } };
  },

  // The on-chain verification call of a proof's files: StarkVerifier.verify
  // with the statement file's parameter set, steps and output.
  async verifyCall(name, files, deployment) {
    return starkVerifyCall(fs.readFileSync(files.proof), JSON.parse(fs.readFileSync(files.public, 'utf8')), deployment);
  },

  // With a chain: `<name>: <N> gas (on-chain verification, calldata
  // included)` per proof, then `Total verification gas`. Without one:
  // `<name>: <N> gas (calldata of the proof bytes; ...)` and `Total calldata
  // gas`. The total is always the last line that mentions gas.
  async reportGas(tool, verified, out) {
    if (verified.length === 0) return;
    if (process.env.RPC_URL && process.env.DEPLOYMENT_FILE) {
      await onChainGas(verified, out);
      return;
    }
    let total = 0;
    for (const p of verified) {
      const gas = calldataGas(p.data.bytes);
      total += gas;
      out.say(`${p.name}: ${gas} gas (calldata of the proof bytes; no chain to verify on)`);
    }
    out.say(`Total calldata gas: ${total} gas`);
  },
};

// StarkVerifier.verify(proof, params, steps, y0, y1) for a proof and its
// statement: { address, data }.
function starkVerifyCall(bytes, statement, deployment) {
  const { ethers } = require('ethers');
  const { artifact } = require('./eth.cjs');
  if (!deployment.starkVerifier) throw new Error('the deployment has no StarkVerifier: restart the chain');
  const iface = new ethers.Interface(artifact('StarkVerifier').abi);
  const y = BigInt('0x' + statement.output);
  const args = [bytes, statement.params, statement.steps, y >> 64n, y & ((1n << 64n) - 1n)];
  return { address: deployment.starkVerifier, data: iface.encodeFunctionData('verify', args) };
}

async function onChainGas(verified, out) {
  const { connect, readDeployment, verificationGas } = require('./eth.cjs');
  const deployment = readDeployment(process.env.DEPLOYMENT_FILE);
  const { provider } = await connect(process.env.RPC_URL, CHAIN_TIMEOUT_MS);
  let total;
  try {
    const calls = verified.map((p) => ({ p, ...starkVerifyCall(p.data.bytes, p.data.statement, deployment) }));
    // StarkVerifier reverts on every rejection: the estimate alone decides.
    total = await verificationGas(provider, calls, out, { suffix: ' (on-chain verification, calldata included)', revertsOnReject: true, announce: true });
  } finally {
    provider.destroy();
  }
  out.say(`Total verification gas: ${total} gas`);
}

module.exports = { STATEMENTS, PARAMS, TOOL_CANDIDATES, findTool, calldataGas, starkSystem, starkVerifyCall };
