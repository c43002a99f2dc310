/*
 * logview.js: the terminal. Lines wait in s.pending and are drawn in
 * batches (flushLines, paced by render.js); the DOM keeps only the newest
 * MAX_LINES of them (MAX_LINES + TRIM_SLACK while the reader has scrolled
 * up), so a run with tens of thousands of lines stays responsive; the full
 * log is the state endpoint's, offered as a download. The terminal follows
 * new lines until the reader scrolls up, and again once they come back down
 * (term, the one state of its own it keeps across sessions).
 */
import { active, scheduleRender } from './state.js';
import { MAX_LINES, TRIM_SLACK } from './config.js';
import { clock, el, num, setText, ui } from './dom.js';
import { phaseTitle } from './labels.js';

const term = { follow: true, autoTop: 0, unseen: 0 };

export function flushLines(s) {
  if (!s.pending.length) return;
  let batch = s.pending;
  s.pending = [];
  if (batch.length > MAX_LINES) batch = batch.slice(batch.length - MAX_LINES);
  ui.lines.appendChild(linesFragment(s, batch));
  s.rendered += batch.length;
  const limit = term.follow ? MAX_LINES : MAX_LINES + TRIM_SLACK;
  if (s.rendered > limit) trimLines(s);
  const out = ui.output;
  if (term.follow) {
    out.scrollTop = out.scrollHeight;
    term.autoTop = out.scrollTop;
  } else {
    term.unseen += batch.length;
  }
}

// The lines, each phase's first one after a separator that names the phase.
function linesFragment(s, batch) {
  const frag = document.createDocumentFragment();
  for (const l of batch) {
    if (l.phase !== s.lastLinePhase) {
      s.lastLinePhase = l.phase;
      const p = s.phases.find((x) => x.name === l.phase);
      frag.appendChild(el('div', 'sep', p ? 'Phase ' + (s.phases.indexOf(p) + 1) + ' \u00b7 ' + phaseTitle(p) : String(l.phase || '')));
    }
    frag.appendChild(lineNode(l));
  }
  return frag;
}

// Drops the oldest lines down to MAX_LINES, keeping a reader who scrolled
// up where they are.
function trimLines(s) {
  const out = ui.output;
  const before = term.follow ? 0 : out.scrollHeight;
  let excess = s.rendered - MAX_LINES;
  const range = document.createRange();
  let last = null;
  for (let n = ui.lines.firstChild; n && excess > 0; n = n.nextSibling) {
    if (n.classList.contains('ln')) excess--;
    last = n;
  }
  if (last) {
    range.setStartBefore(ui.lines.firstChild);
    range.setEndAfter(last);
    range.deleteContents();
  }
  s.rendered = MAX_LINES;
  if (!term.follow) out.scrollTop -= before - out.scrollHeight;
}

// Glyphs that Debian's default fonts lack, drawn with ones they have: the
// verify lines' U+2705 (an emoji) is an empty box without an emoji font.
// A line drawn differently keeps its own text in data-raw.
const GLYPHS = /[\u2705\u274c]/g;
const GLYPH_FOR = { '\u2705': '\u2713', '\u274c': '\u2717' };

function msgNode(msg) {
  const shown = msg.replace(GLYPHS, (c) => GLYPH_FOR[c]);
  const span = el('span', 'msg', shown);
  if (shown !== msg) span.dataset.raw = msg;
  return span;
}

// Two elements a line: the time of day is drawn by CSS from data-time.
function lineNode(l) {
  const div = document.createElement('div');
  div.className = l.kind ? 'ln ' + l.kind : 'ln';
  div.dataset.n = l.n;
  if (l.id !== undefined) div.dataset.id = l.id;
  div.dataset.ts = l.ts;
  div.dataset.time = clock(l.ts);
  if (l.kind) div.appendChild(el('span', 'tag', l.kind === 'err' ? 'stderr' : 'notice'));
  div.appendChild(msgNode(l.msg));
  return div;
}

// The event ids of the drawn lines that came without one (from a state
// answer): ids[k - 1] is that of the line in place k of the log.
export function setLineIds(ids) {
  for (const n of ui.lines.querySelectorAll('.ln:not([data-id])')) {
    const k = Number(n.dataset.n);
    if (k >= 1 && k <= ids.length) n.dataset.id = ids[k - 1];
  }
}

export function renderTerminalChrome(s) {
  const hidden = s.logCount - s.rendered - s.pending.length;
  ui.trimmed.hidden = hidden <= 0;
  if (hidden > 0) {
    setText(ui.trimmed, num.format(hidden) + ' earlier ' + (hidden === 1 ? 'line is' : 'lines are') +
      ' not shown here, to keep the page fast. \u201cDownload log\u201d has the full output.');
  }
  ui.termEmpty.hidden = s.logCount > 0;
  setText(ui.termEmpty, s.status === 'idle' ? 'Output from each phase appears here, live.'
    : s.status === 'unknown' ? 'Nothing to show.' : active(s) ? 'Waiting for output\u2026' : 'This run wrote no output.');
  let count = s.logCount ? num.format(s.logCount) + (s.logCount === 1 ? ' line' : ' lines') : 'No lines yet';
  if (s.errCount) count += ' \u00b7 ' + num.format(s.errCount) + ' on stderr';
  setText(ui.lineCount, count);
  ui.follow.hidden = term.follow || s.rendered === 0;
  setText(ui.followText, term.unseen > 0 ? num.format(term.unseen) + ' new ' + (term.unseen === 1 ? 'line' : 'lines') + ' \u2013 jump to latest' : 'Jump to latest');
  ui.output.dataset.follow = term.follow ? 'on' : 'off';
}

// An empty terminal, following, for another session.
export function resetTerminal() {
  ui.lines.replaceChildren();
  term.follow = true;
  term.autoTop = 0;
  term.unseen = 0;
  ui.output.scrollTop = 0;
}

function toBottom() {
  ui.output.scrollTop = ui.output.scrollHeight;
  term.autoTop = ui.output.scrollTop;
}

function onScroll() {
  const o = ui.output;
  const atBottom = o.scrollHeight - o.scrollTop - o.clientHeight < 4;
  if (atBottom) {
    if (!term.follow) {
      term.follow = true;
      term.unseen = 0;
      term.autoTop = o.scrollTop;
      scheduleRender();
    }
  } else if (term.follow && o.scrollTop < term.autoTop - 2) {
    // The reader scrolled up: stop following until they come back down.
    term.follow = false;
    scheduleRender();
  }
}

export function wireTerminal() {
  ui.output.addEventListener('scroll', onScroll, { passive: true });
  // Lines laid out late (content-visibility, wrapping, a resized window)
  // change the height after the page scrolled: stay at the bottom.
  new ResizeObserver(() => {
    if (term.follow) toBottom();
  }).observe(ui.lines);
  ui.follow.addEventListener('click', () => {
    term.follow = true;
    term.unseen = 0;
    toBottom();
    scheduleRender();
  });
}
