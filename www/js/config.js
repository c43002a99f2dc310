/*
 * config.js: the page's settings. Where the API is mounted comes from
 * index.html (<meta name="phasestream-api">, phasestream's --prefix); the
 * rest are the bounds and timings the other modules work to. Constants
 * only: nothing here changes once the page has started.
 */
export const API = (document.querySelector('meta[name="phasestream-api"]') || {}).content || '/api/workflow';
export const MAX_LINES = 2000;       // terminal lines kept in the DOM
export const TRIM_SLACK = 1000;      // extra lines kept while the reader has scrolled up
export const QUEUE_POLL_MS = 2000;   // queue position refresh while queued
export const RETRY_MAX_MS = 10000;   // longest wait between two attempts to reach the server
export const LIVE_GAP_MS = 150;      // an event after this much quiet is live, not replayed
export const LINES_EVERY_MS = 100;   // terminal updates at most this often
export const HISTORY_WAIT_MS = 600;  // the first draw of a session waits this long for its events
export const READINESS_POLL_MS = 2000; // the pipeline's readiness, re-read while a type is not ready
export const SESSION_RE = /^[A-Za-z0-9_-]{8,64}$/;
