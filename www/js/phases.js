/*
 * phases.js: the run's progress as drawn: the list of phases (each with its
 * state and elapsed time, built once per session and then only updated),
 * the step line and progress bar, and the document's title.
 */
import { duration, el, setText, ui } from './dom.js';
import { serverNow } from './events.js';
import { errorTitle, phaseTitle } from './labels.js';

const STATE_LABEL = {
  pending: 'Pending', running: 'Running', done: 'Done', skipped: 'Skipped',
  failed: 'Failed', cancelled: 'Cancelled', stopped: 'Stopped',
};
const STATE_ICON = { done: '\u2713', skipped: '\u2013', failed: '\u2715', cancelled: '\u25a0', stopped: '\u25a0' };

export function buildPhases(s) {
  ui.phases.replaceChildren();
  s.phases.forEach((p, i) => {
    const li = document.createElement('li');
    li.className = 'phase';
    li.dataset.phase = p.name;
    const icon = document.createElement('span');
    icon.className = 'phase-icon';
    icon.setAttribute('aria-hidden', 'true');
    icon.textContent = String(i + 1);
    const body = document.createElement('span');
    body.className = 'phase-body';
    const eyebrow = el('span', 'phase-num', 'Phase ' + (i + 1));
    const title = el('span', 'phase-title', phaseTitle(p));
    const meta = el('span', 'phase-meta', '');
    const state = el('span', 'phase-state', '');
    const time = el('span', 'phase-time num', '');
    meta.append(state, time);
    body.append(eyebrow, title, meta);
    li.append(icon, body);
    p.el = { li, icon, state, time, n: i + 1 };
    ui.phases.appendChild(li);
  });
  s.phasesBuilt = true;
}

export function renderPhases(s) {
  const now = serverNow(s);
  for (const p of s.phases) {
    const e = p.el;
    if (!e) continue;
    const label = p.state === 'pending' && s.terminal && s.status !== 'unknown' ? 'Not run' : STATE_LABEL[p.state];
    if (e.li.dataset.state !== p.state) {
      e.li.dataset.state = p.state;
      e.icon.textContent = STATE_ICON[p.state] || String(e.n);
      if (p.state === 'running') e.li.setAttribute('aria-current', 'step');
      else e.li.removeAttribute('aria-current');
    }
    setText(e.state, label);
    let time = '';
    if (p.start !== null && p.state !== 'skipped' && (p.end !== null || p.state === 'running')) {
      time = duration(Math.max(0, (p.end !== null ? p.end : now) - p.start));
    }
    setText(e.time, time);
  }
}

function stepText(s) {
  if (s.status === 'idle') return 'Pick a proof type and run the workflow.';
  if (s.status === 'loading') return 'Loading the session\u2026';
  if (s.status === 'unknown') return 'No such session.';
  if (s.status === 'error') return errorTitle(s);
  if (s.status === 'queued') return s.queuePosition ? 'Waiting in the queue: position ' + s.queuePosition : (s.step || 'Waiting for a runner\u2026');
  return s.step || '\u2026';
}

export function renderProgress(s) {
  const step = stepText(s);
  setText(ui.stepText, step);
  const pct = Math.round(s.progress);
  setText(ui.pct, pct + '%');
  ui.bar.setAttribute('aria-valuenow', String(pct));
  ui.bar.setAttribute('aria-valuetext', pct + '%, ' + step);
  ui.barFill.style.width = pct + '%';
  const st = s.status === 'error' ? (s.error && s.error.code === 'cancelled' ? 'cancelled' : 'failed') : s.status;
  ui.bar.dataset.state = st;
  ui.statusCard.dataset.state = st;
  document.body.dataset.view = s.status === 'idle' ? 'idle' : s.status === 'unknown' ? 'unknown' : 'session';
  // Read by the tests: whether the events behind a state answer are in.
  document.body.dataset.history = s.history;
  document.title = titleFor(s, pct);
}

function titleFor(s, pct) {
  if (s.status === 'running') return pct + '% \u00b7 ' + (phaseTitle(s.phases.find((p) => p.name === s.phase)) || 'running') + ' \u2013 phasestream';
  if (s.status === 'queued') return 'Queued \u2013 phasestream';
  if (s.status === 'complete') return '\u2713 Complete \u2013 phasestream';
  if (s.status === 'error') return (s.error && s.error.code === 'cancelled' ? 'Cancelled' : '\u2715 Failed') + ' \u2013 phasestream';
  return 'phasestream';
}
