/*
 * stream.js: a session's live event stream (EventSource), from the event
 * after s.lastId on.
 *
 * The page applies each event id at most once (a replay after a reconnect
 * is dropped here), so nothing is ever shown twice. When the connection
 * drops, EventSource reconnects by itself with Last-Event-ID, and the
 * server resumes right after the last id the page saw. When the browser
 * gives up on its own (an HTTP error such as 502 or 503 rather than a
 * dropped connection), the stream calls the giveUp its opener passed,
 * which finds out why and opens it again. After the terminal event
 * (complete or error) the stream is closed for good (endStream).
 */
import { sessionUrl } from './api.js';
import { applyEvent, eventTime, onComplete, onError, onLog, serverNow } from './events.js';
import { app, scheduleRender } from './state.js';

export function openStream(s, giveUp) {
  const es = new EventSource(sessionUrl(s.id, s.lastId));
  s.es = es;
  es.onopen = () => {
    if (s.es !== es) return;
    s.lastArrival = Date.now();
    if (s.conn === 'reconnecting') s.reconnected = true;
    s.conn = 'live';
    s.connProblem = null;
    s.retryDelay = 1000;
    scheduleRender();
  };
  for (const type of ['status', 'log', 'transaction', 'complete']) {
    es.addEventListener(type, (e) => onEvent(s, es, type, e));
  }
  // "error" is both the server's terminal event (a MessageEvent with data)
  // and EventSource's own signal that the connection failed.
  es.addEventListener('error', (e) => {
    if (typeof e.data === 'string') onEvent(s, es, 'error', e);
    else onStreamError(s, es, giveUp);
  });
}

function onStreamError(s, es, giveUp) {
  if (s.es !== es) return;
  if (s.terminal) {
    es.close();
    return;
  }
  if (es.readyState === EventSource.CONNECTING) {
    // The browser retries by itself and sends Last-Event-ID.
    s.conn = 'reconnecting';
    s.connProblem = null;
    scheduleRender();
    return;
  }
  // The browser gave up (an HTTP error, or 204 after the end): find out why.
  es.close();
  s.es = null;
  giveUp(null);
}

function onEvent(s, es, type, e) {
  if (s.es !== es || s !== app.session) return;
  const id = parseInt(e.lastEventId, 10);
  if (Number.isFinite(id)) {
    if (id <= s.lastId) return; // already applied: a replay after a reconnect
    s.lastId = id;
  }
  let d;
  try {
    d = JSON.parse(e.data);
  } catch (err) {
    return;
  }
  if (!d || typeof d !== 'object') return;
  s.endedProbes = 0;
  const t = eventTime(s, d, type === 'log');
  if (type === 'log') {
    onLog(s, d, id);
  } else {
    // Kept until the history is in, to be applied again after it.
    if (s.history === 'loading') s.marks.push({ id, type, d, t });
    applyEvent(s, type, d, t);
  }
  if (s.terminal) endStream(s);
  scheduleRender();
}

// The session has ended: its stream is closed for good.
export function endStream(s) {
  if (s.es) s.es.close();
  s.es = null;
  s.conn = 'ended';
  clearTimeout(s.queueTimer);
}

// The state says the session has ended, and no terminal event will come.
export function finishFromState(s, st) {
  const t = Date.parse(st.lastUpdate || '') || serverNow(s);
  if (st.status === 'complete') onComplete(s, st, t);
  else onError(s, { error: st.error || 'The workflow failed', phase: st.phase, code: null }, t);
  endStream(s);
  scheduleRender();
}
