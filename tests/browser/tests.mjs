// Browser tests of the demo page (www/), run by ./run against a real stack
// (redis-server, phasestream, nginx) with tests/pipelines/browser.json.
//
// Each test drives Debian's chromium through playwright-core, asserts what a
// person would see (and what the server stored), and saves a screenshot in
// build/browser-screenshots/. One line per test; the last line is
// "browser: N passed, N failed".
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';

const BASE = process.env.PS_BASE_URL;
const NOKEY = process.env.PS_NOKEY_URL; // the same pipeline, without PRIVATE_KEY
const CONTROL = process.env.PS_CONTROL_URL;
const LOCAL_DIR = process.env.PS_LOCAL_DIR; // the stack's local/ status files (nginx serves them)
const READINESS = process.env.PS_READINESS; // the pipeline's readiness file (the server reads it)
const REAL_TXS = (process.env.PS_REAL_TXS || '').split(',').filter(Boolean); // attested on a real local chain
const RPC_URL = process.env.PS_RPC_URL; // that chain
const DEPLOYMENT_FILE = process.env.PS_DEPLOYMENT_FILE; // its contracts (scripts/chain)
const SHOTS = process.env.PS_SCREENSHOTS;
const CHROMIUM = process.env.PS_CHROMIUM || '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'];
const TEST_TIMEOUT_MS = 90000;
const MAX_DOM_LINES = 2000; // www/js/config.js MAX_LINES

if (!BASE || !CONTROL || !SHOTS) {
  console.error('tests.mjs is started by tests/browser/run, which provides the stack');
  process.exit(2);
}

const tests = [];
function test(slug, name, fn) {
  tests.push({ slug, name, fn });
}

// ------------------------------------------------------------- helpers --

class TestRun {
  constructor(browser, slug) {
    this.browser = browser;
    this.slug = slug;
    this.contexts = [];
    this.pages = [];
    this.sessions = [];
    this.notes = [];
    this.pageErrors = [];
  }

  // A page in a context of its own: another browser, as far as the page
  // can tell (no shared storage or connections).
  async page(options = {}) {
    const ctx = await this.browser.newContext({
      viewport: { width: 1280, height: 900 }, locale: 'en-US', colorScheme: 'light',
      acceptDownloads: true, ...options,
    });
    this.contexts.push(ctx);
    return this.tab(ctx);
  }

  // Another tab of the same browser context.
  async tab(ctx) {
    const page = await ctx.newPage();
    page.on('pageerror', (e) => this.pageErrors.push(e.message));
    this.pages.push(page);
    return page;
  }

  async shot(page, suffix) {
    // Let the last frame settle (bar transitions, lines scrolled into view).
    await page.evaluate(() => new Promise((res) => requestAnimationFrame(() => requestAnimationFrame(res))));
    await page.waitForTimeout(400);
    const file = path.join(SHOTS, this.slug + (suffix ? '-' + suffix : '') + '.png');
    await page.screenshot({ path: file, fullPage: true });
  }

  note(text) {
    this.notes.push(text);
  }

  async close() {
    for (const sid of this.sessions) await cancel(sid);
    for (const ctx of this.contexts) await ctx.close().catch(() => {});
  }
}

async function api(method, p, body) {
  const r = await fetch(BASE + p, {
    method,
    headers: body ? { 'Content-Type': 'application/json' } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await r.text();
  let json = null;
  try {
    json = JSON.parse(text);
  } catch (e) { /* not JSON */ }
  return { status: r.status, json, text };
}

async function create(t, proofType) {
  const r = await api('POST', '/api/workflow', { proofType });
  assert.equal(r.status, 201, r.text);
  t.sessions.push(r.json.sessionId);
  return r.json.sessionId;
}

async function state(sid, logs = true) {
  const r = await api('GET', '/api/workflow/state?sessionId=' + sid + (logs ? '' : '&logs=0'));
  assert.equal(r.status, 200, r.text);
  return r.json;
}

async function cancel(sid) {
  await api('DELETE', '/api/workflow?sessionId=' + sid).catch(() => {});
}

async function control(what) {
  const r = await fetch(CONTROL + '/' + what, { method: 'POST' });
  assert.equal(r.status, 200, what + ': ' + (await r.text()));
}

async function waitFor(pred, ms, what) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await pred();
    if (v) return v;
    if (Date.now() > end) throw new Error('timed out after ' + ms + ' ms waiting for ' + what);
    await new Promise((res) => setTimeout(res, 50));
  }
}

async function waitStatus(sid, statuses, ms = 20000) {
  return waitFor(async () => {
    const st = await state(sid, false);
    return statuses.includes(st.status) && st;
  }, ms, 'session ' + sid + ' to be ' + statuses.join(' or '));
}

function sessionOf(page) {
  return new URL(page.url()).searchParams.get('session');
}

// Picks a proof type and presses "Run Complete Workflow", as a person would.
async function runFromPage(t, page, proofType) {
  if (!page.url().startsWith(BASE)) await page.goto(BASE + '/');
  await page.getByLabel('Proof type', { exact: true }).selectOption(proofType);
  await page.getByRole('button', { name: 'Run Complete Workflow' }).click();
  await page.waitForURL(/\?session=[A-Za-z0-9_-]+$/);
  const sid = sessionOf(page);
  t.sessions.push(sid);
  return sid;
}

// A session opened from its state gets its lines' event ids (and its phase
// times, skips, explorer links, error code) once the events behind the state
// are read: body[data-history] is "loading" until then.
async function historyIn(page) {
  await page.waitForSelector('body:not([data-history="loading"])', { timeout: 15000 });
}

async function pageLines(page) {
  await historyIn(page);
  return page.$$eval('#lines .ln', (ns) => ns.map((n) => ({
    id: Number(n.dataset.id),
    n: Number(n.dataset.n),
    ts: n.dataset.ts,
    msg: n.querySelector('.msg').dataset.raw ?? n.querySelector('.msg').textContent,
    kind: n.classList.contains('err') ? 'err' : n.classList.contains('warn') ? 'warn' : '',
  })));
}

async function lineCount(page) {
  return page.$$eval('#lines .ln', (ns) => ns.length);
}

// The page's lines are the state endpoint's log: same lines, same order,
// stderr marked, each with its place in the log (data-n; `from` lines are
// left out at the start) and its event id, each id once.
function assertSameAsLog(lines, logs, what, from = 0) {
  assert.equal(lines.length, logs.length,
    what + ': ' + lines.length + ' lines on the page, ' + logs.length + ' in the state endpoint\'s log');
  for (let i = 0; i < logs.length; i++) {
    assert.equal(lines[i].msg, logs[i].message, what + ': line ' + (i + 1));
    assert.equal(lines[i].ts, logs[i].timestamp, what + ': timestamp of line ' + (i + 1));
    assert.equal(lines[i].kind === 'err', logs[i].stream === 'stderr', what + ': stderr marking of line ' + (i + 1));
    assert.equal(lines[i].n, from + i + 1, what + ': place in the log of line ' + (i + 1));
    assert.ok(Number.isInteger(lines[i].id) && lines[i].id > 0, what + ': event id of line ' + (i + 1));
    if (i > 0) assert.ok(lines[i].id > lines[i - 1].id, what + ': event ids increase at line ' + (i + 1));
  }
}

