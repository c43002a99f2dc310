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
// still cost their gas; ganache just stops printing them.
//
// The hooks are recognised by their code (ganache's bundle names nothing
// else after them). Listeners that serve an RPC the pipeline calls stay:
// eth_estimateGas's instruction collector, debug_traceTransaction's tracer.
// The first hook dropped is reported on stderr (the chain's log), so a
// ganache that no longer matches shows as a missing line, not a silent
// slowdown; tests/scripts checks the line.

const { EventEmitter } = require('events');

const UNUSED_HOOK = /maybeGetLogs|"SSTORE"===/;

const subscribe = EventEmitter.prototype.on;
let dropped = 0;

EventEmitter.prototype.on = function on(name, listener) {
  if (name === 'step' && typeof listener === 'function' && UNUSED_HOOK.test(listener.toString())) {
    if (dropped++ === 0) process.stderr.write('ganache-lean: per-instruction console.log and storage-range hooks dropped\n');
    return this;
  }
  return subscribe.call(this, name, listener);
};
