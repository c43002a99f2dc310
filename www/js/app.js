/*
 * app.js: the demo page's entry point (index.html loads it as a module; no
 * build step). It wires the page's controls to the modules that own them
 * and starts: the pipeline and, for a URL that names a session, that
 * session's state, both asked for at once.
 *
 * The modules, each owning one thing (each file's opening comment says more):
 *   config.js         where the API is; the page's bounds and timings
 *   state.js          the session shown (app.session); the redraw request
 *   session.js        which session is shown, and how it is opened
 *   stream.js         its live event stream, each event id applied once
 *   history.js        the events behind a state answer
 *   events.js         what each event does to the session (the model)
 *   jobs.js           the page's side of the loader
 *   loader.js         the big reads, off the page's thread
 *   loader.worker.js  the loader's module worker
 *   readiness.js      which proof types can run now (the pipeline's readiness)
 *   local.js          the local stack's explorer
 *   actions.js        the pipeline; starting, cancelling, downloading a run
 *   api.js            the API's addresses; small reads of the state
 *   problem.js        what an error answer says (page and loader)
 *   render.js         one redraw, by parts: controls.js (the run card),
 *                     phases.js (phases, progress, title), logview.js (the
 *                     terminal), results.js (the tiles), transactions.js,
 *                     notice.js (notice, connection badge, announcements)
 *   labels.js         the words for phases and for how a run ended
 *   dom.js            the page's elements; text and number helpers
 */
import { SESSION_RE } from './config.js';
import { app, active, onRender, scheduleRender } from './state.js';
import { ui } from './dom.js';
import { render } from './render.js';
import { wireTerminal } from './logview.js';
import { currentNoticeAction } from './notice.js';
import { openEarly, show } from './session.js';
import { cancelRun, downloadLog, loadPipeline, startRun } from './actions.js';
import { fillProofTypes } from './controls.js';
import { loadLocalStack } from './local.js';

function sessionFromUrl() {
  return new URLSearchParams(location.search).get('session');
}

// "Run again" starts the same proof type at once; "Start a new run" goes
// back to the form.
function onNoticeAction() {
  const action = currentNoticeAction();
  if (action === 'again') {
    const t = app.session.proofType;
    history.pushState(null, '', location.pathname);
    show(null);
    if (t && app.pipeline.proofTypes.includes(t)) {
      ui.type.value = t;
      startRun(t);
      return;
    }
  } else if (action === 'new') {
    history.pushState(null, '', location.pathname);
    show(null);
  }
  ui.type.focus();
}

async function copyLink() {
  try {
    await navigator.clipboard.writeText(new URL('?session=' + encodeURIComponent(app.session.id), location.href).href);
    ui.copyLink.textContent = 'Copied';
  } catch (e) {
    ui.copyLink.textContent = 'Copy failed';
  }
  setTimeout(() => { ui.copyLink.textContent = 'Copy link'; }, 2000);
}

function wire() {
  onRender(render);
  ui.form.addEventListener('submit', (e) => {
    e.preventDefault();
    if (!ui.run.disabled) startRun(ui.type.value);
  });
  ui.type.addEventListener('change', scheduleRender);
  ui.cancel.addEventListener('click', cancelRun);
  ui.download.addEventListener('click', downloadLog);
  ui.noticeAction.addEventListener('click', onNoticeAction);
  ui.copyLink.addEventListener('click', copyLink);
  wireTerminal();
  window.addEventListener('popstate', () => show(sessionFromUrl()));
  // Running clocks: elapsed times tick once a second while a run is live.
  setInterval(() => {
    if (active(app.session)) scheduleRender();
  }, 1000);
}

async function start() {
  const first = sessionFromUrl();
  if (first && SESSION_RE.test(first)) openEarly(first);
  scheduleRender();
  loadLocalStack();
  await loadPipeline();
  fillProofTypes();
  show(sessionFromUrl());
}

wire();
start();
