"""The stream on the wire, as the web server reads it: the events of one
pump come as one FastCGI STDOUT record (as few as the record size allows),
not one record per event; the bytes and ids are exactly what is stored."""
import json
import math
import time
import unittest

from harness import (FCGI_END, FCGI_STDOUT, FastCGI, Stack, follow, create, stored_events,
                     wait_for)

CHUNK = 65528  # FCGI_CONTENT_CHUNK (src/fcgi.h)
READ = 256     # SSE_CHUNK, events per read (src/sse.c)


def event_text(i, t, d):
    return "id: %d\nevent: %s\ndata: %s\n\n" % (i, t, d)


class Records:
    """A stream read record by record, straight from phasestream."""

    def __init__(self, sock_path, sid, last_id=None):
        self.c = FastCGI(sock_path)
        headers = {"HTTP_LAST_EVENT_ID": str(last_id)} if last_id is not None else None
        self.c.send("GET", "/api/workflow?sessionId=%s" % sid, headers=headers)
        self.head = None
        self.stdout = []  # the content of each non-empty STDOUT record, headers excluded
        self.ended = False

    def _next(self):
        rtype, _, content = self.c.record()
        if rtype == FCGI_END:
            self.ended = True
            return None
        assert rtype == FCGI_STDOUT, rtype
        return content

    def read_head(self):
        raw = b""
        while b"\r\n\r\n" not in raw:
            raw += self._next()
        head, _, rest = raw.partition(b"\r\n\r\n")
        self.head = head.decode("latin-1")
        if rest:
            self.stdout.append(rest)
        return self.head

    def read_until(self, pred):
        while not self.ended and not pred(b"".join(self.stdout)):
            content = self._next()
            if content:
                self.stdout.append(content)
        return b"".join(self.stdout)

    def read_to_end(self):
        return self.read_until(lambda _: False)

    def close(self):
        self.c.close()


class RecordsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = Stack("basic.json", args=["--keepalive", "600"])

    @classmethod
    def tearDownClass(cls):
        assert cls.s.close() == 0

    def finished(self, proof_type):
        sid = create(self.s.port, proof_type)
        follow(self.s.port, sid)
        return sid, stored_events(self.s.r, self.s, sid)

    def replay(self, proof_type):
        sid, stored = self.finished(proof_type)
        rec = Records(self.s.ps.socket, sid)
        head = rec.read_head()
        self.assertIn("Status: 200", head)
        self.assertIn("Content-Type: text/event-stream", head)
        body = rec.read_to_end()
        rec.close()
        expected = ("retry: 3000\n" + "".join(event_text(*e) for e in stored)).encode()
        self.assertEqual(body, expected)
        return stored, rec.stdout, len(expected)

    def test_a_replay_of_many_small_events_comes_as_one_record_per_read(self):
        stored, records, total = self.replay("flood")
        self.assertGreater(len(stored), 3000)
        # One record per read of READ events at most, never one per event.
        bound = math.ceil(total / CHUNK) + math.ceil(len(stored) / READ) + 1
        self.assertLessEqual(len(records), bound)
        self.assertTrue(all(len(r) <= CHUNK for r in records))

    def test_a_replay_of_large_events_comes_in_full_records(self):
        stored, records, total = self.replay("bulk")
        self.assertGreater(total, 3_000_000)
        full = sum(1 for r in records if len(r) == CHUNK)
        # Every pump (one viewer-buffer's worth) ends in one partial record.
        pumps = math.ceil(total / 262144) + 1
        self.assertLessEqual(len(records), math.ceil(total / CHUNK) + pumps)
        self.assertGreaterEqual(full, len(records) - pumps)

    def test_a_burst_reaches_each_caught_up_viewer_as_one_record(self):
        sid = create(self.s.port, "sleepy")
        wait_for(lambda: any(t == "log" for _, t, _ in stored_events(self.s.r, self.s, sid)),
                 what="the first log line")
        viewers = []
        for _ in range(3):
            v = Records(self.s.ps.socket, sid)
            v.read_head()
            n = len(stored_events(self.s.r, self.s, sid))
            v.read_until(lambda b, n=n: b.count(b"\n\n") >= n)
            viewers.append(v)
        stored = stored_events(self.s.r, self.s, sid)
        first = len(stored) + 1
        before = [len(v.stdout) for v in viewers]
        burst = [("log", json.dumps({"message": "burst line %d" % i, "phase": "generating"},
                                    separators=(",", ":"))) for i in range(50)]
        # What a runner's flush of many lines looks like to the stream side:
        # one append of many events, one notification of the newest id.
        self.s.r("RPUSH", self.s.key(sid, "events"), *["%s\n%s" % b for b in burst])
        self.s.r("PUBLISH", self.s.key(sid, "notify"), str(first + len(burst) - 1))
        want = "".join(event_text(first + i, t, d) for i, (t, d) in enumerate(burst)).encode()
        for v, b in zip(viewers, before):
            body = v.read_until(lambda got: got.endswith(want))
            self.assertTrue(body.endswith(want))
            self.assertEqual(v.stdout[b:], [want])
            v.close()
        self.s.r("DEL", self.s.key(sid, "events"), self.s.key(sid, "state"))


if __name__ == "__main__":
    unittest.main()
