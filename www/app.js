/*
 * phasestream demo page.
 *
 * The page shows one session at a time, and its id lives in the URL
 * (?session=ID): a reload, a second tab or another browser shows the same
 * run. Every event carries an id (1, 2, 3, ...) and the page applies each id
 * at most once, so nothing is ever shown twice.
 *
 * A run the page has just started (POST) is followed from its first event.
 * An existing session (the URL on load or reload, a second tab) is opened in
 * three steps, so that a long log costs one JSON document rather than tens
 * of thousands of EventSource events:
 *   1. the state endpoint, with every log line and lastEventId, the id of
 *      the last event that answer covers;
 *   2. the events 1..lastEventId read once with fetch(), keeping only the
 *      few that are not log lines (status, transaction, complete, error):
 *      they carry what the state lacks (when each phase started and ended,
 *      skipped phases, explorer links, the error code). The first draw waits
 *      a moment for them; if they are slow, the page draws what the state
 *      says for certain and completes the picture when they arrive;
 *   3. the event stream from lastEventId on (EventSource,
 *      ?lastEventId=N), live, unless the session has already ended.
 * When the connection drops, EventSource reconnects by itself with
 * Last-Event-ID and the server resumes right after the last id the page saw,
 * so nothing is missed either. When the browser gives up on its own (an HTTP
 * error such as 502 or 503 rather than a dropped connection), the page asks
 * the state endpoint what became of the session and reopens the stream with
 * ?lastEventId=N, backing off while the server is unwell. After the terminal
 * event (complete or error) the stream is closed for good.
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
  const LIVE_GAP_MS = 150;      // an event after this much quiet is live, not replayed
  const LINES_EVERY_MS = 100;   // terminal updates at most this often
  const HISTORY_WAIT_MS = 600;  // the first draw of a session waits this long for its events
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
      // loaded: the state answer is applied (st, without its lines, which
      // were stateLines, up to event stateLast), or the session is followed
      // from its first event (started here, or an older server).
      loaded: false, st: null, stateLines: 0, stateLast: 0,
      // The events up to stateLast ("history"): 'none' (not needed: the
      // stream brings every event), 'loading', 'done', 'lost' (the session
      // went away first, or they could not be read).
      history: 'none', histJob: 0, histAnswer: null, histTimer: 0, histDelay: 1000, histTries: 0,
      marks: [], // events other than log lines received live while history is 'loading'
      phase: null, progress: 0, step: '',
      phases: pipeline.phases.map((p) => ({ name: p.name, step: p.step, optional: !!p.optional, state: 'pending', start: null, end: null })),
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
    stopHistory(s);
    clearTimeout(s.recoverTimer);
    clearTimeout(s.queueTimer);
    s.recoverTimer = s.queueTimer = 0;
  }

  // fresh: a run this page has just started, followed from its first event.
  function show(id, fresh) {
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
    S.loaded = !!fresh;
    scheduleRender();
    probe(S);
  }

  // The state of the session named by the URL is asked for as soon as the
  // script runs, alongside the pipeline.
  let early = null;

  function takeEarly(id) {
    const e = early;
    early = null;
    if (e && e.id !== id) loader.stop(e.job.n);
    return e && e.id === id ? e.job : null;
  }

  // Opens an existing session: the state with every log line (read by the
  // loader, which also reads the events behind it), drawn in one go, then
  // the stream from the state's lastEventId on.
  async function load(s) {
    s.recoverTimer = 0;
    const job = takeEarly(s.id) || openJob(s.id);
    s.histJob = job.n;
    const a = await job.state;
    if (s !== S || s.terminal) return;
    if (a.status === 0) return retryLater(s, 'The server cannot be reached.');
    if (a.status === 404 || a.status === 400) return notFound(s, a.status);
    if (a.status < 200 || a.status > 299) return retryLater(s, troubleText(a.status, a.error));
    if (a.malformed) return retryLater(s, 'The server sent a malformed answer.');
    // Visible in the browser's performance tools (and read by the tests).
    performance.mark('phasestream:state');
    clockSkew(s, a.date);
    // Without lastEventId (an older server) the page follows the stream from
    // its first event, as for a run started here.
    const last = Number.isSafeInteger(a.state.lastEventId) && a.state.lastEventId > 0 ? a.state.lastEventId : 0;
    if (!last) {
      stopHistory(s);
      s.loaded = true;
      noteState(s, a.state);
      openStream(s);
      scheduleRender();
      return;
    }
    s.stateLast = last;
    s.history = 'loading';
    awaitHistory(s, job);
    // The first draw waits a moment for it, to be whole at once.
    await Promise.race([job.history, new Promise((res) => setTimeout(res, HISTORY_WAIT_MS))]);
    if (s !== S || s.terminal) return;
    applyState(s, a, last);
    if (s.histAnswer) historyIn(s);
    if (!s.terminal) openStream(s);
    scheduleRender();
  }

  // Asks the state endpoint about the session, then (re)opens its stream
  // after the last event the page has applied.
  async function probe(s) {
    if (!s.loaded) return load(s);
    s.recoverTimer = 0;
    let r;
    try {
      r = await fetch(stateUrl(s.id, false), { cache: 'no-store' });
    } catch (e) {
      return retryLater(s, 'The server cannot be reached.');
    }
    if (s !== S) return;
    if (r.status === 404 || r.status === 400) return notFound(s, r.status);
    if (!r.ok) return retryLater(s, await serverTrouble(r));
    let st;
    try {
      st = await r.json();
    } catch (e) {
      return retryLater(s, 'The server sent a malformed answer.');
    }
    if (s !== S || s.terminal) return;
    clockSkew(s, r.headers.get('Date'));
    noteState(s, st);
    if (s.status === 'loading' && st.status === 'queued') s.status = 'queued';
    if (st.status === 'queued' && st.queuePosition) s.queuePosition = st.queuePosition;
    if (st.status === 'complete' || st.status === 'error') {
      // The stream brings the terminal event, unless the page is already
      // past it (the stream then answers 204); this also guards against a
      // stream that keeps ending without one.
      const last = Number.isSafeInteger(st.lastEventId) ? st.lastEventId : 0;
      if ((last > 0 && s.lastId >= last) || ++s.endedProbes > 2) return finishFromState(s, st);
    }
    openStream(s);
    scheduleRender();
  }

  function notFound(s, code) {
    if (s.lastId > 0) {
      // It was here a moment ago: it expired while shown. Keep what the
      // page has, and say so.
      s.expired = true;
    } else {
      s.status = 'unknown';
      s.invalid = code === 400;
    }
    s.terminal = true;
    s.conn = 'ended';
    stopHistory(s);
    scheduleRender();
  }

  async function serverTrouble(r) {
    return troubleText(r.status, await errorText(r));
  }

  function troubleText(status, why) {
    return status === 503
      ? 'The server cannot reach its database (Redis): ' + why
      : 'The server answered ' + status + ': ' + why;
  }

  function clockSkew(s, date) {
    if (s.skew !== null) return;
    // A coarse clock offset from the Date header, used only when the clocks
    // clearly differ; live log timestamps refine it.
    const d = Date.parse(date || '');
    const off = Date.now() - d - 500;
    s.skew = !Number.isNaN(d) && Math.abs(off) > 1500 ? off : 0;
  }

  function noteState(s, st) {
    if (st.proofType && !s.proofType && pipeline.proofTypes.includes(st.proofType)) ui.type.value = st.proofType;
    s.proofType = st.proofType || s.proofType;
    if (st.startTime) s.startTime = Date.parse(st.startTime) || s.startTime;
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

  // The state answer drawn as it is: status, progress, results, the
  // transactions' hashes and the log lines (the newest MAX_LINES of them go
  // into the terminal). The phases get what the state says for certain;
  // their times, skips, explorer links and the error code come with the
  // history (applyHistory).
  function applyState(s, a, last) {
    const st = a.state;
    const perPhase = a.perPhase;
    s.loaded = true;
    noteState(s, st);
    const ended = st.status === 'complete' || st.status === 'error';
    s.status = ended || st.status === 'queued' ? st.status : 'running';
    if (typeof st.progress === 'number') s.progress = Math.max(0, Math.min(100, st.progress));
    if (typeof st.currentStep === 'string' && st.currentStep) s.step = st.currentStep;
    if (st.status === 'queued' && st.queuePosition) s.queuePosition = st.queuePosition;
    const named = typeof st.phase === 'string' && st.phase !== '' && st.phase !== 'queued' && st.phase !== 'complete';
    if (named) s.phase = st.phase;
    s.lastId = last;
    s.logCount = s.stateLines = a.count;
    s.errCount = a.errors;
    const from = a.count - a.tail.length;
    a.tail.forEach((d, i) => s.pending.push(lineOf(d, undefined, from + i + 1)));
    if (a.tail.length) s.lastLogTs = Date.parse(a.tail[a.tail.length - 1].timestamp) || null;
    s.st = st;
    if (Array.isArray(st.attestationResults)) for (const h of st.attestationResults) addTx(s, h);

    // Phases: the ones before the current one are behind it, done or (an
    // optional phase whose only lines are the server's notices) skipped.
    const cur = named ? s.phases.indexOf(phaseOf(s, st.phase, st.currentStep))
      : st.status === 'complete' ? s.phases.length : -1;
    for (let i = 0; i < s.phases.length && i <= cur; i++) {
      const p = s.phases[i];
      const c = perPhase[p.name];
      if (p.optional && c && c.all === c.notices) p.state = 'skipped';
      else if (i < cur || st.status === 'complete') p.state = 'done';
      else p.state = st.status === 'error' ? 'stopped' : 'running';
    }
    if (st.status === 'complete') {
      s.result = st;
      s.progress = 100;
      s.terminal = true;
      s.endTime = Date.parse(st.lastUpdate || '') || null;
    } else if (st.status === 'error') {
      // The error code is the terminal event's: unknown until the history is read.
      s.error = { error: st.error || 'The workflow failed', phase: st.phase, code: null };
      s.terminal = true;
      s.endTime = Date.parse(st.lastUpdate || '') || null;
    }
    if (s.terminal) s.conn = 'ended';
  }

  function awaitHistory(s, job) {
    s.histJob = job.n;
    job.history.then((h) => {
      if (s !== S || s.histJob !== job.n) return;
      s.histAnswer = h;
      if (s.loaded) historyIn(s); // else load() goes on from here
    });
  }

  function historyIn(s) {
    const h = s.histAnswer;
    s.histAnswer = null;
    s.histJob = 0;
    if (h.ok) return applyHistory(s, h);
    if (++s.histTries > 5) {
      s.history = 'lost';
      scheduleRender();
      return;
    }
    // Read it again, while the session is shown.
    clearTimeout(s.histTimer);
    s.histTimer = setTimeout(() => {
      if (s === S && s.history === 'loading') awaitHistory(s, historyJob(s.id, s.stateLast));
    }, s.histDelay);
    s.histDelay = Math.min(Math.round(s.histDelay * 1.5), RETRY_MAX_MS);
  }

  function stopHistory(s) {
    clearTimeout(s.histTimer);
    s.histTimer = 0;
    if (s.histJob) loader.stop(s.histJob);
    s.histJob = 0;
    s.histAnswer = null;
    if (s.history === 'loading') s.history = s.loaded ? 'lost' : 'none';
  }

  // The history is in: the phases, transactions, result and error are
  // recomputed from every event other than a log line, in order (those
  // read up to the state's lastEventId, then those received live since),
  // exactly as if the page had followed the run from its start; and the
  // lines drawn from the state get their event ids.
  function applyHistory(s, h) {
    s.history = 'done';
    performance.mark('phasestream:history');
    const last = s.stateLast;
    const ids = h.logIds;
    if (ids.length === s.stateLines) {
      for (const l of s.pending) if (l.id === undefined && l.n <= ids.length) l.id = ids[l.n - 1];
      for (const n of ui.lines.querySelectorAll('.ln:not([data-id])')) {
        const k = Number(n.dataset.n);
        if (k >= 1 && k <= ids.length) n.dataset.id = ids[k - 1];
      }
    }
    const marks = h.marks.concat(s.marks.filter((m) => m.id > last));
    s.marks = [];
    const wasTerminal = s.terminal;
    for (const p of s.phases) {
      p.state = 'pending';
      p.start = p.end = null;
    }
    s.terminal = false;
    for (const m of marks) applyEvent(s, m.type, m.d, m.t);
    if (!s.terminal && wasTerminal) finishFromState(s, s.st);
    if (s.terminal) endStream(s);
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

  function applyEvent(s, type, d, t) {
    switch (type) {
      case 'status': onStatus(s, d, t); break;
      case 'transaction': addTx(s, d.txHash, d.explorerUrl); break;
      case 'complete': onComplete(s, d, t); break;
      case 'error': onError(s, d, t); break;
    }
  }

  // The server time of an event: its timestamp (log, status, transaction
  // and error events carry one). Without one (an older server), an event
  // takes the time of the last line when it arrives in a replay burst, and
  // the (offset-corrected) present when it arrives live after a quiet spell.
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
      p = { name, step: step || name, optional: false, state: 'pending', start: null, end: null };
      s.phases.push(p);
      s.phasesBuilt = false;
    }
    return p;
  }

  // t: the event's server time, or null when unknown (a phase then shows
  // no elapsed time rather than a wrong one).
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
    p.end = t === null || p.start === null ? t : Math.max(t, p.start);
  }

  function endRunning(s, state, t) {
    for (const p of s.phases) if (p.state === 'running') endPhase(p, state, t);
  }

  function lineOf(d, id, n) {
    const err = d.stream === 'stderr' || d.type === 'error';
    return {
      id, n, ts: String(d.timestamp || ''), msg: String(d.message == null ? '' : d.message), phase: d.phase,
      kind: d.type === 'warning' ? 'warn' : err ? 'err' : '',
    };
  }

  function onLog(s, d, id) {
    const l = lineOf(d, id, ++s.logCount);
    if (l.kind === 'err') s.errCount++;
    s.pending.push(l);
    // Lines not yet drawn (a hidden tab draws nothing): only the newest can
    // ever be shown, so the rest need not be kept.
    if (s.pending.length > 2 * MAX_LINES) s.pending.splice(0, s.pending.length - MAX_LINES);
  }

  // url: the explorer link from a transaction event ('' when it had none),
  // or undefined when not known yet (a hash from the results, before the
  // history is read): no link is shown then, and no "none" either.
  function addTx(s, hash, url) {
    if (typeof hash !== 'string' || !hash) return;
    const link = typeof url === 'string' ? (/^https?:\/\//i.test(url) ? url : '') : null;
    const known = s.txs.find((x) => x.hash === hash);
    if (known) {
      if (link !== null && !known.url) known.url = link;
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
    if (Array.isArray(d.attestationResults)) for (const h of d.attestationResults) addTx(s, h);
  }

  // code null: not known (the session was shown from its state, and its
  // terminal event could not be read).
  function onError(s, d, t) {
    s.error = d;
    s.status = 'error';
    s.terminal = true;
    s.endTime = t;
    s.cancelling = false;
    const state = d.code === 'cancelled' ? 'cancelled' : d.code == null ? 'stopped' : 'failed';
    const p = s.phases.find((x) => x.name === d.phase);
    if (p && p.state !== 'skipped') endPhase(p, state, t);
    endRunning(s, state, t);
  }

  function finishFromState(s, st) {
    const t = Date.parse(st.lastUpdate || '') || serverNow(s);
    if (st.status === 'complete') onComplete(s, st, t);
    else onError(s, { error: st.error || 'The workflow failed', phase: st.phase, code: null }, t);
    endStream(s);
    scheduleRender();
  }

  // The session has ended: its stream is closed for good.
  function endStream(s) {
    if (s.es) s.es.close();
    s.es = null;
    s.conn = 'ended';
    clearTimeout(s.queueTimer);
  }

  // ------------------------------------------------------------- loader --
  //
  // The big documents of a session are the loader's to fetch and read: the
  // state answer (megabytes of JSON for tens of thousands of lines), the
  // events behind it, the log download. It runs in a worker, so that they
  // never hold up the page: Chromium reads a response body on the thread
  // that asked for it, and a few megabytes cost that thread a few hundred
  // milliseconds on a busy machine. Where no worker can start, the same
  // code runs on the page. Its source is handed to the worker as text, so
  // it uses nothing from outside itself. post(answer, transfer) answers;
  // the function it returns takes the requests:
  //   {op: 'open', n, state, stream, max}: the state answer (without its
  //     lines but the newest `max`, with counts), then the events behind it
  //     (1..lastEventId): answers 'state', then 'history';
  //   {op: 'history', n, stream, last}: events 1..last: answers 'history';
  //   {op: 'log', n, state}: the whole log as a text Blob: answers 'log';
  //   {op: 'abort', n}: request n is dropped, unanswered.
  // The last answer to a request has end: true. A 'history' answer has ok,
  // marks (the events other than log lines, {id, type, d, t} with t the
  // event's time in ms or null) and logIds (the log events' ids, in order).
  function loaderMain(post) {
    const jobs = new Map();

    function finish(n, answer, transfer) {
      if (!jobs.has(n)) return; // dropped
      if (answer.end) jobs.delete(n);
      post(answer, transfer);
    }

    async function problem(r) {
      let text = '';
      try {
        text = await r.text();
        const j = JSON.parse(text);
        if (j && typeof j.error === 'string') return j.error;
      } catch (e) { /* not JSON */ }
      return text.trim().slice(0, 200) || r.statusText || 'no details';
    }

    async function open(m) {
      const job = jobs.get(m.n);
      let r;
      try {
        r = await fetch(m.state, { cache: 'no-store', signal: job.ctrl.signal });
      } catch (e) {
        return finish(m.n, { op: 'state', n: m.n, status: 0, end: true });
      }
      const date = r.headers.get('Date');
      if (!r.ok) return finish(m.n, { op: 'state', n: m.n, status: r.status, error: await problem(r), date, end: true });
      // The server's work for the state is done once its answer begins: the
      // events behind it are asked for now, while the answer arrives.
      const hist = history(m.n, m.stream, Infinity);
      let st = null;
      try {
        st = await r.json();
      } catch (e) { /* malformed */ }
      if (!st || typeof st !== 'object' || typeof st.status !== 'string') {
        hist.ctrl.abort();
        return finish(m.n, { op: 'state', n: m.n, status: r.status, malformed: true, date, end: true });
      }
      const logs = Array.isArray(st.logs) ? st.logs : [];
      delete st.logs;
      const perPhase = {};
      let errors = 0;
      for (const d of logs) {
        const c = perPhase[d.phase] || (perPhase[d.phase] = { all: 0, notices: 0 });
        c.all++;
        if (d.type === 'warning') c.notices++;
        if (d.stream === 'stderr' || d.type === 'error') errors++;
      }
      const last = Number.isSafeInteger(st.lastEventId) && st.lastEventId > 0 ? st.lastEventId : 0;
      finish(m.n, {
        op: 'state', n: m.n, status: r.status, date, state: st, count: logs.length, errors, perPhase,
        tail: logs.slice(Math.max(0, logs.length - m.max)), end: last === 0,
      });
      if (last === 0) hist.ctrl.abort();
      else hist.upTo(last);
    }

    // Events 1..last, read once from the stream (which goes on live for a
    // running session: it is dropped at `last`).
    function history(n, url, last) {
      const h = { last, seen: 0, marks: [], ids: [], ctrl: new AbortController() };
      const job = jobs.get(n);
      if (job) job.ctrl.signal.addEventListener('abort', () => h.ctrl.abort());
      h.upTo = (l) => {
        h.last = l;
        if (h.seen >= l) h.ctrl.abort(); // all in: stop waiting for more
      };
      (async () => {
        let ok = false;
        try {
          const r = await fetch(url, { cache: 'no-store', headers: { Accept: 'text/event-stream' }, signal: h.ctrl.signal });
          if (!r.ok || !r.body) throw new Error('HTTP ' + r.status);
          // A session that has ended: its stream ends after the terminal event.
          ok = (await readEvents(r.body, h)) || h.seen >= h.last;
        } catch (e) {
          ok = h.seen >= h.last;
        }
        h.ctrl.abort();
        // Events read past `last` before it was known come over the live stream.
        const ids = Float64Array.from(h.ids.filter((id) => id <= h.last));
        finish(n, { op: 'history', n, ok, marks: h.marks.filter((x) => x.id <= h.last), logIds: ids, end: true }, [ids.buffer]);
      })();
      return h;
    }

    // A small reader of the text/event-stream format (fields, multi-line
    // data, comments, CR LF), light on a long replay: a log event's data is
    // not parsed, and, when this runs on the page, the page gets its thread
    // back every few milliseconds. True when the stream ended by itself.
    async function readEvents(body, h) {
      const reader = body.getReader();
      const dec = new TextDecoder();
      let buf = '';
      let id = NaN;
      let type = '';
      let data = null;
      let slice = Date.now();
      let lines = 0;
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return true;
        buf += dec.decode(value, { stream: true });
        let at = 0;
        for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n', at)) {
          if (++lines % 1024 === 0 && Date.now() - slice > 8) {
            await new Promise((res) => setTimeout(res, 0));
            slice = Date.now();
          }
          let line = buf.slice(at, nl);
          at = nl + 1;
          if (line.charCodeAt(line.length - 1) === 13) line = line.slice(0, -1);
          if (line === '') {
            if (data !== null && Number.isFinite(id)) {
              if (id > h.last) return false;
              if (type === 'log') h.ids.push(id);
              else mark(h.marks, id, type || 'message', data);
              h.seen = id;
              if (id >= h.last) return false;
            }
            type = '';
            data = null;
            continue;
          }
          if (line.charCodeAt(0) === 58) continue; // ':' a comment
          const c = line.indexOf(':');
          const field = c < 0 ? line : line.slice(0, c);
          let v = c < 0 ? '' : line.slice(c + 1);
          if (v.charCodeAt(0) === 32) v = v.slice(1);
          if (field === 'data') data = data === null ? v : data + '\n' + v;
          else if (field === 'event') type = v;
          else if (field === 'id') id = parseInt(v, 10);
        }
        buf = buf.slice(at);
      }
    }

    function mark(marks, id, type, data) {
      let d;
      try {
        d = JSON.parse(data);
      } catch (e) {
        return;
      }
      if (!d || typeof d !== 'object') return;
      const ts = Date.parse(typeof d.timestamp === 'string' ? d.timestamp : type === 'complete' ? d.lastUpdate || '' : '');
      marks.push({ id, type, d, t: Number.isNaN(ts) ? null : ts });
    }

    async function log(m) {
      const job = jobs.get(m.n);
      try {
        const r = await fetch(m.state, { cache: 'no-store', signal: job.ctrl.signal });
        if (!r.ok) return finish(m.n, { op: 'log', n: m.n, error: r.status + ': ' + (await problem(r)), end: true });
        const st = await r.json();
        const text = (st.logs || []).map((l) =>
          l.timestamp + ' ' + l.phase + ' ' + (l.type === 'warning' ? 'warning' : l.stream) + ': ' + l.message).join('\n');
        finish(m.n, { op: 'log', n: m.n, blob: new Blob([text + '\n'], { type: 'text/plain;charset=utf-8' }), end: true });
      } catch (e) {
        finish(m.n, { op: 'log', n: m.n, error: e.message || String(e), end: true });
      }
    }

    return (m) => {
      if (m.op === 'abort') {
        const job = jobs.get(m.n);
        jobs.delete(m.n);
        if (job) job.ctrl.abort();
        return;
      }
      jobs.set(m.n, { ctrl: new AbortController() });
      if (m.op === 'open') open(m);
      else if (m.op === 'history') history(m.n, m.stream, m.last);
      else if (m.op === 'log') log(m);
    };
  }

  // The page's side of the loader: start(request, onAnswer) returns the
  // request's number, stop(n) drops it.
  const loader = (() => {
    const asked = new Map(); // n -> {m, on, answered}
    let seq = 0;
    let worker = null;
    let local = null;
    const deliver = (a) => {
      const q = asked.get(a.n);
      if (!q) return;
      q.answered = true;
      if (a.end) asked.delete(a.n);
      q.on(a);
    };
    const onPage = () => {
      local = loaderMain((a) => setTimeout(() => deliver(a), 0));
    };
    try {
      const src = '"use strict";\nconst take = (' + loaderMain.toString() + ')((a, t) => postMessage(a, t || []));\n' +
        'onmessage = (e) => take(e.data);\n';
      worker = new Worker(URL.createObjectURL(new Blob([src], { type: 'text/javascript' })), { name: 'phasestream loader' });
      worker.onmessage = (e) => deliver(e.data);
      worker.onerror = (e) => {
        // The worker cannot run here (a content security policy, say): the
        // page does the work. What was asked and not answered is asked again;
        // what was half answered (a state without its history) ends there.
        if (e.preventDefault) e.preventDefault();
        worker.terminate();
        worker = null;
        onPage();
        for (const [n, q] of asked) {
          if (!q.answered) local(q.m);
          else deliver({ op: 'history', n, ok: false, marks: [], logIds: [], end: true });
        }
      };
    } catch (e) {
      onPage();
    }
    const send = (m) => (worker ? worker.postMessage(m) : local(m));
    return {
      start(m, on) {
        m.n = ++seq;
        asked.set(m.n, { m, on, answered: false });
        send(m);
        return m.n;
      },
      stop(n) {
        if (asked.delete(n)) send({ op: 'abort', n });
      },
    };
  })();

  function absolute(u) {
    return new URL(u, location.href).href;
  }

  function streamUrl(id) {
    return API + '?sessionId=' + encodeURIComponent(id);
  }

  // Asks the loader for a session's state, then the events behind it.
  function openJob(id) {
    let stateIn;
    let historyIn;
    const job = { n: 0, state: new Promise((res) => { stateIn = res; }), history: new Promise((res) => { historyIn = res; }) };
    job.n = loader.start({ op: 'open', state: absolute(stateUrl(id, true)), stream: absolute(streamUrl(id)), max: MAX_LINES }, (a) => {
      if (a.op === 'state') stateIn(a);
      else historyIn(a);
      if (a.op === 'state' && a.end) historyIn({ ok: false, marks: [], logIds: [] });
    });
    return job;
  }

  function historyJob(id, last) {
    let historyIn;
    const job = { n: 0, history: new Promise((res) => { historyIn = res; }) };
    job.n = loader.start({ op: 'history', stream: absolute(streamUrl(id)), last }, historyIn);
    return job;
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
      show(body.sessionId, true);
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
      // The loader fetches the state and writes the text, off the page's thread.
      const answer = await new Promise((res) => loader.start({ op: 'log', state: absolute(stateUrl(s.id, true)) }, res));
      if (!answer.blob) throw new Error(answer.error);
      const blob = answer.blob;
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
    failed: 'Failed', cancelled: 'Cancelled', stopped: 'Stopped',
  };
  const STATE_ICON = { done: '\u2713', skipped: '\u2013', failed: '\u2715', cancelled: '\u25a0', stopped: '\u25a0' };

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
      if (p.start !== null && p.state !== 'skipped' && (p.end !== null || p.state === 'running')) {
        time = duration(Math.max(0, (p.end !== null ? p.end : now) - p.start));
      }
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
    if (d.code == null) {
      // Shown from the state alone: its message says what happened.
      if (d.phase === 'queued') return 'The run ended while waiting in the queue';
      return d.phase && s.phases.some((p) => p.name === d.phase) ? 'The run stopped during ' + where : 'The run stopped';
    }
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
    div.dataset.n = l.n;
    if (l.id !== undefined) div.dataset.id = l.id;
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
      } else if (tx.url === '' || (tx.url === null && (s.history === 'none' || s.history === 'done'))) {
        if (!li.querySelector('.tx-link, .tx-nolink')) li.appendChild(el('span', 'tx-nolink', 'no explorer configured'));
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
    const first = sessionFromUrl();
    if (first && SESSION_RE.test(first)) early = { id: first, job: openJob(first) };
    scheduleRender();
    await loadPipeline();
    fillProofTypes();
    show(sessionFromUrl());
  })();
})();
