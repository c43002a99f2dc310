/*
 * problem.js: what an error answer of the API says, as one line of text.
 * Shared by the page and the loader, which may run in a worker: it uses
 * nothing but the fetch Response it is given.
 */

// The server's {"error": "..."} message; else the start of the body; else
// the status text.
export async function errorText(r) {
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

// A status the page could not work with, in words (503: Redis is down).
export function troubleText(status, why) {
  return status === 503
    ? 'The server cannot reach its database (Redis): ' + why
    : 'The server answered ' + status + ': ' + why;
}
