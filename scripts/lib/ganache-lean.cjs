'use strict';
// Preloaded into the local chain's ganache (`node -r`, see scripts/chain):
// ganache without the two per-instruction hooks the pipeline never uses.
//
// ganache 7.9.2 subscribes to its EVM's "step" event, emitted before every
// instruction, in two places the pipeline has no use for:
//   - console.log: each step is inspected for a call to Hardhat's
//     console.log address, to print what a contract logs;
//   - storage-range tracking: while mining, each SSTORE's key is remembered
//     for debug_storageRangeAt.
// With any step listener present, the EVM builds an event object for every
// instruction and awaits the listeners; without one it does not. A STARK
// verification is millions of instructions (2.6 M for a 102-query proof of
// 2^10 steps): measured in-process, eth_call 4.7 s -> 2.6 s and mining the
// same call as a transaction 5.0 s -> 2.3 s. Contracts' console.log calls
// still cost their gas; ganache just stops printing them, and with the
// console.log hooks goes the "ganache:vm:tx:step" event of its programmatic
// API, which they also emit (nothing here subscribes to it).
//
// The hooks are recognised by their code (ganache's bundle names nothing
// else after them). Listeners that serve an RPC the pipeline calls stay:
// eth_estimateGas's instruction collector, debug_traceTransaction's tracer.
// Each kind of hook is reported on stderr (the chain's log) the first time
// one is dropped, so a ganache that no longer matches shows as a missing
// line, not a silent slowdown; tests/scripts checks both lines once the
// chain has mined.

const { EventEmitter } = require('events');

// Each unused hook, by what its code calls.
const UNUSED_HOOKS = [
  { what: 'console.log', code: /maybeGetLogs/ },
  { what: 'storage-range', code: /"SSTORE"===/ },
];

const subscribe = EventEmitter.prototype.on;
const reported = new Set();

EventEmitter.prototype.on = function on(name, listener) {
  if (name === 'step' && typeof listener === 'function') {
    const code = listener.toString();
    const hook = UNUSED_HOOKS.find((h) => h.code.test(code));
    if (hook) {
      if (!reported.has(hook.what)) {
        reported.add(hook.what);
        process.stderr.write(`ganache-lean: dropped the per-instruction ${hook.what} hook\n`);
      }
      return this;
    }
  }
  return subscribe.call(this, name, listener);
};