// The session's events as the stream serves them from the start (the
// session has ended, so the stream ends): [{id, type, data}].
async function storedEvents(sid) {
  const r = await fetch(BASE + '/api/workflow?sessionId=' + sid);
  assert.equal(r.status, 200);
  const events = [];
  for (const block of (await r.text()).split('\n\n')) {
    const ev = {};
    for (const line of block.split('\n')) {
      const m = /^(id|event|data): ?(.*)$/.exec(line);
      if (m) ev[m[1]] = m[2];
    }
    if (ev.data !== undefined) events.push({ id: Number(ev.id), type: ev.event, data: JSON.parse(ev.data) });
  }
  return events;
}

// The ids of the page's lines are those of the log events: nothing missing,
// nothing repeated, nothing out of place.
async function assertLogIds(lines, sid, what, from = 0) {
  const ids = (await storedEvents(sid)).filter((e) => e.type === 'log').map((e) => e.id);
  assert.deepEqual(lines.map((l) => l.id), ids.slice(from, from + lines.length), what + ': the lines\' event ids');
}

async function waitEnded(page, ms = 30000) {
  await page.waitForSelector('#conn[data-state="ended"]', { timeout: ms });
}

async function text(page, selector) {
  return (await page.textContent(selector)).trim();
}

async function phaseStates(page) {
  return page.$$eval('#phases .phase', (ns) => ns.map((n) => ({
    name: n.dataset.phase,
    state: n.dataset.state,
    label: n.querySelector('.phase-state').textContent,
    time: n.querySelector('.phase-time').textContent,
  })));
}

// GET requests to the event stream: EventSource's, and the page's one read
// of the events behind a state answer (a fetch).
function streamRequests(page, kind) {
  const seen = [];
  page.on('request', (r) => {
    const u = new URL(r.url());
    const type = r.resourceType() === 'eventsource' ? 'eventsource' : 'fetch';
    if (u.pathname === '/api/workflow' && r.method() === 'GET' && (!kind || kind === type)) seen.push(u.search);
  });
  return seen;
}

// What the page shows of a session, but for the terminal's lines: compared
// between the live view and the view of the same session after a reload.
async function view(page) {
  await historyIn(page);
  return viewNow(page);
}

async function viewNow(page) {
  return page.evaluate(() => {
    const t = (sel) => (document.querySelector(sel) ? document.querySelector(sel).textContent.trim() : null);
    const notice = document.getElementById('notice');
    return {
      title: document.title,
      conn: t('#conn-text'),
      notice: notice.hidden ? null : [notice.dataset.kind, t('#notice-title'), t('#notice-text')],
      phases: [...document.querySelectorAll('#phases .phase')].map((n) => [n.dataset.phase, n.dataset.state,
        n.querySelector('.phase-state').textContent, n.querySelector('.phase-time').textContent]),
      step: t('#step-text'),
      pct: t('#pct'),
      bar: document.getElementById('bar').dataset.state,
      elapsed: t('#session-elapsed'),
      results: [t('#results-note'), t('#r-proofs'), t('#r-verified'), t('#r-circuits'), t('#r-gas'), t('#r-gas-sub')],
      chips: [...document.querySelectorAll('#r-proof-types .chip')].map((n) => n.textContent),
      txs: [...document.querySelectorAll('#txs .tx')].map((n) => [n.querySelector('.tx-hash').textContent,
        n.querySelector('a') ? n.querySelector('a').href : null,
        n.querySelector('.tx-nolink') ? n.querySelector('.tx-nolink').textContent : null]),
      txsEmpty: document.getElementById('txs-empty').hidden ? null : t('#txs-empty'),
      lineCount: t('#line-count'),
      cancel: !document.getElementById('cancel').hidden,
    };
  });
}

// A reload of an ended session shows it as it was shown live, from the state
// and the events behind it, without an EventSource.
async function assertSameAfterReload(t, page) {
  const live = await view(page);
  const lines = await pageLines(page);
  const sources = streamRequests(page, 'eventsource');
  await page.reload();
  await waitEnded(page);
  const again = await view(page);
  assert.deepEqual(again, live, 'the reloaded view is the live one');
  assert.deepEqual(await pageLines(page), lines, 'the reloaded terminal is the live one');
  assert.deepEqual(sources, [], 'no event stream for an ended session');
  await t.shot(page, 'reloaded');
}

// --------------------------------------------------------------- tests --

test('full-run', 'a full run reaches the results panel with the right figures', async (t) => {
  const page = await t.page();
  const announcements = [];
  await page.exposeFunction('__announced', (s) => announcements.push(s));
  await page.goto(BASE + '/');
  await page.evaluate(() => new MutationObserver(() => window.__announced(document.getElementById('announcer').textContent))
    .observe(document.getElementById('announcer'), { childList: true, characterData: true, subtree: true }));
  const sid = await runFromPage(t, page, 'fast');
  await page.waitForSelector('#results[data-state="complete"]');
  await waitEnded(page);
  const st = await state(sid);
  assert.equal(st.status, 'complete');

  assert.equal(await text(page, '#r-proofs'), '6');
  const chips = await page.$$eval('#r-proof-types .chip', (ns) =>
    Object.fromEntries(ns.map((n) => [n.dataset.type, n.querySelector('.chip-num').textContent])));
  assert.deepEqual(chips, { groth16: '3', plonk: '2', stark: '1' });
  assert.equal(await text(page, '#r-verified'), '6');
  assert.equal(await text(page, '#r-circuits'), '6 circuits verified');
  assert.equal(await text(page, '#r-gas'), '1,200,000');

  const txs = await page.$$eval('#txs .tx', (ns) => ns.map((n) => ({
    hash: n.querySelector('.tx-hash').textContent,
    href: n.querySelector('a') ? n.querySelector('a').href : null,
    nolink: n.querySelector('.tx-nolink') ? n.querySelector('.tx-nolink').textContent : null,
  })));
  assert.deepEqual(txs.map((x) => x.hash), st.attestationResults);
  assert.equal(txs.length, 2);
  assert.equal(txs[0].href, 'https://explorer.test/tx/' + txs[0].hash);
  assert.equal(txs[1].href, null, 'a transaction without an explorer URL has no link');
  assert.equal(txs[1].nolink, 'no explorer configured');
  assert.equal(await text(page, '#tx-count'), '2');

  const phases = await phaseStates(page);
  assert.deepEqual(phases.map((p) => [p.name, p.state, p.label]),
    [['generating', 'done', 'Done'], ['verifying', 'done', 'Done'], ['attesting', 'done', 'Done']]);
  for (const p of phases) assert.match(p.time, /^(\d+\.\d|< 0\.1) s$/, 'elapsed time of ' + p.name);
  assert.equal(await text(page, '#pct'), '100%');
  assert.equal(await page.getAttribute('#bar', 'aria-valuenow'), '100');
  assert.equal(await text(page, '#step-text'), 'Workflow complete!');
  assert.equal(await text(page, '#conn-text'), 'Finished');
  assert.ok((await page.title()).includes('Complete'), 'the title says the run is complete');

  const lines = await pageLines(page);
  assertSameAsLog(lines, st.logs, 'full run');
  assert.deepEqual(lines.filter((l) => l.kind === 'err').map((l) => l.msg), ['warning: using the test trusted setup']);
  // The verify lines' emoji check mark is drawn with one the default fonts
  // have (headless Chromium on Debian has no emoji font).
  const verify = await page.$$eval('#lines .ln .msg', (ns) =>
    ns.map((n) => n.textContent).filter((m) => m.includes('proof Verified')));
  assert.equal(verify.length, 6, 'six verify lines');
  for (const v of verify) assert.match(v, /^\u2713 circuit_\w+ proof Verified$/, 'a verify line as drawn: ' + v);
  assert.equal(await text(page, '#line-count'), st.logs.length + ' lines \u00b7 1 on stderr');

  assert.ok(await page.isHidden('#cancel'), 'no Cancel button once the run is over');
  assert.ok(await page.isEnabled('#run'), 'a new run can start');
  await waitFor(() => announcements.some((a) => a.startsWith('Workflow complete. 6 proofs generated, 6 verified, 2 transactions')),
    3000, 'the completion to be announced');
  await t.shot(page);
  await assertSameAfterReload(t, page);
});

