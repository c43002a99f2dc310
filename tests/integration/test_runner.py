"""The runner: phases, extraction rules, failures, timeouts, cancel, the
queue, output hygiene, secrets, caps -- asserted on the stored events, the
keys in Redis, and the processes left in /proc."""
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import tempfile
import time
import unittest

from harness import (Stack, Redis, request, create, follow, stream, stored_events, wait_for,
                     processes_with_env, zombies_of, line_latencies, PIPELINES, global_key, BIN)

SECRET = "s3cr3t-VALUE-42"
PRIVATE_KEY = "0x" + "ab" * 32


def logs(events):
    return [e.data for e in events if e.type == "log"]


def messages(events):
    return [e.data["message"] for e in events if e.type == "log"]


def monitor_args(line):
    """A command's arguments from a MONITOR line (quoted, with Redis'
    escapes: \\" \\\\ \\n \\r \\t \\xHH)."""
    args, i = [], line.index('"')
    while i < len(line):
        if line[i] != '"':
            i += 1
            continue
        out, i = bytearray(), i + 1
        while line[i] != '"':
            if line[i] == "\\":
                c = line[i + 1]
                if c == "x":
                    out.append(int(line[i + 2:i + 4], 16))
                    i += 4
                    continue
                out += {"n": b"\n", "r": b"\r", "t": b"\t"}.get(c, c.encode())
                i += 2
            else:
                out += line[i].encode()
                i += 1
        args.append(out.decode())
        i += 1
    return args


class RunnerTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = Stack("basic.json", args=["--kill-grace", "1", "--line-limit", "200"],
                      env={"TEST_SECRET": SECRET, "PS_RUN_LOG": "{tmp}/runs.log"}, runners=3)

    @classmethod
    def tearDownClass(cls):
        assert cls.s.close() == 0

    def state(self, sid):
        return request(self.s.port, "GET", "/api/workflow/state?sessionId=" + sid).json()

    def runs(self):
        with open(os.path.join(self.s.tmp, "runs.log")) as f:
            return [l.split() for l in f if l.strip()]

    def assertNoProcessesLeft(self, sid):
        self.assertEqual(processes_with_env("PS_TEST_MARK=mark-" + sid), [])
        self.assertEqual(zombies_of(self.s.ps.pid), [])

    def test_a_full_run_fills_the_results_as_configured(self):
        sid = create(self.s.port, "groth16")
        ev = follow(self.s.port, sid)
        self.assertEqual(ev[-1].type, "complete")
        final = ev[-1].data
        self.assertEqual(final["status"], "complete")
        self.assertNotIn("logs", final)
        # append with unique: the repeated file name is kept once.
        self.assertEqual(final["generatedProofs"]["groth16"],
                         ["circuit_a_groth16_proof.json", "circuit_b_groth16_proof.json"])
        self.assertEqual(final["generatedProofs"]["plonk"], [])
        # count, and set as a number with k/M suffixes (the last match wins).
        self.assertEqual(final["verificationResults"],
                         {"verified": 2, "gasEstimate": 1500000, "circuitsVerified": 2})
        self.assertEqual(final["attestationResults"], [])
        # The state endpoint agrees with the complete event.
        st = self.state(sid)
        for k in ["generatedProofs", "verificationResults", "attestationResults"]:
            self.assertEqual(st[k], final[k])
        self.assertNoProcessesLeft(sid)

    def test_status_events_follow_the_phases_and_the_progress_rule(self):
        sid = create(self.s.port, "groth16")
        ev = follow(self.s.port, sid)
        st = [(e.data["phase"], e.data["progress"]) for e in ev if e.type == "status"]
        self.assertEqual(st, [("queued", 0), ("generating", 0), ("generating", 20),
                              ("verifying", 40), ("attesting", 70), ("attesting", 100),
                              ("complete", 100)])
        steps = {e.data["phase"]: e.data["step"] for e in ev if e.type == "status"}
        self.assertEqual(steps["generating"], "Phase 1: Generating proofs...")

    def test_a_phase_without_its_env_is_skipped_with_its_message(self):
        sid = create(self.s.port, "ok")
        ev = follow(self.s.port, sid)
        skip = [e for e in ev if e.type == "status" and e.data.get("skipped")]
        self.assertEqual(len(skip), 1)
        self.assertEqual(skip[0].data["phase"], "attesting")
        self.assertIn("WARNING: PRIVATE_KEY not configured. Skipping attestation.", messages(ev))
        self.assertNotIn(["attest", sid], self.runs())
        self.assertEqual(ev[-1].type, "complete")

    def test_phases_get_their_environment_and_share_a_workdir(self):
        sid = create(self.s.port, "env")
        ev = follow(self.s.port, sid)
        msgs = messages(ev)
        self.assertIn("env PROOF_TYPE=env SESSION_ID=%s PHASE=generating args=gen env" % sid, msgs)
        self.assertIn("env PHASE=verifying", msgs)
        self.assertIn("read: handed over by gen", msgs)
        # The server's own settings (the Redis URL may hold a password) are
        # not handed to phases.
        self.assertIn("server settings: REDIS_URL= PHASESTREAM_KEY_PREFIX=", msgs)
        workdir = [m for m in msgs if m.startswith("workdir ")][0].split(" ", 1)[1]
        self.assertEqual(workdir, os.path.join(self.s.tmp, "work", sid))
        self.assertFalse(os.path.exists(workdir))  # removed when the session ended
        self.assertEqual(ev[-1].type, "complete")

    def test_stderr_lines_are_marked(self):
        sid = create(self.s.port, "groth16")
        ev = follow(self.s.port, sid)
        err = [l for l in logs(ev) if l["stream"] == "stderr"]
        self.assertEqual([l["message"] for l in err], ["warming up"])
        self.assertEqual(err[0]["type"], "error")
        self.assertEqual(err[0]["phase"], "generating")
        self.assertRegex(err[0]["timestamp"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")

    def test_a_failing_phase_ends_the_session_with_its_exit_code(self):
        sid = create(self.s.port, "fail")
        ev = follow(self.s.port, sid)
        self.assertEqual(ev[-1].type, "error")
        self.assertEqual(ev[-1].data["code"], 3)
        self.assertEqual(ev[-1].data["phase"], "generating")
        self.assertIn("exit code 3", ev[-1].data["error"])
        self.assertIn("something broke", ev[-1].data["error"])
        self.assertNotIn(["verify", sid], self.runs())
        st = self.state(sid)
        self.assertEqual(st["status"], "error")
        self.assertEqual(st["error"], ev[-1].data["error"])

    def test_a_phase_killed_by_a_signal_fails_with_128_plus_the_signal(self):
        ev = follow(self.s.port, create(self.s.port, "signal"))
        self.assertEqual(ev[-1].data["code"], 137)
        self.assertIn("signal 9", ev[-1].data["error"])

    def test_exit_ok_if_accepts_a_non_zero_exit_when_its_result_is_filled(self):
        s2 = self.s
        # exitOkIf needs the attest phase: a stack with PRIVATE_KEY set.
        s = Stack("basic.json", env={"PRIVATE_KEY": PRIVATE_KEY}, redis=s2.redis)
        try:
            ok = follow(s.port, create(s.port, "exitok"))
            self.assertEqual(ok[-1].type, "complete")
            self.assertEqual(len(ok[-1].data["attestationResults"]), 1)
            bad = follow(s.port, create(s.port, "exitfail"))
            self.assertEqual(bad[-1].type, "error")
            self.assertEqual(bad[-1].data["code"], 1)
            self.assertEqual(bad[-1].data["phase"], "attesting")
        finally:
            self.assertEqual(s.close(), 0)

    def test_transactions_become_events_and_private_key_is_masked(self):
        s = Stack("basic.json", env={"PRIVATE_KEY": PRIVATE_KEY}, redis=self.s.redis)
        try:
            sid = create(s.port, "groth16")
            ev = follow(s.port, sid)
            tx = [e for e in ev if e.type == "transaction"]
            self.assertEqual(len(tx), 1)  # sent and attested: one hash, once
            h = tx[0].data["txHash"]
            self.assertRegex(h, r"^0x[a-f0-9]{64}$")
            self.assertEqual(tx[0].data["explorerUrl"], "https://explorer.test/tx/" + h)
            self.assertEqual(ev[-1].data["attestationResults"], [h])
            everything = json.dumps(s.r("LRANGE", s.key(sid, "events"), 0, -1))
            self.assertNotIn(PRIVATE_KEY, everything)
            self.assertNotIn(PRIVATE_KEY[2:], everything)
        finally:
            self.assertEqual(s.close(), 0)

    def test_a_timeout_kills_the_whole_group_grandchildren_included(self):
        sid = create(self.s.port, "timeout")
        wait_for(lambda: len(processes_with_env("PS_TEST_MARK=mark-" + sid)) >= 3,
                 what="the script, its grandchild and its sleep")
        t0 = time.time()
        ev = follow(self.s.port, sid)
        self.assertEqual(ev[-1].type, "error")
        self.assertEqual(ev[-1].data["code"], "timeout")
        self.assertIn("timed out after 5 s", ev[-1].data["error"])
        self.assertLess(time.time() - t0, 10)
        self.assertNoProcessesLeft(sid)

    def test_processes_that_ignore_term_are_killed_after_the_grace(self):
        sid = create(self.s.port, "stubborn")
        wait_for(lambda: len(processes_with_env("PS_TEST_MARK=mark-" + sid)) >= 3,
                 what="the stubborn processes")
        ev = follow(self.s.port, sid)
        self.assertEqual(ev[-1].data["code"], "timeout")
        self.assertNoProcessesLeft(sid)

    def test_processes_left_behind_by_a_finished_phase_are_ended(self):
        sid = create(self.s.port, "orphan")
        ev = follow(self.s.port, sid)
        self.assertEqual(ev[-1].type, "complete")
        self.assertNoProcessesLeft(sid)

    def test_processes_that_left_the_group_are_ended_and_reaped(self):
        sid = create(self.s.port, "escape")
        ev = follow(self.s.port, sid)
        self.assertEqual(ev[-1].type, "complete")
        # Gone by the time the terminal event is there, and said so.
        self.assertEqual(processes_with_env("PS_TEST_MARK=mark-" + sid), [])
        # Two trees: the lone sleep, and sh with its own sleep.
        self.assertIn("2 processes of this session that had left its process group were ended",
                      messages(ev))
        # And nothing of them left as a zombie of phasestream.
        wait_for(lambda: zombies_of(self.s.ps.pid) == [], timeout=5, what="no zombies")

    def test_an_escaped_process_with_more_children_than_a_tree_walk_takes_is_ended_whole(self):
        # 300 children: the walk ends 256 with their parent, and the others,
        # re-parented to phasestream when it dies, in the next sweep.
        sid = create(self.s.port, "escapewide")
        ev = follow(self.s.port, sid, timeout=60)
        self.assertEqual(ev[-1].type, "complete", ev[-1].data)
        self.assertEqual(processes_with_env("PS_TEST_MARK=mark-" + sid), [])
        self.assertTrue(any(m.endswith("that had left its process group were ended")
                            for m in messages(ev)), messages(ev))
        wait_for(lambda: zombies_of(self.s.ps.pid) == [], timeout=5, what="no zombies")

    def test_an_orphan_that_exits_on_its_own_is_reaped(self):
        # A process outside the group that ends by itself while its session
        # runs on: phasestream, its subreaper, collects it.
        sid = create(self.s.port, "lingering")
        ev = follow(self.s.port, sid)
        self.assertEqual(ev[-1].type, "complete")
        self.assertEqual(zombies_of(self.s.ps.pid), [])

    def test_cancel_of_a_running_phase_ends_its_processes(self):
        sid = create(self.s.port, "sleepy")
        wait_for(lambda: processes_with_env("PS_TEST_MARK=mark-" + sid), what="the phase")
        self.assertEqual(request(self.s.port, "DELETE", "/api/workflow?sessionId=" + sid).status,
                         202)
        ev = follow(self.s.port, sid)
        self.assertEqual(ev[-1].data["code"], "cancelled")
        self.assertEqual(ev[-1].data["phase"], "generating")
        self.assertNoProcessesLeft(sid)
        self.assertEqual(request(self.s.port, "DELETE", "/api/workflow?sessionId=" + sid).status,
                         409)
        self.assertEqual(self.s.r("ZSCORE", global_key(self.s.prefix, "running"), sid), None)

    def test_output_is_cleaned_cut_and_kept_whole(self):
        sid = create(self.s.port, "garbage")
        ev = follow(self.s.port, sid)
        msgs = [m for m in messages(ev) if not m.startswith("WARNING")]
        self.assertEqual(msgs[0], "bad \ufffd\ufffd utf8 \ufffd here")
        self.assertEqual(msgs[1], "ctlred\tend")
        self.assertEqual(msgs[2], "nulbyte")
        self.assertEqual(msgs[3], "overlong \ufffd\ufffd and surrogate \ufffd\ufffd\ufffd ok \u2705")
        self.assertTrue(msgs[4].startswith("x" * 200))
        self.assertTrue(msgs[4].endswith("[line truncated]"))
        self.assertLess(len(msgs[4].encode()), 240)
        self.assertEqual(msgs[5], "no newline at the end")
        self.assertEqual(ev[-1].type, "complete")

    def test_secrets_never_reach_redis_or_the_stream(self):
        sid = create(self.s.port, "secret")
        ev = follow(self.s.port, sid)
        self.assertIn("the key is *** and again ***.", messages(ev))
        self.assertIn("***", messages(ev))
        everything = json.dumps([e.raw for e in ev]) + json.dumps(
            self.s.r("LRANGE", self.s.key(sid, "events"), 0, -1)) + json.dumps(
            self.s.r("HGETALL", self.s.key(sid, "state")))
        self.assertNotIn(SECRET, everything)
        # Hidden by a control character, still masked.
        self.assertNotIn(SECRET.replace("s3c", "s3"), everything)
        self.assertNotIn(SECRET, self.s.ps.read_log())

    def test_a_log_line_is_one_small_write(self):
        mon = self.s.redis.client()
        mon("MONITOR")
        sid = create(self.s.port, "slow")
        follow(self.s.port, sid)
        mon.sock.settimeout(0.5)
        lines = []
        try:
            while True:
                lines.append(mon._line().decode("utf-8", "replace"))
        except (OSError, ConnectionError):
            pass
        mon.close()
        mine = [l for l in lines if sid in l]
        appends = [l for l in mine if '"EVALSHA"' in l and '"log"' in l]
        # Each line is sent once (lines printed together share a call),
        # and a call carries those lines, not the session.
        self.assertEqual(sum(l.count('"log"') for l in appends),
                         len([e for e in stored_events(self.s.r, self.s, sid) if e[1] == "log"]))
        self.assertTrue(all(len(l) < 1500 * l.count('"{\\"') for l in appends),
                        max(appends, key=len))
        # Nothing rewrites a whole session per line.
        self.assertFalse([l for l in mine if '"SET"' in l or '"DEL"' in l])

    def test_a_burst_of_lines_costs_one_script_call_and_one_notification(self):
        def calls(what):
            info = self.s.r("INFO", "commandstats")
            for line in info.splitlines():
                if line.startswith("cmdstat_%s:" % what):
                    return int(line.split("calls=")[1].split(",")[0])
            return 0
        evals, publishes = calls("evalsha"), calls("publish")
        sid = create(self.s.port, "flood")  # 3,000 lines at once
        events = follow(self.s.port, sid)
        evals, publishes = calls("evalsha") - evals, calls("publish") - publishes
        seqs = [int(m.split()[2]) for m in messages(events) if m.startswith("flood line ")]
        self.assertEqual(seqs, list(range(1, 3001)))
        ids = [e.id for e in events]
        self.assertEqual(ids, list(range(1, len(ids) + 1)))
        self.assertEqual(events[-1].type, "complete")
        # One call per burst of up to 256 events (plus create, claim,
        # heartbeats and the phases' status events), not one per line.
        self.assertLess(evals, 3000 // 256 * 3 + 40, evals)
        self.assertLess(publishes, 3000 // 256 * 3 + 40, publishes)

    def test_an_append_sent_again_after_a_lost_reply_stores_nothing_twice(self):
        mon = self.s.redis.client()
        mon("MONITOR")
        sid = create(self.s.port, "slow")
        follow(self.s.port, sid)
        mon.sock.settimeout(0.5)
        calls = []
        try:
            while True:
                line = mon._line().decode("utf-8", "replace")
                if sid in line and '"EVALSHA"' in line and '"log"' in line:
                    calls.append(monitor_args(line))
        except (OSError, ConnectionError):
            pass
        mon.close()
        before = self.s.r("LRANGE", self.s.key(sid, "events"), 0, -1)
        for argv in calls:  # what a runner sends when a reply was lost
            self.assertEqual(self.s.r(*argv), int(argv[11]))
        self.assertEqual(self.s.r("LRANGE", self.s.key(sid, "events"), 0, -1), before)

    def test_keys_are_prefixed_hash_tagged_and_expire(self):
        sid = create(self.s.port, "ok")
        follow(self.s.port, sid)
        keys = sorted(self.s.r("KEYS", "*%s*" % sid))
        self.assertEqual(keys, [self.s.key(sid, "events"), self.s.key(sid, "state")])
        for k in keys:
            self.assertGreater(self.s.r("TTL", k), 3590)
            self.assertLessEqual(self.s.r("TTL", k), 3600)

    def test_queued_sessions_report_their_position_and_run_in_order(self):
        s = Stack("basic.json", runners=1, env={"PS_RUN_LOG": "{tmp}/runs.log"},
                  redis=self.s.redis)
        try:
            first = create(s.port, "sleepy")
            wait_for(lambda: "started" in (s.r("LINDEX", s.key(first, "events"), -1) or ""),
                     what="the first session's phase to start")
            queued = [create(s.port, "ok") for _ in range(3)]
            for i, sid in enumerate(queued):
                st = request(s.port, "GET", "/api/workflow/state?sessionId=%s&logs=0" % sid).json()
                self.assertEqual(st["status"], "queued")
                self.assertEqual(st["queuePosition"], i + 1)
            # Cancel the second queued one: it ends at once, never runs.
            self.assertEqual(request(s.port, "DELETE", "/api/workflow?sessionId=" + queued[1]).status,
                             202)
            ev = follow(s.port, queued[1])
            self.assertEqual([e.type for e in ev], ["status", "error"])
            self.assertEqual(ev[-1].data["code"], "cancelled")
            st = request(s.port, "GET", "/api/workflow/state?sessionId=%s&logs=0" % queued[2]).json()
            self.assertEqual(st["queuePosition"], 2)
            request(s.port, "DELETE", "/api/workflow?sessionId=" + first)
            for sid in [queued[0], queued[2]]:
                self.assertEqual(follow(s.port, sid)[-1].type, "complete")
            with open(os.path.join(s.tmp, "runs.log")) as f:
                order = [l.split()[1] for l in f if l.startswith("gen ")]
            self.assertEqual(order, [first, queued[0], queued[2]])
        finally:
            self.assertEqual(s.close(), 0)

    def test_runners_bound_the_concurrent_workflows(self):
        s = Stack("basic.json", runners=2, redis=self.s.redis)
        try:
            sids = [create(s.port, "slow") for _ in range(5)]

            def statuses():
                # One moment: read one by one, a session could end and the
                # next start between two reads, and both count as running.
                s.r("MULTI")
                for sid in sids:
                    s.r("HGET", s.key(sid, "state"), "status")
                return s.r("EXEC")
            peak = 0
            deadline = time.time() + 30
            while time.time() < deadline:
                now = statuses()
                peak = max(peak, now.count("running"))
                if now.count("complete") == len(sids):
                    break
                time.sleep(0.05)
            self.assertEqual(peak, 2)
            for sid in sids:
                self.assertEqual(follow(s.port, sid)[-1].type, "complete")
        finally:
            self.assertEqual(s.close(), 0)

    def test_lines_reach_the_browser_side_within_100_ms_through_nginx(self):
        lat = line_latencies(self.s.port, create(self.s.port, "clock"))
        self.assertEqual(len(lat), 6)
        print("\n  line latency through nginx (ms): %s; median %.1f"
              % (", ".join("%.1f" % l for l in lat), statistics.median(lat)))
        self.assertLess(statistics.median(lat), 100)
        self.assertLess(max(lat), 500)  # not held back to the phase's end


class CapTest(unittest.TestCase):
    def test_the_event_cap_is_reported_and_the_session_still_ends(self):
        s = Stack("basic.json", args=["--max-events", "500"])
        try:
            sid = create(s.port, "flood")
            ev = follow(s.port, sid)
            self.assertLessEqual(len(ev), 500)
            self.assertEqual(ev[-1].type, "complete")
            notes = [m for m in messages(ev) if m.startswith("Output limit reached")]
            self.assertEqual(len(notes), 1)
            self.assertIn("phasestream_log_lines_dropped_total",
                          request(s.port, "GET", "/api/workflow/metrics").body)
        finally:
            self.assertEqual(s.close(), 0)


    def test_every_event_counts_and_collected_results_are_bounded(self):
        # A phase printing 20,000 distinct lines that the default pipeline's
        # rule collects: the cap holds for matched lines too, the results
        # stop growing at their bound (and say so), and the session is not
        # starved of its heartbeat.
        s = Stack("basic.json", args=["--max-events", "100"])
        try:
            sid = create(s.port, "proofs")
            ev = follow(s.port, sid, timeout=60)
            self.assertEqual(ev[-1].type, "complete", ev[-1].data)
            self.assertLessEqual(s.r("LLEN", s.key(sid, "events")), 100)
            msgs = messages(ev)
            self.assertEqual(len([m for m in msgs if m.startswith("Output limit reached")]), 1)
            self.assertEqual(len([m for m in msgs if m.startswith("Results limit reached")]), 1)
            proofs = ev[-1].data["generatedProofs"]["groth16"]
            self.assertEqual(len(proofs), 1000)
            self.assertEqual(proofs[0], "file1_groth16_proof.json")
            state = json.loads(request(s.port, "GET",
                                       "/api/workflow/state?sessionId=" + sid).body)
            self.assertEqual(len(state["generatedProofs"]["groth16"]), 1000)
            # Each stored event is small: no event carries a copy of the
            # results per line.
            size = sum(len(e) for e in s.r("LRANGE", s.key(sid, "events"), 0, -1))
            self.assertLess(size, 200000)
            metrics = request(s.port, "GET", "/api/workflow/metrics").body
            self.assertIn("phasestream_results_dropped_total 19000", metrics)
        finally:
            self.assertEqual(s.close(), 0)

    def test_a_pattern_at_its_match_limit_is_said_once_and_counted_for_every_line(self):
        # A rule whose pattern backtracks without end on the phase's lines:
        # each such line gives up at the match limit and counts as not
        # matching, the session says so once, and the metrics count every
        # line.
        d = tempfile.mkdtemp(prefix="ps-matchlimit-")
        path = os.path.join(d, "evil.json")
        with open(path, "w") as f:
            json.dump({"proofTypes": ["evil"], "phases": [{
                "name": "generating", "step": "Generating", "progress": [0, 100],
                "command": ["/bin/sh", "-c", "for i in 1 2 3; do printf '%02000d!\\n' 0 | tr 0 a; "
                            "done; echo aaa"],
                "timeout": 10,
                "extract": [{"pattern": "^(a+)+$", "count": "stats.evil"}]}]}, f)
        s = Stack(path)
        try:
            ev = follow(s.port, create(s.port, "evil"), timeout=30)
            self.assertEqual(ev[-1].type, "complete", ev[-1].data)
            said = [m for m in messages(ev) if "gave up on a line at its match limit" in m]
            self.assertEqual(len(said), 1, messages(ev))
            self.assertEqual(ev[-1].data["stats"]["evil"], 1, "only the last line matched")
            metrics = request(s.port, "GET", "/api/workflow/metrics").body
            self.assertIn("phasestream_pattern_match_limit_total 3\n", metrics)
        finally:
            self.assertEqual(s.close(), 0)
            shutil.rmtree(d, ignore_errors=True)


class EndedElsewhereTest(unittest.TestCase):
    def test_a_session_ended_under_its_runner_leaves_no_escaped_process(self):
        # Phase one leaves a process out of its group; during phase two the
        # session's state goes (expired, or removed): Redis refuses the
        # runner's next write, no terminal event is queued, and the runner
        # lets go of the session, ending the escapee as it does.
        d = tempfile.mkdtemp(prefix="ps-elsewhere-")
        path = os.path.join(d, "p.json")
        with open(path, "w") as f:
            json.dump({"proofTypes": ["a"], "phases": [
                {"name": "one", "step": "s", "timeout": 30,
                 "env": {"PS_TEST_MARK": "mark-{sessionId}"},
                 "command": ["/bin/sh", "-c", "setsid sleep 1000 & sleep 0.3; echo escaped"]},
                {"name": "two", "step": "s", "timeout": 30,
                 "command": ["/bin/sh", "-c", "echo waiting; sleep 30"]}]}, f)
        s = Stack(path, args=["--heartbeat", "2", "--kill-grace", "1"])
        left = []
        try:
            sid = create(s.port, "a")
            wait_for(lambda: any("waiting" in (d or "") for _, _, d in stored_events(s.r, s, sid)),
                     what="phase two")
            self.assertTrue(processes_with_env("PS_TEST_MARK=mark-" + sid))
            s.r("DEL", s.key(sid, "state"))
            wait_for(lambda: "session %s: finished" % sid in s.ps.read_log(), timeout=15,
                     what="the runner to let go of the session")
            left = processes_with_env("PS_TEST_MARK=mark-" + sid)
            self.assertEqual(left, [], "left running after the session ended")
            self.assertIn("session %s: ended 1 process that had left" % sid, s.ps.read_log())
        finally:
            for pid in left:
                os.kill(pid, signal.SIGKILL)
            self.assertEqual(s.close(), 0)
            shutil.rmtree(d, ignore_errors=True)


class MissingCommandTest(unittest.TestCase):
    def test_a_missing_command_is_a_clear_error_event(self):
        s = Stack("missing.json")
        try:
            ev = follow(s.port, create(s.port, "groth16"))
            self.assertEqual(ev[-1].type, "error")
            self.assertEqual(ev[-1].data["code"], 127)
            self.assertIn("no-such-script.cjs", ev[-1].data["error"])
            self.assertIn("No such file or directory", ev[-1].data["error"])
            self.assertEqual(request(s.port, "GET", "/api/workflow/health").status, 200)
        finally:
            self.assertEqual(s.close(), 0)


class MultiLineSecretTest(unittest.TestCase):
    # A secret's value may span lines (a PEM key, a JSON key file). Output
    # is split into lines before masking, so no line ever holds the whole
    # value: each of its lines is masked on its own.
    PEM = ("-----BEGIN PRIVATE KEY-----\n"
           "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7\n"
           "VJTUt9Us8cKjMzEfYyjiWA4R4/M2bS1GB4t7NXp98C3SC6dVMvDu\n"
           "ictpWBFa\n"
           "-----END PRIVATE KEY-----")
    JSON_KEY = ('{\r\n  "type": "service_account",\r\n'
                '  "private_key_id": "5c1b3e2f9a7d4c6b8e0f",\r\n}')

    def pipeline(self, tmp):
        # The value printed with LF, to stderr, and with CR between its
        # lines (one output line).
        path = os.path.join(tmp, "pipe.json")
        show = ('printf "key: %s\\n" "$TEST_KEY"; printf "%s\\n" "$TEST_KEY" >&2; '
                'printf "%s" "$TEST_KEY" | tr "\\n" "\\r"; echo; echo done')
        with open(path, "w") as f:
            json.dump({"proofTypes": ["a"], "secrets": ["TEST_KEY"], "phases": [
                {"name": "server-env", "step": "s", "timeout": 30,
                 "command": ["/bin/sh", "-c", show]},
                {"name": "phase-env", "step": "s", "timeout": 30,
                 "env": {"TEST_KEY": self.JSON_KEY},
                 "command": ["/bin/sh", "-c", show]},
                {"name": "templated", "step": "s", "timeout": 30,
                 "env": {"TEST_KEY": "tok-{sessionId}-{proofType}"},
                 "command": ["/bin/sh", "-c", show]}]}, f)
        return path

    @staticmethod
    def shown(ev, phase, stream):
        return [e.data["message"] for e in ev if e.type == "log"
                and e.data["phase"] == phase and e.data["stream"] == stream]

    def run_session(self):
        """One session of the pipeline with TEST_KEY the PEM key: (the
        stack, its session id, the events followed); stopped on cleanup."""
        tmp = tempfile.mkdtemp(prefix="ps-multiline-")
        self.addCleanup(shutil.rmtree, tmp, True)
        s = Stack(self.pipeline(tmp), env={"TEST_KEY": self.PEM})
        self.addCleanup(lambda: self.assertEqual(s.close(), 0))
        sid = create(s.port, "a")
        ev = follow(s.port, sid)
        self.assertEqual(ev[-1].type, "complete", ev[-1].data)
        return s, sid, ev

    def test_no_line_of_a_multi_line_secret_is_stored_or_streamed(self):
        s, sid, ev = self.run_session()
        stored = json.dumps(stored_events(s.r, s, sid)) + json.dumps(
            s.r("HGETALL", s.key(sid, "state")))
        streamed = json.dumps([e.raw for e in ev])
        log = s.ps.read_log()
        # Runs of letters and digits: no JSON escape can hide them.
        needles = {w for v in (self.PEM, self.JSON_KEY)
                   for w in re.findall(r"[A-Za-z0-9_]{6,}", v)}
        self.assertEqual(len(needles), 8, needles)
        for w in needles:
            self.assertNotIn(w, stored)
            self.assertNotIn(w, streamed)
            self.assertNotIn(w, log)
        shown = lambda phase, stream: self.shown(ev, phase, stream)
        self.assertEqual(shown("server-env", "stdout"),
                         ["key: ***", "***", "***", "***", "***", "*" * 15, "done"])
        self.assertEqual(shown("server-env", "stderr"), ["***"] * 5)
        # A line shorter than four bytes ("{", "}") is not masked on its
        # own; the blanks before a line stay.
        self.assertEqual(shown("phase-env", "stdout"),
                         ["key: {", "  ***", "  ***", "}", "{  ***  ***}", "done"])
        self.assertEqual(shown("phase-env", "stderr"), ["{", "  ***", "  ***", "}"])

    def test_a_secret_in_a_phase_env_is_masked_as_the_phase_gets_it(self):
        # The phase's env expands its placeholders: what the phase prints
        # is the expanded value, so that is what is masked.
        s, sid, ev = self.run_session()
        value = "tok-%s-a" % sid
        self.assertNotIn(value, json.dumps(stored_events(s.r, s, sid)))
        self.assertNotIn(value, json.dumps([e.raw for e in ev]))
        self.assertEqual(self.shown(ev, "templated", "stdout"), ["key: ***", "***", "done"])
        self.assertEqual(self.shown(ev, "templated", "stderr"), ["***"])

    def test_a_secret_with_more_lines_than_can_be_masked_stops_the_start(self):
        # Masking only the first lines of a value would leak the rest: the
        # server refuses to start, and says which secret does not fit.
        tmp = tempfile.mkdtemp(prefix="ps-multiline-")
        try:
            many = "\n".join("line-%03d-of-the-key" % i for i in range(300))
            r = subprocess.run([BIN, "--pipeline", self.pipeline(tmp),
                                "--listen", "unix:" + os.path.join(tmp, "ps.sock"),
                                "--workdir", os.path.join(tmp, "w")],
                               capture_output=True, text=True, timeout=30,
                               env=dict(os.environ, TEST_KEY=many))
            self.assertEqual(r.returncode, 1, r.stderr)
            self.assertIn("phase server-env: its secrets' values need more than 256 strings to "
                          "mask (a multi-line value takes one per line); TEST_KEY does not fit",
                          r.stderr)
            self.assertNotIn("line-0", r.stderr + r.stdout)
            self.assertFalse(os.path.exists(os.path.join(tmp, "ps.sock")))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


class DeathTest(unittest.TestCase):
    def test_kill_9_of_the_server_takes_the_phase_with_it(self):
        s = Stack("basic.json")
        try:
            sid = create(s.port, "sleepy")
            wait_for(lambda: processes_with_env("PS_TEST_MARK=mark-" + sid), what="the phase")
            s.ps.proc.kill()
            s.ps.proc.wait()
            # PR_SET_PDEATHSIG: the leader dies with the server.
            wait_for(lambda: not [p for p in processes_with_env("PS_TEST_MARK=mark-" + sid)],
                     timeout=5, what="the phase's leader to die")
        finally:
            s.nginx.stop()
            s.r.close()
            s.redis.stop()


if __name__ == "__main__":
    unittest.main()
