'use strict';
// The phase scripts' own behaviour, against a throwaway local chain.
//
// Run through tests/scripts/run, which first makes sure the cached
// zero-knowledge setup exists. This file starts a chain with `scripts/chain
// start` on a free loopback port in a temporary directory, runs the real
// scripts as phasestream would (argv, WORKDIR/PROOF_TYPE/SESSION_ID in the
// environment), asserts on their output lines, exit statuses, files and the
// chain's receipts, and stops the chain by its pid at the end, failures
// included.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { execFile } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const TOP = path.resolve(__dirname, '..', '..');
const SCRIPTS = path.join(TOP, 'scripts');
const { rpc } = require(path.join(SCRIPTS, 'lib', 'eth.cjs'));

const CIRCUITS = ['poseidon_preimage', 'merkle_membership', 'eddsa_signature'];
const PHASE_TIMEOUT_S = { generating: 60, verifying: 30, attesting: 120 };
// Variables that would point the scripts at some other chain.
const CHAIN_VARS = ['RPC_URL', 'CHAIN_ID', 'PRIVATE_KEY', 'ATTESTOR_ADDRESS', 'DEPLOYMENT_FILE', 'EXPLORER_TX_URL'];

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'phasestream-scripts-'));
const chainDir = path.join(tmp, 'chain');
let chainEnv = null;
let chainPid = null;

function baseEnv() {
  const env = { ...process.env };
  for (const k of CHAIN_VARS) delete env[k];
  return env;
}

// Run a script as phasestream does: no shell, its own environment.
// Resolves to { code, stdout, stderr, lines, seconds }.
function run(script, args, env, timeoutS = 120) {
  const t0 = performance.now();
  return new Promise((resolve) => {
    execFile(path.join(SCRIPTS, script), args, { env, timeout: timeoutS * 1000, maxBuffer: 1 << 24 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : err.signal || 'error') : 0;
      resolve({ code, stdout, stderr, lines: stdout.split('\n').filter(Boolean), seconds: (performance.now() - t0) / 1000 });
    });
  });
}

function newWorkdir(name) {
  const dir = path.join(tmp, name);
  fs.mkdirSync(dir);
  return dir;
}

function copyWorkdir(from, name) {
  const dir = newWorkdir(name);
  for (const f of fs.readdirSync(from)) fs.copyFileSync(path.join(from, f), path.join(dir, f));
  return dir;
}

function phaseEnv(workdir, proofType, extra = {}) {
  return { ...baseEnv(), WORKDIR: workdir, PROOF_TYPE: proofType, SESSION_ID: `test-${path.basename(workdir)}`, ...extra };
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function readEnvFile(file) {
  const env = {};
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    const m = /^([A-Z_]+)=(.*)$/.exec(line);
    if (m) env[m[1]] = m[2];
  }
  return env;
}

function pidAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

// The same regular expressions as the default pipeline's rules.
const RULES = {
  proof: (type) => new RegExp(`(\\S+_${type}_proof\\.json)`),
  verified: /✅.*Verified/,
  gas: /(\d+(?:\.\d+)?[kKmM]?)\s*gas\b/,
  circuitsVerified: /Circuits verified:\s*(\d+)/,
  tx: /(?:Transaction sent|Attested! TX):\s*(0x[a-fA-F0-9]{64})/,
};

function assertProofsGenerated(r, workdir, type) {
  assert.equal(r.code, 0, `exit status; stderr: ${r.stderr}`);
  for (const c of CIRCUITS) {
    const file = `${c}_${type}_proof.json`;
    const announcing = r.lines.filter((l) => (RULES.proof(type).exec(l) || [])[1] === file);
    assert.equal(announcing.length, 1, `exactly one line announces ${file}:\n${r.stdout}`);
    assert.ok(fs.statSync(path.join(workdir, file)).size > 0, `${file} written`);
    assert.ok(Array.isArray(JSON.parse(fs.readFileSync(path.join(workdir, `${c}_${type}_public.json`)))), 'public signals written');
  }
  assert.ok(r.seconds < PHASE_TIMEOUT_S.generating, `generation took ${r.seconds.toFixed(1)} s, over the ${PHASE_TIMEOUT_S.generating} s phase timeout`);
}