test('finished', 'a finished session shows its final state and opens no stream', async (t) => {
  const sid = await create(t, 'fast');
  await waitStatus(sid, ['complete']);
  const page = await t.page();
  const sources = streamRequests(page, 'eventsource');
  const reads = streamRequests(page, 'fetch');
  await page.goto(BASE + '/?session=' + sid);
  await page.waitForSelector('#results[data-state="complete"]');
  await waitEnded(page);
  const st = await state(sid);
  const lines = await pageLines(page);
  assertSameAsLog(lines, st.logs, 'finished session');
  await assertLogIds(lines, sid, 'finished session');
  assert.equal(await text(page, '#r-proofs'), '6');
  // What only the events say: when each phase ran, the explorer links.
  const phases = await phaseStates(page);
  assert.deepEqual(phases.map((p) => p.state), ['done', 'done', 'done']);
  for (const p of phases) assert.match(p.time, /^(\d+\.\d|< 0\.1) s$/, 'elapsed time of ' + p.name);
  const links = await page.$$eval('#txs .tx', (ns) => ns.map((n) => (n.querySelector('a') ? 'link' : n.querySelector('.tx-nolink') ? 'none' : '?')));
  assert.deepEqual(links, ['link', 'none']);
  // The state and the events behind it were read off the page's thread, by
  // the loader's worker (the page reads them itself only where none runs).
  const workers = page.workers();
  assert.equal(workers.length, 1, 'one worker');
  const byWorker = await workers[0].evaluate(() => performance.getEntriesByType('resource').map((e) => e.name.replace(location.origin, '')));
  assert.deepEqual(byWorker.sort(), ['/api/workflow/state?sessionId=' + sid, '/api/workflow?sessionId=' + sid].sort(), 'the worker\'s reads');
  // Longer than the stream's retry (3 s): nothing reconnects.
  await page.waitForTimeout(4000);
  assert.deepEqual(sources, [], 'no EventSource for a session that has ended');
  assert.deepEqual(reads, ['?sessionId=' + sid], 'the stored events are read once');
  assert.equal(await text(page, '#conn-text'), 'Finished');
  assert.ok(await page.isHidden('#notice'), 'no warning on a finished session');
  await t.shot(page);
});

test('reload', 'a reload in the middle of a run ends with the state endpoint\'s log: no gap or repeat where state and stream meet, with lines arriving there', async (t) => {
  const page = await t.page();
  const sid = await runFromPage(t, page, 'slow');
  await waitFor(async () => (await lineCount(page)) >= 8, 15000, '8 lines');
  assert.equal((await state(sid, false)).status, 'running', 'the reload happens mid-run');
  const before = await lineCount(page);
  // The reloaded page's state answer is held back 600 ms after the server
  // made it, while the run writes a line every 100 ms: the lines written in
  // between come after the answer's lastEventId, so they must come over the
  // stream, which the page opens only once it has drawn the state.
  const HOLD_MS = 600;
  let held = null;
  await page.route((u) => u.pathname === '/api/workflow/state' && !u.searchParams.has('logs'), async (route) => {
    const response = await route.fetch();
    const body = await response.text();
    held = { at: Date.now(), state: JSON.parse(body) };
    await new Promise((res) => setTimeout(res, HOLD_MS));
    await route.fulfill({ response, body });
  });
  const sources = [];
  page.on('request', (r) => {
    if (r.resourceType() === 'eventsource') sources.push(new URL(r.url()));
  });
  await page.reload();
  assert.equal(sessionOf(page), sid);
  await page.waitForSelector('#phases .phase[data-state="running"]');
  await t.shot(page, 'after-reload');
  await waitEnded(page);
  const st = await state(sid);
  assert.equal(st.status, 'complete');
  assert.ok(st.logs.length > before + 10, 'the run went on after the reload');

  assert.ok(held, 'the page asked for the state');
  const seam = held.state;
  const k = seam.logs.length;
  assert.equal(seam.status, 'running', 'the state answer is from the middle of the run');
  assert.deepEqual(st.logs.slice(0, k), seam.logs, 'the state answer\'s log is the start of the final one');
  assert.equal(sources.length, 1, 'one EventSource: ' + sources.map(String).join(' '));
  assert.equal(sources[0].searchParams.get('lastEventId'), String(seam.lastEventId),
    'the stream starts after the state answer\'s last event');
  // Lines the server wrote while the answer was held: after the seam, and
  // before the stream was opened.
  const between = st.logs.slice(k).filter((l) => Date.parse(l.timestamp) < held.at + HOLD_MS - 100).length;
  assert.ok(between >= 3, between + ' lines written between the state answer and the stream');

  const lines = await pageLines(page);
  assertSameAsLog(lines, st.logs, 'after reload');
  await assertLogIds(lines, sid, 'after reload');
  assert.ok(lines[k - 1].id <= seam.lastEventId && lines[k].id > seam.lastEventId, 'the state\'s lines end at lastEventId');
  t.note(before + ' lines before the reload, ' + k + ' in the state answer (lastEventId ' + seam.lastEventId + '), ' +
    between + ' written while it was held, ' + st.logs.length + ' at the end');
  await t.shot(page);
});

test('second-tab', 'a second tab and another browser on the same URL show the same lines', async (t) => {
  const first = await t.page();
  const sid = await runFromPage(t, first, 'slow');
  await waitFor(async () => (await lineCount(first)) >= 5, 15000, '5 lines');
  const second = await t.tab(first.context());
  await second.goto(first.url());
  // The other browser has no Worker: the page reads the state and the
  // events behind it itself.
  const other = await t.page({ colorScheme: 'dark' });
  await other.addInitScript(() => { delete window.Worker; });
  await other.goto(first.url());
  assert.equal(await other.evaluate(() => typeof Worker), 'undefined');
  await Promise.all([waitEnded(first), waitEnded(second), waitEnded(other)]);
  const st = await state(sid);
  assert.equal(st.status, 'complete');
  for (const [p, what] of [[first, 'first tab'], [second, 'second tab'], [other, 'other browser']]) {
    const lines = await pageLines(p);
    assertSameAsLog(lines, st.logs, what);
    await assertLogIds(lines, sid, what);
  }
  // Opened in the middle of the run, from the state, they end as the tab
  // that followed it from the start.
  const live = await view(first);
  assert.deepEqual(await view(second), live, 'the second tab shows what the first shows');
  assert.deepEqual(await view(other), live, 'the other browser shows what the first shows');
  for (const p of [second, other]) assert.equal(await text(p, '#r-gas'), '1,200,000');
  await t.shot(second, 'second-tab');
  await t.shot(other, 'other-browser-dark');
});

