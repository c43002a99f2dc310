#!/usr/bin/env python3
"""The default pipeline end to end: conf/workflow.json's real phase scripts
behind phasestream and nginx, a local chain, real proofs.

For each proof type the default pipeline offers, one workflow through nginx
must complete with 3 proofs generated, 3 verified, a measured gas figure,
and 3 transactions that the chain confirms (eth_getTransactionReceipt status
1); the development key must appear nowhere in what is stored. Needs the
cached setup (scripts/zk-setup, which tests/scripts/run makes first).

Usage: python3 tests/workflow/run.py [proofType ...]"""
import json
import os
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
from harness import Stack, create, follow, free_port  # noqa: E402

PIPELINE = os.path.join(ROOT, "conf", "workflow.json")


def rpc(url, method, params):
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).encode()
    req = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())["result"]


def read_env(path):
    env = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#") and "=" in line:
                k, v = line.split("=", 1)
                env[k] = v.strip("'\"")
    return env


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def one_workflow(stack, chain, proof_type):
    t0 = time.time()
    sid = create(stack.port, proof_type)
    # A STARK proof's on-chain verification keeps a phase silent for up to
    # ~20 s; the stream's keepalive comes every 15 s, so allow twice that.
    ev = follow(stack.port, sid, timeout=30)
    took = time.time() - t0
    last = ev[-1]
    if last.type != "complete":
        logs = [e.data.get("message") for e in ev if e.type == "log"][-15:]
        raise AssertionError("%s ended with %s: %s\n  %s" % (proof_type, last.type, last.raw,
                                                               "\n  ".join(map(str, logs))))
    final = last.data
    proofs = final["generatedProofs"][proof_type]
    check(len(proofs) == 3, "3 %s proofs, not %r" % (proof_type, proofs))
    vr = final["verificationResults"]
    check(vr["verified"] == 3, "3 verified, not %r" % vr)
    check(vr["circuitsVerified"] == 3, "3 circuits verified, not %r" % vr)
    check(isinstance(vr["gasEstimate"], int) and vr["gasEstimate"] > 1000,
          "a gas figure, not %r" % vr)
    txs = final["attestationResults"]
    check(len(txs) == 3, "3 attestations, not %r" % txs)
    events = [e.data["txHash"] for e in ev if e.type == "transaction"]
    check(events == txs, "one transaction event per attestation: %r vs %r" % (events, txs))
    for h in txs:
        receipt = rpc(chain["RPC_URL"], "eth_getTransactionReceipt", [h])
        check(receipt and receipt["status"] == "0x1", "receipt of %s: %r" % (h, receipt))
    stored = json.dumps(stack.r("LRANGE", stack.key(sid, "events"), 0, -1))
    check(chain["PRIVATE_KEY"] not in stored and chain["PRIVATE_KEY"][2:] not in stored,
          "the development key stays out of Redis")
    # The page shows no server paths: no stored line names the session's
    # work directory.
    workdir = os.path.join(stack.tmp, "work", sid)
    check(workdir not in stored, "no stored line holds the work directory %s" % workdir)
    print("ok   %s: %d events, proofs %s, gas %d, %d transactions confirmed, %.1f s"
          % (proof_type, len(ev), ", ".join(proofs), vr["gasEstimate"], len(txs), took))


def main():
    stack = None
    chain_dir = None
    failures = 0
    try:
        types = sys.argv[1:]
        import tempfile
        chain_dir = tempfile.mkdtemp(prefix="phasestream-chain-")
        subprocess.run([os.path.join(ROOT, "scripts", "chain"), "start", chain_dir,
                        str(free_port())], check=True)
        chain = read_env(os.path.join(chain_dir, "chain.env"))
        stack = Stack(PIPELINE, env=chain, runners=1)
        if not types:
            types = json.loads(urllib.request.urlopen(
                "http://127.0.0.1:%d/api/workflow/pipeline" % stack.port).read())["proofTypes"]
        for t in types:
            try:
                one_workflow(stack, chain, t)
            except AssertionError as e:
                failures += 1
                print("FAIL %s: %s" % (t, e))
    finally:
        if stack:
            rc = stack.close()
            if rc != 0:
                failures += 1
                print("FAIL phasestream exited with %s" % rc)
        if chain_dir:
            subprocess.run([os.path.join(ROOT, "scripts", "chain"), "stop", chain_dir])
    print("workflow: %d proof types, %d failed" % (len(types), failures))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
