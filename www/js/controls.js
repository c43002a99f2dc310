/*
 * controls.js: the run card: the proof type and the Run and Cancel buttons
 * (enabled as the pipeline, a POST out and the session allow), the message
 * under the form, the session's facts (link, type, start, elapsed) and the
 * download controls.
 */
import { app, active } from './state.js';
import { stateUrl } from './api.js';
import { duration, el, safeStorage, setText, ui } from './dom.js';
import { serverNow } from './events.js';
import { notReady, notReadyReason, typeLabel } from './readiness.js';

export function renderControls(s) {
  const busy = active(s);
  const { pipeline, pipelineLoaded, posting } = app;
  const waiting = !busy && pipelineLoaded && !!notReady(ui.type.value);
  ui.run.disabled = !pipelineLoaded || posting || busy || pipeline.proofTypes.length === 0 || waiting;
  renderReadiness(waiting);
  setText(ui.runLabel, posting ? 'Starting\u2026' : 'Run Complete Workflow');
  ui.type.disabled = !pipelineLoaded || posting || busy;
  ui.cancel.hidden = !(busy && s.status !== 'loading');
  ui.cancel.disabled = s.cancelling;
  setText(ui.cancelLabel, s.cancelling ? 'Cancelling\u2026' : 'Cancel');
  if (busy && s.proofType && pipeline.proofTypes.includes(s.proofType)) ui.type.value = s.proofType;

  ui.info.hidden = !s.id || (s.status === 'unknown');
  if (s.id) renderSessionInfo(s);
  const canDownload = !!s.id && s.status !== 'unknown' && s.status !== 'loading';
  ui.download.disabled = !canDownload;
  ui.downloadJson.hidden = !canDownload;
  ui.downloadJson.setAttribute('aria-disabled', String(!canDownload));
  ui.copyLink.hidden = !(navigator.clipboard && window.isSecureContext);
}

// Each type's readiness in its option; the selected one's, if it must wait,
// under the form.
function renderReadiness(waiting) {
  for (const o of ui.type.options) {
    if (app.pipeline.proofTypes.includes(o.value)) setText(o, typeLabel(o.value));
  }
  ui.readiness.hidden = !waiting;
  if (waiting) setText(ui.readiness, notReadyReason(ui.type.value));
}

function renderSessionInfo(s) {
  const href = '?session=' + encodeURIComponent(s.id);
  if (ui.sessionLink.getAttribute('href') !== href) {
    ui.sessionLink.href = href;
    ui.sessionLink.textContent = s.id;
  }
  setText(ui.sessionType, s.proofType || '\u2013');
  if (ui.sessionStart.dataset.t !== String(s.startTime)) {
    ui.sessionStart.dataset.t = String(s.startTime);
    ui.sessionStart.textContent = s.startTime ? new Date(s.startTime).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' }) : '\u2013';
  }
  const end = s.endTime || (s.terminal ? null : serverNow(s));
  setText(ui.sessionElapsed, s.startTime && end ? duration(end - s.startTime) : '\u2013');
  ui.downloadJson.href = stateUrl(s.id, true);
  ui.downloadJson.setAttribute('download', 'phasestream-' + s.id + '.json');
}

// The pipeline's proof types; the one this browser last ran is selected.
export function fillProofTypes() {
  const sel = ui.type;
  const remembered = safeStorage('get', 'proofType');
  sel.replaceChildren();
  for (const t of app.pipeline.proofTypes) {
    const o = document.createElement('option');
    o.value = t;
    o.textContent = typeLabel(t);
    sel.appendChild(o);
  }
  if (remembered && app.pipeline.proofTypes.includes(remembered)) sel.value = remembered;
  sel.disabled = app.pipeline.proofTypes.length === 0;
}

// A message under the form: what happened, and the server's own words.
export function formMessage(text, detail) {
  ui.formMsg.replaceChildren();
  if (text) ui.formMsg.appendChild(el('strong', '', text));
  if (detail) ui.formMsg.appendChild(el('span', 'form-detail', 'Server: ' + detail));
  ui.formMsg.hidden = !text;
}