test('drop', 'a dropped connection shows "reconnecting" and recovers without gaps or repeats', async (t) => {
  const page = await t.page();
  const streams = streamRequests(page);
  const sid = await runFromPage(t, page, 'slow');
  await waitFor(async () => (await lineCount(page)) >= 5, 15000, '5 lines');
  await control('nginx/stop');
  const dropped = Date.now();
  try {
    await page.waitForSelector('#conn[data-state="reconnecting"]', { timeout: 10000 });
    assert.match(await text(page, '#notice-title'), /^Connection lost/);
    await t.shot(page, 'reconnecting');
    await page.waitForTimeout(1500);
  } finally {
    await control('nginx/start');
  }
  await page.waitForSelector('#conn[data-state="live"], #conn[data-state="ended"]', { timeout: 15000 });
  const recovered = Date.now() - dropped;
  await waitEnded(page);
  const st = await state(sid);
  assert.equal(st.status, 'complete');
  assertSameAsLog(await pageLines(page), st.logs, 'after the drop');
  assert.ok(streams.length >= 2, 'the page reconnected: ' + streams.length + ' stream requests');
  assert.ok(await page.isHidden('#notice'), 'the reconnecting notice is gone');
  t.note('back ' + recovered + ' ms after the drop, ' + streams.length + ' stream requests');
  await t.shot(page);
});

test('autoscroll', 'the terminal follows new lines, pauses while the reader scrolls up, and resumes at the bottom', async (t) => {
  const page = await t.page({ viewport: { width: 1100, height: 560 } });
  const sid = await runFromPage(t, page, 'slow');
  const out = page.locator('#output');
  const metrics = () => out.evaluate((o) => ({ top: o.scrollTop, bottom: o.scrollHeight - o.scrollTop - o.clientHeight, lines: o.querySelectorAll('.ln').length }));
  await waitFor(async () => {
    const m = await metrics();
    return m.lines >= 20 && m.top > 0;
  }, 15000, 'the terminal to fill and scroll');
  assert.ok((await metrics()).bottom < 4, 'following: at the bottom');
  assert.equal(await text(page, '#announcer'), 'Phase 1 (Generating proofs) running.', 'the running phase is announced');
  assert.ok(await page.isHidden('#follow'));

  await out.hover();
  await page.mouse.wheel(0, -200);
  await page.waitForSelector('#follow', { state: 'visible' });
  const paused = await metrics();
  await waitFor(async () => (await metrics()).lines >= paused.lines + 5, 10000, 'more lines');
  const later = await metrics();
  assert.equal(later.top, paused.top, 'the view stays where the reader put it');
  assert.ok(later.bottom > 20, 'new lines went below the view');
  assert.match(await text(page, '#follow-text'), /new lines? \u2013 jump to latest$/);
  await t.shot(page, 'paused');

  await page.click('#follow');
  assert.ok((await metrics()).bottom < 4, 'back at the bottom');
  const resumed = await metrics();
  await waitFor(async () => (await metrics()).lines >= resumed.lines + 3, 10000, 'more lines');
  assert.ok((await metrics()).bottom < 4, 'following again');
  assert.ok(await page.isHidden('#follow'));
  await waitEnded(page);
  await t.shot(page);
  assert.equal((await state(sid, false)).status, 'complete');
});

test('cancel', 'Cancel stops a running workflow and the page shows the cancelled state', async (t) => {
  const page = await t.page();
  const sid = await runFromPage(t, page, 'hang');
  await page.waitForSelector('#phases .phase[data-phase="generating"][data-state="running"]');
  await page.waitForSelector('#lines .ln >> text=Waiting for a prover to become free');
  await page.getByRole('button', { name: 'Cancel' }).click();
  await waitEnded(page, 15000);
  assert.equal(await text(page, '#notice-title'), 'Cancelled during Phase 1 (Generating proofs)');
  assert.equal(await page.getAttribute('#notice', 'data-kind'), 'neutral');
  const phases = await phaseStates(page);
  assert.deepEqual(phases.map((p) => [p.state, p.label]),
    [['cancelled', 'Cancelled'], ['pending', 'Not run'], ['pending', 'Not run']]);
  assert.equal(await page.getAttribute('#bar', 'data-state'), 'cancelled');
  const st = await state(sid, false);
  assert.equal(st.status, 'error');
  assert.match(st.error, /[Cc]ancel/);
  assert.ok(await page.isHidden('#cancel'));
  assert.ok(await page.isEnabled('#run'));
  await t.shot(page);
  await assertSameAfterReload(t, page);
});

test('fail', 'a failing phase shows its exit code and its stderr', async (t) => {
  const page = await t.page();
  const sid = await runFromPage(t, page, 'fail');
  await waitEnded(page);
  assert.equal(await text(page, '#notice-title'), 'Phase 1 (Generating proofs) failed with exit code 3');
  assert.match(await text(page, '#notice-text'), /constraint 17 of circuit_b is not satisfied/);
  assert.equal(await page.getAttribute('#notice', 'data-kind'), 'error');
  await waitFor(async () => (await text(page, '#announcer')).startsWith('Phase 1 (Generating proofs) failed with exit code 3. Phase generating failed'),
    3000, 'the failure to be announced');
  const phases = await phaseStates(page);
  assert.deepEqual(phases.map((p) => [p.state, p.label]),
    [['failed', 'Failed'], ['pending', 'Not run'], ['pending', 'Not run']]);
  assert.equal(await page.getAttribute('#bar', 'data-state'), 'failed');
  const st = await state(sid);
  const lines = await pageLines(page);
  assertSameAsLog(lines, st.logs, 'failed run');
  const err = lines.find((l) => l.kind === 'err');
  assert.equal(err.msg, 'error: constraint 17 of circuit_b is not satisfied');
  const color = await page.$eval('#lines .ln.err .msg', (n) => getComputedStyle(n).color);
  const plain = await page.$eval('#lines .ln:not(.err) .msg', (n) => getComputedStyle(n).color);
  assert.notEqual(color, plain, 'stderr lines look different');
  assert.ok((await page.title()).includes('Failed'));
  assert.equal(await text(page, '#results-note'), 'The run did not complete');
  await t.shot(page);
  await assertSameAfterReload(t, page);

  // When the events behind the state are slow to come, the page shows what
  // the state says for certain, and nothing it does not know: no phase
  // times, and not what kind of failure it was.
  const live = await view(page);
  let release;
  const gate = new Promise((res) => { release = res; });
  const history = (u) => u.pathname === '/api/workflow' && u.searchParams.get('sessionId') === sid && !u.searchParams.has('lastEventId');
  await page.route(history, async (route) => {
    await gate;
    await route.continue();
  });
  try {
    await page.reload();
    await waitEnded(page);
    await page.waitForTimeout(1000); // past the page's wait for them
    assert.equal(await page.getAttribute('body', 'data-history'), 'loading');
    const interim = await viewNow(page);
    assert.deepEqual(interim.phases, [['generating', 'stopped', 'Stopped', ''], ['verifying', 'pending', 'Not run', ''],
      ['attesting', 'pending', 'Not run', '']]);
    assert.deepEqual(interim.notice, ['error', 'The run stopped during Phase 1 (Generating proofs)', live.notice[2]]);
    assert.equal(interim.lineCount, live.lineCount);
    assert.equal(await lineCount(page), st.logs.length);
    await t.shot(page, 'history-pending');
  } finally {
    release();
  }
  assert.deepEqual(await view(page), live, 'once the events are in, the view is the live one');
  await page.unroute(history);
});

