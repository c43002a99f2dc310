/*
 * results.js: the results panel's tiles (proofs generated per type, proofs
 * verified, the gas estimate, the proof files), filled once from the
 * complete event or the state of a completed session, and emptied when
 * another session is shown. The transactions below them are
 * transactions.js's.
 */
import { active } from './state.js';
import { el, num, setText, ui } from './dom.js';

export function renderResults(s) {
  ui.results.dataset.state = s.status;
  const r = s.result;
  if (s.status === 'complete') setText(ui.resultsNote, 'Run complete');
  else if (s.status === 'error') setText(ui.resultsNote, 'The run did not complete');
  else if (active(s)) setText(ui.resultsNote, 'When the run completes');
  else setText(ui.resultsNote, 'After a run completes');

  if (r && !ui.results.dataset.filled) {
    ui.results.dataset.filled = '1';
    fillProofs(r);
    fillVerification(r);
  } else if (!r && ui.results.dataset.filled) {
    delete ui.results.dataset.filled;
    for (const e of [ui.rProofs, ui.rVerified, ui.rGas]) setText(e, '\u2013');
    for (const e of [ui.rCircuits, ui.rGasSub]) setText(e, '');
    resetResults();
    ui.proofFiles.hidden = true;
  }
}

function fillProofs(r) {
  const gp = r.generatedProofs && typeof r.generatedProofs === 'object' ? r.generatedProofs : {};
  let total = 0;
  resetResults();
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
}

function fillVerification(r) {
  const vr = r.verificationResults && typeof r.verificationResults === 'object' ? r.verificationResults : {};
  setText(ui.rVerified, typeof vr.verified === 'number' ? num.format(vr.verified) : '\u2013');
  setText(ui.rCircuits, typeof vr.circuitsVerified === 'number' ? num.format(vr.circuitsVerified) + ' circuits verified' : '');
  setText(ui.rGas, typeof vr.gasEstimate === 'number' ? num.format(vr.gasEstimate) : '\u2013');
  setText(ui.rGasSub, typeof vr.gasEstimate === 'number' ? 'gas, estimated for on-chain verification' : 'no estimate reported');
}

// The per-type chips and the proof files' list, empty.
export function resetResults() {
  ui.rProofTypes.replaceChildren();
  ui.proofFileList.replaceChildren();
}
