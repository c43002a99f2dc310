#!/usr/bin/env node
'use strict';
// Phase 3 of the default pipeline: attest every proof in WORKDIR on-chain.
//
// Environment: WORKDIR (required); PRIVATE_KEY (the sending account), RPC_URL,
// and ATTESTOR_ADDRESS (or DEPLOYMENT_FILE, whose `attestor` is used when
// ATTESTOR_ADDRESS is unset); EXPLORER_TX_URL (optional: a template such as
// https://sepolia.arbiscan.io/tx/{txHash}; without {txHash} the hash is
// appended); SESSION_ID (labels the attestation). Pointing RPC_URL,
// ATTESTOR_ADDRESS and PRIVATE_KEY at a public test network works the same.
//
// Each proof (a groth16 or plonk .json, a stark .ub) is recorded in the
// Attestor by the keccak256 hash of its file's bytes. All transactions are
// sent first, then their receipts awaited:
//   Transaction sent: 0x<64 hex>[ <explorer url>]
//   Attested! TX: 0x<64 hex>[ <explorer url>]          (mined with status 1)
//   Already attested: <file> (proof hash 0x…, block N) (recorded before: skipped)
// Exit status: 0 when every proof is attested (now or before); 1 on any
// failure (unreachable RPC within ~10 s, revert, no receipt in time); 2 when
// the configuration is missing.

const fs = require('fs');
const path = require('path');
const { ethers } = require('ethers');
const { say, warn, fail, runMain, requireWorkdir } = require('./lib/out.cjs');
const { listProofs, proofPatterns } = require('./lib/systems.cjs');
const { connect, withDeadline, walletFromKey, artifact, readDeployment } = require('./lib/eth.cjs');

const NAME = 'attest-proofs';
// Receipts must arrive within this budget, inside phasestream's 120 s phase
// timeout; a local chain mines at once, a public one within seconds.
const RECEIPT_BUDGET_MS = Number(process.env.ATTEST_RECEIPT_TIMEOUT_MS || 90000);

function explorerSuffix(txHash) {
  const tmpl = process.env.EXPLORER_TX_URL;
  if (!tmpl) return '';
  return ' ' + (tmpl.includes('{txHash}') ? tmpl.split('{txHash}').join(txHash) : tmpl + txHash);
}

function attestorAddress() {
  if (process.env.ATTESTOR_ADDRESS) return process.env.ATTESTOR_ADDRESS;
  if (process.env.DEPLOYMENT_FILE) return readDeployment(process.env.DEPLOYMENT_FILE).attestor;
  return null;
}

async function main() {
  const workdir = requireWorkdir(NAME);
  if (!process.env.PRIVATE_KEY) {
    fail(`${NAME}: PRIVATE_KEY is not set: attestation needs the key of a funded account (the pipeline skips this phase without it)`, 2);
  }
  const rpcUrl = process.env.RPC_URL;
  if (!rpcUrl) fail(`${NAME}: RPC_URL is not set: attestation needs a chain`, 2);
  const address = attestorAddress();
  if (!address || !ethers.isAddress(address)) {
    fail(`${NAME}: no valid Attestor address (set ATTESTOR_ADDRESS, or DEPLOYMENT_FILE from 'scripts/chain start')`, 2);
  }

  const proofs = listProofs(workdir);
  if (proofs.length === 0) fail(`${NAME}: no proofs (${proofPatterns()}) in ${workdir}`);

  const { provider, chainId } = await connect(rpcUrl);
  try {
    if ((await provider.getCode(address)) === '0x') {
      throw new Error(`no contract at ATTESTOR_ADDRESS ${address} on chain ${chainId}`);
    }
    const wallet = walletFromKey(process.env.PRIVATE_KEY, provider);
    const attestor = new ethers.Contract(address, artifact('Attestor').abi, wallet);
    say(`Attesting ${proofs.length} proofs with Attestor ${address} on chain ${chainId} from ${wallet.address}`);

    // Send every transaction first, with consecutive nonces, so that a slow
    // chain mines them together; then wait for the receipts.
    let nonce = await wallet.getNonce('pending');
    const sent = [];
    for (const p of proofs) {
      const proofHash = ethers.keccak256(fs.readFileSync(path.join(workdir, p.file)));
      const [attester, blockNumber] = await attestor.attestationOf(proofHash);
      if (attester !== ethers.ZeroAddress) {
        say(`Already attested: ${p.file} (proof hash ${proofHash}, block ${blockNumber})`);
        continue;
      }
      const label = `${process.env.SESSION_ID || 'local'}/${p.file}`;
      const tx = await attestor.attest(proofHash, label, { nonce: nonce++ });
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
    say(`${sent.length - failures} proofs attested, ${proofs.length - sent.length} already attested`);
    return failures ? 1 : 0;
  } finally {
    provider.destroy();
  }
}

runMain(NAME, main);
