/*
 * readiness.js: which proof types can run now. The pipeline's description
 * (GET <api>/pipeline) carries each type's readiness, {ready, state, step,
 * steps, doing}, which the server reads from the pipeline's readiness file
 * when it is asked (docs/api.md); without such a file every type is ready.
 * A type that is not ready is refused here, before any request: the Run
 * button is disabled with the reason under the form (the server refuses it
 * too, with a 409, for any other client). While some type is not ready the
 * description is read again every READINESS_POLL_MS, and at once when the
 * server refused a run the page thought could start.
 */
import { READINESS_POLL_MS } from './config.js';
import { pipelineUrl } from './api.js';
import { app, scheduleRender } from './state.js';

let timer = null;

// The readiness of a pipeline description, kept; polls while a type waits.
export function setReadiness(p) {
  const r = p && p.readiness;
  app.readiness = r && typeof r === 'object' && !Array.isArray(r) ? r : {};
  scheduleRender();
  clearTimeout(timer);
  timer = Object.values(app.readiness).some((e) => e && e.ready === false)
    ? setTimeout(refreshReadiness, READINESS_POLL_MS) : null;
}

export async function refreshReadiness() {
  clearTimeout(timer);
  timer = null;
  try {
    const r = await fetch(pipelineUrl(), { cache: 'no-store' });
    if (r.ok) return setReadiness(await r.json());
  } catch (e) { /* tried again below */ }
  timer = setTimeout(refreshReadiness, READINESS_POLL_MS);
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
