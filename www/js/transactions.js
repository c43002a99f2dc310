/*
 * transactions.js: the session's on-chain transactions, kept (s.txs, in the
 * order they came, each hash once) and drawn. A hash may come before its
 * explorer link (from the results of a state answer, before the history is
 * read); the link, or "no explorer configured", is added to the drawn item
 * when it is known. A drawn item is completed, never redrawn.
 */
import { el, num, setText, ui } from './dom.js';
import { localExplorerUrl } from './local.js';

// url: the explorer link from a transaction event ('' when it had none),
// or undefined when not known yet (a hash from the results, before the
// history is read): no link is shown then, and no "none" either.
export function addTx(s, hash, url) {
  if (typeof hash !== 'string' || !hash) return;
  const link = typeof url === 'string' ? (/^https?:\/\//i.test(url) ? url : '') : null;
  const known = s.txs.find((x) => x.hash === hash);
  if (known) {
    if (link !== null && !known.url) known.url = link;
    return;
  }
  s.txs.push({ hash, url: link });
}

export function renderTransactions(s) {
  while (ui.txs.children.length < s.txs.length) {
    const tx = s.txs[ui.txs.children.length];
    const li = document.createElement('li');
    li.className = 'tx';
    li.dataset.hash = tx.hash;
    li.appendChild(el('code', 'tx-hash', tx.hash));
    ui.txs.appendChild(li);
  }
  for (let i = 0; i < s.txs.length; i++) renderLink(s, s.txs[i], ui.txs.children[i]);
  setText(ui.txCount, num.format(s.txs.length));
  ui.txsEmpty.hidden = s.txs.length > 0;
  setText(ui.txsEmpty, s.status === 'complete' ? 'This run sent no transactions.' : 'On-chain attestations appear here as they are sent.');
}

// A transaction whose event named no explorer (EXPLORER_TX_URL unset: the
// local chain) links to the local stack's explorer view when it has one.
function renderLink(s, tx, li) {
  if (tx.url === '' && !li.querySelector('a')) {
    const local = localExplorerUrl(tx.hash);
    if (local) {
      const old = li.querySelector('.tx-nolink');
      if (old) old.remove();
      const a = el('a', 'tx-link tx-local', 'View in the local explorer');
      a.href = local;
      a.target = '_blank';
      a.rel = 'noopener';
      a.setAttribute('aria-label', 'View transaction ' + tx.hash + ' in the local explorer (opens in a new tab)');
      li.appendChild(a);
      return;
    }
  }
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

export function resetTransactions() {
  ui.txs.replaceChildren();
}