function assertVerifiedWithGas(r, type) {
  assert.equal(r.code, 0, `exit status; stderr: ${r.stderr}`);
  for (const c of CIRCUITS) assert.ok(r.lines.includes(`✅ ${c} ${type} proof Verified`), `${c} verified:\n${r.stdout}`);
  const perProof = CIRCUITS.map((c) => {
    const line = r.lines.find((l) => l.startsWith(`${c}: `) && RULES.gas.test(l));
    assert.ok(line, `gas line for ${c}:\n${r.stdout}`);
    const gas = Number(/^\S+: (\d+) gas$/.exec(line)[1]);
    // A real pairing-based verification costs far more than a plain transfer.
    assert.ok(gas > 100000 && gas < 5000000, `${c} gas ${gas} plausible`);
    return gas;
  });
  const gasLines = r.lines.filter((l) => RULES.gas.test(l));
  const last = gasLines[gasLines.length - 1];
  assert.match(last, /^Total verification gas: \d+ gas$/, 'the total is the last gas line');
  assert.equal(Number(RULES.gas.exec(last)[1]), perProof.reduce((a, b) => a + b, 0), 'total is the sum');
  assert.equal((RULES.circuitsVerified.exec(r.lines[r.lines.length - 1]) || [])[1], '3', 'Circuits verified: 3 is the last line');
}

before(async () => {
  const port = await freePort();
  const r = await run('chain', ['start', chainDir, String(port)], baseEnv(), 120);
  try {
    chainPid = Number(fs.readFileSync(path.join(chainDir, 'chain.pid'), 'utf8'));
  } catch {
    chainPid = null;
  }
  assert.equal(r.code, 0, `chain start: ${r.stdout}${r.stderr}`);
  chainEnv = readEnvFile(path.join(chainDir, 'chain.env'));
});

after(async () => {
  if (chainPid && pidAlive(chainPid)) await run('chain', ['stop', chainDir], baseEnv(), 30);
  fs.rmSync(tmp, { recursive: true, force: true });
});

// An interrupted run still stops its chain.
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    if (chainPid && pidAlive(chainPid)) process.kill(chainPid, 'SIGKILL');
    process.exit(130);
  });
}

const work = {};

test('zk-setup is cached: a second run finds the setup up to date', async () => {
  const r = await run('zk-setup', [], baseEnv(), 60);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /zk-setup: up to date/);
  assert.ok(r.seconds < 20, `took ${r.seconds.toFixed(1)} s`);
});

test('chain start writes chain.env with the RPC, the development key and the contracts', async () => {
  assert.match(chainEnv.RPC_URL, /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.match(chainEnv.PRIVATE_KEY, /^0x[0-9a-f]{64}$/);
  assert.match(chainEnv.ATTESTOR_ADDRESS, /^0x[0-9a-fA-F]{40}$/);
  const code = await rpc(chainEnv.RPC_URL, 'eth_getCode', [chainEnv.ATTESTOR_ADDRESS, 'latest']);
  assert.ok(code.length > 2, 'the Attestor is deployed');
  const deployment = JSON.parse(fs.readFileSync(chainEnv.DEPLOYMENT_FILE, 'utf8'));
  for (const c of CIRCUITS) {
    for (const type of ['groth16', 'plonk']) {
      const vcode = await rpc(chainEnv.RPC_URL, 'eth_getCode', [deployment.verifiers[c][type], 'latest']);
      assert.ok(vcode.length > 2, `${c} ${type} verifier deployed`);
    }
  }
});

test('generate rejects an unknown proof type with exit status 2', async () => {
  const dir = newWorkdir('unknown');
  const r = await run('generate-all-proofs.cjs', ['snark9'], phaseEnv(dir, 'snark9'));
  assert.equal(r.code, 2);
  assert.match(r.stderr, /unknown proof type 'snark9' \(known: groth16, plonk, stark\)/);
  assert.deepEqual(fs.readdirSync(dir), []);
});

test('generate for stark fails saying no STARK prover is installed, and writes nothing', async () => {
  const dir = newWorkdir('stark');
  const r = await run('generate-all-proofs.cjs', ['stark'], phaseEnv(dir, 'stark'));
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /no STARK prover is installed/);
  assert.deepEqual(fs.readdirSync(dir), []);
});

