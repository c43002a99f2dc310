'use strict';
// Where the cached zero-knowledge setup lives, and whether it is current.
//
// Layout under ZK_DIR (default <repo>/var/zk, ignored by git):
//   ptau/pot<N>.ptau            the local powers-of-tau ceremony, prepared
//                               for phase 2; kept across circuit changes
//   ptau/stamp.json             what that ceremony was made from
//   setup/                      everything derived from the circuits
//     setup.json                manifest: inputs hash, sizes, timings
//     <circuit>/<circuit>.r1cs, <circuit>_js/<circuit>.wasm
//     <circuit>/groth16.zkey, plonk.zkey, groth16_vkey.json, plonk_vkey.json
//     verifiers/<circuit>_<type>.sol   snarkjs' Solidity verifiers
//     contracts/<Name>.json     solc output: abi + bytecode per contract
//   base/                       contracts/*.sol alone (the Attestor and the
//     base.json                 STARK verifier): what a stark run needs; made
//     contracts/<Name>.json     first, in seconds, so that stark can run
//                               while the rest of the setup is built
// zk-setup builds setup/ and base/ in scratch directories and renames them
// into place, so a reader sees either the old complete one or the new one.
// Both are also kept in the per-machine cache (lib/zkcache.cjs).

const fs = require('fs');
const path = require('path');
const crypto = require('crypto');
const { CIRCUITS, circuitByName } = require('./circuits.cjs');

const SCRIPTS_DIR = path.resolve(__dirname, '..');
const REPO_DIR = path.resolve(SCRIPTS_DIR, '..');
const ZK_DIR = path.resolve(process.env.ZK_DIR || path.join(REPO_DIR, 'var', 'zk'));
const SETUP_DIR = path.join(ZK_DIR, 'setup');
const PTAU_DIR = path.join(ZK_DIR, 'ptau');
const BASE_DIR = path.join(ZK_DIR, 'base');

// The files whose content decides the setup: a change to any of them makes
// zk-setup run again. Paths are relative to scripts/.
function setupInputFiles() {
  const list = (dir, ext) =>
    fs
      .readdirSync(path.join(SCRIPTS_DIR, dir))
      .filter((f) => f.endsWith(ext))
      .sort()
      .map((f) => path.join(dir, f));
  return [
    'zk-setup',
    'package-lock.json',
    'lib/circuits.cjs',
    'lib/zk.cjs',
    ...list('circuits', '.circom'),
    ...list('contracts', '.sol'),
  ];
}

// What the base (contracts/*.sol alone) is made from.
function baseInputFiles() {
  return setupInputFiles().filter((f) => !f.startsWith('circuits/') && f !== 'lib/circuits.cjs');
}

function hashFiles(files) {
  const h = crypto.createHash('sha256');
  for (const rel of files) {
    h.update(rel + '\0');
    h.update(fs.readFileSync(path.join(SCRIPTS_DIR, rel)));
    h.update('\0');
  }
  return h.digest('hex');
}

// The directory of an npm package of scripts/package.json (some, like
// snarkjs, do not export their package.json to require()).
function packageDir(name) {
  return path.join(SCRIPTS_DIR, 'node_modules', name);
}

function packageVersion(name) {
  return JSON.parse(fs.readFileSync(path.join(packageDir(name), 'package.json'), 'utf8')).version;
}

function setupInputsHash() {
  return hashFiles(setupInputFiles());
}

function baseInputsHash() {
  return hashFiles(baseInputFiles());
}

function circuitDir(name, base = SETUP_DIR) {
  return path.join(base, name);
}

// Paths of one circuit's artifacts inside a setup directory.
function circuitFiles(name, base = SETUP_DIR) {
  const dir = circuitDir(name, base);
  return {
    dir,
    main: path.join(dir, `${name}.circom`),
    r1cs: path.join(dir, `${name}.r1cs`),
    wasm: path.join(dir, `${name}_js`, `${name}.wasm`),
    zkey: (type) => path.join(dir, `${type}.zkey`),
    vkey: (type) => path.join(dir, `${type}_vkey.json`),
    verifierSol: (type) => path.join(base, 'verifiers', `${name}_${type}.sol`),
  };
}

// A contract's artifact: from the full setup, else (the Attestor and the
// STARK verifier while the full setup is being built) from the base.
function contractArtifact(contractName, base = null) {
  if (base) return path.join(base, 'contracts', `${contractName}.json`);
  const full = path.join(SETUP_DIR, 'contracts', `${contractName}.json`);
  const early = path.join(BASE_DIR, 'contracts', `${contractName}.json`);
  // A full setup left from other sources (an edited contract, before
  // zk-setup has run again) must not shadow the current base's contracts.
  return (fs.existsSync(full) && setupCurrent()) || !fs.existsSync(early) ? full : early;
}

// The deployable name of a circuit's verifier, e.g. MerkleMembershipPlonkVerifier.
function verifierContractName(circuitName, type) {
  const camel = (s) => s.replace(/(^|_)([a-z0-9])/g, (_, __, c) => c.toUpperCase());
  return `${camel(circuitName)}${camel(type)}Verifier`;
}

function readManifest(base = SETUP_DIR, name = 'setup.json') {
  try {
    return JSON.parse(fs.readFileSync(path.join(base, name), 'utf8'));
  } catch {
    return null;
  }
}

// The current setup's manifest, or an Error that says what to run.
function loadSetup() {
  const manifest = readManifest();
  if (!manifest) {
    return new Error(`no zero-knowledge setup in ${SETUP_DIR}: run scripts/zk-setup first`);
  }
  if (manifest.inputsHash !== setupInputsHash()) {
    return new Error(
      `the zero-knowledge setup in ${SETUP_DIR} is out of date (circuits, contracts or packages changed): run scripts/zk-setup`,
    );
  }
  return manifest;
}

// The current base's manifest, or an Error that says what to run.
function loadBase() {
  const m = readManifest(BASE_DIR, 'base.json');
  if (!m || m.inputsHash !== baseInputsHash()) {
    return new Error(`no current contracts in ${BASE_DIR}: run scripts/zk-setup --base (or scripts/zk-setup)`);
  }
  return m;
}

// Whether the full setup is current (no message, no error).
function setupCurrent() {
  const m = readManifest();
  return !!m && m.inputsHash === setupInputsHash();
}

module.exports = {
  CIRCUITS,
  circuitByName,
  SCRIPTS_DIR,
  REPO_DIR,
  ZK_DIR,
  SETUP_DIR,
  PTAU_DIR,
  BASE_DIR,
  setupInputFiles,
  baseInputFiles,
  baseInputsHash,
  loadBase,
  setupCurrent,
  hashFiles,
  setupInputsHash,
  packageDir,
  packageVersion,
  circuitFiles,
  contractArtifact,
  verifierContractName,
  readManifest,
  loadSetup,
};
