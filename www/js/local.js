/*
 * local.js: what the local stack (make run) tells the page besides the API,
 * from a read-only file nginx serves under local/:
 *   local/stack.json      {explorerTxUrl}: the local chain's explorer view,
 *                         a {txHash} template (explorer.html?tx={txHash})
 * It is absent in any other deployment: transactions then link only to what
 * their events name. (Which proof types can run comes from the API's
 * pipeline description: readiness.js.)
 */
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
}

// The local explorer's link for a transaction, or '' when there is none.
export function localExplorerUrl(hash) {
  return app.localExplorer ? app.localExplorer.replace('{txHash}', encodeURIComponent(hash)) : '';
}
