"""The event stream: replay, resume, exactly once, 204, keepalive, retry,
many viewers on a fixed number of Redis connections."""
import json
import os
import random
import resource
import socket
import threading
import time
import unittest

from harness import (Stack, request, create, follow, follow_in_pieces, stream, stored_events,
                     wait_for)


def as_tuples(events):
    return [(e.id, e.type, e.raw) for e in events]


class StreamTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = Stack("basic.json", args=["--keepalive", "1"])

    @classmethod
    def tearDownClass(cls):
        assert cls.s.close() == 0

    def stored(self, sid):
        return stored_events(self.s.r, self.s, sid)

    def test_a_stream_replays_exactly_what_is_stored_then_ends(self):
        sid = create(self.s.port, "groth16")
        ev = follow(self.s.port, sid)
        self.assertEqual(as_tuples(ev), self.stored(sid))
        self.assertEqual([e.id for e in ev], list(range(1, len(ev) + 1)))
        self.assertEqual(ev[-1].type, "complete")
        self.assertEqual(sum(1 for e in ev if e.type in ("complete", "error")), 1)

    def test_stream_headers_and_the_retry_field(self):
        sid = create(self.s.port, "ok")
        es = stream(self.s.port, sid)
        self.assertEqual(es.status, 200)
        self.assertEqual(es.headers["content-type"], "text/event-stream")
        self.assertEqual(es.headers["cache-control"], "no-cache")
        first = es.next()
        rest = es.events()
        es.close()
        self.assertEqual(first.retry, "3000")
        self.assertTrue(es.all.startswith(b"retry: 3000\nid: 1\nevent: status\ndata: {"))
        self.assertTrue(all(e.retry is None for e in rest))
        # Every event: id, event, exactly one data line holding one object.
        for block in es.all.decode().strip().split("\n\n"):
            lines = [l for l in block.split("\n") if not l.startswith(":")]
            if not lines:
                continue
            if lines[0].startswith("retry:"):
                lines = lines[1:]
            self.assertEqual([l.split(":", 1)[0] for l in lines], ["id", "event", "data"])
            self.assertIsInstance(json.loads(lines[2][6:]), dict)

    def test_last_event_id_header_resumes_right_after_it(self):
        sid = create(self.s.port, "groth16")
        full = follow(self.s.port, sid)
        for k in [0, 1, 3, len(full) - 2]:
            ev = follow(self.s.port, sid, last_event_id=k)
            self.assertEqual(as_tuples(ev), as_tuples(full[k:]))

    def test_last_event_id_parameter_resumes_and_the_header_wins(self):
        sid = create(self.s.port, "groth16")
        full = follow(self.s.port, sid)
        self.assertEqual(as_tuples(follow(self.s.port, sid, param=2)), as_tuples(full[2:]))
        self.assertEqual(as_tuples(follow(self.s.port, sid, param=1, last_event_id=4)),
                         as_tuples(full[4:]))

    def test_resuming_at_or_after_the_terminal_event_is_204(self):
        sid = create(self.s.port, "ok")
        full = follow(self.s.port, sid)
        for last in [full[-1].id, full[-1].id + 5]:
            es = stream(self.s.port, sid, last_event_id=last)
            self.assertEqual(es.status, 204)
            es.close()
        es = stream(self.s.port, sid, param=full[-1].id)
        self.assertEqual(es.status, 204)
        es.close()

    def test_live_follow_from_before_the_start(self):
        sid = create(self.s.port, "slow")
        es = stream(self.s.port, sid)
        ev = es.events()
        es.close()
        self.assertEqual(as_tuples(ev), self.stored(sid))
        # Lines arrived while the phase ran, not in one burst at the end.
        logs = [e for e in ev if e.type == "log" and e.data["message"].startswith("slow")]
        self.assertEqual(len(logs), 20)
        self.assertGreater(logs[-1].at - logs[0].at, 1.0)

    def test_reconnects_in_the_middle_of_a_run_lose_and_repeat_nothing(self):
        sid = create(self.s.port, "slow")
        rng = random.Random(7)
        got, rounds = follow_in_pieces(self.s.port, sid, lambda: rng.randint(1, 4))
        self.assertGreater(rounds, 5)
        self.assertEqual(as_tuples(got), self.stored(sid))

    def test_two_viewers_see_the_same_events(self):
        sid = create(self.s.port, "slow")
        a = stream(self.s.port, sid)
        time.sleep(0.5)
        b = stream(self.s.port, sid)
        ea, eb = a.events(), b.events()
        a.close()
        b.close()
        self.assertEqual(as_tuples(ea), as_tuples(eb))
        self.assertEqual(as_tuples(ea), self.stored(sid))

    def test_a_resume_past_the_end_ends_when_the_session_does(self):
        # Last-Event-ID far beyond a running session's log: nothing to send,
        # and once the terminal event exists the stream ends (it does not
        # idle on keepalives until the session expires).
        sid = create(self.s.port, "slow")
        ahead = stream(self.s.port, sid, last_event_id=1000)
        self.assertEqual(ahead.status, 200)
        live = follow(self.s.port, sid)
        done = time.time()
        self.assertEqual(live[-1].type, "complete")
        self.assertEqual(ahead.events(), [])
        self.assertLess(time.time() - done, 1.5)
        ahead.close()
        again = stream(self.s.port, sid, last_event_id=1000)
        self.assertEqual(again.status, 204)
        again.close()

    def test_keepalive_comments_while_idle(self):
        sid = create(self.s.port, "sleepy")
        es = stream(self.s.port, sid)
        deadline = time.time() + 2.5
        es.sock.settimeout(0.5)
        while time.time() < deadline and not es.comments:
            try:
                es._fill()
                while b"\n\n" in es.body:
                    es.next()
            except socket.timeout:
                pass
        es.sock.settimeout(15)
        self.assertIn(": keepalive", [c for c, _ in es.comments])
        request(self.s.port, "DELETE", "/api/workflow?sessionId=" + sid)
        ev = es.events()
        es.close()
        self.assertEqual(ev[-1].data["code"], "cancelled")

    def test_ids_strictly_increase_and_the_terminal_event_is_last_for_every_session(self):
        sids = [create(self.s.port, t) for t in ["ok", "fail", "signal", "exitfail"]]
        for sid in sids:
            ev = follow(self.s.port, sid)
            ids = [e.id for e in ev]
            self.assertEqual(ids, sorted(set(ids)))
            terminal = [e for e in ev if e.type in ("complete", "error")]
            self.assertEqual(len(terminal), 1)
            self.assertIs(terminal[0], ev[-1])
            self.assertEqual(as_tuples(ev), self.stored(sid))


