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
const PHASE_TIMEOUT_S = { generating: 60, verifying: 60, attesting: 120 };
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
  proof: (type, ext = 'json') => new RegExp(`(\\S+_${type}_proof\\.${ext})`),
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
// The attestation transactions of each type, for the explorer's test.
const attestedTxs = {};

test('zk-setup is cached: a second run finds the setup up to date', async () => {
  const r = await run('zk-setup', [], baseEnv(), 60);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /zk-setup: up to date/);
  assert.ok(r.seconds < 20, `took ${r.seconds.toFixed(1)} s`);
});

test('zk-setup in a fresh ZK_DIR (a fresh clone) takes the setup from the per-machine cache, every file verified, in seconds', async () => {
  // This checkout's current setup goes into a cache of the test's own...
  const cache = path.join(tmp, 'cache-fresh');
  let r = await run('zk-setup', [], { ...baseEnv(), ZK_CACHE_DIR: cache }, 120);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /zk-setup: cached in /);
  // ... from which another ZK_DIR of the same sources takes it.
  const zkDir = path.join(tmp, 'zk-fresh');
  r = await run('zk-setup', [], { ...baseEnv(), ZK_DIR: zkDir, ZK_CACHE_DIR: cache }, 120);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /zk-setup: contracts for stark: from the cache, verified/);
  assert.match(r.stdout, /zk-setup: setup from the cache \S+, every file verified/);
  assert.ok(r.seconds < 60, `took ${r.seconds.toFixed(1)} s`);
  const zk = JSON.parse(fs.readFileSync(path.join(TOP, 'var', 'zk', 'setup', 'setup.json'), 'utf8'));
  assert.equal(JSON.parse(fs.readFileSync(path.join(zkDir, 'setup', 'setup.json'), 'utf8')).setupId, zk.setupId);
  fs.rmSync(zkDir, { recursive: true, force: true });
});

test('zk-setup never uses a cache entry whose files do not match its manifest: it removes it and builds', async () => {
  const cache = path.join(tmp, 'cache');
  const zkDir = path.join(tmp, 'zk-tamper');
  const env = { ...baseEnv(), ZK_DIR: zkDir, ZK_CACHE_DIR: cache };
  let r = await run('zk-setup', ['--base'], env, 120);
  assert.equal(r.code, 0, r.stderr);
  const [entry] = fs.readdirSync(cache).filter((f) => f.startsWith('base-'));
  assert.ok(entry, 'the base was cached');
  fs.appendFileSync(path.join(cache, entry, 'contracts', 'Attestor.json'), ' ');
  fs.rmSync(path.join(zkDir, 'base'), { recursive: true });
  r = await run('zk-setup', ['--base'], env, 120);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /does not match its manifest: removed, building instead/);
  assert.match(r.stdout, /contracts for stark: compiled/);
  // Rebuilt, cached afresh, and what is in use parses.
  JSON.parse(fs.readFileSync(path.join(zkDir, 'base', 'contracts', 'Attestor.json'), 'utf8'));
  fs.rmSync(path.join(zkDir, 'base'), { recursive: true });
  r = await run('zk-setup', ['--base'], env, 60);
  assert.match(r.stdout, /contracts for stark: from the cache, verified/);
});

test('the per-machine cache keeps the three most recently used entries of each kind and removes the others', () => {
  const zkcache = require(path.join(SCRIPTS, 'lib', 'zkcache.cjs'));
  const cache = path.join(tmp, 'cache-prune');
  const src = path.join(tmp, 'cache-prune-src');
  fs.mkdirSync(src, { recursive: true });
  fs.writeFileSync(path.join(src, 'file'), 'contents');
  const saved = process.env.ZK_CACHE_DIR;
  process.env.ZK_CACHE_DIR = cache;
  try {
    const said = [];
    const say = (m) => said.push(m);
    zkcache.store('other', 'k0', src, {}, say);
    // Three entries, k1 the least recently used.
    for (const [i, key] of ['k1', 'k2', 'k3'].entries()) {
      zkcache.store('setup', key, src, {}, say);
      const t = new Date(Date.now() - (10 - i) * 60000);
      fs.utimesSync(zkcache.entryDir('setup', key), t, t);
    }
    assert.equal(zkcache.KEEP, 3);
    assert.deepEqual(fs.readdirSync(cache).sort(), ['other-k0', 'setup-k1', 'setup-k2', 'setup-k3']);
    // Using k1 makes it the most recent; a fourth entry then removes k2.
    assert.deepEqual(zkcache.fetch('setup', 'k1', path.join(tmp, 'cache-prune-dest'), say), {});
    zkcache.store('setup', 'k4', src, {}, say);
    assert.deepEqual(fs.readdirSync(cache).sort(), ['other-k0', 'setup-k1', 'setup-k3', 'setup-k4']);
    assert.ok(said.some((m) => m.startsWith(`removed the cache entry ${zkcache.entryDir('setup', 'k2')} `)), said.join('\n'));
  } finally {
    if (saved === undefined) delete process.env.ZK_CACHE_DIR;
    else process.env.ZK_CACHE_DIR = saved;
  }
});

