'use strict';
// Output helpers shared by the phase scripts.
//
// phasestream reads a phase's stdout and stderr line by line while the phase
// runs and matches each line against the pipeline's rules, so every message
// here is one complete line, written at once. Node writes synchronously to
// pipes and files on Linux, so a line is visible to the reader as soon as the
// call returns; process.exit() afterwards loses nothing.

const fs = require('fs');

// Seconds since `startMs` (a performance.now() reading), one decimal.
function seconds(startMs) {
  return ((performance.now() - startMs) / 1000).toFixed(1) + ' s';
}

function say(line) {
  process.stdout.write(line + '\n');
}

function warn(line) {
  process.stderr.write(line + '\n');
}

// Print an error line on stderr, then exit with `code`. Exiting explicitly
// also stops the worker threads snarkjs keeps for its curve arithmetic.
function fail(line, code = 1) {
  warn(line);
  process.exit(code);
}

// Run an async main(), turning an uncaught error into one stderr line and
// exit status 1 (a stack trace is noise in a streamed log).
function runMain(name, main) {
  main().then(
    (code) => process.exit(code || 0),
    (err) => {
      // ethers' messages embed whole request payloads; its shortMessage is
      // the readable part.
      let msg = err && (err.shortMessage || err.message) ? err.shortMessage || err.message : String(err);
      if (msg.length > 600) msg = msg.slice(0, 600) + ' ...';
      warn(`${name}: ${msg}`);
      if (process.env.DEBUG_SCRIPTS && err && err.stack) warn(err.stack);
      process.exit(1);
    },
  );
}

// Every phase gets WORKDIR from phasestream; the scripts hand files to each
// other through it.
function requireWorkdir(name) {
  const dir = process.env.WORKDIR;
  if (!dir) fail(`${name}: WORKDIR is not set (the per-session directory phasestream creates)`, 2);
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
    fail(`${name}: WORKDIR ${dir} is not a directory`, 2);
  }
  return dir;
}

module.exports = { seconds, say, warn, fail, runMain, requireWorkdir };