for (const type of ['groth16', 'plonk']) {
  test(`generate ${type} writes three proofs, each announced by one line, within the phase timeout`, async () => {
    work[type] = newWorkdir(type);
    const r = await run('generate-all-proofs.cjs', [type], phaseEnv(work[type], type));
    assertProofsGenerated(r, work[type], type);
  });

  test(`verify accepts the ${type} proofs on- and off-chain and prints their gas, the total last`, async () => {
    const r = await run('verify-with-uzkv.cjs', [], phaseEnv(work[type], type, chainEnv), PHASE_TIMEOUT_S.verifying);
    assertVerifiedWithGas(r, type);
  });
}

test('generate draws fresh inputs on every run', async () => {
  const again = newWorkdir('groth16-again');
  const r = await run('generate-all-proofs.cjs', ['groth16'], phaseEnv(again, 'groth16'));
  assert.equal(r.code, 0, r.stderr);
  for (const c of CIRCUITS) {
    const a = fs.readFileSync(path.join(work.groth16, `${c}_groth16_public.json`), 'utf8');
    const b = fs.readFileSync(path.join(again, `${c}_groth16_public.json`), 'utf8');
    assert.notEqual(a, b, `${c}: new public inputs (hash, root, key and message)`);
  }
});

test('verify rejects a groth16 proof whose points belong to another proof', async () => {
  const dir = copyWorkdir(work.groth16, 'tampered-groth16');
  const other = JSON.parse(fs.readFileSync(path.join(tmp, 'groth16-again', 'merkle_membership_groth16_proof.json')));
  const file = path.join(dir, 'merkle_membership_groth16_proof.json');
  const proof = JSON.parse(fs.readFileSync(file));
  proof.pi_a = other.pi_a; // a valid curve point, from the wrong proof
  fs.writeFileSync(file, JSON.stringify(proof));
  const r = await run('verify-with-uzkv.cjs', [], phaseEnv(dir, 'groth16', chainEnv), PHASE_TIMEOUT_S.verifying);
  assert.equal(r.code, 1);
  assert.ok(r.lines.includes('❌ merkle_membership groth16 proof FAILED verification'), r.stdout);
  assert.ok(r.lines.includes('✅ poseidon_preimage groth16 proof Verified'), 'the untouched proofs still verify');
  assert.ok(r.lines.includes('Circuits verified: 2'), r.stdout);
});

test('verify rejects a plonk proof whose public signal was changed', async () => {
  const dir = copyWorkdir(work.plonk, 'tampered-plonk');
  const file = path.join(dir, 'poseidon_preimage_plonk_public.json');
  const pub = JSON.parse(fs.readFileSync(file));
  pub[0] = (BigInt(pub[0]) + 1n).toString();
  fs.writeFileSync(file, JSON.stringify(pub));
  const r = await run('verify-with-uzkv.cjs', [], phaseEnv(dir, 'plonk'), PHASE_TIMEOUT_S.verifying);
  assert.equal(r.code, 1);
  assert.ok(r.lines.includes('❌ poseidon_preimage plonk proof FAILED verification'), r.stdout);
  assert.ok(r.lines.includes('Circuits verified: 2'), r.stdout);
});

