'use strict';
// Talking to the chain: JSON-RPC with deadlines, the deployment file, and
// the contract artifacts zk-setup compiled.
//
// Every network step has a deadline, so an unreachable or stalled RPC ends
// the phase with a clear error well inside phasestream's phase timeout
// instead of hanging (ethers alone would retry network detection forever).

const fs = require('fs');
const { ethers } = require('ethers');
const zk = require('./zk.cjs');

const RPC_TIMEOUT_MS = 10000;

// One JSON-RPC call over HTTP with a deadline; returns `result` or throws
// an Error that names the endpoint and the reason.
async function rpc(url, method, params = [], timeoutMs = RPC_TIMEOUT_MS) {
  let res;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (e) {
    const why = e.name === 'TimeoutError' ? `no answer within ${timeoutMs / 1000} s` : (e.cause && (e.cause.code || e.cause.message)) || e.message;
    throw new Error(`RPC ${url} unreachable (${method}): ${why}`);
  }
  const text = await res.text();
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    throw new Error(`RPC ${url} answered HTTP ${res.status} with no JSON-RPC reply`);
  }
  if (body.error) throw new Error(`RPC ${url} ${method}: ${body.error.message || JSON.stringify(body.error)}`);
  return body.result;
}

// An ethers provider for `url` after one successful eth_chainId: the chain id
// is fixed from then on (no background re-detection), and every request
// carries the same deadline.
async function connect(url, timeoutMs = RPC_TIMEOUT_MS) {
  if (!/^https?:\/\//.test(url)) throw new Error(`RPC_URL must be an http(s) URL, not '${url}'`);
  const chainId = BigInt(await rpc(url, 'eth_chainId', [], timeoutMs));
  const req = new ethers.FetchRequest(url);
  req.timeout = timeoutMs;
  const network = ethers.Network.from(chainId);
  // cacheTimeout -1: ethers would otherwise answer a repeated call (such as
  // the account's nonce) from a 250 ms cache, stale on an instant-mining chain.
  const provider = new ethers.JsonRpcProvider(req, network, { staticNetwork: network, batchMaxCount: 1, cacheTimeout: -1 });
  return { provider, chainId };
}

// Resolve `promise`, or reject after `ms` with `what` in the message.
function withDeadline(promise, ms, what) {
  let timer;
  const deadline = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms / 1000} s`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

// A wallet for PRIVATE_KEY; the key itself never appears in a message.
function walletFromKey(key, provider) {
  try {
    return new ethers.Wallet(key.startsWith('0x') ? key : '0x' + key, provider);
  } catch {
    throw new Error('PRIVATE_KEY is not a valid 32-byte hex private key');
  }
}

// The compiled contract `name` of the current setup: { abi, bytecode }.
function artifact(name) {
  const file = zk.contractArtifact(name);
  if (!fs.existsSync(file)) throw new Error(`no compiled contract ${name} in ${file}: run scripts/zk-setup`);
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

// The deployment file `scripts/chain start` writes:
//   { rpcUrl, chainId, setupId, attestor, verifiers: { <circuit>: { <type>: address } },
//     starkVerifier }
function readDeployment(file) {
  let d;
  try {
    d = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`cannot read deployment file ${file}: ${e.message}`);
  }
  if (!d || typeof d.verifiers !== 'object') throw new Error(`deployment file ${file} has no verifiers`);
  return d;
}

// The verification gas of each proof: calls is [{ p, address, data }], each
// an ABI-encoded call of a verifier that returns bool. eth_call must return
// true (a revert or false is reported through rejected(p, why)), and
// eth_estimateGas prices that transaction, calldata included. With
// revertsOnReject (a verifier that never returns false), the estimate's
// success alone stands for the call. Prints `<name>: <N> gas<suffix>` per
// proof; returns the total. With announce (verifications that take the
// chain seconds), a line before each says what the phase is waiting for.
async function verificationGas(provider, calls, { say, rejected }, { suffix = '', revertsOnReject = false, announce = false } = {}) {
  let total = 0n;
  for (const { p, address, data } of calls) {
    let gas;
    if (announce) say(`${p.name}: verifying on-chain at ${address} (eth_estimateGas)...`);
    try {
      if (!revertsOnReject && BigInt(await provider.call({ to: address, data })) !== 1n) {
        rejected(p, `the verifier at ${address} returned false`);
        continue;
      }
      gas = await provider.estimateGas({ to: address, data });
    } catch (e) {
      if (/timeout|unreachable/i.test(e.message)) throw e;
      rejected(p, `the verifier at ${address} reverted: ${e.shortMessage || e.message}`);
      continue;
    }
    total += gas;
    say(`${p.name}: ${gas} gas${suffix}`);
  }
  return total;
}

module.exports = { RPC_TIMEOUT_MS, rpc, connect, withDeadline, walletFromKey, artifact, readDeployment, verificationGas };
