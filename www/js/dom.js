/*
 * dom.js: the page's elements by role (ui), and the helpers that put text
 * into them: el, setText, and the number, clock and duration formats.
 * Everything that comes from the server reaches the page as text
 * (textContent) through these, never as HTML. Also the one guarded use of
 * localStorage, which may be disabled.
 */
const $ = (id) => document.getElementById(id);

export const ui = {
  form: $('run-form'), type: $('proof-type'), run: $('run'), runLabel: $('run-label'),
  cancel: $('cancel'), cancelLabel: $('cancel-label'), formMsg: $('form-msg'), readiness: $('readiness'),
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

export const num = new Intl.NumberFormat();

export function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text) e.textContent = text;
  return e;
}

export function setText(e, text) {
  if (e.textContent !== text) e.textContent = text;
}

function pad(n, w) {
  return String(n).padStart(w || 2, '0');
}

export function clock(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  return pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds()) + '.' + pad(d.getMilliseconds(), 3);
}

export function duration(ms) {
  if (!(ms >= 0)) return '';
  if (ms < 100) return '< 0.1 s';
  if (ms < 10000) return (ms / 1000).toFixed(1) + ' s';
  const sec = Math.floor(ms / 1000);
  if (sec < 60) return sec + ' s';
  const h = Math.floor(sec / 3600);
  const m = Math.floor((sec % 3600) / 60);
  return (h ? h + ':' + pad(m) : m) + ':' + pad(sec % 60);
}

export function safeStorage(op, key, value) {
  try {
    if (op === 'get') return localStorage.getItem('phasestream.' + key);
    localStorage.setItem('phasestream.' + key, value);
  } catch (e) { /* storage disabled */ }
  return null;
}
