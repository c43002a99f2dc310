/*
 * render.js: one redraw of the page from the state of the session shown
 * (registered with state.js's onRender, so it runs once for any number of
 * changes). Each part draws only what differs from what is on the page.
 * Lines go into the terminal at most every LINES_EVERY_MS: in a burst (a
 * replay, a flood) each flush then carries many lines, and lines that would
 * be pushed out of the terminal at once are never drawn.
 */
import { LINES_EVERY_MS } from './config.js';
import { app, scheduleRender } from './state.js';
import { renderControls } from './controls.js';
import { buildPhases, renderPhases, renderProgress } from './phases.js';
import { announceState, renderConn, renderNotice } from './notice.js';
import { flushLines, renderTerminalChrome } from './logview.js';
import { renderResults } from './results.js';
import { renderTransactions } from './transactions.js';
import { ensureQueuePoll } from './session.js';

let lastFlush = 0;
let flushTimer = 0;
let measures = 0;

export function render() {
  const s = app.session;
  if (!s.phasesBuilt) buildPhases(s);
  renderControls(s);
  renderPhases(s);
  renderProgress(s);
  renderNotice(s);
  renderLines(s);
  renderTerminalChrome(s);
  renderResults(s);
  renderTransactions(s);
  renderConn(s);
  announceState(s);
  if (s.status === 'queued' && !s.terminal) ensureQueuePoll(s);
}

function renderLines(s) {
  const now = performance.now();
  if (s.pending.length && (now - lastFlush >= LINES_EVERY_MS || s.terminal)) {
    lastFlush = now;
    flushLines(s);
    // Visible in the browser's performance tools (and read by the tests):
    // what one terminal update costs, layout included.
    performance.measure('phasestream:terminal', { start: now, end: performance.now() });
    if (++measures > 1000) {
      performance.clearMeasures('phasestream:terminal');
      measures = 0;
    }
  } else if (s.pending.length && !flushTimer) {
    flushTimer = setTimeout(() => {
      flushTimer = 0;
      scheduleRender();
    }, LINES_EVERY_MS - (now - lastFlush));
  }
}
