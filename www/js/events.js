/*
 * events.js: what each event does to a session: the model, no drawing.
 *
 * status, transaction, complete and error events go through applyEvent, in
 * id order, whether they arrive live or are replayed from the history (the
 * history replays them all again, from a reset of the phases). Log events
 * become lines (lineOf, onLog) that wait in s.pending for the terminal.
 *
 * Times are the server's: an event's timestamp, or an estimate (eventTime)
 * for an older server that sends none. s.skew is the offset of this clock
 * from the server's, first from the Date header (clockSkew), then from live
 * log timestamps.
 */
import { LIVE_GAP_MS, MAX_LINES } from './config.js';
import { addTx } from './transactions.js';

export function applyEvent(s, type, d, t) {
  switch (type) {
    case 'status': onStatus(s, d, t); break;
    case 'transaction': addTx(s, d.txHash, d.explorerUrl); break;
    case 'complete': onComplete(s, d, t); break;
    case 'error': onError(s, d, t); break;
  }
}

export function clockSkew(s, date) {
  if (s.skew !== null) return;
  // A coarse clock offset from the Date header, used only when the clocks
  // clearly differ; live log timestamps refine it.
  const d = Date.parse(date || '');
  const off = Date.now() - d - 500;
  s.skew = !Number.isNaN(d) && Math.abs(off) > 1500 ? off : 0;
}

// The server time of an event: its timestamp (log, status, transaction
// and error events carry one). Without one (an older server), an event
// takes the time of the last line when it arrives in a replay burst, and
// the (offset-corrected) present when it arrives live after a quiet spell.
export function eventTime(s, d, isLog) {
  const now = Date.now();
  const quiet = now - s.lastArrival > LIVE_GAP_MS;
  s.lastArrival = now;
  const ts = typeof d.timestamp === 'string' ? Date.parse(d.timestamp) : NaN;
  if (!Number.isNaN(ts)) {
    if (isLog) {
      if (s.skew === null || now - ts < s.skew) s.skew = now - ts;
      s.lastLogTs = ts;
    }
    return ts;
  }
  const base = Math.max(s.lastLogTs || 0, s.startTime || 0);
  const live = serverNow(s);
  if (quiet || !base) return Math.max(live, base);
  return base;
}

export function serverNow(s) {
  return Date.now() - (s.skew || 0);
}

export function phaseOf(s, name, step) {
  let p = s.phases.find((x) => x.name === name);
  if (!p) {
    // A phase the current pipeline does not list (the session may predate
    // a change of the pipeline): show it all the same.
    p = { name, step: step || name, optional: false, state: 'pending', start: null, end: null };
    s.phases.push(p);
    s.phasesBuilt = false;
  }
  return p;
}

// t: the event's server time, or null when unknown (a phase then shows
// no elapsed time rather than a wrong one).
function onStatus(s, d, t) {
  if (typeof d.progress === 'number') s.progress = Math.max(0, Math.min(100, d.progress));
  if (typeof d.step === 'string' && d.step) s.step = d.step;
  if (d.phase === 'queued') {
    s.status = 'queued';
    return;
  }
  if (d.phase === 'complete') {
    endRunning(s, 'done', t);
    return;
  }
  if (typeof d.phase !== 'string') return;
  const p = phaseOf(s, d.phase, d.step);
  const i = s.phases.indexOf(p);
  for (let j = 0; j < i; j++) {
    if (s.phases[j].state === 'running') endPhase(s.phases[j], 'done', t);
  }
  if (d.skipped) {
    if (p.start === null) p.start = t;
    p.state = 'skipped';
    p.end = t;
  } else if (p.state !== 'running') {
    p.state = 'running';
    p.start = t;
    p.end = null;
  }
  s.status = 'running';
  s.phase = d.phase;
  s.queuePosition = null;
}

function endPhase(p, state, t) {
  p.state = state;
  p.end = t === null || p.start === null ? t : Math.max(t, p.start);
}

function endRunning(s, state, t) {
  for (const p of s.phases) if (p.state === 'running') endPhase(p, state, t);
}

// A log line as the terminal keeps it: id its event's (undefined while
// unknown), n its place in the session's log.
export function lineOf(d, id, n) {
  const err = d.stream === 'stderr' || d.type === 'error';
  return {
    id, n, ts: String(d.timestamp || ''), msg: String(d.message == null ? '' : d.message), phase: d.phase,
    kind: d.type === 'warning' ? 'warn' : err ? 'err' : '',
  };
}

export function onLog(s, d, id) {
  const l = lineOf(d, id, ++s.logCount);
  if (l.kind === 'err') s.errCount++;
  s.pending.push(l);
  // Lines not yet drawn (a hidden tab draws nothing): only the newest can
  // ever be shown, so the rest need not be kept.
  if (s.pending.length > 2 * MAX_LINES) s.pending.splice(0, s.pending.length - MAX_LINES);
}

export function onComplete(s, d, t) {
  s.result = d;
  s.status = 'complete';
  s.terminal = true;
  s.progress = 100;
  s.endTime = Date.parse(d.lastUpdate || '') || t;
  endRunning(s, 'done', s.endTime);
  if (Array.isArray(d.attestationResults)) for (const h of d.attestationResults) addTx(s, h);
}

// code null: not known (the session was shown from its state, and its
// terminal event could not be read).
export function onError(s, d, t) {
  s.error = d;
  s.status = 'error';
  s.terminal = true;
  s.endTime = t;
  s.cancelling = false;
  const state = d.code === 'cancelled' ? 'cancelled' : d.code == null ? 'stopped' : 'failed';
  const p = s.phases.find((x) => x.name === d.phase);
  if (p && p.state !== 'skipped') endPhase(p, state, t);
  endRunning(s, state, t);
}
