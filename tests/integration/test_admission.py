"""Stream admission on the event loop: a stream request leaves its request
thread at once and the loop checks the session on its own Redis connection,
answering 404, 204, 503 or the stream with the same records, headers and
bodies as ever; a storm of new streams through nginx all get their stream."""
import selectors
import socket
import time
import unittest

from harness import (FCGI_END, FCGI_STDOUT, FastCGI, Stack, create, follow, request,
                     stored_events, wait_for)

STREAM_HEAD = (b"Status: 200 OK\r\nContent-Type: text/event-stream\r\n"
               b"Cache-Control: no-cache\r\nX-Accel-Buffering: no\r\n\r\n")


def records_of(addr, uri, headers=None, until_end=True, first_event=False):
    """The raw records of one request: [(type, content)]."""
    c = FastCGI(addr)
    c.send("GET", uri, headers=headers)
    out = []
    try:
        while True:
            rtype, _, content = c.record()
            out.append((rtype, content))
            if rtype == FCGI_END:
                closed = c.closed()
                return out, closed
            if first_event and b"id: 1\n" in b"".join(x for t, x in out if t == FCGI_STDOUT):
                return out, False
    finally:
        c.close()


def answers_by_code(port):
    """{code: count} from one read of the metrics."""
    out = {}
    prefix = 'phasestream_http_responses_total{code="'
    for line in request(port, "GET", "/api/workflow/metrics").body.splitlines():
        if line.startswith(prefix):
            out[line[len(prefix):].split('"')[0]] = float(line.split()[1])
    return out


def open_streams(port, sid, n):
    """n stream requests of one session sent through nginx at once."""
    req = ("GET /api/workflow?sessionId=%s HTTP/1.1\r\nHost: localhost\r\n"
           "Accept: text/event-stream\r\n\r\n" % sid).encode()
    socks = []
    for _ in range(n):
        c = socket.create_connection(("127.0.0.1", port), timeout=5)
        c.sendall(req)
        c.setblocking(False)
        socks.append(c)
    return socks


def first_answers(socks, timeout=12):
    """{socket: (status, whether the first event came)}; closes them."""
    sel = selectors.DefaultSelector()
    for c in socks:
        sel.register(c, selectors.EVENT_READ, [b""])
    status = {}
    deadline = time.time() + timeout
    while len(status) < len(socks) and time.time() < deadline:
        for key, _ in sel.select(0.5):
            c, st = key.fileobj, key.data
            try:
                chunk = c.recv(65536)
            except BlockingIOError:
                continue
            st[0] += chunk
            head, sep, rest = st[0].partition(b"\r\n\r\n")
            if not chunk or (sep and (b"id: 1\n" in rest
                                      or not head.startswith(b"HTTP/1.1 200"))):
                status[c] = (int(head.split()[1]) if head else 0, b"id: 1\nevent: " in rest)
                sel.unregister(c)
    for c in socks:
        c.close()
    sel.close()
    return status


def running_session(stack):
    sid = create(stack.port, "sleepy")
    wait_for(lambda: stored_events(stack.r, stack, sid), what="the first event")
    return sid


def assert_all_streamed(test, status, n):
    codes = [s for s, _ in status.values()]
    test.assertEqual(len(status), n, "answered %d of %d" % (len(status), n))
    test.assertEqual(codes.count(200), n, {c: codes.count(c) for c in set(codes)})
    test.assertTrue(all(first for _, first in status.values()))


class AdmissionTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = Stack("basic.json", args=["--keepalive", "600"])

    @classmethod
    def tearDownClass(cls):
        assert cls.s.close() == 0

    def test_an_unknown_session_is_a_framed_404_then_the_end(self):
        recs, closed = records_of(self.s.ps.socket, "/api/workflow?sessionId=nosuchsession1")
        self.assertEqual([t for t, _ in recs], [FCGI_STDOUT, FCGI_STDOUT, FCGI_END])
        self.assertEqual(recs[1][1], b"")  # the empty record that ends stdout
        body = b'{"error":"no such session (unknown or expired)"}'
        self.assertEqual(recs[0][1],
                         b"Status: 404 Not Found\r\nContent-Type: application/json\r\n"
                         b"Content-Length: %d\r\nCache-Control: no-store\r\n\r\n" % len(body)
                         + body)
        self.assertTrue(closed)

    def test_everything_delivered_is_a_framed_204(self):
        sid = create(self.s.port, "ok")
        n = len(follow(self.s.port, sid))
        recs, closed = records_of(self.s.ps.socket, "/api/workflow?sessionId=" + sid,
                                  headers={"HTTP_LAST_EVENT_ID": str(n)})
        self.assertEqual(recs[0], (FCGI_STDOUT,
                                   b"Status: 204 No Content\r\nCache-Control: no-store\r\n\r\n"))
        self.assertEqual([t for t, _ in recs], [FCGI_STDOUT, FCGI_STDOUT, FCGI_END])
        self.assertTrue(closed)

    def test_a_stream_begins_with_its_headers_then_its_events(self):
        sid = create(self.s.port, "ok")
        stored = stored_events(self.s.r, self.s, sid)
        follow(self.s.port, sid)
        stored = stored_events(self.s.r, self.s, sid)
        recs, _ = records_of(self.s.ps.socket, "/api/workflow?sessionId=" + sid)
        out = b"".join(c for t, c in recs if t == FCGI_STDOUT)
        self.assertTrue(out.startswith(STREAM_HEAD))
        body = out[len(STREAM_HEAD):].decode()
        self.assertEqual(body, "retry: 3000\n" + "".join(
            "id: %d\nevent: %s\ndata: %s\n\n" % e for e in stored))

    def test_the_answers_are_counted_by_status(self):
        sid = create(self.s.port, "ok")
        n = len(follow(self.s.port, sid))
        before = answers_by_code(self.s.port)
        request(self.s.port, "GET", "/api/workflow?sessionId=nosuchsession2")
        request(self.s.port, "GET", "/api/workflow?sessionId=" + sid,
                headers={"Last-Event-ID": str(n)})
        follow(self.s.port, sid)
        after = answers_by_code(self.s.port)
        self.assertEqual(after["404"] - before["404"], 1)
        self.assertEqual(after["204"] - before["204"], 1)
        # The stream, and the metrics request that read "before".
        self.assertEqual(after["200"] - before["200"], 2)

    def test_a_storm_of_new_streams_all_get_their_stream(self):
        sid = running_session(self.s)
        assert_all_streamed(self, first_answers(open_streams(self.s.port, sid, 300)), 300)
        request(self.s.port, "DELETE", "/api/workflow?sessionId=" + sid)


class StormTest(unittest.TestCase):
    def test_streams_waiting_for_redis_hold_no_request_thread(self):
        # A stream request leaves its request thread without a Redis round
        # trip: with Redis stalled, many more new streams than there are
        # request threads wait on the event loop, a request that needs no
        # Redis is still answered at once, and each stream gets its events
        # once Redis answers again.
        s = Stack("basic.json", args=["--keepalive", "600", "--threads", "2"])
        try:
            sid = running_session(s)
            s.r("CLIENT", "PAUSE", "2500", "ALL")
            paused = time.time()
            socks = open_streams(s.port, sid, 100)
            time.sleep(0.3)  # the streams reach phasestream
            t = time.time()
            r = request(s.port, "GET", "/api/workflow/pipeline", timeout=10)
            took = time.time() - t
            self.assertEqual(r.status, 200)
            self.assertLess(took, 1.0)
            self.assertLess(time.time() - paused, 2.5, "Redis was paused all along")
            assert_all_streamed(self, first_answers(socks), 100)
        finally:
            self.assertEqual(s.close(), 0)


class AdmissionRedisDownTest(unittest.TestCase):
    def test_redis_down_is_a_framed_503_with_retry_after(self):
        s = Stack("basic.json")
        try:
            sid = create(s.port, "ok")
            follow(s.port, sid)
            s.redis.stop()
            recs, closed = records_of(s.ps.socket, "/api/workflow?sessionId=" + sid)
            head, _, body = recs[0][1].partition(b"\r\n\r\n")
            self.assertTrue(head.startswith(b"Status: 503 Service Unavailable\r\n"))
            self.assertIn(b"\r\nRetry-After: 2", head)
            self.assertEqual(body, b'{"error":"Redis is unavailable"}')
            self.assertEqual([t for t, _ in recs], [FCGI_STDOUT, FCGI_STDOUT, FCGI_END])
            self.assertTrue(closed)
            # Back when Redis is: the loop's connection returns by itself.
            s.redis.start()
            wait_for(lambda: request(s.port, "GET", "/api/workflow?sessionId=" + sid).status
                     == 404, what="the stream side to reconnect")
        finally:
            self.assertEqual(s.close(), 0)


if __name__ == "__main__":
    unittest.main()
