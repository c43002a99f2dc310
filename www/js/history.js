/*
 * history.js: the events behind a state answer (1..s.stateLast), read once
 * by the loader, keeping only those that are not log lines (status,
 * transaction, complete, error). They carry what the state lacks: when each
 * phase started and ended, skipped phases, explorer links, the error code,
 * and the event ids of the lines the state brought. s.history says where
 * they are: 'loading', 'done' or 'lost' (not read after five tries, or the
 * session went away first); 'none' when the stream brings every event.
 */
import { RETRY_MAX_MS } from './config.js';
import { app, scheduleRender } from './state.js';
import { historyJob, stopJob } from './jobs.js';
import { applyEvent } from './events.js';
import { endStream, finishFromState } from './stream.js';
import { setLineIds } from './logview.js';

export function awaitHistory(s, job) {
  s.histJob = job.n;
  job.history.then((h) => {
    if (s !== app.session || s.histJob !== job.n) return;
    s.histAnswer = h;
    if (s.loaded) historyIn(s); // else load() goes on from here
  });
}

export function historyIn(s) {
  const h = s.histAnswer;
  s.histAnswer = null;
  s.histJob = 0;
  if (h.ok) return applyHistory(s, h);
  if (++s.histTries > 5) {
    s.history = 'lost';
    scheduleRender();
    return;
  }
  // Read it again, while the session is shown.
  clearTimeout(s.histTimer);
  s.histTimer = setTimeout(() => {
    if (s === app.session && s.history === 'loading') awaitHistory(s, historyJob(s.id, s.stateLast));
  }, s.histDelay);
  s.histDelay = Math.min(Math.round(s.histDelay * 1.5), RETRY_MAX_MS);
}

export function stopHistory(s) {
  clearTimeout(s.histTimer);
  s.histTimer = 0;
  if (s.histJob) stopJob(s.histJob);
  s.histJob = 0;
  s.histAnswer = null;
  if (s.history === 'loading') s.history = s.loaded ? 'lost' : 'none';
}

// The history is in: the phases, transactions, result and error are
// recomputed from every event other than a log line, in order (those
// read up to the state's lastEventId, then those received live since),
// exactly as if the page had followed the run from its start; and the
// lines drawn from the state get their event ids.
function applyHistory(s, h) {
  s.history = 'done';
  performance.mark('phasestream:history');
  const last = s.stateLast;
  const ids = h.logIds;
  if (ids.length === s.stateLines) {
    for (const l of s.pending) if (l.id === undefined && l.n <= ids.length) l.id = ids[l.n - 1];
    setLineIds(ids);
  }
  const marks = h.marks.concat(s.marks.filter((m) => m.id > last));
  s.marks = [];
  const wasTerminal = s.terminal;
  for (const p of s.phases) {
    p.state = 'pending';
    p.start = p.end = null;
  }
  s.terminal = false;
  for (const m of marks) applyEvent(s, m.type, m.d, m.t);
  if (!s.terminal && wasTerminal) finishFromState(s, s.st);
  if (s.terminal) endStream(s);
  scheduleRender();
}