test('verify without RPC_URL verifies off-chain and prints no gas', async () => {
  const r = await run('verify-with-uzkv.cjs', [], phaseEnv(work.groth16, 'groth16'), PHASE_TIMEOUT_S.verifying);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.lines.filter((l) => RULES.verified.test(l)).length, 3);
  assert.equal(r.lines.filter((l) => RULES.gas.test(l)).length, 0, r.stdout);
  assert.ok(r.lines.includes('Circuits verified: 3'));
});

test('attest records every proof in transactions the chain confirms with status 1', async () => {
  const explorer = 'https://explorer.invalid/tx/{txHash}';
  const r = await run('attest-proofs.cjs', [], phaseEnv(work.groth16, 'groth16', { ...chainEnv, EXPLORER_TX_URL: explorer }), PHASE_TIMEOUT_S.attesting);
  assert.equal(r.code, 0, r.stderr);
  const sent = r.lines.filter((l) => l.startsWith('Transaction sent: ')).map((l) => RULES.tx.exec(l)[1]);
  const mined = r.lines.filter((l) => l.startsWith('Attested! TX: ')).map((l) => RULES.tx.exec(l)[1]);
  assert.equal(sent.length, 3, r.stdout);
  assert.deepEqual([...mined].sort(), [...sent].sort(), 'every sent transaction is reported mined');
  for (const l of r.lines.filter((x) => RULES.tx.test(x))) {
    const hash = RULES.tx.exec(l)[1];
    assert.ok(l.endsWith(` https://explorer.invalid/tx/${hash}`), `explorer URL appended: ${l}`);
  }
  for (const hash of mined) {
    const receipt = await rpc(chainEnv.RPC_URL, 'eth_getTransactionReceipt', [hash]);
    assert.equal(receipt.status, '0x1', `receipt of ${hash}`);
    assert.equal(receipt.to.toLowerCase(), chainEnv.ATTESTOR_ADDRESS.toLowerCase());
  }
});

test('attest of the same WORKDIR again reports every proof already attested and sends nothing', async () => {
  const r = await run('attest-proofs.cjs', [], phaseEnv(work.groth16, 'groth16', chainEnv), PHASE_TIMEOUT_S.attesting);
  assert.equal(r.code, 0, r.stderr);
  for (const c of CIRCUITS) {
    assert.ok(r.lines.some((l) => l.startsWith(`Already attested: ${c}_groth16_proof.json `)), r.stdout);
  }
  assert.equal(r.lines.filter((l) => RULES.tx.test(l)).length, 0, r.stdout);
});

test('attest with an unreachable RPC fails quickly with a clear error', async () => {
  const closedPort = await freePort();
  const env = phaseEnv(work.plonk, 'plonk', { ...chainEnv, RPC_URL: `http://127.0.0.1:${closedPort}` });
  const r = await run('attest-proofs.cjs', [], env, 60);
  assert.notEqual(r.code, 0);
  assert.ok(r.seconds < 20, `took ${r.seconds.toFixed(1)} s`);
  assert.match(r.stderr, /RPC http:\/\/127\.0\.0\.1:\d+ unreachable/);
  assert.equal(r.lines.filter((l) => RULES.tx.test(l)).length, 0);
});

test('attest without PRIVATE_KEY exits non-zero with a clear message', async () => {
  const { PRIVATE_KEY, ...rest } = chainEnv;
  assert.ok(PRIVATE_KEY);
  const r = await run('attest-proofs.cjs', [], phaseEnv(work.plonk, 'plonk', rest), 30);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /PRIVATE_KEY is not set/);
});

test('chain stop ends the chain process and removes its environment', async () => {
  assert.ok(chainPid && pidAlive(chainPid), 'the chain was running');
  const r = await run('chain', ['stop', chainDir], baseEnv(), 30);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(pidAlive(chainPid), false, 'ganache is gone');
  assert.equal(fs.existsSync(path.join(chainDir, 'chain.env')), false);
  await assert.rejects(rpc(chainEnv.RPC_URL, 'eth_chainId', [], 2000), /unreachable/);
});