test('timeout', 'a phase that outlives its timeout is reported as timed out', async (t) => {
  const page = await t.page();
  await runFromPage(t, page, 'stall');
  await waitEnded(page, 20000);
  assert.equal(await text(page, '#notice-title'), 'Phase 2 (Verifying proofs) timed out');
  const phases = await phaseStates(page);
  assert.deepEqual(phases.map((p) => p.state), ['done', 'failed', 'pending']);
  assert.match(phases[1].time, /^[3-9]\.\d s$/, 'the verifying phase ran for its 3 s timeout');
  await t.shot(page);
  await assertSameAfterReload(t, page);
});

test('skipped', 'a skipped phase shows as skipped, with the server\'s warning in the terminal', async (t) => {
  const page = await t.page();
  await page.goto(NOKEY + '/');
  await page.getByLabel('Proof type', { exact: true }).selectOption('fast');
  await page.getByRole('button', { name: 'Run Complete Workflow' }).click();
  await page.waitForURL(/\?session=/);
  await waitEnded(page);
  const phases = await phaseStates(page);
  assert.deepEqual(phases.map((p) => [p.state, p.label]), [['done', 'Done'], ['done', 'Done'], ['skipped', 'Skipped']]);
  assert.equal(phases[2].time, '', 'no elapsed time for a skipped phase');
  const warn = await page.$$eval('#lines .ln.warn', (ns) => ns.map((n) => [n.querySelector('.tag').textContent, n.querySelector('.msg').textContent]));
  assert.deepEqual(warn, [['notice', 'WARNING: PRIVATE_KEY not configured. Skipping attestation.']]);
  assert.equal(await text(page, '#tx-count'), '0');
  assert.equal(await text(page, '#txs-empty'), 'This run sent no transactions.');
  assert.equal(await text(page, '#r-proofs'), '6');
  await t.shot(page);
  await assertSameAfterReload(t, page);
});

test('unknown', 'an unknown session says so plainly and offers a new run', async (t) => {
  const page = await t.page();
  const streams = streamRequests(page);
  await page.goto(BASE + '/?session=noSuchSession0001');
  await page.waitForSelector('#notice:not([hidden])');
  assert.equal(await text(page, '#notice-title'), 'Session not found');
  assert.match(await text(page, '#notice-text'), /noSuchSession0001.*expired/);
  assert.equal(await text(page, '#conn-text'), 'Not found');
  assert.deepEqual(streams, [], 'no event stream for a session that does not exist');
  assert.ok(await page.isHidden('#session-info'));
  await t.shot(page);

  await page.getByRole('button', { name: 'Start a new run' }).click();
  assert.equal(new URL(page.url()).search, '', 'the session left the URL');
  assert.ok(await page.isHidden('#notice'));
  assert.equal(await page.evaluate(() => document.activeElement.id), 'proof-type', 'focus is on the proof type');
  assert.ok(await page.isEnabled('#run'));

  await page.goto(BASE + '/?session=not%20a%20session!');
  await page.waitForSelector('#notice:not([hidden])');
  assert.equal(await text(page, '#notice-title'), 'This link does not name a valid session');
});

test('queue', 'a queued run shows its position as it changes; a full queue and a queued cancel are clear', async (t) => {
  // Both runners busy (the stack runs two), then two waiting: the queue is full.
  const busy = [await create(t, 'hang'), await create(t, 'hang')];
  for (const sid of busy) await waitStatus(sid, ['running']);
  const ahead = await create(t, 'hang');
  const page = await t.page();
  const sid = await runFromPage(t, page, 'hang');
  await page.waitForSelector('#notice-title >> text=Waiting in the queue \u2013 position 2');
  assert.equal(await text(page, '#step-text'), 'Waiting in the queue: position 2');
  assert.ok(await page.isVisible('#cancel'));
  await t.shot(page, 'position-2');
  // The same queued session opened from its URL (in a browser of its own:
  // a background tab gets no animation frames for its screenshot).
  const tab = await t.page();
  await tab.goto(page.url());
  await tab.waitForSelector('#notice-title >> text=Waiting in the queue \u2013 position 2');
  assert.ok(await tab.isVisible('#cancel'));

  const other = await t.page();
  await other.goto(BASE + '/');
  await runFromPageNoWait(other, 'fast');
  await other.waitForSelector('#form-msg:not([hidden])');
  assert.match(await text(other, '#form-msg'), /^The queue is full/);
  assert.equal(new URL(other.url()).search, '', 'no session was made');
  await t.shot(other, 'queue-full');

  await cancel(ahead);
  await page.waitForSelector('#notice-title >> text=Waiting in the queue \u2013 position 1', { timeout: 8000 });
  await tab.waitForSelector('#notice-title >> text=Waiting in the queue \u2013 position 1', { timeout: 8000 });
  await page.getByRole('button', { name: 'Cancel' }).click();
  await waitEnded(page, 10000);
  assert.equal(await text(page, '#notice-title'), 'Cancelled while waiting in the queue');
  await waitEnded(tab, 10000);
  assert.equal(await text(tab, '#notice-title'), 'Cancelled while waiting in the queue');
  assert.equal((await state(sid, false)).status, 'error');
  await t.shot(page);
  for (const b of busy) await cancel(b);
  for (const b of busy) await waitStatus(b, ['error']);
});

async function runFromPageNoWait(page, proofType) {
  await page.getByLabel('Proof type', { exact: true }).selectOption(proofType);
  await page.getByRole('button', { name: 'Run Complete Workflow' }).click();
}

