/*
 * notice.js: what the page says about the session in words: the notice
 * under the form (with its one action, "Start a new run" or "Run again"),
 * the connection badge in the header, and the announcements for screen
 * readers (collapsed over a short window, so that a replay announces where
 * the run is, not every step it went through). Until the pipeline is
 * loaded, the notice is the pipeline loader's (actions.js).
 */
import { app } from './state.js';
import { setText, ui } from './dom.js';
import { errorTitle, phaseLabel } from './labels.js';

let noticeAction = null; // 'new', 'again' or null: what the notice's button does

export function currentNoticeAction() {
  return noticeAction;
}

export function setNotice(kind, title, text, action) {
  if (!kind) {
    ui.notice.hidden = true;
    noticeAction = null;
    return;
  }
  ui.notice.hidden = false;
  ui.notice.dataset.kind = kind;
  setText(ui.noticeTitle, title);
  setText(ui.noticeText, text);
  ui.noticeText.hidden = !text;
  noticeAction = action;
  ui.noticeAction.hidden = !action;
  if (action === 'new') setText(ui.noticeAction, 'Start a new run');
  if (action === 'again') setText(ui.noticeAction, 'Run again');
}

export function renderNotice(s) {
  if (!app.pipelineLoaded) return; // the pipeline loader owns the notice until then
  if (s.status === 'unknown') return noticeUnknown(s);
  if (s.expired) {
    setNotice('error', 'This session has expired',
      'The server no longer keeps it, so the page cannot follow it any further. What is shown is what the page received.', 'new');
    return;
  }
  if (s.status === 'error') {
    const cancelled = s.error && s.error.code === 'cancelled';
    setNotice(cancelled ? 'neutral' : 'error', errorTitle(s), (s.error && s.error.error) || '', 'again');
    return;
  }
  if (s.conn === 'reconnecting' && !s.terminal) return noticeReconnecting(s);
  if (s.cancelling) {
    setNotice('neutral', 'Cancelling\u2026', 'The server is stopping the run.', null);
    return;
  }
  if (s.status === 'queued') {
    setNotice('info', s.queuePosition ? 'Waiting in the queue \u2013 position ' + s.queuePosition : 'Waiting for a runner',
      'The run starts as soon as a runner is free. You can cancel it while it waits.', null);
    return;
  }
  setNotice(null);
}

function noticeUnknown(s) {
  if (s.invalid) {
    setNotice('error', 'This link does not name a valid session',
      'Session ids are 8 to 64 letters, digits, "-" or "_". Check the link, or start a new run.', 'new');
  } else {
    setNotice('error', 'Session not found',
      'There is no session \u201c' + s.id + '\u201d on this server. It may have expired (sessions are kept for a limited time after their last activity) or the link may be incomplete.', 'new');
  }
}

function noticeReconnecting(s) {
  const why = s.connProblem ? s.connProblem.replace(/[\s.]*$/, '. ') : '';
  if (s.lastId === 0) {
    setNotice('warn', 'Waiting for the server \u2013 retrying\u2026', why + 'The page keeps trying and shows the run as soon as it can.', null);
  } else {
    setNotice('warn', 'Connection lost \u2013 reconnecting\u2026',
      why + 'The run goes on on the server; the page catches up without missing or repeating a line.', null);
  }
}

const CONN = {
  idle: ['idle', 'Ready'], connecting: ['connecting', 'Connecting\u2026'], live: ['live', 'Live'],
  reconnecting: ['reconnecting', 'Reconnecting\u2026'],
};

export function renderConn(s) {
  let state;
  let text;
  if (s.conn === 'ended') {
    state = 'ended';
    text = s.status === 'unknown' ? 'Not found' : s.status === 'complete' ? 'Finished' : 'Ended';
  } else {
    [state, text] = CONN[s.conn] || CONN.idle;
  }
  ui.conn.dataset.state = state;
  setText(ui.connText, text);
}

export function announceState(s) {
  const msg = stateMessage(s);
  if (msg && msg !== s.announced) {
    s.announced = msg;
    announce((s.reconnected && s.conn === 'live' ? 'Reconnected. ' : '') + msg);
    s.reconnected = false;
  }
}

function stateMessage(s) {
  if (s.status === 'unknown') return 'Session not found.';
  if (s.status === 'complete') return completeMessage(s);
  if (s.expired) return 'This session has expired.';
  if (s.status === 'error') return errorTitle(s) + '. ' + ((s.error && s.error.error) || '');
  if (s.conn === 'reconnecting') return 'Connection lost, reconnecting.';
  if (s.cancelling) return 'Cancelling.';
  if (s.status === 'queued') return s.queuePosition ? 'Queued, position ' + s.queuePosition + '.' : 'Queued.';
  if (s.status === 'running') {
    const p = s.phases.find((x) => x.name === s.phase);
    return p ? phaseLabel(s, p.name) + ' ' + (p.state === 'skipped' ? 'skipped' : 'running') + '.' : '';
  }
  return '';
}

function completeMessage(s) {
  const r = s.result || {};
  const vr = r.verificationResults || {};
  let proofs = 0;
  for (const list of Object.values(r.generatedProofs || {})) if (Array.isArray(list)) proofs += list.length;
  return 'Workflow complete. ' + proofs + ' proofs generated, ' + (vr.verified ?? 0) + ' verified, ' + s.txs.length + ' transactions.';
}

let announceTimer = 0;
function announce(msg) {
  clearTimeout(announceTimer);
  announceTimer = setTimeout(() => { ui.announcer.textContent = msg; }, 400);
}
