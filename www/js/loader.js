/*
 * loader.js: the loader, which fetches and reads a session's big documents:
 * the state answer (megabytes of JSON for tens of thousands of lines), the
 * events behind it, the log download.
 *
 * It runs in a worker (loader.worker.js), so that they never hold up the
 * page: Chromium reads a response body on the thread that asked for it,
 * and a few megabytes cost that thread a few hundred milliseconds on a busy
 * machine. Where no worker can start, jobs.js runs it on the page. Either
 * way it uses nothing of the page (no document, no window): requests come
 * in as messages, and post(answer, transfer) answers. The requests:
 *   {op: 'open', n, state, stream, max}: the state answer (without its
 *     lines but the newest `max`, with counts), then the events behind it
 *     (1..lastEventId): answers 'state', then 'history';
 *   {op: 'history', n, stream, last}: events 1..last: answers 'history';
 *   {op: 'log', n, state}: the whole log as a text Blob: answers 'log';
 *   {op: 'abort', n}: request n is dropped, unanswered.
 * The last answer to a request has end: true. A 'history' answer has ok,
 * marks (the events other than log lines, {id, type, d, t} with t the
 * event's time in ms or null) and logIds (the log events' ids, in order).
 */
import { errorText } from './problem.js';

// Returns the function that takes the requests.
export function loaderMain(post) {
  const loader = new Loader(post);
  return (m) => loader.take(m);
}

class Loader {
  constructor(post) {
    this.post = post;
    this.jobs = new Map(); // n -> {ctrl}: the requests not yet answered to the end
  }

  take(m) {
    if (m.op === 'abort') {
      const job = this.jobs.get(m.n);
      this.jobs.delete(m.n);
      if (job) job.ctrl.abort();
      return;
    }
    this.jobs.set(m.n, { ctrl: new AbortController() });
    if (m.op === 'open') this.open(m);
    else if (m.op === 'history') this.history(m.n, m.stream, m.last);
    else if (m.op === 'log') this.log(m);
  }

  finish(n, answer, transfer) {
    if (!this.jobs.has(n)) return; // dropped
    if (answer.end) this.jobs.delete(n);
    this.post(answer, transfer);
  }

  async open(m) {
    const job = this.jobs.get(m.n);
    let r;
    try {
      r = await fetch(m.state, { cache: 'no-store', signal: job.ctrl.signal });
    } catch (e) {
      return this.finish(m.n, { op: 'state', n: m.n, status: 0, end: true });
    }
    const date = r.headers.get('Date');
    if (!r.ok) return this.finish(m.n, { op: 'state', n: m.n, status: r.status, error: await errorText(r), date, end: true });
    // The server's work for the state is done once its answer begins: the
    // events behind it are asked for now, while the answer arrives.
    const hist = this.history(m.n, m.stream, Infinity);
    let st = null;
    try {
      st = await r.json();
    } catch (e) { /* malformed */ }
    if (!st || typeof st !== 'object' || typeof st.status !== 'string') {
      hist.ctrl.abort();
      return this.finish(m.n, { op: 'state', n: m.n, status: r.status, malformed: true, date, end: true });
    }
    const logs = Array.isArray(st.logs) ? st.logs : [];
    delete st.logs;
    const last = Number.isSafeInteger(st.lastEventId) && st.lastEventId > 0 ? st.lastEventId : 0;
    this.finish(m.n, {
      op: 'state', n: m.n, status: r.status, date, state: st, count: logs.length, ...countLines(logs),
      tail: logs.slice(Math.max(0, logs.length - m.max)), end: last === 0,
    });
    if (last === 0) hist.ctrl.abort();
    else hist.upTo(last);
  }

  // Events 1..last, read once from the stream (which goes on live for a
  // running session: it is dropped at `last`).
  history(n, url, last) {
    const h = { last, seen: 0, marks: [], ids: [], ctrl: new AbortController() };
    const job = this.jobs.get(n);
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
      this.finish(n, { op: 'history', n, ok, marks: h.marks.filter((x) => x.id <= h.last), logIds: ids, end: true }, [ids.buffer]);
    })();
    return h;
  }

  async log(m) {
    const job = this.jobs.get(m.n);
    try {
      const r = await fetch(m.state, { cache: 'no-store', signal: job.ctrl.signal });
      if (!r.ok) return this.finish(m.n, { op: 'log', n: m.n, error: r.status + ': ' + (await errorText(r)), end: true });
      const st = await r.json();
      const text = (st.logs || []).map((l) =>
        l.timestamp + ' ' + l.phase + ' ' + (l.type === 'warning' ? 'warning' : l.stream) + ': ' + l.message).join('\n');
      this.finish(m.n, { op: 'log', n: m.n, blob: new Blob([text + '\n'], { type: 'text/plain;charset=utf-8' }), end: true });
    } catch (e) {
      this.finish(m.n, { op: 'log', n: m.n, error: e.message || String(e), end: true });
    }
  }
}

// What the page needs of the lines it does not get: the lines on stderr,
// and per phase how many there are and how many are the server's notices.
function countLines(logs) {
  const perPhase = {};
  let errors = 0;
  for (const d of logs) {
    const c = perPhase[d.phase] || (perPhase[d.phase] = { all: 0, notices: 0 });
    c.all++;
    if (d.type === 'warning') c.notices++;
    if (d.stream === 'stderr' || d.type === 'error') errors++;
  }
  return { errors, perPhase };
}

// A small reader of the text/event-stream format (fields, multi-line data,
// comments, CR LF), light on a long replay: a log event's data is not
// parsed, and, when this runs on the page, the page gets its thread back
// every few milliseconds. True when the stream ended by itself.
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