test('long', '20,000 lines stay responsive: the DOM keeps the last 2,000, the download has them all', async (t) => {
  const page = await t.page();
  // The main thread's longest stall, sampled every 20 ms from the start of
  // every document (so a reload's replay is measured from its beginning).
  await page.addInitScript(() => {
    window.__gap = 0;
    let last = performance.now();
    setInterval(() => {
      const now = performance.now();
      window.__gap = Math.max(window.__gap, now - last);
      last = now;
    }, 20);
  });
  await page.goto(BASE + '/');
  await page.waitForSelector('#run:not([disabled])');
  await page.evaluate(() => { window.__gap = 0; });
  const t0 = Date.now();
  const sid = await runFromPage(t, page, 'long');
  await page.waitForSelector('#results[data-state="complete"]', { timeout: 60000 });
  const liveMs = Date.now() - t0;
  const liveGap = Math.round(await page.evaluate(() => window.__gap));
  const flushes = () => page.evaluate(() => {
    const m = performance.getEntriesByName('phasestream:terminal');
    return { n: m.length, max: Math.round(Math.max(...m.map((e) => e.duration))) };
  });
  const liveFlush = await flushes();
  const st = await state(sid);
  const total = st.logs.length;
  assert.ok(total >= 20000, total + ' lines');

  const checkTerminal = async (what) => {
    const lines = await pageLines(page);
    assert.equal(lines.length, MAX_DOM_LINES, what + ': lines in the DOM');
    assertSameAsLog(lines, st.logs.slice(total - MAX_DOM_LINES), what + ': the newest lines', total - MAX_DOM_LINES);
    await assertLogIds(lines, sid, what, total - MAX_DOM_LINES);
    assert.equal(await text(page, '#line-count'), total.toLocaleString('en-US') + ' lines \u00b7 1 on stderr');
    assert.match(await text(page, '#trimmed'), new RegExp('^' + (total - MAX_DOM_LINES).toLocaleString('en-US') + ' earlier lines are not shown'));
    const nodes = await page.evaluate(() => document.getElementsByTagName('*').length);
    assert.ok(nodes < 4 * MAX_DOM_LINES, what + ': ' + nodes + ' elements in the page');
    return nodes;
  };
  const nodes = await checkTerminal('live');

  // A reload shows all of it again: the state endpoint's answer drawn in
  // one go (and the events behind it read once, for the phase times and
  // links), not 20,000 events through EventSource.
  const sources = streamRequests(page, 'eventsource');
  const reads = streamRequests(page, 'fetch');
  const t1 = Date.now();
  await page.reload();
  await page.waitForSelector('#results[data-state="complete"]', { timeout: 60000 });
  const replayMs = Date.now() - t1;
  await historyIn(page);
  // In the page's own clock, from the start of the reloaded document.
  const at = await page.evaluate(() => {
    const mark = (name) => {
      const m = performance.getEntriesByName(name)[0];
      return m ? Math.round(m.startTime + m.duration) : -1;
    };
    return { state: mark('phasestream:state'), drawn: mark('phasestream:terminal'), history: mark('phasestream:history') };
  });
  const replayGap = Math.round(await page.evaluate(() => window.__gap));
  const replayFlush = await flushes();
  await checkTerminal('replay');
  assert.deepEqual(sources, [], 'no EventSource for the ended session');
  assert.deepEqual(reads, ['?sessionId=' + sid], 'its events read once');
  assert.ok(at.state > 0 && at.drawn >= at.state && at.history > 0, 'state, draw and history marks: ' + JSON.stringify(at));

  // Still responsive: a click on a control answers at once.
  const t2 = Date.now();
  await page.locator('#output').hover();
  await page.mouse.wheel(0, -400);
  await page.waitForSelector('#follow', { state: 'visible' });
  await page.click('#follow');
  await page.waitForSelector('#follow', { state: 'hidden' });
  const clickMs = Date.now() - t2;

  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
  const file = await download.path();
  const lines = fs.readFileSync(file, 'utf8').split('\n').filter((l) => l !== '');
  assert.equal(lines.length, total, 'the downloaded log has every line');
  assert.equal(lines[1], st.logs[1].timestamp + ' generating stdout: ' + st.logs[1].message);
  assert.equal(download.suggestedFilename(), 'phasestream-' + sid + '.log');
  const json = await api('GET', await page.getAttribute('#download-json', 'href'));
  assert.equal(json.status, 200);
  assert.equal(json.json.logs.length, total, 'the JSON link serves the full log');

  // The page's own work: each terminal update (DOM and layout) is short,
  // however many lines arrive.
  assert.ok(liveFlush.max < 1000, 'longest terminal update while streaming: ' + liveFlush.max + ' ms');
  assert.ok(replayFlush.max < 1000, 'longest terminal update during the replay: ' + replayFlush.max + ' ms');
  // The main thread as a whole. Streaming live, Chromium's EventSource
  // parses and dispatches a whole received chunk of the stream in one task
  // (with an empty handler, 20,000 events stall ~1-1.5 s on a busy 2-core
  // machine), so that bound only catches a page that adds seconds of its
  // own. The reload goes without EventSource: a 2.3 MB JSON answer, 2,000
  // lines drawn, the events read in chunks (it took 2.3-3.1 s, with a
  // 1.25-1.95 s stall, when it replayed every event through EventSource).
  assert.ok(liveGap < 5000, 'longest main-thread stall while streaming: ' + liveGap + ' ms');
  assert.ok(replayGap < 750, 'longest main-thread stall during the replay: ' + replayGap + ' ms');
  assert.ok(replayMs < 5000, 'replay took ' + replayMs + ' ms');
  assert.ok(clickMs < 2000, 'scroll up and back took ' + clickMs + ' ms');
  t.note(total + ' lines: live ' + liveMs + ' ms (' + liveFlush.n + ' terminal updates, longest ' + liveFlush.max +
    ' ms; longest main-thread stall ' + liveGap + ' ms), replay ' + replayMs + ' ms (state in at ' + at.state +
    ' ms, drawn at ' + at.drawn + ' ms, history at ' + at.history + ' ms; ' + replayFlush.n +
    ' updates, longest ' + replayFlush.max + ' ms; stall ' + replayGap + ' ms), ' + nodes +
    ' elements, scroll+click ' + clickMs + ' ms');
  await t.shot(page);
});

test('flood', 'opened while 20,000 lines pour in, a session ends with the state endpoint\'s log: no gap or repeat at the seam', async (t) => {
  const page = await t.page();
  await page.goto(BASE + '/');
  await page.waitForSelector('#run:not([disabled])');
  const sid = await create(t, 'long');
  await waitFor(async () => ((await state(sid, false)).lastEventId || 0) > 1000, 20000, 'the first 1,000 events');
  // The state answer the page gets, and the stream it opens after it.
  let seam = null;
  await page.route((u) => u.pathname === '/api/workflow/state' && !u.searchParams.has('logs'), async (route) => {
    const response = await route.fetch();
    const body = await response.text();
    seam = JSON.parse(body);
    await route.fulfill({ response, body });
  });
  const sources = [];
  page.on('request', (r) => {
    if (r.resourceType() === 'eventsource') sources.push(new URL(r.url()));
  });
  await page.goto(BASE + '/?session=' + sid);
  await waitEnded(page, 60000);
  const st = await state(sid);
  const total = st.logs.length;
  assert.equal(st.status, 'complete');
  assert.ok(seam, 'the page asked for the state');
  assert.equal(seam.status, 'running', 'the state was read in the middle of the run');
  const k = seam.logs.length;
  assert.ok(total - k > 1000, (total - k) + ' lines came over the stream');
  assert.equal(sources.length, 1, 'one EventSource');
  assert.equal(sources[0].searchParams.get('lastEventId'), String(seam.lastEventId));
  // Every line counted once (the newest carries its place in the log), the
  // newest in the terminal with the ids of their events.
  const lines = await pageLines(page);
  assertSameAsLog(lines, st.logs.slice(total - MAX_DOM_LINES), 'flood', total - MAX_DOM_LINES);
  await assertLogIds(lines, sid, 'flood', total - MAX_DOM_LINES);
  assert.equal(await text(page, '#line-count'), total.toLocaleString('en-US') + ' lines \u00b7 1 on stderr');
  assert.match(await text(page, '#trimmed'), new RegExp('^' + (total - MAX_DOM_LINES).toLocaleString('en-US') + ' earlier lines are not shown'));
  t.note(k + ' lines in the state answer (lastEventId ' + seam.lastEventId + '), ' + (total - k) + ' over the stream');
  await t.shot(page);
});

