/*
 * actions.js: what the page asks of the server on its own or at a person's
 * request: the pipeline (retried until it comes, the notice saying why;
 * its readiness goes to readiness.js),
 * starting a run (POST), cancelling it (DELETE) and downloading its log.
 * Each says what went wrong under the form, in the server's own words too.
 */
import { API, RETRY_MAX_MS } from './config.js';
import { app, active, scheduleRender } from './state.js';
import { pipelineUrl, sessionUrl } from './api.js';
import { errorText } from './problem.js';
import { safeStorage, ui } from './dom.js';
import { formMessage } from './controls.js';
import { setNotice } from './notice.js';
import { detach, show } from './session.js';
import { logJob } from './jobs.js';
import { notReadyReason, refreshReadiness, setReadiness } from './readiness.js';

export async function loadPipeline() {
  let delay = 1000;
  for (;;) {
    try {
      const r = await fetch(pipelineUrl(), { cache: 'no-store' });
      if (!r.ok) throw new Error(r.status + ': ' + (await errorText(r)));
      const p = await r.json();
      if (!Array.isArray(p.proofTypes) || !Array.isArray(p.phases)) throw new Error('malformed pipeline');
      app.pipeline = p;
      app.pipelineLoaded = true;
      setReadiness(p);
      return;
    } catch (e) {
      setNotice('error', 'Cannot reach the server',
        'The page could not load the list of proof types (' + e.message + '). Retrying in ' + Math.round(delay / 1000) + ' s.', null);
      await new Promise((res) => setTimeout(res, delay));
      delay = Math.min(delay * 2, RETRY_MAX_MS);
    }
  }
}

export async function startRun(proofType) {
  if (app.posting || active(app.session)) return;
  const wait = notReadyReason(proofType);
  if (wait) {
    formMessage(wait);
    scheduleRender();
    return;
  }
  app.posting = true;
  formMessage('');
  scheduleRender();
  let r;
  try {
    r = await fetch(API, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify({ proofType }),
    });
  } catch (e) {
    app.posting = false;
    formMessage('The server cannot be reached. Check the connection and try again.');
    scheduleRender();
    return;
  }
  app.posting = false;
  if (r.status === 201) return started(r, proofType);
  const why = await errorText(r);
  if (r.status === 409) {
    // The type is not ready (the page's readiness was behind the server's).
    formMessage('This proof type cannot run yet.', why);
    refreshReadiness();
  } else if (r.status === 429) formMessage('The queue is full: too many runs are waiting. Try again in a minute.', why);
  else if (r.status === 503) formMessage('The server cannot reach its database (Redis), so no run can start now. Try again shortly.', why);
  else formMessage('The run could not start (HTTP ' + r.status + ').', why);
  scheduleRender();
}

// The run has started: the page shows it, and its link is the URL.
async function started(r, proofType) {
  let body = null;
  try {
    body = await r.json();
  } catch (e) { /* reported below */ }
  if (!body || !body.sessionId) {
    formMessage('The server started a run but sent a malformed answer.');
    scheduleRender();
    return;
  }
  safeStorage('set', 'proofType', proofType);
  history.pushState(null, '', '?session=' + encodeURIComponent(body.sessionId));
  show(body.sessionId, true);
  app.session.proofType = proofType;
}

export async function cancelRun() {
  const s = app.session;
  if (!active(s) || s.cancelling) return;
  s.cancelling = true;
  scheduleRender();
  let r;
  try {
    r = await fetch(sessionUrl(s.id), { method: 'DELETE' });
  } catch (e) {
    s.cancelling = false;
    formMessage('The cancel request did not reach the server. Try again.');
    scheduleRender();
    return;
  }
  if (r.status === 202 || r.status === 409) {
    // The stream brings the end (the cancelled error, or what ended it first).
    return;
  }
  s.cancelling = false;
  if (r.status === 404) {
    s.status = 'unknown';
    s.terminal = true;
    detach();
    s.conn = 'ended';
  } else {
    formMessage('The run could not be cancelled (HTTP ' + r.status + ').', await errorText(r));
  }
  scheduleRender();
}

export async function downloadLog() {
  const s = app.session;
  if (!s.id) return;
  ui.download.disabled = true;
  try {
    // The loader fetches the state and writes the text, off the page's thread.
    const answer = await logJob(s.id);
    if (!answer.blob) throw new Error(answer.error);
    saveFile(answer.blob, 'phasestream-' + s.id + '.log');
  } catch (e) {
    formMessage('The log could not be downloaded (' + e.message + ').');
  } finally {
    ui.download.disabled = false;
  }
}

function saveFile(blob, name) {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 60000);
}
