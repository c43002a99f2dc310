/*
 * session.js: which session the page shows, and how it is opened.
 *
 * The page shows one session at a time, and its id lives in the URL
 * (?session=ID): a reload, a second tab or another browser shows the same
 * run. A run the page has just started (POST) is followed from its first
 * event. An existing session (the URL on load or reload, a second tab) is
 * opened in three steps, so that a long log costs one JSON document rather
 * than tens of thousands of EventSource events:
 *   1. the state endpoint, with every log line and lastEventId, the id of
 *      the last event that answer covers;
 *   2. the events 1..lastEventId read once (history.js). The first draw
 *      waits a moment for them; if they are slow, the page draws what the
 *      state says for certain and completes the picture when they arrive;
 *   3. the event stream from lastEventId on (stream.js), live, unless the
 *      session has already ended.
 * Both reads are the loader's (jobs.js); for the URL the page opens with,
 * they are asked for as soon as the script runs, alongside the pipeline.
 * When the stream gives up, or the server cannot be reached, the page asks
 * the state endpoint what became of the session (probe) and reopens the
 * stream after the last event it applied, backing off while the server is
 * unwell. A queued session's place in the queue is polled while shown.
 */
import { HISTORY_WAIT_MS, QUEUE_POLL_MS, RETRY_MAX_MS, SESSION_RE } from './config.js';
import { app, newSession, scheduleRender } from './state.js';
import { fetchState, serverTrouble } from './api.js';
import { troubleText } from './problem.js';
import { ui } from './dom.js';
import { openJob, stopJob } from './jobs.js';
import { clockSkew, lineOf, phaseOf } from './events.js';
import { finishFromState, openStream } from './stream.js';
import { awaitHistory, historyIn, stopHistory } from './history.js';
import { resetTerminal } from './logview.js';
import { addTx, resetTransactions } from './transactions.js';
import { resetResults } from './results.js';
import { formMessage } from './controls.js';

let early = null; // {id, job}: the session of the URL the page opened with

export function openEarly(id) {
  early = { id, job: openJob(id) };
}

function takeEarly(id) {
  const e = early;
  early = null;
  if (e && e.id !== id) stopJob(e.job.n);
  return e && e.id === id ? e.job : null;
}

// Stops all that works for the session shown.
export function detach() {
  const s = app.session;
  if (s.es) s.es.close();
  s.es = null;
  stopHistory(s);
  clearTimeout(s.recoverTimer);
  clearTimeout(s.queueTimer);
  s.recoverTimer = s.queueTimer = 0;
}

// fresh: a run this page has just started, followed from its first event.
export function show(id, fresh) {
  detach();
  const s = app.session = newSession(id);
  resetView();
  if (!id) {
    scheduleRender();
    return;
  }
  if (!SESSION_RE.test(id)) {
    s.status = 'unknown';
    s.invalid = true;
    s.terminal = true;
    s.conn = 'ended';
    scheduleRender();
    return;
  }
  s.loaded = !!fresh;
  scheduleRender();
  probe(s);
}

function resetView() {
  resetTerminal();
  resetTransactions();
  resetResults();
  formMessage('');
}

function follow(s) {
  openStream(s, (why) => retryLater(s, why));
}

// Opens an existing session: the state with every log line (read by the
// loader, which also reads the events behind it), drawn in one go, then
// the stream from the state's lastEventId on.
async function load(s) {
  s.recoverTimer = 0;
  const job = takeEarly(s.id) || openJob(s.id);
  s.histJob = job.n;
  const a = await job.state;
  if (s !== app.session || s.terminal) return;
  if (a.status === 0) return retryLater(s, 'The server cannot be reached.');
  if (a.status === 404 || a.status === 400) return notFound(s, a.status);
  if (a.status < 200 || a.status > 299) return retryLater(s, troubleText(a.status, a.error));
  if (a.malformed) return retryLater(s, 'The server sent a malformed answer.');
  // Visible in the browser's performance tools (and read by the tests).
  performance.mark('phasestream:state');
  clockSkew(s, a.date);
  // Without lastEventId (an older server) the page follows the stream from
  // its first event, as for a run started here.
  const last = Number.isSafeInteger(a.state.lastEventId) && a.state.lastEventId > 0 ? a.state.lastEventId : 0;
  if (!last) {
    stopHistory(s);
    s.loaded = true;
    noteState(s, a.state);
    follow(s);
    scheduleRender();
    return;
  }
  s.stateLast = last;
  s.history = 'loading';
  awaitHistory(s, job);
  // The first draw waits a moment for it, to be whole at once.
  await Promise.race([job.history, new Promise((res) => setTimeout(res, HISTORY_WAIT_MS))]);
  if (s !== app.session || s.terminal) return;
  applyState(s, a, last);
  if (s.histAnswer) historyIn(s);
  if (!s.terminal) follow(s);
  scheduleRender();
}

