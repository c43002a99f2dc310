/*
 * explorer.js: the local chain's transaction view (explorer.html?tx=HASH).
 * It reads local/explorer/tx/HASH, which nginx passes, GET only, to the
 * stack's read-only explorer (scripts/explorer: the transaction, its
 * receipt and block, the Attestor call and events decoded with the
 * Attestor's ABI), and shows the block, status, gas used, sender, the call
 * and each proof hash the transaction recorded, with the verifier contract
 * that accepted it. Contracts are named as the local deployment names them
 * ("StarkVerifier (0x...)"); an address it does not list stands alone.
 */
const $ = (id) => document.getElementById(id);
const TX_RE = /^0x[0-9a-fA-F]{64}$/;

function set(id, text) {
  $(id).textContent = text == null || text === '' ? '\u2013' : String(text);
}

function item(label, value, mono) {
  const div = document.createElement('div');
  const dt = document.createElement('dt');
  dt.textContent = label;
  const dd = document.createElement('dd');
  dd.textContent = value == null ? '\u2013' : String(value);
  if (mono) dd.className = 'mono';
  div.append(dt, dd);
  return div;
}

function named(address, name) {
  return address && name ? name + ' (' + address + ')' : address;
}

function show(v) {
  set('tx-hash', v.hash);
  set('tx-status', v.status);
  $('tx-status').dataset.status = v.status;
  set('tx-block', v.blockNumber == null ? 'pending' : v.blockNumber + (v.blockHash ? ' (' + v.blockHash + ')' : ''));
  set('tx-time', v.timestamp ? new Date(v.timestamp).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' }) : '');
  set('tx-from', v.from);
  set('tx-to', named(v.to, v.toName));
  set('tx-gas', v.gasUsed == null ? '' : v.gasUsed.toLocaleString('en-US') + (v.gasLimit ? ' of ' + v.gasLimit.toLocaleString('en-US') + ' limit' : ''));
  const arg = ([k, x]) => k + ': ' + (k === 'verifier' ? named(x, v.call.verifierName) : x);
  set('tx-call', v.call ? v.call.contract + '.' + v.call.function + '(' + Object.entries(v.call.args).map(arg).join(', ') + ')' : 'not a call to the Attestor');
  $('tx-facts').hidden = false;
  $('tx-msg').hidden = true;
  const list = $('attestations');
  list.replaceChildren();
  for (const a of v.attestations || []) {
    const li = document.createElement('li');
    li.className = 'attestation';
    const dl = document.createElement('dl');
    dl.className = 'tx-facts';
    const verifier = item('Verified by', named(a.verifier, a.verifierName), true);
    verifier.className = 'verifier';
    dl.append(item('Proof hash', a.proofHash, true), item('Attester', a.attester, true),
      verifier, item('Label', a.label));
    li.appendChild(dl);
    list.appendChild(li);
  }
  $('att-card').hidden = list.children.length === 0;
}

async function start() {
  const hash = new URLSearchParams(location.search).get('tx') || '';
  if (!TX_RE.test(hash)) {
    set('tx-msg', 'No transaction: the address needs ?tx= and a transaction hash (0x and 64 hex digits).');
    return;
  }
  document.title = 'Transaction ' + hash.slice(0, 10) + '\u2026 \u00b7 local chain \u00b7 phasestream';
  let r;
  try {
    r = await fetch('local/explorer/tx/' + hash, { cache: 'no-store' });
  } catch (e) {
    set('tx-msg', 'The local explorer cannot be reached (' + e.message + ').');
    return;
  }
  let body = null;
  try {
    body = await r.json();
  } catch (e) { /* not JSON */ }
  if (!r.ok || !body) {
    set('tx-msg', r.status === 404 && body ? 'Not found: ' + body.error : 'The local explorer answered HTTP ' + r.status + (body && body.error ? ': ' + body.error : '') + '.');
    $('tx-msg').dataset.state = 'error';
    return;
  }
  show(body);
}

start();
