/*
 * labels.js: how the page names a phase ("Phase 2 (Verify proofs)") and how
 * a run ended ("Phase 1 (Generate) failed with exit code 3"), for the
 * progress line, the notice, the terminal's separators and the
 * announcements. Words only: it reads a session, never changes it.
 */

export function phaseTitle(p) {
  if (!p) return '';
  const t = String(p.step || '').replace(/^\s*phase\s+\d+\s*:\s*/i, '').replace(/[.\u2026\s]+$/, '');
  return t || p.name.charAt(0).toUpperCase() + p.name.slice(1);
}

export function phaseLabel(s, name) {
  const i = s.phases.findIndex((p) => p.name === name);
  if (i < 0) return name ? '\u201c' + name + '\u201d' : '';
  return 'Phase ' + (i + 1) + ' (' + phaseTitle(s.phases[i]) + ')';
}

export function errorTitle(s) {
  const d = s.error || {};
  const where = phaseLabel(s, d.phase);
  if (d.code === 'cancelled') return d.phase && d.phase !== 'queued' && where ? 'Cancelled during ' + where : 'Cancelled while waiting in the queue';
  if (d.code === 'timeout') return (where || 'A phase') + ' timed out';
  if (d.code === 'lost') return 'The runner of this workflow stopped unexpectedly';
  if (d.code === 'redis') return 'The server lost its connection to Redis';
  if (typeof d.code === 'number') return (where || 'A phase') + ' failed with exit code ' + d.code;
  if (d.code == null) {
    // Shown from the state alone: its message says what happened.
    if (d.phase === 'queued') return 'The run ended while waiting in the queue';
    return d.phase && s.phases.some((p) => p.name === d.phase) ? 'The run stopped during ' + where : 'The run stopped';
  }
  return (where ? where + ' failed' : 'The workflow failed');
}