test('phone', 'keyboard only, on a phone-width screen in the dark scheme', async (t) => {
  const page = await t.page({ viewport: { width: 390, height: 844 }, colorScheme: 'dark', hasTouch: true });
  await page.goto(BASE + '/');
  await page.waitForSelector('#run:not([disabled])');
  let steps = 0;
  while ((await page.evaluate(() => document.activeElement.id)) !== 'proof-type') {
    assert.ok(++steps < 10, 'Tab reaches the proof type');
    await page.keyboard.press('Tab');
  }
  await page.keyboard.press('ArrowDown');
  assert.equal(await page.inputValue('#proof-type'), 'slow', 'the arrow keys change the proof type');
  await page.keyboard.press('ArrowUp');
  assert.equal(await page.inputValue('#proof-type'), 'fast');
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'run');
  await page.keyboard.press('Enter');
  await page.waitForURL(/\?session=/);
  t.sessions.push(sessionOf(page));
  await waitEnded(page);
  await page.waitForSelector('#results[data-state="complete"]');
  await waitFor(async () => /^Workflow complete\./.test(await text(page, '#announcer')), 3000, 'the announcement');
  assert.equal(await page.getAttribute('#announcer', 'aria-live'), 'polite');

  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(overflow <= 0, 'no sideways scrolling: ' + overflow + ' px too wide');
  // Every visible control has a name.
  const unnamed = await page.evaluate(() => [...document.querySelectorAll('button, a, select, [tabindex]')]
    .filter((e) => e.offsetParent !== null)
    .filter((e) => !(e.getAttribute('aria-label') || (e.labels && e.labels.length) || e.textContent.trim()))
    .map((e) => e.outerHTML.slice(0, 80)));
  assert.deepEqual(unnamed, []);
  const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  assert.equal(bg, 'rgb(13, 15, 19)', 'the dark scheme');
  await t.shot(page);
});

test('redis-down', 'with Redis down a run cannot start and the page says why; it works again once Redis is back', async (t) => {
  const page = await t.page();
  await page.goto(BASE + '/');
  await page.waitForSelector('#run:not([disabled])');
  await control('redis/stop');
  try {
    await runFromPageNoWait(page, 'fast');
    await page.waitForSelector('#form-msg:not([hidden])');
    assert.match(await text(page, '#form-msg'), /cannot reach its database \(Redis\)/);
    assert.equal(new URL(page.url()).search, '');
    assert.ok(await page.isEnabled('#run'), 'no frozen spinner: the button is back');
    await t.shot(page);
  } finally {
    await control('redis/start');
  }
  await waitFor(async () => (await api('GET', '/api/workflow/health')).status === 200, 30000, 'phasestream to see Redis again');
  // phasestream answers 503 once on each request thread whose Redis
  // connection died with the old server; a person presses Run again.
  let tries = 0;
  await waitFor(async () => {
    tries++;
    await page.getByRole('button', { name: 'Run Complete Workflow' }).click();
    await page.waitForFunction(() => location.search || !document.getElementById('form-msg').hidden);
    return new URL(page.url()).search !== '';
  }, 20000, 'a run to start after Redis came back');
  t.note('started on try ' + tries);
  await page.waitForSelector('#results[data-state="complete"]', { timeout: 45000 });
  assert.ok(await page.isHidden('#form-msg'));
  await t.shot(page, 'after');
});

// -------------------------------------------------------------- runner --
// The local stack's status files: written whole, removed after the test.
function writeLocal(name, obj) {
  const file = path.join(LOCAL_DIR, name);
  fs.writeFileSync(file + '.tmp', JSON.stringify(obj));
  fs.renameSync(file + '.tmp', file);
}

function removeLocal(name) {
  fs.rmSync(path.join(LOCAL_DIR, name), { force: true });
}

// The pipeline's readiness file, written whole as its writers do.
function writeReadiness(types) {
  fs.writeFileSync(READINESS + '.tmp', JSON.stringify({ proofTypes: types, updated: new Date().toISOString() }));
  fs.renameSync(READINESS + '.tmp', READINESS);
}

async function chainRpc(method, params) {
  const r = await fetch(RPC_URL, { method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }) });
  return (await r.json()).result;
}

test('readiness', 'a proof type whose setup is still being built shows how far it is and is refused until ready; the others run at once', async (t) => {
  const preparing = { ready: false, state: 'preparing', step: 4, steps: 8, doing: 'circuit poseidon_preimage' };
  writeReadiness({ slow: preparing, fast: { ready: true, state: 'ready' } });
  try {
    const page = await t.page();
    await page.goto(BASE + '/');
    // null until the page has drawn the list from the pipeline endpoint.
    const option = (v) => page.$eval('#proof-type option[value="' + v + '"]', (o) => o.textContent).catch(() => null);
    await waitFor(async () => (await option('slow')) === 'slow \u2014 preparing, 4 of 8 steps', 5000, 'the readiness in the option');
    assert.equal(await option('fast'), 'fast');
    await page.getByLabel('Proof type', { exact: true }).selectOption('slow');
    const run = page.getByRole('button', { name: 'Run Complete Workflow' });
    // The page redraws at its next frame after the choice.
    const why = await waitFor(async () => (await run.isDisabled()) && (await text(page, '#readiness')), 5000,
      'Run disabled, with the reason, for a type that is not ready');
    assert.match(why, /^slow is waiting for the zero-knowledge setup, built in the background \(step 4 of 8: circuit poseidon_preimage\); it can run when that is done\./);
    assert.match(why, /fast, fail, hang, stall, long can run now\.$/);
    await t.shot(page, 'waiting');
    // The server refuses it too, for any client, and makes no session.
    const refused = await api('POST', '/api/workflow', { proofType: 'slow' });
    assert.equal(refused.status, 409, refused.text);
    assert.equal(refused.json.error, 'slow is not ready yet: waiting for the setup (preparing, step 4 of 8: ' +
      'circuit poseidon_preimage); try again when it is ready');

    // Another type runs at once, to the end.
    const sid = await runFromPage(t, page, 'fast');
    await waitEnded(page);
    assert.equal((await state(sid, false)).status, 'complete');

    // The setup moves on, then is done: the page follows without a reload.
    await page.goto(BASE + '/');
    writeReadiness({ slow: { ...preparing, step: 7, doing: 'compiling the Solidity verifiers' } });
    await waitFor(async () => (await option('slow')) === 'slow \u2014 preparing, 7 of 8 steps', 5000, 'step 7 in the option');
    writeReadiness({ slow: { ready: true, state: 'ready' } });
    await waitFor(async () => (await option('slow')) === 'slow', 5000, 'slow ready');
    await page.getByLabel('Proof type', { exact: true }).selectOption('slow');
    await waitFor(async () => !(await run.isDisabled()) && (await page.isHidden('#readiness')), 5000,
      'Run enabled, no reason shown, once the type is ready');

    // A setup that failed says so.
    writeReadiness({ slow: { ready: false, state: 'failed', step: 0, steps: 8, doing: 'solc: out of memory' } });
    await page.goto(BASE + '/');
    await waitFor(async () => (await option('slow')) === 'slow \u2014 setup failed', 5000, 'the failed setup');
    await page.getByLabel('Proof type', { exact: true }).selectOption('slow');
    await waitFor(async () => (await run.isDisabled()) &&
      /^The zero-knowledge setup of slow failed \(solc: out of memory\)\./.test(await text(page, '#readiness')), 5000,
      'the failure under the form, Run disabled');
  } finally {
    fs.rmSync(READINESS, { force: true });
  }
});