// Asks the state endpoint about the session, then (re)opens its stream
// after the last event the page has applied.
async function probe(s) {
  if (!s.loaded) return load(s);
  s.recoverTimer = 0;
  let r;
  try {
    r = await fetchState(s.id);
  } catch (e) {
    return retryLater(s, 'The server cannot be reached.');
  }
  if (s !== app.session) return;
  if (r.status === 404 || r.status === 400) return notFound(s, r.status);
  if (!r.ok) return retryLater(s, await serverTrouble(r));
  let st;
  try {
    st = await r.json();
  } catch (e) {
    return retryLater(s, 'The server sent a malformed answer.');
  }
  if (s !== app.session || s.terminal) return;
  clockSkew(s, r.headers.get('Date'));
  noteState(s, st);
  if (s.status === 'loading' && st.status === 'queued') s.status = 'queued';
  if (st.status === 'queued' && st.queuePosition) s.queuePosition = st.queuePosition;
  if (st.status === 'complete' || st.status === 'error') {
    // The stream brings the terminal event, unless the page is already
    // past it (the stream then answers 204); this also guards against a
    // stream that keeps ending without one.
    const last = Number.isSafeInteger(st.lastEventId) ? st.lastEventId : 0;
    if ((last > 0 && s.lastId >= last) || ++s.endedProbes > 2) return finishFromState(s, st);
  }
  follow(s);
  scheduleRender();
}

function notFound(s, code) {
  if (s.lastId > 0) {
    // It was here a moment ago: it expired while shown. Keep what the
    // page has, and say so.
    s.expired = true;
  } else {
    s.status = 'unknown';
    s.invalid = code === 400;
  }
  s.terminal = true;
  s.conn = 'ended';
  stopHistory(s);
  scheduleRender();
}

function noteState(s, st) {
  if (st.proofType && !s.proofType && app.pipeline.proofTypes.includes(st.proofType)) ui.type.value = st.proofType;
  s.proofType = st.proofType || s.proofType;
  if (st.startTime) s.startTime = Date.parse(st.startTime) || s.startTime;
}

function retryLater(s, why) {
  if (s !== app.session || s.terminal) return;
  s.conn = 'reconnecting';
  s.connProblem = why;
  clearTimeout(s.recoverTimer);
  s.recoverTimer = setTimeout(() => probe(s), s.retryDelay);
  s.retryDelay = Math.min(Math.round(s.retryDelay * 1.5), RETRY_MAX_MS);
  scheduleRender();
}

// The state answer drawn as it is: status, progress, results, the
// transactions' hashes and the log lines (the newest MAX_LINES of them go
// into the terminal). The phases get what the state says for certain;
// their times, skips, explorer links and the error code come with the
// history.
function applyState(s, a, last) {
  const st = a.state;
  s.loaded = true;
  noteState(s, st);
  const ended = st.status === 'complete' || st.status === 'error';
  s.status = ended || st.status === 'queued' ? st.status : 'running';
  if (typeof st.progress === 'number') s.progress = Math.max(0, Math.min(100, st.progress));
  if (typeof st.currentStep === 'string' && st.currentStep) s.step = st.currentStep;
  if (st.status === 'queued' && st.queuePosition) s.queuePosition = st.queuePosition;
  const named = typeof st.phase === 'string' && st.phase !== '' && st.phase !== 'queued' && st.phase !== 'complete';
  if (named) s.phase = st.phase;
  s.lastId = last;
  s.logCount = s.stateLines = a.count;
  s.errCount = a.errors;
  const from = a.count - a.tail.length;
  a.tail.forEach((d, i) => s.pending.push(lineOf(d, undefined, from + i + 1)));
  if (a.tail.length) s.lastLogTs = Date.parse(a.tail[a.tail.length - 1].timestamp) || null;
  s.st = st;
  if (Array.isArray(st.attestationResults)) for (const h of st.attestationResults) addTx(s, h);
  phasesFromState(s, st, a.perPhase, named);
  endFromState(s, st);
}

// The phases before the current one are behind it, done or (an optional
// phase whose only lines are the server's notices) skipped.
function phasesFromState(s, st, perPhase, named) {
  const cur = named ? s.phases.indexOf(phaseOf(s, st.phase, st.currentStep))
    : st.status === 'complete' ? s.phases.length : -1;
  for (let i = 0; i < s.phases.length && i <= cur; i++) {
    const p = s.phases[i];
    const c = perPhase[p.name];
    if (p.optional && c && c.all === c.notices) p.state = 'skipped';
    else if (i < cur || st.status === 'complete') p.state = 'done';
    else p.state = st.status === 'error' ? 'stopped' : 'running';
  }
}

function endFromState(s, st) {
  if (st.status === 'complete') {
    s.result = st;
    s.progress = 100;
    s.terminal = true;
    s.endTime = Date.parse(st.lastUpdate || '') || null;
  } else if (st.status === 'error') {
    // The error code is the terminal event's: unknown until the history is read.
    s.error = { error: st.error || 'The workflow failed', phase: st.phase, code: null };
    s.terminal = true;
    s.endTime = Date.parse(st.lastUpdate || '') || null;
  }
  if (s.terminal) s.conn = 'ended';
}

// While a session waits in the queue, its position is asked for every
// QUEUE_POLL_MS (the stream says only that it is queued).
export function ensureQueuePoll(s) {
  if (s.queueTimer) return;
  s.queueTimer = setTimeout(async () => {
    s.queueTimer = 0;
    if (s !== app.session || s.terminal || s.status !== 'queued') return;
    try {
      const r = await fetchState(s.id);
      if (r.ok) {
        const st = await r.json();
        if (s.status === 'queued' && st.status === 'queued' && st.queuePosition) s.queuePosition = st.queuePosition;
      }
    } catch (e) { /* the stream reports connection trouble */ }
    scheduleRender();
  }, QUEUE_POLL_MS);
}
