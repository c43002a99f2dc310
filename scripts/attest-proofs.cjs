#!/usr/bin/env node
'use strict';
// Phase 3 of the default pipeline: attest every proof in WORKDIR on-chain.
//
// Environment: WORKDIR (required); PRIVATE_KEY (the sending account), RPC_URL,
// DEPLOYMENT_FILE (written by `scripts/chain start`: the verifier contracts,
// and the Attestor unless ATTESTOR_ADDRESS names another); EXPLORER_TX_URL
// (optional: a template such as https://sepolia.arbiscan.io/tx/{txHash};
// without {txHash} the hash is appended); SESSION_ID (labels the
// attestation). A public test network works the same, with a deployment
// file that names its contracts.
//
// Attest only what the chain verified: each proof (a groth16 or plonk .json
// with its public signals, a stark .ub with its statement) is sent to
// Attestor.attestVerified together with its verifier's address and the
// ABI-encoded verification call; the Attestor makes that call and records
// the proof only if the verifier returns true, under the hash
// keccak256(verifier || call data), and emits VerifiedBy(hash, verifier).
// A proof the verifier rejects is reported and not sent. All transactions
// are sent first, then their receipts awaited:
//   Transaction sent: 0x<64 hex>[ <explorer url>]
//   Attested! TX: 0x<64 hex>[ <explorer url>]          (mined with status 1)
//   Already attested: <file> (proof hash 0x…, block N) (recorded before: skipped)
//   Not attested: <file>: rejected by its verifier 0x… (...)
// Exit status: 0 when every proof is attested (now or before); 1 on any
// failure (unreachable RPC within ~10 s, revert, no receipt in time); 2 when
// the configuration is missing.

const { ethers } = require('ethers');
const { say, warn, fail, runMain, requireWorkdir } = require('./lib/out.cjs');
const { SYSTEMS, listProofs, proofPatterns, proofPaths, releaseCurve } = require('./lib/systems.cjs');
const { connect, withDeadline, walletFromKey, artifact, readDeployment } = require('./lib/eth.cjs');

const NAME = 'attest-proofs';
// Receipts must arrive within this budget, inside phasestream's 120 s phase
// timeout; a local chain mines at once, a public one within seconds.
const CHAIN_TIMEOUT_MS = 30000;
const RECEIPT_BUDGET_MS = Number(process.env.ATTEST_RECEIPT_TIMEOUT_MS || 90000);

function explorerSuffix(txHash) {
  const tmpl = process.env.EXPLORER_TX_URL;
  if (!tmpl) return '';
  return ' ' + (tmpl.includes('{txHash}') ? tmpl.split('{txHash}').join(txHash) : tmpl + txHash);
}

function attestorAddress(deployment) {
  return process.env.ATTESTOR_ADDRESS || deployment.attestor;
}

// What attesting `call` takes: { gasLimit } from Attestor.attestVerified's
// eth_estimateGas, which runs the verification; { rejected } when the
// verifier rejects the proof (the Attestor reverts with NotVerified), which
// is reported instead of sent; { overLimit } when the verifier accepts it
// but the attestation does not fit blockGasLimit, which is also reported
// instead of sent (a transaction above the block gas limit cannot be
// mined). Any other failure is thrown. One run of the verification decides
// and prices the transaction; a STARK verification takes the local chain
// seconds, so it is not also run as an eth_call first.
//
// How a chain says "does not fit" varies: ganache estimates above its
// block gas limit; a node that caps its estimate fails it without revert
// data, and the call (which gets more gas) succeeds; the Attestor says
// NotVerified when the verification itself runs out of gas, so a
// NotVerified is checked against the verifier alone.
async function attestationGas(attestor, call, label, blockGasLimit) {
  let e;
  try {
    const gasLimit = await attestor.attestVerified.estimateGas(call.address, call.data, label);
    return gasLimit > blockGasLimit ? { overLimit: true } : { gasLimit };
  } catch (err) {
    if (err.code !== 'CALL_EXCEPTION') throw err;
    e = err;
  }
  if (!e.revert) {
    try {
      await attestor.attestVerified.staticCall(call.address, call.data, label);
      return { overLimit: true };
    } catch (why) {
      e = why;
    }
  }
  if (!e.revert || e.revert.name !== 'NotVerified') throw e;
  return (await verifierAccepts(attestor.runner.provider, call)) ? { overLimit: true } : { rejected: true };
}

// Whether the verifier, called alone with all the gas an eth_call gets,
// returns true.
async function verifierAccepts(provider, call) {
  try {
    return BigInt(await provider.call({ to: call.address, data: call.data })) === 1n;
  } catch {
    return false;
  }
}