class GetCreateRaceTest(unittest.TestCase):
    def test_twenty_concurrent_get_creates_run_the_pipeline_once(self):
        s = Stack("basic.json", runners=4, env={"PS_RUN_LOG": "{tmp}/runs.log"})
        runlog = os.path.join(s.tmp, "runs.log")
        try:
            sid = "race-session-%d" % os.getpid()
            results = [None] * 20
            barrier = threading.Barrier(20)

            def viewer(i):
                barrier.wait()
                results[i] = follow(s.port, sid + "&proofType=groth16")
            threads = [threading.Thread(target=viewer, args=(i,)) for i in range(20)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(60)
            for r in results:
                self.assertIsNotNone(r)
                self.assertEqual(as_tuples(r), as_tuples(results[0]))
            self.assertEqual(results[0][-1].type, "complete")
            with open(runlog) as f:
                runs = [l.split() for l in f if l.strip()]
            self.assertEqual([r for r in runs if r[0] == "gen"], [["gen", sid]])
            starts = [e for e in results[0] if e.type == "status"
                      and e.data["phase"] == "generating"]
            self.assertEqual(len(starts), 2)  # phase start and its progress figure
        finally:
            self.assertEqual(s.close(), 0)


class ManyViewersTest(unittest.TestCase):
    def test_five_hundred_viewers_do_not_add_redis_connections(self):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 8192)), hard))
        s = Stack("basic.json", args=["--threads", "8"], runners=2)
        try:
            sid = create(s.port, "sleepy")
            wait_for(lambda: s.r("HGET", s.key(sid, "state"), "status") == "running")
            # Warm every request thread's connection: concurrent requests
            # keep all eight busy at once.
            def warm():
                for _ in range(10):
                    request(s.port, "GET", "/api/workflow/state?sessionId=%s&logs=0" % sid)
            warmers = [threading.Thread(target=warm) for _ in range(16)]
            for t in warmers:
                t.start()
            for t in warmers:
                t.join()

            def ours():
                return sum(1 for l in s.r("CLIENT", "LIST").splitlines() if "name=phasestream" in l)

            def attach(n):
                for _ in range(n):
                    es = stream(s.port, sid)
                    self.assertEqual(es.status, 200)
                    viewers.append(es)
                wait_for(lambda: "phasestream_sse_clients %d" % len(viewers) in
                         request(s.port, "GET", "/api/workflow/metrics").body,
                         what="%d viewers to be attached" % len(viewers))
                return ours()
            viewers = []
            before = ours()
            half = attach(250)
            during = attach(250)
            print("\n  Redis connections of phasestream: %d with no viewer, %d with 250, %d with 500 "
                  "(8 request threads, 2 runners, 2 loop connections)" % (before, half, during))
            # Fixed: request threads + runners + the loop's two, whatever the viewers.
            self.assertLessEqual(max(before, half, during), 8 + 2 + 2)
            self.assertEqual(during, half)
            request(s.port, "DELETE", "/api/workflow?sessionId=" + sid)
            for es in viewers:
                ev = es.events()
                self.assertEqual(ev[-1].data["code"], "cancelled")
                es.close()
        finally:
            self.assertEqual(s.close(), 0)


class SharedFeedTest(unittest.TestCase):
    def test_viewers_at_different_places_joining_together_each_get_their_exact_part(self):
        # Viewers of one session that arrive together share one feed; one
        # replaying from the start and one resuming far ahead must not
        # disturb each other's reads.
        s = Stack("basic.json")
        try:
            sid = create(s.port, "flood")
            follow(s.port, sid)
            stored = stored_events(s.r, s, sid)
            self.assertGreater(len(stored), 2500)
            for round_ in range(10):
                starts = [0, 2000, 1, len(stored) - 5, 300]
                streams = [stream(s.port, sid, last_event_id=k) for k in starts]
                for k, es in zip(starts, streams):
                    got = [(e.id, e.type, e.raw) for e in es.events()]
                    es.close()
                    self.assertEqual(got, stored[k:], "round %d, from %d" % (round_, k))
        finally:
            self.assertEqual(s.close(), 0)


if __name__ == "__main__":
    unittest.main()
