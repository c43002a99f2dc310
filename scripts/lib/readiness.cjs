'use strict';
// The readiness file of the local stack: which proof types can run now.
//
//   { "proofTypes": { "<type>": { "ready": bool, "state": "ready" | "preparing" | "failed",
//                                 "step": k, "steps": n, "doing": "..." } },
//     "updated": ISO-8601 }
//
// Written only when ZK_READINESS names the file (scripts/run-stack sets it to
// var/run/readiness.json, which conf/workflow.json names as the pipeline's
// readiness file: phasestream shows it in GET /api/workflow/pipeline and
// refuses a type that is not ready, docs/api.md). Every write goes to a
// temporary file that is then renamed over the old one, so a reader sees a
// whole file or the old one. A missing file means "no readiness
// information": every type is ready. The generating phase (through of())
// refuses a type that is not ready as well, for a server whose pipeline
// names no readiness file.

const fs = require('fs');
const path = require('path');

const FILE = process.env.ZK_READINESS || '';

function read(file = FILE) {
  if (!file) return null;
  try {
    const r = JSON.parse(fs.readFileSync(file, 'utf8'));
    return r && typeof r.proofTypes === 'object' ? r : null;
  } catch {
    return null;
  }
}

// Merge `types` ({type: entry}) into the file.
function update(types, file = FILE) {
  if (!file) return;
  const cur = read(file) || { proofTypes: {} };
  for (const [t, entry] of Object.entries(types)) cur.proofTypes[t] = entry;
  cur.updated = new Date().toISOString();
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, JSON.stringify(cur) + '\n', { mode: 0o644 });
  fs.renameSync(tmp, file);
}

// The readiness of one type, or null when the file says nothing of it.
function of(type, file = FILE) {
  const r = read(file);
  return (r && r.proofTypes[type]) || null;
}

// A sentence for a type that is not ready, for a refusal.
function describe(type, entry) {
  if (entry.state === 'failed') return `${type} cannot run: its zero-knowledge setup failed (${entry.doing || 'see var/run/zk-setup.log'})`;
  const where = entry.step && entry.steps ? `, step ${entry.step} of ${entry.steps}` : '';
  return `${type} is not ready yet: waiting for the setup (preparing${where}: ${entry.doing || 'building'}); try again when the page shows it ready`;
}

module.exports = { FILE, read, update, of, describe };
