/*
 * api.js: the API's addresses, and the page's small reads of it. A session
 * has one address (sessionUrl: GET is its event stream, DELETE cancels it)
 * and a state (stateUrl, with or without its log lines). The big reads (a
 * state with tens of thousands of lines, the events behind it, the log
 * download) are the loader's, asked for through jobs.js.
 */
import { API } from './config.js';
import { errorText, troubleText } from './problem.js';

export function sessionUrl(id, after) {
  return API + '?sessionId=' + encodeURIComponent(id) + (after > 0 ? '&lastEventId=' + after : '');
}

export function stateUrl(id, logs) {
  return API + '/state?sessionId=' + encodeURIComponent(id) + (logs ? '' : '&logs=0');
}

export function pipelineUrl() {
  return API + '/pipeline';
}

// For the loader, which may run in a worker (its URLs have no base).
export function absolute(u) {
  return new URL(u, location.href).href;
}

// The state without its lines: small, asked for again and again.
export function fetchState(id) {
  return fetch(stateUrl(id, false), { cache: 'no-store' });
}

export async function serverTrouble(r) {
  return troubleText(r.status, await errorText(r));
}