test('before the setup is complete: the chain deploys what stark needs, groth16 is refused with how far the setup is, and deploy-snark makes it ready', async () => {
  const zkDir = path.join(tmp, 'zk-early');
  const ready = path.join(tmp, 'readiness.json');
  const dir = path.join(tmp, 'chain-early');
  const env = { ...baseEnv(), ZK_DIR: zkDir, ZK_READINESS: ready };
  let r = await run('zk-setup', ['--base'], env, 120);
  assert.equal(r.code, 0, r.stderr);
  const port = await freePort();
  r = await run('chain', ['start', dir, String(port)], env, 120);
  try {
    assert.equal(r.code, 0, `${r.stdout}${r.stderr}`);
    let dep = JSON.parse(fs.readFileSync(path.join(dir, 'deployment.json'), 'utf8'));
    assert.equal(dep.setupId, null);
    assert.deepEqual(dep.verifiers, {});
    assert.match(dep.starkVerifier, /^0x[0-9a-fA-F]{40}$/);
    let rd = JSON.parse(fs.readFileSync(ready, 'utf8')).proofTypes;
    assert.equal(rd.stark.ready, true);
    assert.equal(rd.groth16.ready, false);

    // What zk-setup writes as it goes, and the refusal it leads to.
    const preparing = { ready: false, state: 'preparing', step: 3, steps: 8, doing: 'powers of tau 2^14: phase-2 preparation (the slow step)' };
    rd.groth16 = preparing;
    fs.writeFileSync(ready, JSON.stringify({ proofTypes: rd }));
    const workdir = newWorkdir('early-groth16');
    r = await run('generate-all-proofs.cjs', ['groth16'], phaseEnv(workdir, 'groth16', { ZK_DIR: zkDir, ZK_READINESS: ready }), 30);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /groth16 is not ready yet: waiting for the setup \(preparing, step 3 of 8: powers of tau 2\^14: phase-2 preparation \(the slow step\)\)/);
    assert.deepEqual(fs.readdirSync(workdir), [], 'nothing generated');

    // The setup completes: its verifiers go onto the running chain.
    fs.cpSync(path.join(TOP, 'var', 'zk', 'setup'), path.join(zkDir, 'setup'), { recursive: true });
    r = await run('chain', ['deploy-snark', dir], env, 120);
    assert.equal(r.code, 0, `${r.stdout}${r.stderr}`);
    dep = JSON.parse(fs.readFileSync(path.join(dir, 'deployment.json'), 'utf8'));
    const setup = JSON.parse(fs.readFileSync(path.join(zkDir, 'setup', 'setup.json'), 'utf8'));
    assert.equal(dep.setupId, setup.setupId);
    assert.match(dep.verifiers.poseidon_preimage.groth16, /^0x[0-9a-fA-F]{40}$/);
    rd = JSON.parse(fs.readFileSync(ready, 'utf8')).proofTypes;
    assert.deepEqual([rd.groth16.ready, rd.plonk.ready, rd.stark.ready], [true, true, true]);
  } finally {
    await run('chain', ['stop', dir], env, 30);
  }
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
  const scode = await rpc(chainEnv.RPC_URL, 'eth_getCode', [deployment.starkVerifier, 'latest']);
  assert.ok(scode.length > 2, 'the STARK verifier deployed');
  // The chain runs without ganache's unused per-instruction hooks
  // (scripts/lib/ganache-lean.cjs): the deployments were mined, and mining
  // subscribes both kinds, so its log names both as dropped.
  const log = fs.readFileSync(path.join(chainDir, 'chain.log'), 'utf8');
  for (const what of ['console.log', 'storage-range']) {
    assert.ok(log.split('\n').includes(`ganache-lean: dropped the per-instruction ${what} hook`), `${what} hook dropped:\n${log}`);
  }
});

