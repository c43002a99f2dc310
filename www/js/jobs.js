/*
 * jobs.js: the page's side of the loader (loader.js). Each request is a
 * numbered job: openJob (a session's state, then the events behind it),
 * historyJob (those events again), logJob (the log as a file); stopJob(n)
 * drops one, and its answers never come.
 *
 * The loader runs in a module worker (loader.worker.js). Where none can
 * start (no Worker, a content security policy, a script that cannot be
 * loaded), the same loader runs on the page: what was asked and not
 * answered is asked again there; what was half answered (a state without
 * its history) ends with a history that could not be read.
 */
import { absolute, sessionUrl, stateUrl } from './api.js';
import { MAX_LINES } from './config.js';
import { loaderMain } from './loader.js';

const asked = new Map(); // n -> {m, on, answered}
let seq = 0;
let worker = null;
let local = null; // the loader on the page, once the worker has failed

function deliver(a) {
  const q = asked.get(a.n);
  if (!q) return;
  q.answered = true;
  if (a.end) asked.delete(a.n);
  q.on(a);
}

function onPage() {
  local = loaderMain((a) => setTimeout(() => deliver(a), 0));
}

function workerFailed(e) {
  if (e.preventDefault) e.preventDefault();
  worker.terminate();
  worker = null;
  onPage();
  for (const [n, q] of asked) {
    if (!q.answered) local(q.m);
    else deliver({ op: 'history', n, ok: false, marks: [], logIds: [], end: true });
  }
}

function startWorker() {
  try {
    worker = new Worker(new URL('./loader.worker.js', import.meta.url), { type: 'module', name: 'phasestream loader' });
    worker.onmessage = (e) => deliver(e.data);
    worker.onerror = workerFailed;
  } catch (e) {
    worker = null;
    onPage();
  }
}

function send(m) {
  if (worker) worker.postMessage(m);
  else local(m);
}

// on(answer) is called for each answer; returns the job's number.
function startJob(m, on) {
  m.n = ++seq;
  asked.set(m.n, { m, on, answered: false });
  send(m);
  return m.n;
}

export function stopJob(n) {
  if (asked.delete(n)) send({ op: 'abort', n });
}

// A session's state (job.state), then the events behind it (job.history).
export function openJob(id) {
  let stateIn;
  let historyIn;
  const job = { n: 0, state: new Promise((res) => { stateIn = res; }), history: new Promise((res) => { historyIn = res; }) };
  job.n = startJob({ op: 'open', state: absolute(stateUrl(id, true)), stream: absolute(sessionUrl(id)), max: MAX_LINES }, (a) => {
    if (a.op === 'state') stateIn(a);
    else historyIn(a);
    if (a.op === 'state' && a.end) historyIn({ ok: false, marks: [], logIds: [] });
  });
  return job;
}

// The events 1..last of a session (job.history).
export function historyJob(id, last) {
  let historyIn;
  const job = { n: 0, history: new Promise((res) => { historyIn = res; }) };
  job.n = startJob({ op: 'history', stream: absolute(sessionUrl(id)), last }, historyIn);
  return job;
}

// The whole log of a session, as a text Blob ({blob} or {error}).
export function logJob(id) {
  return new Promise((res) => startJob({ op: 'log', state: absolute(stateUrl(id, true)) }, res));
}

startWorker();