async function main() {
  const workdir = requireWorkdir(NAME);
  if (!process.env.PRIVATE_KEY) {
    fail(`${NAME}: PRIVATE_KEY is not set: attestation needs the key of a funded account (the pipeline skips this phase without it)`, 2);
  }
  const rpcUrl = process.env.RPC_URL;
  if (!rpcUrl) fail(`${NAME}: RPC_URL is not set: attestation needs a chain`, 2);
  if (!process.env.DEPLOYMENT_FILE) {
    fail(`${NAME}: DEPLOYMENT_FILE is not set: attestation calls the verifier contracts it names (written by 'scripts/chain start')`, 2);
  }
  const deployment = readDeployment(process.env.DEPLOYMENT_FILE);
  const address = attestorAddress(deployment);
  if (!address || !ethers.isAddress(address)) {
    fail(`${NAME}: no valid Attestor address (set ATTESTOR_ADDRESS, or use the DEPLOYMENT_FILE of 'scripts/chain start')`, 2);
  }

  const proofs = listProofs(workdir);
  if (proofs.length === 0) fail(`${NAME}: no proofs (${proofPatterns()}) in ${workdir}`);

  // A STARK verification takes the local chain seconds to estimate and run.
  const { provider, chainId } = await connect(rpcUrl, CHAIN_TIMEOUT_MS);
  try {
    if ((await provider.getCode(address)) === '0x') {
      throw new Error(`no contract at ATTESTOR_ADDRESS ${address} on chain ${chainId}`);
    }
    const wallet = walletFromKey(process.env.PRIVATE_KEY, provider);
    const attestor = new ethers.Contract(address, artifact('Attestor').abi, wallet);
    say(`Attesting ${proofs.length} proofs with Attestor ${address} on chain ${chainId} from ${wallet.address}`);
    const { gasLimit: blockGasLimit } = await provider.getBlock('latest');

    // Send every transaction first, with consecutive nonces, so that a slow
    // chain mines them together; then wait for the receipts.
    let nonce = await wallet.getNonce('pending');
    const sent = [];
    let rejected = 0;
    let already = 0;
    let overLimits = 0;
    for (const p of proofs) {
      const call = await SYSTEMS[p.type].verifyCall(p.name, proofPaths(workdir, p.name, p.type), deployment);
      const proofHash = await attestor.proofHashOf(call.address, call.data);
      const [attester, blockNumber] = await attestor.attestationOf(proofHash);
      if (attester !== ethers.ZeroAddress) {
        say(`Already attested: ${p.file} (proof hash ${proofHash}, block ${blockNumber})`);
        already++;
        continue;
      }
      const label = `${process.env.SESSION_ID || 'local'}/${p.file}`;
      const { gasLimit, overLimit } = await attestationGas(attestor, call, label, blockGasLimit);
      if (overLimit) {
        warn(`${NAME}: not attested: ${p.file}: its verifier ${call.address} accepts it, but attesting it takes more gas than a block of this chain holds (${blockGasLimit})`);
        overLimits++;
        continue;
      }
      if (!gasLimit) {
        say(`Not attested: ${p.file}: rejected by its verifier ${call.address}`);
        rejected++;
        continue;
      }
      const tx = await attestor.attestVerified(call.address, call.data, label, { nonce: nonce++, gasLimit });
      say(`Transaction sent: ${tx.hash}${explorerSuffix(tx.hash)}`);
      sent.push({ p, tx });
    }

    const deadline = Date.now() + RECEIPT_BUDGET_MS;
    let failures = 0;
    for (const { p, tx } of sent) {
      const left = Math.max(1000, deadline - Date.now());
      const receipt = await withDeadline(tx.wait(1, left), left, `receipt of ${tx.hash}`).catch((e) => {
        // ethers reports a reverted transaction by throwing with its receipt.
        if (e.receipt) return e.receipt;
        throw e;
      });
      if (receipt && receipt.status === 1) {
        say(`Attested! TX: ${tx.hash}${explorerSuffix(tx.hash)}`);
      } else {
        warn(`${NAME}: attestation of ${p.file} failed: transaction ${tx.hash} reverted`);
        failures++;
      }
    }
    const over = overLimits ? `, ${overLimits} over the gas limit` : '';
    say(`${sent.length - failures} proofs attested, ${already} already attested, ${rejected} rejected${over}`);
    return failures || rejected || overLimits ? 1 : 0;
  } finally {
    provider.destroy();
    await releaseCurve();
  }
}

runMain(NAME, main);
