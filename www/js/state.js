/*
 * state.js: the page's state, and the redraw any change to it asks for.
 *
 * app.session is the one session shown: a fresh newSession() each time
 * another is shown (status 'idle' when none). Callbacks hold the session
 * they were started for; one that finds s !== app.session belongs to a
 * session no longer shown and does nothing. app.pipeline is the server's
 * pipeline once it is loaded.
 *
 * A module that changes the state calls scheduleRender(); the renderer that
 * render.js registers (onRender) then runs once for all the changes, at the
 * next animation frame, or within 250 ms in a hidden tab, which gets none.
 */
export const app = {
  session: null,
  pipeline: { proofTypes: [], phases: [] },
  pipelineLoaded: false,
  posting: false, // the POST that starts a run is out
  readiness: {}, // proof type -> readiness entry (readiness.js)
  localExplorer: '', // the local chain's explorer template (local.js)
};

export function newSession(id) {
  return {
    id,
    status: id ? 'loading' : 'idle', // idle loading queued running complete error unknown
    invalid: false, expired: false,
    proofType: null, startTime: null, endTime: null,
    lastId: 0, terminal: false,
    // loaded: the state answer is applied (st, without its lines, which
    // were stateLines, up to event stateLast), or the session is followed
    // from its first event (started here, or an older server).
    loaded: false, st: null, stateLines: 0, stateLast: 0,
    // The events up to stateLast ("history"): 'none' (not needed: the
    // stream brings every event), 'loading', 'done', 'lost' (the session
    // went away first, or they could not be read).
    history: 'none', histJob: 0, histAnswer: null, histTimer: 0, histDelay: 1000, histTries: 0,
    marks: [], // events other than log lines received live while history is 'loading'
    phase: null, progress: 0, step: '',
    phases: app.pipeline.phases.map((p) => ({ name: p.name, step: p.step, optional: !!p.optional, state: 'pending', start: null, end: null })),
    phasesBuilt: false,
    logCount: 0, errCount: 0, pending: [], rendered: 0, lastLinePhase: undefined,
    txs: [],
    result: null, error: null, queuePosition: null, cancelling: false,
    es: null, conn: id ? 'connecting' : 'idle', connProblem: null, retryDelay: 1000,
    recoverTimer: 0, queueTimer: 0, endedProbes: 0,
    skew: null, lastLogTs: null, lastArrival: 0,
    announced: '', reconnected: false,
  };
}

app.session = newSession(null);

export function active(s) {
  return !s.terminal && (s.status === 'loading' || s.status === 'queued' || s.status === 'running');
}

let renderer = () => {};
let renderQueued = false;

export function onRender(fn) {
  renderer = fn;
}

export function scheduleRender() {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(runRender);
  setTimeout(runRender, 250); // a hidden tab gets no animation frames
}

function runRender() {
  if (!renderQueued) return;
  renderQueued = false;
  renderer();
}