test('generate rejects an unknown proof type with exit status 2', async () => {
  const dir = newWorkdir('unknown');
  const r = await run('generate-all-proofs.cjs', ['snark9'], phaseEnv(dir, 'snark9'));
  assert.equal(r.code, 2);
  assert.match(r.stderr, /unknown proof type 'snark9' \(known: groth16, plonk, stark\)/);
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
  const deployment = JSON.parse(fs.readFileSync(chainEnv.DEPLOYMENT_FILE, 'utf8'));
  const verifiers = CIRCUITS.map((c) => deployment.verifiers[c].groth16.toLowerCase()).sort();
  const verifiedBy = [];
  for (const hash of mined) {
    const receipt = await rpc(chainEnv.RPC_URL, 'eth_getTransactionReceipt', [hash]);
    assert.equal(receipt.status, '0x1', `receipt of ${hash}`);
    assert.equal(receipt.to.toLowerCase(), chainEnv.ATTESTOR_ADDRESS.toLowerCase());
    verifiedBy.push(verifierOfReceipt(receipt));
  }
  assert.deepEqual(verifiedBy.sort(), verifiers, 'each proof was accepted by its own groth16 verifier');
  attestedTxs.groth16 = mined;
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

// The verifier in an attestation's VerifiedBy(bytes32 indexed proofHash,
// address indexed verifier) event, the Attestor's second log.
function verifierOfReceipt(receipt) {
  assert.equal(receipt.logs.length, 2, 'Attested and VerifiedBy');
  return ('0x' + receipt.logs[1].topics[2].slice(26)).toLowerCase();
}

// ---- stark: the project's C prover and verifier (scripts/lib/stark.cjs) ----

// The three statements generate proves: name -> hash-chain length.
const STARK_STEPS = { hash_chain_128: 128, hash_chain_1024: 1024, hash_chain_4096: 4096 };
const STARK_NAMES = Object.keys(STARK_STEPS);
const starkProof = (dir, name) => path.join(dir, `${name}_stark_proof.ub`);
const starkStatement = (dir, name) => JSON.parse(fs.readFileSync(path.join(dir, `${name}_stark_public.json`), 'utf8'));

// EIP-2028 calldata gas, recomputed here from the file's bytes.
function calldataGasOfFile(file) {
  return fs.readFileSync(file).reduce((gas, byte) => gas + (byte === 0 ? 4 : 16), 0);
}

// What phasestream's `set` rule stores: the last match over all lines.
function extractedGas(lines) {
  let value = null;
  for (const l of lines) {
    const m = RULES.gas.exec(l);
    if (m) value = Number(m[1]);
  }
  return value;
}

function assertStarkGenerated(r, dir) {
  assert.equal(r.code, 0, `exit status; stderr: ${r.stderr}`);
  const collected = r.lines.map((l) => (RULES.proof('stark', 'ub').exec(l) || [])[1]).filter(Boolean);
  assert.deepEqual(collected, STARK_NAMES.map((n) => `${n}_stark_proof.ub`), `the rule collects exactly the three names:\n${r.stdout}`);
  for (const name of STARK_NAMES) {
    assert.ok(r.lines.some((l) => new RegExp(`^✓ ${name}_stark_proof\\.ub \\(\\d+\\.\\d s\\)$`).test(l)), `announcement of ${name}`);
    // Set 2: the line says both levels, and the provable one is 100 bits.
    assert.ok(r.lines.some((l) => new RegExp(`^${name}: proved: output [0-9a-f]{32}, \\d+ bytes, 1\\d\\d bits of conjectured security, 100 provable$`).test(l)), `${name}: proved line:\n${r.stdout}`);
    assert.equal(fs.readFileSync(starkProof(dir, name)).subarray(0, 4).toString(), 'PSTK', `${name}: a proof file`);
    const st = starkStatement(dir, name);
    assert.equal(st.steps, STARK_STEPS[name], `${name}: statement length`);
    assert.match(st.output, /^[0-9a-f]{32}$/);
  }
  assert.equal(new Set(STARK_NAMES.map((n) => starkStatement(dir, n).output)).size, 3, 'three different outputs');
  assert.ok(r.seconds < PHASE_TIMEOUT_S.generating, `generation took ${r.seconds.toFixed(1)} s`);
}

test('generate stark writes three proofs of three hash-chain statements, each announced by one line, within the phase timeout', async () => {
  work.stark = newWorkdir('stark');
  const r = await run('generate-all-proofs.cjs', ['stark'], phaseEnv(work.stark, 'stark'));
  assertStarkGenerated(r, work.stark);
});

test('verify accepts the stark proofs with the C verifier and the StarkVerifier contract, and reports their verification gas, the total last', async () => {
  const r = await run('verify-with-uzkv.cjs', [], phaseEnv(work.stark, 'stark', chainEnv), PHASE_TIMEOUT_S.verifying);
  assert.equal(r.code, 0, `exit status; stderr: ${r.stderr}`);
  let total = 0;
  for (const name of STARK_NAMES) {
    assert.ok(r.lines.includes(`✅ ${name} stark proof Verified`), `${name} verified:\n${r.stdout}`);
    const line = r.lines.find((l) => l.startsWith(`${name}: `) && RULES.gas.test(l));
    const m = /^\S+: (\d+) gas \(on-chain verification, calldata included\)$/.exec(line || '');
    assert.ok(m, `${name}: verification gas line:\n${r.stdout}`);
    const gas = Number(m[1]);
    // More than the calldata alone, within one block of the local chain.
    assert.ok(gas > calldataGasOfFile(starkProof(work.stark, name)) && gas < 30000000, `${name}: ${gas} gas`);
    total += gas;
  }
  const gasLines = r.lines.filter((l) => RULES.gas.test(l));
  assert.equal(gasLines[gasLines.length - 1], `Total verification gas: ${total} gas`, 'the total is the last gas line');
  assert.equal(extractedGas(r.lines), total, 'phasestream reads the total');
  assert.equal(r.lines[r.lines.length - 1], 'Circuits verified: 3');
});

test('verify without a chain reports the calldata gas of the stark proof bytes', async () => {
  const r = await run('verify-with-uzkv.cjs', [], phaseEnv(work.stark, 'stark'), PHASE_TIMEOUT_S.verifying);
  assert.equal(r.code, 0, `exit status; stderr: ${r.stderr}`);
  let total = 0;
  for (const name of STARK_NAMES) {
    const gas = calldataGasOfFile(starkProof(work.stark, name));
    assert.ok(r.lines.includes(`${name}: ${gas} gas (calldata of the proof bytes; no chain to verify on)`), `${name}: ${gas} gas:\n${r.stdout}`);
    total += gas;
  }
  assert.equal(extractedGas(r.lines), total, 'phasestream reads the total');
});

test('verify rejects a stark proof with one byte flipped: the ❌ line, exit status 1, the others still verify', async () => {
  const dir = copyWorkdir(work.stark, 'tampered-stark');
  const file = starkProof(dir, 'hash_chain_4096');
  const bytes = fs.readFileSync(file);
  bytes[Math.floor(bytes.length / 2)] ^= 0x01; // inside the query openings
  fs.writeFileSync(file, bytes);
  const r = await run('verify-with-uzkv.cjs', [], phaseEnv(dir, 'stark'), PHASE_TIMEOUT_S.verifying);
  assert.equal(r.code, 1);
  assert.ok(r.lines.includes('❌ hash_chain_4096 stark proof FAILED verification'), r.stdout);
  assert.match(r.stderr, /hash_chain_4096_stark_proof\.ub: invalid proof: .* \(stark exit 1\)/);
  assert.ok(r.lines.includes('✅ hash_chain_1024 stark proof Verified'), r.stdout);
  assert.ok(r.lines.includes('✅ hash_chain_128 stark proof Verified'), r.stdout);
  const untouched = ['hash_chain_1024', 'hash_chain_128'].map((n) => calldataGasOfFile(starkProof(dir, n)));
  assert.equal(extractedGas(r.lines), untouched[0] + untouched[1], 'gas of the verified proofs only');
  assert.ok(r.lines.includes('Circuits verified: 2'), r.stdout);
});

test('generate stark draws a new secret every run, and a proof fails against the other run\'s statement', async () => {
  const again = newWorkdir('stark-again');
  const r = await run('generate-all-proofs.cjs', ['stark'], phaseEnv(again, 'stark'));
  assertStarkGenerated(r, again);
  for (const name of STARK_NAMES) {
    assert.notEqual(starkStatement(again, name).output, starkStatement(work.stark, name).output, `${name}: new output`);
  }
  const dir = copyWorkdir(work.stark, 'stark-swapped-statement');
  fs.copyFileSync(path.join(again, 'hash_chain_1024_stark_public.json'), path.join(dir, 'hash_chain_1024_stark_public.json'));
  const v = await run('verify-with-uzkv.cjs', [], phaseEnv(dir, 'stark'), PHASE_TIMEOUT_S.verifying);
  assert.equal(v.code, 1);
  assert.ok(v.lines.includes('❌ hash_chain_1024 stark proof FAILED verification'), v.stdout);
  assert.match(v.stderr, /proof is for another statement/);
  assert.ok(v.lines.includes('Circuits verified: 2'), v.stdout);
});

test('verify rejects a valid stark proof renamed as another statement', async () => {
  const dir = newWorkdir('stark-renamed');
  for (const kind of ['proof.ub', 'public.json']) {
    fs.copyFileSync(path.join(work.stark, `hash_chain_1024_stark_${kind}`), path.join(dir, `hash_chain_4096_stark_${kind}`));
  }
  const r = await run('verify-with-uzkv.cjs', [], phaseEnv(dir, 'stark'), PHASE_TIMEOUT_S.verifying);
  assert.equal(r.code, 1);
  assert.ok(r.lines.includes('❌ hash_chain_4096 stark proof FAILED verification'), r.stdout);
  assert.match(r.stderr, /the statement is for 1024 steps, hash_chain_4096 is 4096/);
  assert.ok(r.lines.includes('Circuits verified: 0'), r.stdout);
});

test('attest records each stark proof only through the StarkVerifier, under keccak256(verifier || call), in transactions the chain confirms', async () => {
  const { ethers } = require(path.join(SCRIPTS, 'node_modules', 'ethers'));
  const { starkVerifyCall } = require(path.join(SCRIPTS, 'lib', 'stark.cjs'));
  const deployment = JSON.parse(fs.readFileSync(chainEnv.DEPLOYMENT_FILE, 'utf8'));
  const r = await run('attest-proofs.cjs', [], phaseEnv(work.stark, 'stark', chainEnv), PHASE_TIMEOUT_S.attesting);
  assert.equal(r.code, 0, r.stderr);
  const sent = r.lines.filter((l) => l.startsWith('Transaction sent: ')).map((l) => RULES.tx.exec(l)[1]);
  const mined = r.lines.filter((l) => l.startsWith('Attested! TX: ')).map((l) => RULES.tx.exec(l)[1]);
  assert.equal(sent.length, 3, r.stdout);
  assert.deepEqual([...mined].sort(), [...sent].sort(), 'every sent transaction is reported mined');
  const attested = [];
  for (const hash of mined) {
    const receipt = await rpc(chainEnv.RPC_URL, 'eth_getTransactionReceipt', [hash]);
    assert.equal(receipt.status, '0x1', `receipt of ${hash}`);
    assert.equal(receipt.to.toLowerCase(), chainEnv.ATTESTOR_ADDRESS.toLowerCase());
    assert.equal(verifierOfReceipt(receipt), deployment.starkVerifier.toLowerCase(), 'accepted by the StarkVerifier');
    attested.push(receipt.logs[0].topics[1]); // Attested(bytes32 indexed proofHash, ...)
  }
  attestedTxs.stark = mined;
  const expected = STARK_NAMES.map((n) => {
    const files = { proof: starkProof(work.stark, n), statement: starkStatement(work.stark, n) };
    const call = starkVerifyCall(fs.readFileSync(files.proof), files.statement, deployment);
    return ethers.solidityPackedKeccak256(['address', 'bytes'], [call.address, call.data]);
  });
  assert.deepEqual(attested.sort(), expected.sort(), 'the attested hashes name the verifier and the verified call');
});

test('the Attestor refuses a proof its verifier rejects and a repeated attestation', async () => {
  const { ethers } = require(path.join(SCRIPTS, 'node_modules', 'ethers'));
  const { starkVerifyCall } = require(path.join(SCRIPTS, 'lib', 'stark.cjs'));
  const { connect, walletFromKey, artifact } = require(path.join(SCRIPTS, 'lib', 'eth.cjs'));
  const deployment = JSON.parse(fs.readFileSync(chainEnv.DEPLOYMENT_FILE, 'utf8'));
  const { provider } = await connect(chainEnv.RPC_URL);
  try {
    const attestor = new ethers.Contract(chainEnv.ATTESTOR_ADDRESS, artifact('Attestor').abi, walletFromKey(chainEnv.PRIVATE_KEY, provider));
    const statement = starkStatement(work.stark, 'hash_chain_1024');
    const bytes = fs.readFileSync(starkProof(work.stark, 'hash_chain_1024'));
    const tampered = Buffer.from(bytes);
    tampered[tampered.length - 100] ^= 0x01; // a path digest in the last query
    const bad = starkVerifyCall(tampered, statement, deployment);
    await assert.rejects(attestor.attestVerified.staticCall(bad.address, bad.data, 'tampered'), /NotVerified/);
    const wrongStatement = starkVerifyCall(bytes, { ...statement, output: starkStatement(work.stark, 'hash_chain_4096').output }, deployment);
    await assert.rejects(attestor.attestVerified.staticCall(wrongStatement.address, wrongStatement.data, 'wrong statement'), /NotVerified/);
    // A verifier of another system does not accept the bytes either.
    const otherVerifier = deployment.verifiers.poseidon_preimage.groth16;
    await assert.rejects(attestor.attestVerified.staticCall(otherVerifier, bad.data, 'other verifier'), /NotVerified/);
    // attest (above) recorded the honest proof: a second time is refused.
    const good = starkVerifyCall(bytes, statement, deployment);
    await assert.rejects(attestor.attestVerified.staticCall(good.address, good.data, 'again'), /AlreadyAttested/);
    assert.equal((await attestor.verifierOf(await attestor.proofHashOf(good.address, good.data))).toLowerCase(), deployment.starkVerifier.toLowerCase());
  } finally {
    provider.destroy();
  }
});

// After the test above, which attested this workdir's three proofs.
test('attest reports a stark proof its verifier rejects as not attested, sends no transaction for it, and skips the ones already attested', async () => {
  const dir = copyWorkdir(work.stark, 'attest-rejected');
  const file = starkProof(dir, 'hash_chain_128');
  const bytes = fs.readFileSync(file);
  bytes[bytes.length - 100] ^= 0x01; // a path digest in the last query
  fs.writeFileSync(file, bytes);
  const before = await rpc(chainEnv.RPC_URL, 'eth_blockNumber', []);
  const r = await run('attest-proofs.cjs', [], phaseEnv(dir, 'stark', chainEnv), PHASE_TIMEOUT_S.attesting);
  assert.equal(r.code, 1, r.stdout);
  const deployment = JSON.parse(fs.readFileSync(chainEnv.DEPLOYMENT_FILE, 'utf8'));
  assert.ok(r.lines.includes(`Not attested: hash_chain_128_stark_proof.ub: rejected by its verifier ${deployment.starkVerifier}`), r.stdout);
  for (const name of ['hash_chain_1024', 'hash_chain_4096']) {
    assert.ok(r.lines.some((l) => l.startsWith(`Already attested: ${name}_stark_proof.ub (proof hash 0x`)), `${name}:\n${r.stdout}`);
  }
  assert.ok(!r.lines.some((l) => l.startsWith('Transaction sent: ')), r.stdout);
  assert.equal(r.lines[r.lines.length - 1], '0 proofs attested, 2 already attested, 1 rejected');
  assert.equal(await rpc(chainEnv.RPC_URL, 'eth_blockNumber', []), before, 'no block mined');
});

// A chain whose blocks hold less gas than one STARK attestation (5.0-9.8 M
// charged here) but every deployment: the verifier accepts the proofs, and
// attest says that attesting them does not fit instead of calling them
// rejected or sending a transaction that cannot be mined.
test('attest on a chain with blocks too small for a stark attestation reports each proof as over the gas limit, not rejected, and sends nothing', async () => {
  const dir = path.join(tmp, 'chain-small-blocks');
  const env = { ...baseEnv(), CHAIN_BLOCK_GAS_LIMIT: '4000000' };
  let r = await run('chain', ['start', dir, String(await freePort())], env, 120);
  try {
    assert.equal(r.code, 0, `${r.stdout}${r.stderr}`);
    const smallEnv = readEnvFile(path.join(dir, 'chain.env'));
    const block = await rpc(smallEnv.RPC_URL, 'eth_getBlockByNumber', ['latest', false]);
    assert.equal(Number(block.gasLimit), 4000000, 'the chain took CHAIN_BLOCK_GAS_LIMIT');
    const deployment = JSON.parse(fs.readFileSync(smallEnv.DEPLOYMENT_FILE, 'utf8'));
    const before = await rpc(smallEnv.RPC_URL, 'eth_blockNumber', []);
    r = await run('attest-proofs.cjs', [], phaseEnv(copyWorkdir(work.stark, 'attest-small-blocks'), 'stark', smallEnv), PHASE_TIMEOUT_S.attesting);
    assert.equal(r.code, 1, `${r.stdout}${r.stderr}`);
    for (const name of ['hash_chain_128', 'hash_chain_1024', 'hash_chain_4096']) {
      assert.ok(r.stderr.includes(`attest-proofs: not attested: ${name}_stark_proof.ub: its verifier ${deployment.starkVerifier} accepts it, but attesting it takes more gas than a block of this chain holds (4000000)`), `${name}:\n${r.stderr}`);
    }
    assert.ok(!r.lines.some((l) => l.startsWith('Transaction sent: ') || l.startsWith('Not attested: ')), r.stdout);
    assert.equal(r.lines[r.lines.length - 1], '0 proofs attested, 0 already attested, 0 rejected, 3 over the gas limit');
    assert.equal(await rpc(smallEnv.RPC_URL, 'eth_blockNumber', []), before, 'no block mined');
  } finally {
    await run('chain', ['stop', dir], baseEnv(), 30);
  }
});

// ---- the local explorer (scripts/explorer) ----

// Starts the explorer on a free port with env; resolves to { get(hash),
// stop() }. get answers the parsed JSON of GET /tx/<hash>.
function startExplorer(env) {
  const { spawn } = require('node:child_process');
  const child = spawn(path.join(SCRIPTS, 'explorer'), [chainEnv.RPC_URL, '0'], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.once('exit', (code) => reject(new Error(`explorer exited (${code}): ${out}`)));
    child.stdout.on('data', (d) => {
      out += d;
      const m = /listening on (\d+)/.exec(out);
      if (!m) return;
      child.stdout.removeAllListeners('data');
      child.removeAllListeners('exit');
      resolve({
        async get(hash) {
          const r = await fetch(`http://127.0.0.1:${m[1]}/tx/${hash}`);
          assert.equal(r.status, 200, `GET /tx/${hash}`);
          return r.json();
        },
        stop: () => new Promise((done) => {
          child.once('exit', done);
          child.kill('SIGTERM');
        }),
      });
    });
  });
}

test('the explorer names the verifier that accepted each attested proof from the deployment file, and shows an address it does not list as the address alone', async () => {
  const { ethers } = require(path.join(SCRIPTS, 'node_modules', 'ethers'));
  const { starkVerifyCall } = require(path.join(SCRIPTS, 'lib', 'stark.cjs'));
  const { connect, walletFromKey, artifact } = require(path.join(SCRIPTS, 'lib', 'eth.cjs'));
  assert.equal(attestedTxs.groth16?.length, 3, 'the groth16 attestations (above)');
  assert.equal(attestedTxs.stark?.length, 3, 'the stark attestations (above)');
  const deployment = JSON.parse(fs.readFileSync(chainEnv.DEPLOYMENT_FILE, 'utf8'));

  // A StarkVerifier the deployment does not list accepts a proof too: its
  // attestation is real, but the explorer has no name for it.
  const { provider } = await connect(chainEnv.RPC_URL);
  let otherVerifier;
  let otherTx;
  try {
    const wallet = walletFromKey(chainEnv.PRIVATE_KEY, provider);
    const { abi, bytecode } = artifact('StarkVerifier');
    const contract = await new ethers.ContractFactory(abi, bytecode, wallet).deploy();
    await contract.waitForDeployment();
    otherVerifier = await contract.getAddress();
    const p = await proveStark(newWorkdir('explorer-other-verifier'), 'other', 64, 1);
    const call = starkVerifyCall(p.bytes, p.statement, { starkVerifier: otherVerifier });
    const attestor = new ethers.Contract(chainEnv.ATTESTOR_ADDRESS, artifact('Attestor').abi, wallet);
    const receipt = await (await attestor.attestVerified(call.address, call.data, 'explorer/other-verifier')).wait();
    assert.equal(receipt.status, 1);
    otherTx = receipt.hash;
  } finally {
    provider.destroy();
  }

  const explorer = await startExplorer({ ...baseEnv(), DEPLOYMENT_FILE: chainEnv.DEPLOYMENT_FILE });
  try {
    const seen = async (hash) => {
      const v = await explorer.get(hash);
      assert.equal(v.status, 'success');
      assert.equal(v.to, deployment.attestor);
      assert.equal(v.toName, 'Attestor');
      assert.equal(v.call.function, 'attestVerified');
      assert.equal(v.attestations.length, 1, JSON.stringify(v));
      const a = v.attestations[0];
      // The event names the verifier attestVerified was asked to call.
      assert.equal(a.verifier, ethers.getAddress(v.call.args.verifier));
      assert.equal(v.call.verifierName, a.verifierName);
      return a;
    };
    const groth16 = [];
    for (const hash of attestedTxs.groth16) {
      const a = await seen(hash);
      const circuit = CIRCUITS.find((c) => deployment.verifiers[c].groth16 === a.verifier);
      assert.ok(circuit, `${a.verifier} is a groth16 verifier of the deployment`);
      assert.equal(a.verifierName, `Groth16 verifier of circuit ${circuit}`);
      groth16.push(circuit);
    }
    assert.deepEqual(groth16.sort(), [...CIRCUITS].sort(), 'one attestation per circuit, each named for its verifier');
    for (const hash of attestedTxs.stark) {
      const a = await seen(hash);
      assert.equal(a.verifier, deployment.starkVerifier);
      assert.equal(a.verifierName, 'StarkVerifier');
    }
    const other = await seen(otherTx);
    assert.equal(other.verifier, otherVerifier);
    assert.equal(other.verifierName, null, 'not in the deployment: the address alone');
    assert.equal(other.label, 'explorer/other-verifier');
  } finally {
    await explorer.stop();
  }

  // Without the deployment file every address stands alone.
  const bare = await startExplorer(baseEnv());
  try {
    const v = await bare.get(attestedTxs.stark[0]);
    assert.equal(v.toName, null);
    assert.equal(v.attestations[0].verifier, deployment.starkVerifier);
    assert.equal(v.attestations[0].verifierName, null);
  } finally {
    await bare.stop();
  }
});

// ---- the StarkVerifier contract against the C verifier ----
//
// One corpus, two verifiers, identical verdicts: honest proofs of several
// sizes and both parameter sets; single-byte changes in every region of a
// proof (first and last query), non-canonical and changed field elements,
// truncation and a trailing byte, bad headers; wrong statements (output,
// steps, parameter set). The C verdict is `stark verify --statement`'s exit
// status (0 valid, 1 invalid); the contract's is eth_call of
// StarkVerifier.verify (true, or a revert).

const P = 0xffffffff00000001n;

function proveStark(dir, name, steps, params) {
  const out = { proof: path.join(dir, `${name}.ub`), statementFile: path.join(dir, `${name}.json`) };
  const args = ['prove', '--steps', String(steps), '--random', '--params', String(params), '--out', out.proof, '--statement-out', out.statementFile];
  return new Promise((resolve, reject) => {
    execFile(path.join(TOP, 'build', 'stark'), args, (err) => {
      if (err) return reject(err);
      resolve({ ...out, bytes: fs.readFileSync(out.proof), statement: JSON.parse(fs.readFileSync(out.statementFile, 'utf8')) });
    });
  });
}

// Byte offsets of a proof's regions (docs/stark.md, "Proof format").
function starkRegions(logN, queries) {
  const logLde = logN + 3;
  let deg = logN;
  let layers = 0;
  while (deg > 4) {
    deg = deg > 3 ? deg - 3 : 0;
    layers++;
  }
  const remOff = 380 + 32 * layers;
  const nonceOff = remOff + (16 << deg);
  const queriesOff = nonceOff + 8;
  let perQuery = 96 + 64 * logLde;
  for (let k = 0; k < layers; k++) perQuery += 128 + 32 * (logLde - 3 * (k + 1));
  const q = (i) => queriesOff + i * perQuery;
  const regions = { magic: 0, version: 4, params: 6, logN: 8, reserved: 9, y0: 12, y1: 20, traceRoot: 28, chunksRoot: 60, oodTrace: 92, oodNext: 220, oodChunks: 348, friRoot: 380, remainder: remOff, nonce: nonceOff };
  for (const [which, i] of [['first', 0], ['last', queries - 1]]) {
    regions[`${which} trace row`] = q(i);
    regions[`${which} trace path`] = q(i) + 64;
    regions[`${which} chunks row`] = q(i) + 64 + 32 * logLde;
    regions[`${which} chunks path`] = q(i) + 96 + 32 * logLde;
    regions[`${which} FRI values`] = q(i) + 96 + 64 * logLde;
    regions[`${which} FRI path`] = q(i) + 96 + 64 * logLde + 128;
  }
  return { regions, total: queriesOff + queries * perQuery, fieldElements: [12, 92, 220, 348, remOff, q(0), q(0) + 64 + 32 * logLde, q(queries - 1) + 96 + 64 * logLde] };
}

function writeLe64(buf, off, v) {
  for (let i = 0; i < 8; i++) buf[off + i] = Number((v >> BigInt(8 * i)) & 0xffn);
}

function readLe64(buf, off) {
  let v = 0n;
  for (let i = 7; i >= 0; i--) v = (v << 8n) | BigInt(buf[off + i]);
  return v;
}

// The top sibling of the last query's trace, chunks and first FRI layer
// paths, flipped. By the last query, earlier paths have reached every node
// just below the root, so these hit the StarkVerifier's memo of verified
// top nodes (a node seen before with the same hash, but a sibling above it
// that differs): the contract must rehash, as the C verifier does, and
// reject.
function starkTopSiblingFlips(honest, logN, queries) {
  const { regions } = starkRegions(logN, queries);
  const logLde = logN + 3;
  const top = {
    'trace path': regions['last trace path'] + 32 * (logLde - 1),
    'chunks path': regions['last chunks path'] + 32 * (logLde - 1),
    'FRI path': regions['last FRI path'] + 32 * (logLde - 3 - 1),
  };
  return Object.entries(top).map(([path_, off]) => {
    const bytes = Buffer.from(honest.bytes);
    bytes[off + 7] ^= 0x01;
    return { what: `set ${honest.statement.params}: top sibling of the last query's ${path_} flipped`, bytes, statement: honest.statement };
  });
}

// The corpus built from one honest proof: [{ what, bytes, statement }].
function starkTamperings(honest, logN, queries) {
  const { regions, fieldElements } = starkRegions(logN, queries);
  const cases = [];
  const changed = (what, edit) => {
    const bytes = Buffer.from(honest.bytes);
    edit(bytes);
    cases.push({ what, bytes, statement: honest.statement });
  };
  for (const [region, off] of Object.entries(regions)) {
    changed(`byte flipped: ${region}`, (b) => (b[off + 3] ^= 0x10));
  }
  for (const off of fieldElements) {
    // p itself, and p + v: the same residues, not canonical.
    changed(`non-canonical element at ${off}`, (b) => writeLe64(b, off, P + (readLe64(b, off) < 0xffffffffn ? readLe64(b, off) : 0n)));
    changed(`element + 1 at ${off}`, (b) => writeLe64(b, off, (readLe64(b, off) + 1n) % P));
  }
  // A deterministic spread of single-byte changes over the whole proof.
  for (let i = 1; i <= 24; i++) {
    const off = Math.floor((honest.bytes.length * i) / 25);
    changed(`byte flipped at ${off}`, (b) => (b[off] ^= 1 << (i % 8)));
  }
  cases.push({ what: 'truncated', bytes: honest.bytes.subarray(0, honest.bytes.length - 1), statement: honest.statement });
  cases.push({ what: 'trailing byte', bytes: Buffer.concat([honest.bytes, Buffer.from([0])]), statement: honest.statement });
  const st = honest.statement;
  const flipOutput = (i) => st.output.slice(0, i) + (st.output[i] === '0' ? '1' : '0') + st.output.slice(i + 1);
  cases.push({ what: 'statement: other y0', bytes: honest.bytes, statement: { ...st, output: flipOutput(3) } });
  cases.push({ what: 'statement: other y1', bytes: honest.bytes, statement: { ...st, output: flipOutput(30) } });
  cases.push({ what: 'statement: other steps', bytes: honest.bytes, statement: { ...st, steps: st.steps * 2 } });
  cases.push({ what: 'statement: other parameter set', bytes: honest.bytes, statement: { ...st, params: 3 - st.params } });
  return cases;
}

async function cVerdict(dir, c, i) {
  const proof = path.join(dir, `case${i}.ub`);
  const statement = path.join(dir, `case${i}.json`);
  fs.writeFileSync(proof, c.bytes);
  fs.writeFileSync(statement, JSON.stringify(c.statement));
  return new Promise((resolve) => {
    execFile(path.join(TOP, 'build', 'stark'), ['verify', proof, '--statement', statement], (err) => {
      const code = err ? err.code : 0;
      resolve(code === 0 ? 'valid' : code === 1 ? 'invalid' : `exit ${code}`);
    });
  });
}

async function contractVerdict(provider, c, deployment) {
  const { starkVerifyCall } = require(path.join(SCRIPTS, 'lib', 'stark.cjs'));
  const call = starkVerifyCall(c.bytes, c.statement, deployment);
  try {
    return BigInt(await provider.call({ to: call.address, data: call.data })) === 1n ? 'valid' : 'returned false';
  } catch {
    return 'invalid';
  }
}

test('the StarkVerifier contract and the C verifier give identical verdicts on one corpus of honest, tampered and misattributed proofs', async () => {
  const { connect } = require(path.join(SCRIPTS, 'lib', 'eth.cjs'));
  const dir = newWorkdir('stark-crosscheck');
  const deployment = JSON.parse(fs.readFileSync(chainEnv.DEPLOYMENT_FILE, 'utf8'));
  const honest = [
    [64, 1], [256, 1], [1024, 1], [64, 2], [128, 2],
  ];
  const proofs = [];
  for (const [steps, params] of honest) proofs.push(await proveStark(dir, `honest_${steps}_${params}`, steps, params));
  const corpus = proofs.map((h) => ({ what: `honest ${h.statement.steps} steps, set ${h.statement.params}`, bytes: h.bytes, statement: h.statement, honest: true }));
  corpus.push(...starkTamperings(proofs[0], 6, 28));
  corpus.push(...starkTamperings(proofs[3], 6, 102).filter((_, i) => i % 4 === 0));
  corpus.push(...starkTopSiblingFlips(proofs[0], 6, 28), ...starkTopSiblingFlips(proofs[3], 6, 102));
  const { provider } = await connect(chainEnv.RPC_URL);
  const mismatches = [];
  let valid = 0;
  try {
    for (const [i, c] of corpus.entries()) {
      const [cv, sv] = [await cVerdict(dir, c, i), await contractVerdict(provider, c, deployment)];
      if (cv !== sv) mismatches.push(`${c.what}: C ${cv}, contract ${sv}`);
      if (c.honest && cv !== 'valid') mismatches.push(`${c.what}: an honest proof is ${cv}`);
      if (cv === 'valid') valid++;
    }
  } finally {
    provider.destroy();
  }
  assert.deepEqual(mismatches, [], `${corpus.length} cases`);
  assert.equal(valid, honest.length, 'exactly the honest proofs are valid');
  console.log(`# cross-check: ${corpus.length} cases, ${valid} valid, identical verdicts`);
});

test('generate and verify stark fail with a clear message when STARK_BIN is not an executable file', async () => {
  const dir = newWorkdir('stark-bad-bin');
  const env = phaseEnv(dir, 'stark', { STARK_BIN: path.join(tmp, 'no-such-stark') });
  const g = await run('generate-all-proofs.cjs', ['stark'], env);
  assert.equal(g.code, 1);
  assert.match(g.stderr, /cannot generate stark proofs: STARK_BIN is set to \S+no-such-stark, which is not an executable file/);
  assert.deepEqual(fs.readdirSync(dir), [], 'nothing written');
  const v = await run('verify-with-uzkv.cjs', [], { ...env, WORKDIR: work.stark }, PHASE_TIMEOUT_S.verifying);
  assert.equal(v.code, 1);
  assert.match(v.stderr, /cannot verify stark proofs: STARK_BIN is set to/);
  assert.equal(v.lines.filter((l) => RULES.verified.test(l)).length, 0);
});

test('installed scripts find the stark tool in libexec/phasestream, and without it name what is missing and how to build it', async () => {
  // The layout of `make install`: share/phasestream/scripts next to libexec/phasestream/stark.
  const prefix = path.join(tmp, 'prefix');
  const scripts = path.join(prefix, 'share', 'phasestream', 'scripts');
  const tool = path.join(prefix, 'libexec', 'phasestream', 'stark');
  fs.cpSync(SCRIPTS, scripts, { recursive: true, filter: (src) => path.basename(src) !== 'node_modules' });
  fs.symlinkSync(path.join(SCRIPTS, 'node_modules'), path.join(scripts, 'node_modules'));
  fs.mkdirSync(path.dirname(tool), { recursive: true });
  fs.copyFileSync(path.join(TOP, 'build', 'stark'), tool);
  fs.chmodSync(tool, 0o755);
  const { STARK_BIN, ...env } = baseEnv();
  const runInstalled = (script, args, workdir) =>
    new Promise((resolve) => {
      execFile(path.join(scripts, script), args, { env: { ...env, WORKDIR: workdir }, timeout: 60000 }, (err, stdout, stderr) =>
        resolve({ code: err ? err.code : 0, stdout, stderr, lines: stdout.split('\n').filter(Boolean) }),
      );
    });

  const v = await runInstalled('verify-with-uzkv.cjs', [], work.stark);
  assert.equal(v.code, 0, v.stderr);
  assert.ok(v.lines.includes(`STARK verifier: ${tool}`), v.stdout);
  assert.equal(v.lines.filter((l) => RULES.verified.test(l)).length, 3, v.stdout);

  fs.rmSync(tool);
  const dir = newWorkdir('stark-no-tool');
  const g = await runInstalled('generate-all-proofs.cjs', ['stark'], dir);
  assert.equal(g.code, 1);
  assert.ok(g.stderr.includes(`neither ${path.join(prefix, 'share', 'phasestream', 'build', 'stark')} nor ${tool} exists`), g.stderr);
  assert.match(g.stderr, /build it with 'make build\/stark'/);
  assert.deepEqual(fs.readdirSync(dir), [], 'nothing written');
});

test('chain stop ends the chain process and removes its environment', async () => {
  assert.ok(chainPid && pidAlive(chainPid), 'the chain was running');
  const r = await run('chain', ['stop', chainDir], baseEnv(), 30);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(pidAlive(chainPid), false, 'ganache is gone');
  assert.equal(fs.existsSync(path.join(chainDir, 'chain.env')), false);
  await assert.rejects(rpc(chainEnv.RPC_URL, 'eth_chainId', [], 2000), /unreachable/);
});
