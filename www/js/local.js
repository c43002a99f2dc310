/*
 * local.js: what the local stack (make run) tells the page besides the API,
 * from two read-only files nginx serves under local/:
 *   local/stack.json      {explorerTxUrl}: the local chain's explorer view,
 *                         a {txHash} template (explorer.html?tx={txHash})
 *   local/readiness.json  {proofTypes: {T: {ready, state, step, steps,
 *                         doing}}}: which proof types can run while the
 *                         zero-knowledge setup is built behind the page
 * Either may be absent (any other deployment): every proof type is then
 * ready, and transactions link only to what their events name. The
 * readiness is read again every READINESS_POLL_MS until every type is
 * ready. A type that is not ready is refused here, before any request: the
 * Run button is disabled with the reason under the form (the generating
 * phase refuses it too, for any other client).
 */
import { READINESS_POLL_MS } from './config.js';
import { app, scheduleRender } from './state.js';

async function getJson(url) {
  try {
    const r = await fetch(url, { cache: 'no-store' });
    if (!r.ok) return null;
    return await r.json();
  } catch (e) {
    return null;
  }
}

export async function loadLocalStack() {
  const s = await getJson('local/stack.json');
  if (s && typeof s.explorerTxUrl === 'string' && s.explorerTxUrl.includes('{txHash}')) {
    app.localExplorer = s.explorerTxUrl;
    scheduleRender();
  }
  pollReadiness();
}

async function pollReadiness() {
  const r = await getJson('local/readiness.json');
  const types = r && r.proofTypes && typeof r.proofTypes === 'object' ? r.proofTypes : {};
  app.readiness = types;
  scheduleRender();
  if (Object.values(types).some((e) => e && e.ready === false)) setTimeout(pollReadiness, READINESS_POLL_MS);
}

// The readiness entry of a type that cannot run yet, else null.
export function notReady(type) {
  const e = app.readiness[type];
  return e && e.ready === false ? e : null;
}

// "groth16 — preparing, 4 of 8 steps" / "groth16 — setup failed" / "stark".
export function typeLabel(type) {
  const e = notReady(type);
  if (!e) return type;
  if (e.state === 'failed') return type + ' \u2014 setup failed';
  return type + ' \u2014 preparing' + (e.steps ? ', ' + (e.step || 0) + ' of ' + e.steps + ' steps' : '');
}

// Why a type cannot run now, in a sentence, or '' when it can.
export function notReadyReason(type) {
  const e = notReady(type);
  if (!e) return '';
  const ready = app.pipeline.proofTypes.filter((t) => !notReady(t));
  const others = ready.length ? ' ' + ready.join(', ') + ' can run now.' : '';
  if (e.state === 'failed') return 'The zero-knowledge setup of ' + type + ' failed (' + (e.doing || 'see var/run/zk-setup.log') + ').' + others;
  return type + ' is waiting for the zero-knowledge setup, built in the background' +
    (e.steps ? ' (step ' + (e.step || 0) + ' of ' + e.steps + (e.doing ? ': ' + e.doing : '') + ')' : '') +
    '; it can run when that is done.' + others;
}

// The local explorer's link for a transaction, or '' when there is none.
export function localExplorerUrl(hash) {
  return app.localExplorer ? app.localExplorer.replace('{txHash}', encodeURIComponent(hash)) : '';
}