test('local-explorer', 'on the local chain a transaction links to the local explorer, which shows its block, status, gas, sender, the proof hash it recorded and the verifier that accepted it, read-only', async (t) => {
  assert.ok(REAL_TXS.length > 0 && RPC_URL, 'the runner attested a proof on a local chain');
  writeLocal('stack.json', { explorerTxUrl: 'explorer.html?tx={txHash}' });
  try {
    // A run's transaction without an explorer URL (EXPLORER_TX_URL unset)
    // links to the local view; one with a URL keeps it.
    const page = await t.page();
    const sid = await runFromPage(t, page, 'fast');
    await waitEnded(page);
    const st = await state(sid);
    const want = JSON.stringify(['https://explorer.test/tx/' + st.attestationResults[0],
      'explorer.html?tx=' + st.attestationResults[1]]);
    const links = () => page.$$eval('#txs .tx a', (ns) => JSON.stringify(ns.map((a) => a.getAttribute('href'))));
    await waitFor(async () => (await links()) === want, 5000, 'the links ' + want);

    // The real attestation, in the view.
    const hash = REAL_TXS[0];
    const view = await t.page();
    await view.goto(BASE + '/explorer.html?tx=' + hash);
    await view.waitForSelector('#tx-facts:not([hidden])', { timeout: 15000 });
    const receipt = await chainRpc('eth_getTransactionReceipt', [hash]);
    const tx = await chainRpc('eth_getTransactionByHash', [hash]);
    assert.equal(await text(view, '#tx-hash'), hash);
    assert.equal(await text(view, '#tx-status'), 'success');
    assert.equal(await text(view, '#tx-block'), Number(receipt.blockNumber) + ' (' + receipt.blockHash + ')');
    assert.equal((await text(view, '#tx-gas')).split(' ')[0], Number(receipt.gasUsed).toLocaleString('en-US'));
    assert.equal((await text(view, '#tx-from')).toLowerCase(), tx.from.toLowerCase());
    assert.match(await text(view, '#tx-call'), /^Attestor\.attestVerified\(verifier: StarkVerifier \(0x[0-9a-fA-F]{40}\), verifyCall: \d+ bytes, label: browser-explorer\/hash_chain_\w+_stark_proof\.ub\)$/);
    const shown = await view.$$eval('#attestations .attestation', (ns) => ns.map((n) => n.querySelector('dd').textContent));
    // The Attested event's first indexed topic is the proof hash.
    assert.deepEqual(shown, [receipt.logs[0].topics[1]]);
    // The verifier that accepted it: VerifiedBy's second indexed topic,
    // named as the deployment names it.
    const deployment = JSON.parse(fs.readFileSync(DEPLOYMENT_FILE, 'utf8'));
    const verifiedBy = '0x' + receipt.logs[1].topics[2].slice(26);
    assert.equal(verifiedBy.toLowerCase(), deployment.starkVerifier.toLowerCase(), 'the StarkVerifier accepted the proof');
    const verifierShown = await text(view, '#attestations .attestation .verifier dd');
    const m = /^StarkVerifier \((0x[0-9a-fA-F]{40})\)$/.exec(verifierShown);
    assert.ok(m, 'verifier shown: ' + verifierShown);
    assert.equal(m[1].toLowerCase(), verifiedBy.toLowerCase());
    assert.equal(await text(view, '#tx-to'), 'Attestor (' + deployment.attestor + ')');
    assert.equal(receipt.to.toLowerCase(), deployment.attestor.toLowerCase());
    await t.shot(view, 'tx');

    // An unknown transaction says so.
    await view.goto(BASE + '/explorer.html?tx=0x' + 'ab'.repeat(32));
    await waitFor(async () => /^Not found: no transaction/.test(await text(view, '#tx-msg')), 10000, 'not found');

    // Read-only: nginx lets GET through, nothing else; the explorer answers
    // only /tx/<hash>.
    const rpcBody = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_sendTransaction', params: [] });
    for (const p of ['/local/explorer/', '/local/explorer/tx/' + hash]) {
      const r = await fetch(BASE + p, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: rpcBody });
      assert.equal(r.status, 403, 'POST ' + p);
    }
    assert.equal((await fetch(BASE + '/local/explorer/')).status, 404);
    assert.equal((await fetch(BASE + '/local/explorer/tx/nothex')).status, 400);
  } finally {
    removeLocal('stack.json');
  }
});


async function main() {
  const wanted = process.argv.slice(2);
  const chosen = tests.filter((x) => !wanted.length || wanted.some((w) => x.slug.includes(w) || x.name.includes(w)));
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
  let passed = 0;
  let failed = 0;
  const started = Date.now();
  for (const [i, x] of chosen.entries()) {
    const t = new TestRun(browser, String(i + 1).padStart(2, '0') + '-' + x.slug);
    const t0 = Date.now();
    let error = null;
    let timer;
    try {
      await Promise.race([
        x.fn(t),
        new Promise((_, reject) => { timer = setTimeout(() => reject(new Error('test timed out after ' + TEST_TIMEOUT_MS + ' ms')), TEST_TIMEOUT_MS); }),
      ]);
      if (t.pageErrors.length) throw new Error('uncaught error in the page: ' + t.pageErrors.join('; '));
    } catch (e) {
      error = e;
      for (const [j, p] of t.pages.entries()) await t.shot(p, 'failure' + (j ? j + 1 : '')).catch(() => {});
    } finally {
      clearTimeout(timer);
      await t.close();
    }
    const secs = ((Date.now() - t0) / 1000).toFixed(1);
    const notes = t.notes.length ? ' [' + t.notes.join('; ') + ']' : '';
    if (error) {
      failed++;
      console.log('not ok ' + (i + 1) + ' - ' + x.name + ' (' + secs + ' s)');
      console.log('  ' + String(error && error.stack ? error.message : error).split('\n').join('\n  '));
    } else {
      passed++;
      console.log('ok ' + (i + 1) + ' - ' + x.name + ' (' + secs + ' s)' + notes);
    }
  }
  await browser.close();
  console.log('browser: tests took ' + ((Date.now() - started) / 1000).toFixed(1) + ' s');
  console.log('browser: ' + passed + ' passed, ' + failed + ' failed');
  process.exit(failed || !chosen.length ? 1 : 0);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
