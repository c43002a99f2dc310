'use strict';
// The per-machine cache of the zero-knowledge setup, outside the checkout.
//
//   ZK_CACHE_DIR (default ${XDG_CACHE_HOME:-$HOME/.cache}/phasestream/zk;
//   "off" disables it)
//     <kind>-<key>/             one entry: a copy of what zk-setup built
//       cache.json              {kind, key, files: {<relative path>: sha256}, meta}
//
// <key> is the hash of everything the entry was made from (zk-setup's inputs
// hash for a setup, the ceremony's size and snarkjs' version for a
// powers-of-tau file), so a fresh clone of the same sources finds the
// entry another clone made. An entry is written in a temporary directory and
// renamed into place, so it is whole or absent; it is never changed after.
// Before use, every file is hashed again and compared with cache.json (same
// set of files, same hashes): an entry that does not match is removed and
// the caller builds instead. The cache is an optimisation only: any error
// reading or writing it is reported and ignored.
//
// Bounded: each edit of a contract or circuit makes a new key, and a setup
// entry is ~56 MB, so storing an entry removes all but the KEEP most recently
// used entries of its kind (fetch marks an entry used). A clone that is
// copying an entry as it goes fails its verification and builds instead.

const fs = require('fs');
const path = require('path');
const crypto = require('crypto');

function root() {
  const env = process.env.ZK_CACHE_DIR;
  if (env === 'off') return null;
  if (env) return path.resolve(env);
  const base = process.env.XDG_CACHE_HOME || (process.env.HOME ? path.join(process.env.HOME, '.cache') : '');
  return base ? path.join(base, 'phasestream', 'zk') : null;
}

function sha256File(file) {
  const h = crypto.createHash('sha256');
  const fd = fs.openSync(file, 'r');
  const buf = Buffer.allocUnsafe(1 << 20);
  try {
    let n;
    while ((n = fs.readSync(fd, buf, 0, buf.length, null)) > 0) h.update(buf.subarray(0, n));
  } finally {
    fs.closeSync(fd);
  }
  return h.digest('hex');
}

// {relative path: sha256} of every regular file under dir.
function hashTree(dir, skip = new Set()) {
  const out = {};
  const walk = (rel) => {
    for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const r = rel ? path.join(rel, e.name) : e.name;
      if (e.isDirectory()) walk(r);
      else if (e.isFile() && !skip.has(r)) out[r] = sha256File(path.join(dir, r));
    }
  };
  walk('');
  return out;
}

const KEEP = 3;

function entryDir(kind, key) {
  const r = root();
  return r ? path.join(r, `${kind}-${key}`) : null;
}

// Whether `have` (a hashTree) is exactly `want`.
function sameFiles(have, want) {
  const a = Object.keys(have).sort();
  const b = Object.keys(want || {}).sort();
  return a.length === b.length && a.every((k, i) => k === b[i] && have[k] === want[k]);
}

// Copy a verified entry to dest (which must not exist); returns its meta, or
// null when there is no entry or it did not verify (it is removed then).
function fetch(kind, key, dest, say = () => {}) {
  const dir = entryDir(kind, key);
  if (!dir || !fs.existsSync(dir)) return null;
  try {
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'cache.json'), 'utf8'));
    const have = hashTree(dir, new Set(['cache.json']));
    if (manifest.kind !== kind || manifest.key !== key || !sameFiles(have, manifest.files)) {
      say(`cache entry ${dir} does not match its manifest: removed, building instead`);
      fs.rmSync(dir, { recursive: true, force: true });
      return null;
    }
    fs.cpSync(dir, dest, { recursive: true, filter: (src) => path.basename(src) !== 'cache.json' || path.dirname(src) !== dir });
    // What was copied is checked as well: dest is what will be used.
    if (!sameFiles(hashTree(dest), manifest.files)) {
      fs.rmSync(dest, { recursive: true, force: true });
      say(`copy of cache entry ${dir} does not verify: building instead`);
      return null;
    }
    touch(dir);
    return manifest.meta || {};
  } catch (e) {
    say(`cache entry ${dir} unusable (${e.message}): building instead`);
    return null;
  }
}

// Mark an entry used (prune keeps the most recently used). Best effort: a
// cache shared with other users may not let us set its times.
function touch(dir) {
  try {
    const now = new Date();
    fs.utimesSync(dir, now, now);
  } catch {
    // An entry that stays old may be pruned sooner; nothing else changes.
  }
}

// Store a copy of src as entry <kind>-<key> (kept, and marked used, if one
// exists already).
function store(kind, key, src, meta, say = () => {}) {
  const dir = entryDir(kind, key);
  if (!dir) return;
  if (fs.existsSync(dir)) {
    touch(dir);
    return;
  }
  const tmp = `${dir}.tmp-${process.pid}`;
  try {
    fs.mkdirSync(path.dirname(dir), { recursive: true });
    fs.rmSync(tmp, { recursive: true, force: true });
    fs.cpSync(src, tmp, { recursive: true });
    const files = hashTree(tmp);
    fs.writeFileSync(path.join(tmp, 'cache.json'), JSON.stringify({ kind, key, files, meta }, null, 1) + '\n');
    fs.renameSync(tmp, dir);
    say(`cached in ${dir}`);
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    if (!fs.existsSync(dir)) say(`could not cache in ${dir} (${e.message}); carrying on`);
    return;
  }
  prune(kind, dir, say);
}

// Remove the entries of `kind` but the KEEP most recently used; `kept` (the
// entry just stored) stays whatever its time.
function prune(kind, kept, say) {
  const r = path.dirname(kept);
  try {
    const entries = fs
      .readdirSync(r)
      .filter((n) => n.startsWith(`${kind}-`) && !n.includes('.tmp-'))
      .map((n) => path.join(r, n))
      .filter((d) => d !== kept)
      .map((d) => ({ d, used: fs.statSync(d).mtimeMs }))
      .sort((a, b) => b.used - a.used);
    for (const { d } of entries.slice(KEEP - 1)) {
      fs.rmSync(d, { recursive: true, force: true });
      say(`removed the cache entry ${d} (used least recently; ${KEEP} of each kind are kept)`);
    }
  } catch (e) {
    say(`could not prune the cache in ${r} (${e.message}); carrying on`);
  }
}

module.exports = { KEEP, root, entryDir, sha256File, hashTree, fetch, store };
