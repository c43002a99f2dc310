/*
 * loader.worker.js: the loader's worker (a module worker, started by
 * jobs.js). It runs loader.js off the page's thread: requests arrive as
 * messages, answers leave as messages, their ArrayBuffers transferred
 * rather than copied.
 */
import { loaderMain } from './loader.js';

const take = loaderMain((a, t) => postMessage(a, t || []));
onmessage = (e) => take(e.data);
