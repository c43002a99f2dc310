/*
 * phasestream demo page.
 *
 * The page shows one session at a time, and its id lives in the URL
 * (?session=ID): a reload, a second tab or another browser shows the same
 * run. Showing a session means opening its event stream from the start: the
 * server replays the whole stored log, then follows live. Every event carries
 * an id (1, 2, 3, ...) and the page applies each id at most once, so nothing
 * is ever shown twice; when the connection drops, EventSource reconnects by
 * itself with Last-Event-ID and the server resumes right after the last id
 * the page saw, so nothing is missed either. When the browser gives up on its
 * own (an HTTP error such as 502 or 503 rather than a dropped connection),
 * the page asks the state endpoint what became of the session and reopens
 * the stream with ?lastEventId=N, backing off while the server is unwell.
 * After the terminal event (complete or error) the stream is closed for good.
 *
 * The terminal keeps only the last MAX_LINES lines in the DOM, so a run with
 * tens of thousands of lines stays responsive; the full log is the state
 * endpoint's, offered as a download.
 *
 * Everything that comes from the server is put into the page as text
 * (textContent), never as HTML, and links are made only from http(s) URLs.
 */
'use strict';

(function () {
  const API = (document.querySelector('meta[name="phasestream-api"]') || {}).content || '/api/workflow';
  const MAX_LINES = 2000;       // terminal lines kept in the DOM
  const TRIM_SLACK = 1000;      // extra lines kept while the reader has scrolled up
  const QUEUE_POLL_MS = 2000;   // queue position refresh while queued
  const RETRY_MAX_MS = 10000;   // longest wait between two attempts to reach the server
  const LIVE_GAP_MS = 150;
  const LINES_EVERY_MS = 100;   // terminal updates at most this often      // an event after this much quiet is live, not replayed
  const SESSION_RE = /^[A-Za-z0-9_-]{8,64}$/;

  const $ = (id) => document.getElementById(id);
  const ui = {
    form: $('run-form'), type: $('proof-type'), run: $('run'), runLabel: $('run-label'),
    cancel: $('cancel'), cancelLabel: $('cancel-label'), formMsg: $('form-msg'),
    info: $('session-info'), sessionLink: $('session-link'), copyLink: $('copy-link'),
    sessionType: $('session-type'), sessionStart: $('session-start'), sessionElapsed: $('session-elapsed'),
    notice: $('notice'), noticeTitle: $('notice-title'), noticeText: $('notice-text'), noticeAction: $('notice-action'),
    statusCard: document.querySelector('.status-card'), phases: $('phases'), stepText: $('step-text'), pct: $('pct'), bar: $('bar'), barFill: $('bar-fill'),
    lineCount: $('line-count'), download: $('download'), downloadJson: $('download-json'),
    output: $('output'), trimmed: $('trimmed'), lines: $('lines'), termEmpty: $('term-empty'),
    follow: $('follow'), followText: $('follow-text'),
    results: $('results'), resultsNote: $('results-note'), rProofs: $('r-proofs'), rProofTypes: $('r-proof-types'),
    rVerified: $('r-verified'), rCircuits: $('r-circuits'), rGas: $('r-gas'), rGasSub: $('r-gas-sub'),
    txCount: $('tx-count'), txs: $('txs'), txsEmpty: $('txs-empty'),
    proofFiles: $('proof-files'), proofFileList: $('proof-file-list'),
    conn: $('conn'), connText: $('conn-text'), announcer: $('announcer'),
  };

  const num = new Intl.NumberFormat();
  let pipeline = { proofTypes: [], phases: [] };
  let pipelineLoaded = false;
  let posting = false;
  let S = newSession(null);           // the session shown ('idle' when none)
  const term = { follow: true, autoTop: 0, unseen: 0 };

  // ------------------------------------------------------------ session --

  function newSession(id) {
    return {
      id,
      status: id ? 'loading' : 'idle', // idle loading queued running complete error unknown
      invalid: false, expired: false,
      proofType: null, startTime: null, endTime: null,
      lastId: 0, terminal: false,
      phase: null, progress: 0, step: '',
      phases: pipeline.phases.map((p) => ({ name: p.name, step: p.step, state: 'pending', start: null, end: null })),
      phasesBuilt: false,
      logCount: 0, errCount: 0, pending: [], rendered: 0, lastLinePhase: undefined,
      txs: [],
      result: null, error: null, queuePosition: null, cancelling: false,
      es: null, conn: id ? 'connecting' : 'idle', connProblem: null, retryDelay: 1000,
      recoverTimer: 0, queueTimer: 0, endedProbes: 0,
      skew: null, lastLogTs: null, lastArrival: 0,
      announced: '', reconnected: false,
    };
  }

  function active(s) {
    return !s.terminal && (s.status === 'loading' || s.status === 'queued' || s.status === 'running');
  }

  function stateUrl(id, logs) {
    return API + '/state?sessionId=' + encodeURIComponent(id) + (logs ? '' : '&logs=0');
  }

  function detach() {
    const s = S;
    if (s.es) s.es.close();
    s.es = null;
    clearTimeout(s.recoverTimer);
    clearTimeout(s.queueTimer);
    s.recoverTimer = s.queueTimer = 0;
  }

  function show(id) {
    detach();
    S = newSession(id);
    resetView();
    if (!id) {
      scheduleRender();
      return;
    }
    if (!SESSION_RE.test(id)) {
      S.status = 'unknown';
      S.invalid = true;
      S.terminal = true;
      S.conn = 'ended';
      scheduleRender();
      return;
    }
    scheduleRender();
    probe(S);
  }

  // Asks the state endpoint about the session, then (re)opens its stream.
  async function probe(s) {
    s.recoverTimer = 0;
    let r;
    try {
      r = await fetch(stateUrl(s.id, false), { cache: 'no-store' });
    } catch (e) {
      return retryLater(s, 'The server cannot be reached.');
    }
    if (s !== S) return;
    if (r.status === 404 || r.status === 400) {
      if (s.lastId > 0) {
        // It was here a moment ago: it expired while shown. Keep what the
        // page has, and say so.
        s.expired = true;
      } else {
        s.status = 'unknown';
        s.invalid = r.status === 400;
      }
      s.terminal = true;
      s.conn = 'ended';
      scheduleRender();
      return;
    }
    if (!r.ok) {
      const why = await errorText(r);
      return retryLater(s, r.status === 503
        ? 'The server cannot reach its database (Redis): ' + why
        : 'The server answered ' + r.status + ': ' + why);
    }
    let st;
    try {
      st = await r.json();
    } catch (e) {
      return retryLater(s, 'The server sent a malformed answer.');
    }
    if (s !== S || s.terminal) return;
    if (s.skew === null) {
      // A coarse clock offset from the Date header, used only when the
      // clocks clearly differ; live log timestamps refine it.
      const d = Date.parse(r.headers.get('Date') || '');
      const off = Date.now() - d - 500;
      s.skew = !Number.isNaN(d) && Math.abs(off) > 1500 ? off : 0;
    }
    if (st.proofType && !s.proofType && pipeline.proofTypes.includes(st.proofType)) ui.type.value = st.proofType;
    s.proofType = st.proofType || s.proofType;
    if (st.startTime) s.startTime = Date.parse(st.startTime) || s.startTime;
    if (s.status === 'loading' && st.status === 'queued') s.status = 'queued';
    if (st.status === 'queued' && st.queuePosition) s.queuePosition = st.queuePosition;
    if (st.status === 'complete' || st.status === 'error') {
      // The stream replays the terminal event; this only guards against a
      // stream that keeps ending without one.
      if (++s.endedProbes > 2) return finishFromState(s, st);
    }
    openStream(s);
    scheduleRender();
  }

  function retryLater(s, why) {
    if (s !== S || s.terminal) return;
    s.conn = 'reconnecting';
    s.connProblem = why;
    clearTimeout(s.recoverTimer);
    s.recoverTimer = setTimeout(() => probe(s), s.retryDelay);
    s.retryDelay = Math.min(Math.round(s.retryDelay * 1.5), RETRY_MAX_MS);
    scheduleRender();
  }

  function openStream(s) {
    const url = API + '?sessionId=' + encodeURIComponent(s.id) + (s.lastId > 0 ? '&lastEventId=' + s.lastId : '');
    const es = new EventSource(url);
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
      else onStreamError(s, es);
    });
  }

  function onStreamError(s, es) {
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
    retryLater(s, null);
  }

  function onEvent(s, es, type, e) {
    if (s.es !== es || s !== S) return;
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
    switch (type) {
      case 'status': onStatus(s, d, t); break;
      case 'log': onLog(s, d, id); break;
      case 'transaction': addTx(s, d.txHash, d.explorerUrl); break;
      case 'complete': onComplete(s, d, t); break;
      case 'error': onError(s, d, t); break;
    }
    if (s.terminal) {
      es.close();
      s.es = null;
      s.conn = 'ended';
      clearTimeout(s.queueTimer);
    }
    scheduleRender();
  }

  // The server time of an event. Log lines carry their timestamp; other
  // events do not, so they take the time of the last line when they arrive
  // in a replay burst, and the (offset-corrected) present when they arrive
  // live after a quiet spell.
  function eventTime(s, d, isLog) {
    const now = Date.now();
    const quiet = now - s.lastArrival > LIVE_GAP_MS;
    s.lastArrival = now;
    const ts = typeof d.timestamp === 'string' ? Date.parse(d.timestamp) : NaN;
    if (!Number.isNaN(ts)) {
      if (isLog) {
        if (s.skew === null || now - ts < s.skew) s.skew = now - ts;
        s.lastLogTs = ts;
      }
      return ts;
    }
    const base = Math.max(s.lastLogTs || 0, s.startTime || 0);
    const live = serverNow(s);
    if (quiet || !base) return Math.max(live, base);
    return base;
  }

  function serverNow(s) {
    return Date.now() - (s.skew || 0);
  }

  function phaseOf(s, name, step) {
    let p = s.phases.find((x) => x.name === name);
    if (!p) {
      // A phase the current pipeline does not list (the session may predate
      // a change of the pipeline): show it all the same.
      p = { name, step: step || name, state: 'pending', start: null, end: null };
      s.phases.push(p);
      s.phasesBuilt = false;
    }
    return p;
  }

  function onStatus(s, d, t) {
    if (typeof d.progress === 'number') s.progress = Math.max(0, Math.min(100, d.progress));
    if (typeof d.step === 'string' && d.step) s.step = d.step;
    if (d.phase === 'queued') {
      s.status = 'queued';
      return;
    }
    if (d.phase === 'complete') {
      endRunning(s, 'done', t);
      return;
    }
    if (typeof d.phase !== 'string') return;
    const p = phaseOf(s, d.phase, d.step);
    const i = s.phases.indexOf(p);
    for (let j = 0; j < i; j++) {
      if (s.phases[j].state === 'running') endPhase(s.phases[j], 'done', t);
    }
    if (d.skipped) {
      if (p.start === null) p.start = t;
      p.state = 'skipped';
      p.end = t;
    } else if (p.state !== 'running') {
      p.state = 'running';
      p.start = t;
      p.end = null;
    }
    s.status = 'running';
    s.phase = d.phase;
    s.queuePosition = null;
  }

  function endPhase(p, state, t) {
    p.state = state;
    p.end = Math.max(t, p.start || t);
  }

  function endRunning(s, state, t) {
    for (const p of s.phases) if (p.state === 'running') endPhase(p, state, t);
  }

  function onLog(s, d, id) {
    const err = d.stream === 'stderr' || d.type === 'error';
    const kind = d.type === 'warning' ? 'warn' : err ? 'err' : '';
    s.logCount++;
    if (err) s.errCount++;
    s.pending.push({ id, ts: String(d.timestamp || ''), msg: String(d.message == null ? '' : d.message), phase: d.phase, kind });
    // Lines not yet drawn (a hidden tab draws nothing): only the newest can
    // ever be shown, so the rest need not be kept.
    if (s.pending.length > 2 * MAX_LINES) s.pending.splice(0, s.pending.length - MAX_LINES);
  }

  function addTx(s, hash, url) {
    if (typeof hash !== 'string' || !hash) return;
    const link = typeof url === 'string' && /^https?:\/\//i.test(url) ? url : '';
    const known = s.txs.find((x) => x.hash === hash);
    if (known) {
      if (!known.url && link) known.url = link;
      return;
    }
    s.txs.push({ hash, url: link });
  }

  function onComplete(s, d, t) {
    s.result = d;
    s.status = 'complete';
    s.terminal = true;
    s.progress = 100;
    s.endTime = Date.parse(d.lastUpdate || '') || t;
    endRunning(s, 'done', s.endTime);
    if (Array.isArray(d.attestationResults)) for (const h of d.attestationResults) addTx(s, h, '');
  }

  function onError(s, d, t) {
    s.error = d;
    s.status = 'error';
    s.terminal = true;
    s.endTime = t;
    s.cancelling = false;
    const cancelled = d.code === 'cancelled';
    const p = s.phases.find((x) => x.name === d.phase);
    if (p) {
      if (p.start === null) p.start = t;
      endPhase(p, cancelled ? 'cancelled' : 'failed', t);
    }
    endRunning(s, cancelled ? 'cancelled' : 'failed', t);
  }

  function finishFromState(s, st) {
    if (st.status === 'complete') onComplete(s, st, Date.parse(st.lastUpdate || '') || serverNow(s));
    else onError(s, { error: st.error || 'The workflow failed', phase: st.phase, code: null }, Date.parse(st.lastUpdate || '') || serverNow(s));
    s.conn = 'ended';
    scheduleRender();
  }

  // ------------------------------------------------------------ actions --

  async function loadPipeline() {
    let delay = 1000;
    for (;;) {
      try {
        const r = await fetch(API + '/pipeline', { cache: 'no-store' });
        if (!r.ok) throw new Error(r.status + ': ' + (await errorText(r)));
        const p = await r.json();
        if (!Array.isArray(p.proofTypes) || !Array.isArray(p.phases)) throw new Error('malformed pipeline');
        pipeline = p;
        pipelineLoaded = true;
        return;
      } catch (e) {
        setNotice('error', 'Cannot reach the server',
          'The page could not load the list of proof types (' + e.message + '). Retrying in ' + Math.round(delay / 1000) + ' s.', null);
        await new Promise((res) => setTimeout(res, delay));
        delay = Math.min(delay * 2, RETRY_MAX_MS);
      }
    }
  }

  function fillProofTypes() {
    const sel = ui.type;
    const remembered = safeStorage('get', 'proofType');
    sel.replaceChildren();
    for (const t of pipeline.proofTypes) {
      const o = document.createElement('option');
      o.value = o.textContent = t;
      sel.appendChild(o);
    }
    if (remembered && pipeline.proofTypes.includes(remembered)) sel.value = remembered;
    sel.disabled = pipeline.proofTypes.length === 0;
  }

  async function startRun(proofType) {
    if (posting || active(S)) return;
    posting = true;
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
      posting = false;
      formMessage('The server cannot be reached. Check the connection and try again.');
      scheduleRender();
      return;
    }
    posting = false;
    if (r.status === 201) {
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
      show(body.sessionId);
      S.proofType = proofType;
      return;
    }
    const why = await errorText(r);
    if (r.status === 429) formMessage('The queue is full: too many runs are waiting. Try again in a minute.', why);
    else if (r.status === 503) formMessage('The server cannot reach its database (Redis), so no run can start now. Try again shortly.', why);
    else formMessage('The run could not start (HTTP ' + r.status + ').', why);
    scheduleRender();
  }

  async function cancelRun() {
    const s = S;
    if (!active(s) || s.cancelling) return;
    s.cancelling = true;
    scheduleRender();
    let r;
    try {
      r = await fetch(API + '?sessionId=' + encodeURIComponent(s.id), { method: 'DELETE' });
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

  async function downloadLog() {
    const s = S;
    if (!s.id) return;
    ui.download.disabled = true;
    try {
      const r = await fetch(stateUrl(s.id, true), { cache: 'no-store' });
      if (!r.ok) throw new Error(r.status + ': ' + (await errorText(r)));
      const st = await r.json();
      const text = (st.logs || []).map((l) =>
        l.timestamp + ' ' + l.phase + ' ' + (l.type === 'warning' ? 'warning' : l.stream) + ': ' + l.message).join('\n');
      const blob = new Blob([text + '\n'], { type: 'text/plain;charset=utf-8' });
      const a = document.createElement('a');
      a.href = URL.createObjectURL(blob);
      a.download = 'phasestream-' + s.id + '.log';
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(a.href), 60000);
    } catch (e) {
      formMessage('The log could not be downloaded (' + e.message + ').');
    } finally {
      ui.download.disabled = false;
    }
  }

  // A message under the form: what happened, and the server's own words.
  function formMessage(text, detail) {
    ui.formMsg.replaceChildren();
    if (text) ui.formMsg.appendChild(el('strong', '', text));
    if (detail) ui.formMsg.appendChild(el('span', 'form-detail', 'Server: ' + detail));
    ui.formMsg.hidden = !text;
  }

  async function errorText(r) {
    try {
      const t = await r.text();
      try {
        const j = JSON.parse(t);
        if (j && typeof j.error === 'string') return j.error;
      } catch (e) { /* not JSON */ }
      return t.trim().slice(0, 200) || r.statusText || 'no details';
    } catch (e) {
      return r.statusText || 'no details';
    }
  }

  function safeStorage(op, key, value) {
    try {
      if (op === 'get') return localStorage.getItem('phasestream.' + key);
      localStorage.setItem('phasestream.' + key, value);
    } catch (e) { /* storage disabled */ }
    return null;
  }

  // ------------------------------------------------------------- render --

  let renderQueued = false;
  let lastFlush = 0;
  let flushTimer = 0;
  let measures = 0;
  function scheduleRender() {
    if (renderQueued) return;
    renderQueued = true;
    requestAnimationFrame(render);
    setTimeout(render, 250); // a hidden tab gets no animation frames
  }

  function resetView() {
    ui.lines.replaceChildren();
    ui.txs.replaceChildren();
    ui.rProofTypes.replaceChildren();
    ui.proofFileList.replaceChildren();
    term.follow = true;
    term.autoTop = 0;
    term.unseen = 0;
    ui.output.scrollTop = 0;
    formMessage('');
  }

  function render() {
    if (!renderQueued) return;
    renderQueued = false;
    const s = S;
    if (!s.phasesBuilt) buildPhases(s);
    renderControls(s);
    renderPhases(s);
    renderProgress(s);
    renderNotice(s);
    // Lines go into the terminal at most every LINES_EVERY_MS: in a burst
    // (a replay, a flood) each flush then carries many lines, and lines that
    // would be pushed out of the terminal at once are never drawn.
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
    renderTerminalChrome(s);
    renderResults(s);
    renderConn(s);
    announceState(s);
    if (s.status === 'queued' && !s.terminal) ensureQueuePoll(s);
  }

  function renderControls(s) {
    const busy = active(s);
    ui.run.disabled = !pipelineLoaded || posting || busy || pipeline.proofTypes.length === 0;
    setText(ui.runLabel, posting ? 'Starting\u2026' : 'Run Complete Workflow');
    ui.type.disabled = !pipelineLoaded || posting || busy;
    ui.cancel.hidden = !(busy && s.status !== 'loading');
    ui.cancel.disabled = s.cancelling;
    setText(ui.cancelLabel, s.cancelling ? 'Cancelling\u2026' : 'Cancel');
    if (busy && s.proofType && pipeline.proofTypes.includes(s.proofType)) ui.type.value = s.proofType;

    ui.info.hidden = !s.id || (s.status === 'unknown');
    if (s.id) {
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
    const canDownload = !!s.id && s.status !== 'unknown' && s.status !== 'loading';
    ui.download.disabled = !canDownload;
    ui.downloadJson.hidden = !canDownload;
    ui.downloadJson.setAttribute('aria-disabled', String(!canDownload));
    ui.copyLink.hidden = !(navigator.clipboard && window.isSecureContext);
  }

  function buildPhases(s) {
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

  const STATE_LABEL = {
    pending: 'Pending', running: 'Running', done: 'Done', skipped: 'Skipped',
    failed: 'Failed', cancelled: 'Cancelled',
  };
  const STATE_ICON = { done: '\u2713', skipped: '\u2013', failed: '\u2715', cancelled: '\u25a0' };

  function renderPhases(s) {
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
      if (p.start !== null && p.state !== 'skipped') time = duration(Math.max(0, (p.end !== null ? p.end : now) - p.start));
      setText(e.time, time);
    }
  }

  function renderProgress(s) {
    let step;
    if (s.status === 'idle') step = 'Pick a proof type and run the workflow.';
    else if (s.status === 'loading') step = 'Loading the session\u2026';
    else if (s.status === 'unknown') step = 'No such session.';
    else if (s.status === 'error') step = errorTitle(s);
    else if (s.status === 'queued') step = s.queuePosition ? 'Waiting in the queue: position ' + s.queuePosition : (s.step || 'Waiting for a runner\u2026');
    else step = s.step || '\u2026';
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
    document.title = titleFor(s, pct);
  }

  function titleFor(s, pct) {
    if (s.status === 'running') return pct + '% \u00b7 ' + (phaseTitle(s.phases.find((p) => p.name === s.phase)) || 'running') + ' \u2013 phasestream';
    if (s.status === 'queued') return 'Queued \u2013 phasestream';
    if (s.status === 'complete') return '\u2713 Complete \u2013 phasestream';
    if (s.status === 'error') return (s.error && s.error.code === 'cancelled' ? 'Cancelled' : '\u2715 Failed') + ' \u2013 phasestream';
    return 'phasestream';
  }

  function phaseTitle(p) {
    if (!p) return '';
    const t = String(p.step || '').replace(/^\s*phase\s+\d+\s*:\s*/i, '').replace(/[.\u2026\s]+$/, '');
    return t || p.name.charAt(0).toUpperCase() + p.name.slice(1);
  }

  function phaseLabel(s, name) {
    const i = s.phases.findIndex((p) => p.name === name);
    if (i < 0) return name ? '\u201c' + name + '\u201d' : '';
    return 'Phase ' + (i + 1) + ' (' + phaseTitle(s.phases[i]) + ')';
  }

  function errorTitle(s) {
    const d = s.error || {};
    const where = phaseLabel(s, d.phase);
    if (d.code === 'cancelled') return d.phase && d.phase !== 'queued' && where ? 'Cancelled during ' + where : 'Cancelled while waiting in the queue';
    if (d.code === 'timeout') return (where || 'A phase') + ' timed out';
    if (d.code === 'lost') return 'The runner of this workflow stopped unexpectedly';
    if (d.code === 'redis') return 'The server lost its connection to Redis';
    if (typeof d.code === 'number') return (where || 'A phase') + ' failed with exit code ' + d.code;
    return (where ? where + ' failed' : 'The workflow failed');
  }

  function renderNotice(s) {
    if (!pipelineLoaded) return; // the pipeline loader owns the notice until then
    if (s.status === 'unknown') {
      if (s.invalid) {
        setNotice('error', 'This link does not name a valid session',
          'Session ids are 8 to 64 letters, digits, "-" or "_". Check the link, or start a new run.', 'new');
      } else {
        setNotice('error', 'Session not found',
          'There is no session \u201c' + s.id + '\u201d on this server. It may have expired (sessions are kept for a limited time after their last activity) or the link may be incomplete.', 'new');
      }
      return;
    }
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
    if (s.conn === 'reconnecting' && !s.terminal) {
      const why = s.connProblem ? s.connProblem.replace(/[\s.]*$/, '. ') : '';
      if (s.lastId === 0) {
        setNotice('warn', 'Waiting for the server \u2013 retrying\u2026', why + 'The page keeps trying and shows the run as soon as it can.', null);
      } else {
        setNotice('warn', 'Connection lost \u2013 reconnecting\u2026',
          why + 'The run goes on on the server; the page catches up without missing or repeating a line.', null);
      }
      return;
    }
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

  let noticeAction = null;
  function setNotice(kind, title, text, action) {
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

  function flushLines(s) {
    if (!s.pending.length) return;
    let batch = s.pending;
    s.pending = [];
    if (batch.length > MAX_LINES) batch = batch.slice(batch.length - MAX_LINES);
    const frag = document.createDocumentFragment();
    for (const l of batch) {
      if (l.phase !== s.lastLinePhase) {
        s.lastLinePhase = l.phase;
        const p = s.phases.find((x) => x.name === l.phase);
        frag.appendChild(el('div', 'sep', p ? 'Phase ' + (s.phases.indexOf(p) + 1) + ' \u00b7 ' + phaseTitle(p) : String(l.phase || '')));
      }
      frag.appendChild(lineNode(l));
    }
    const out = ui.output;
    ui.lines.appendChild(frag);
    s.rendered += batch.length;
    const limit = term.follow ? MAX_LINES : MAX_LINES + TRIM_SLACK;
    if (s.rendered > limit) {
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
    if (term.follow) {
      out.scrollTop = out.scrollHeight;
      term.autoTop = out.scrollTop;
    } else {
      term.unseen += batch.length;
    }
  }

  // Two elements a line: the time of day is drawn by CSS from data-time.
  function lineNode(l) {
    const div = document.createElement('div');
    div.className = l.kind ? 'ln ' + l.kind : 'ln';
    div.dataset.id = l.id;
    div.dataset.ts = l.ts;
    div.dataset.time = clock(l.ts);
    if (l.kind) div.appendChild(el('span', 'tag', l.kind === 'err' ? 'stderr' : 'notice'));
    div.appendChild(el('span', 'msg', l.msg));
    return div;
  }

  function renderTerminalChrome(s) {
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

  function renderResults(s) {
    ui.results.dataset.state = s.status;
    const r = s.result;
    if (s.status === 'complete') setText(ui.resultsNote, 'Run complete');
    else if (s.status === 'error') setText(ui.resultsNote, 'The run did not complete');
    else if (active(s)) setText(ui.resultsNote, 'When the run completes');
    else setText(ui.resultsNote, 'After a run completes');

    if (r && !ui.results.dataset.filled) {
      ui.results.dataset.filled = '1';
      const gp = r.generatedProofs && typeof r.generatedProofs === 'object' ? r.generatedProofs : {};
      let total = 0;
      ui.rProofTypes.replaceChildren();
      ui.proofFileList.replaceChildren();
      for (const [type, list] of Object.entries(gp)) {
        const n = Array.isArray(list) ? list.length : 0;
        total += n;
        const li = el('li', n ? 'chip' : 'chip zero', '');
        li.dataset.type = type;
        li.append(el('span', 'chip-name', type), el('span', 'chip-num num', num.format(n)));
        ui.rProofTypes.appendChild(li);
        if (Array.isArray(list)) for (const f of list) ui.proofFileList.appendChild(el('li', '', String(f)));
      }
      setText(ui.rProofs, num.format(total));
      ui.proofFiles.hidden = total === 0;
      const vr = r.verificationResults && typeof r.verificationResults === 'object' ? r.verificationResults : {};
      setText(ui.rVerified, typeof vr.verified === 'number' ? num.format(vr.verified) : '\u2013');
      setText(ui.rCircuits, typeof vr.circuitsVerified === 'number' ? num.format(vr.circuitsVerified) + ' circuits verified' : '');
      setText(ui.rGas, typeof vr.gasEstimate === 'number' ? num.format(vr.gasEstimate) : '\u2013');
      setText(ui.rGasSub, typeof vr.gasEstimate === 'number' ? 'gas, estimated for on-chain verification' : 'no estimate reported');
    } else if (!r && ui.results.dataset.filled) {
      delete ui.results.dataset.filled;
      for (const e of [ui.rProofs, ui.rVerified, ui.rGas]) setText(e, '\u2013');
      for (const e of [ui.rCircuits, ui.rGasSub]) setText(e, '');
      ui.rProofTypes.replaceChildren();
      ui.proofFileList.replaceChildren();
      ui.proofFiles.hidden = true;
    }

    // Transactions: drawn as they arrive; an item is never redrawn.
    while (ui.txs.children.length < s.txs.length) {
      const tx = s.txs[ui.txs.children.length];
      const li = document.createElement('li');
      li.className = 'tx';
      li.dataset.hash = tx.hash;
      li.appendChild(el('code', 'tx-hash', tx.hash));
      ui.txs.appendChild(li);
    }
    for (let i = 0; i < s.txs.length; i++) {
      const tx = s.txs[i];
      const li = ui.txs.children[i];
      if (tx.url && !li.querySelector('a')) {
        const old = li.querySelector('.tx-nolink');
        if (old) old.remove();
        const a = el('a', 'tx-link', 'View on explorer');
        a.href = tx.url;
        a.target = '_blank';
        a.rel = 'noopener noreferrer';
        a.setAttribute('aria-label', 'View transaction ' + tx.hash + ' on the explorer (opens in a new tab)');
        li.appendChild(a);
      } else if (!tx.url && !li.querySelector('.tx-link, .tx-nolink')) {
        li.appendChild(el('span', 'tx-nolink', 'no explorer configured'));
      }
    }
    setText(ui.txCount, num.format(s.txs.length));
    ui.txsEmpty.hidden = s.txs.length > 0;
    setText(ui.txsEmpty, s.status === 'complete' ? 'This run sent no transactions.' : 'On-chain attestations appear here as they are sent.');
  }

  const CONN = {
    idle: ['idle', 'Ready'], connecting: ['connecting', 'Connecting\u2026'], live: ['live', 'Live'],
    reconnecting: ['reconnecting', 'Reconnecting\u2026'],
  };
  function renderConn(s) {
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

  function announceState(s) {
    let msg = '';
    if (s.status === 'unknown') msg = 'Session not found.';
    else if (s.status === 'complete') {
      const r = s.result || {};
      const vr = r.verificationResults || {};
      let proofs = 0;
      for (const list of Object.values(r.generatedProofs || {})) if (Array.isArray(list)) proofs += list.length;
      msg = 'Workflow complete. ' + proofs + ' proofs generated, ' + (vr.verified ?? 0) + ' verified, ' + s.txs.length + ' transactions.';
    } else if (s.expired) msg = 'This session has expired.';
    else if (s.status === 'error') msg = errorTitle(s) + '. ' + ((s.error && s.error.error) || '');
    else if (s.conn === 'reconnecting') msg = 'Connection lost, reconnecting.';
    else if (s.cancelling) msg = 'Cancelling.';
    else if (s.status === 'queued') msg = s.queuePosition ? 'Queued, position ' + s.queuePosition + '.' : 'Queued.';
    else if (s.status === 'running') {
      const p = s.phases.find((x) => x.name === s.phase);
      msg = p ? phaseLabel(s, p.name) + ' ' + (p.state === 'skipped' ? 'skipped' : 'running') + '.' : '';
    }
    if (msg && msg !== s.announced) {
      s.announced = msg;
      announce((s.reconnected && s.conn === 'live' ? 'Reconnected. ' : '') + msg);
      s.reconnected = false;
    }
  }

  let announceTimer = 0;
  function announce(msg) {
    // Collapsed over a short window, so that a replay announces where the
    // run is, not every step it went through.
    clearTimeout(announceTimer);
    announceTimer = setTimeout(() => { ui.announcer.textContent = msg; }, 400);
  }

  function ensureQueuePoll(s) {
    if (s.queueTimer) return;
    s.queueTimer = setTimeout(async () => {
      s.queueTimer = 0;
      if (s !== S || s.terminal || s.status !== 'queued') return;
      try {
        const r = await fetch(stateUrl(s.id, false), { cache: 'no-store' });
        if (r.ok) {
          const st = await r.json();
          if (s.status === 'queued' && st.status === 'queued' && st.queuePosition) s.queuePosition = st.queuePosition;
        }
      } catch (e) { /* the stream reports connection trouble */ }
      scheduleRender();
    }, QUEUE_POLL_MS);
  }

  // ------------------------------------------------------------ helpers --

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text) e.textContent = text;
    return e;
  }

  function setText(e, text) {
    if (e.textContent !== text) e.textContent = text;
  }

  function pad(n, w) {
    return String(n).padStart(w || 2, '0');
  }

  function clock(iso) {
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return '';
    return pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds()) + '.' + pad(d.getMilliseconds(), 3);
  }

  function duration(ms) {
    if (!(ms >= 0)) return '';
    if (ms < 100) return '< 0.1 s';
    if (ms < 10000) return (ms / 1000).toFixed(1) + ' s';
    const sec = Math.floor(ms / 1000);
    if (sec < 60) return sec + ' s';
    const h = Math.floor(sec / 3600);
    const m = Math.floor((sec % 3600) / 60);
    return (h ? h + ':' + pad(m) : m) + ':' + pad(sec % 60);
  }

  function sessionFromUrl() {
    return new URLSearchParams(location.search).get('session');
  }

  // -------------------------------------------------------------- wiring --

  ui.form.addEventListener('submit', (e) => {
    e.preventDefault();
    if (!ui.run.disabled) startRun(ui.type.value);
  });
  ui.cancel.addEventListener('click', cancelRun);
  ui.download.addEventListener('click', downloadLog);
  ui.noticeAction.addEventListener('click', () => {
    if (noticeAction === 'again') {
      const t = S.proofType;
      history.pushState(null, '', location.pathname);
      show(null);
      if (t && pipeline.proofTypes.includes(t)) {
        ui.type.value = t;
        startRun(t);
        return;
      }
    } else if (noticeAction === 'new') {
      history.pushState(null, '', location.pathname);
      show(null);
    }
    ui.type.focus();
  });
  ui.copyLink.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(new URL('?session=' + encodeURIComponent(S.id), location.href).href);
      ui.copyLink.textContent = 'Copied';
    } catch (e) {
      ui.copyLink.textContent = 'Copy failed';
    }
    setTimeout(() => { ui.copyLink.textContent = 'Copy link'; }, 2000);
  });
  ui.output.addEventListener('scroll', () => {
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
  }, { passive: true });
  // Lines laid out late (content-visibility, wrapping, a resized window)
  // change the height after the page scrolled: stay at the bottom.
  new ResizeObserver(() => {
    if (!term.follow) return;
    ui.output.scrollTop = ui.output.scrollHeight;
    term.autoTop = ui.output.scrollTop;
  }).observe(ui.lines);
  ui.follow.addEventListener('click', () => {
    term.follow = true;
    term.unseen = 0;
    ui.output.scrollTop = ui.output.scrollHeight;
    term.autoTop = ui.output.scrollTop;
    scheduleRender();
  });
  window.addEventListener('popstate', () => show(sessionFromUrl()));
  // Running clocks: elapsed times tick once a second while a run is live.
  setInterval(() => {
    if (active(S)) scheduleRender();
  }, 1000);

  (async function start() {
    scheduleRender();
    await loadPipeline();
    fillProofTypes();
    show(sessionFromUrl());
  })();
})();
