"""Clients that read slowly or not at all: they cannot hold the request
threads, so the rest of the API keeps answering (issue: eight slow readers
of a big state answer once stopped /health for 90 s)."""
import json
import os
import signal
import socket
import time
import unittest

from harness import (PIPELINES, Stack, Workspace, FastCGI, request, create, follow, rss_kib,
                     RELEASE_BIN, FCGI_BEGIN, FCGI_PARAMS, FCGI_STDIN, _fcgi_record, _fcgi_len)


def slow_reader(port, path):
    """An HTTP client with a tiny receive buffer that sends a request and
    then reads nothing."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(("127.0.0.1", port))
    s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % path).encode())
    return s


def timed_health(port):
    t0 = time.time()
    r = request(port, "GET", "/api/workflow/health", timeout=30)
    return r.status, time.time() - t0


def create_records(keep=False):
    """A create (POST of {"proofType":"ok"}) as FastCGI records: the request
    with its parameters, and its body's record."""
    body = b'{"proofType":"ok"}'
    enc = b"".join(_fcgi_len(len(k)) + _fcgi_len(len(v)) + k + v for k, v in (
        (b"REQUEST_METHOD", b"POST"), (b"REQUEST_URI", b"/api/workflow"),
        (b"QUERY_STRING", b""), (b"CONTENT_TYPE", b"application/json"),
        (b"CONTENT_LENGTH", str(len(body)).encode())))
    head = (_fcgi_record(FCGI_BEGIN, 1, bytes([0, 1, 1 if keep else 0, 0, 0, 0, 0, 0]))
            + _fcgi_record(FCGI_PARAMS, 1, enc) + _fcgi_record(FCGI_PARAMS, 1, b""))
    return head, _fcgi_record(FCGI_STDIN, 1, body) + _fcgi_record(FCGI_STDIN, 1, b"")


class SlowClientTest(unittest.TestCase):
    def test_slow_readers_of_a_big_state_do_not_stop_the_api_through_nginx(self):
        # Two request threads, four clients that never read a ~3.6 MB answer:
        # nginx takes the whole answer (buffered location) and the threads
        # are free at once.
        s = Stack("basic.json", args=["--threads", "2"])
        try:
            sid = create(s.port, "bulk")
            end = follow(s.port, sid, timeout=60)[-1]
            self.assertEqual(end.type, "complete", end.data)
            slow = [slow_reader(s.port, "/api/workflow/state?sessionId=" + sid)
                    for _ in range(4)]
            time.sleep(1.0)
            status, took = timed_health(s.port)
            self.assertEqual(status, 200)
            self.assertLess(took, 3.0, "health waited %.1f s behind slow readers" % took)
            for c in slow:
                c.close()
        finally:
            self.assertEqual(s.close(), 0)

    def test_a_client_that_does_not_read_is_dropped_at_the_request_deadline(self):
        # Talking FastCGI directly (no web server to absorb the answer): two
        # threads stuck on clients that never read are freed after
        # --request-timeout, and the next request is answered.
        s = Stack("basic.json", args=["--threads", "2", "--request-timeout", "2"])
        try:
            sid = create(s.port, "bulk")
            end = follow(s.port, sid, timeout=60)[-1]
            self.assertEqual(end.type, "complete", end.data)
            stuck = []
            for _ in range(2):
                c = FastCGI(s.ps.socket)
                c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
                c.send("GET", "/api/workflow/state?sessionId=" + sid)
                stuck.append(c)
            time.sleep(0.5)
            t0 = time.time()
            c = FastCGI(s.ps.socket, timeout=30)
            c.send("GET", "/api/workflow/health")
            status, _, _ = c.response()
            took = time.time() - t0
            self.assertEqual(status, 200)
            self.assertLess(took, 6.0, "health waited %.1f s" % took)
            metrics = request(s.port, "GET", "/api/workflow/metrics").body
            self.assertIn("phasestream_http_clients_dropped_total 2", metrics)
            self.assertIn("did not read a", s.ps.read_log())
            for c in stuck:
                c.sock.close()
        finally:
            self.assertEqual(s.close(), 0)

    def assertTrickleCut(self, s, first, rest):
        """Sends first, then rest a byte every half second to the only
        request thread of s (--request-timeout 2): the connection is cut
        within 5 s, counted, and the next request is answered."""
        slow = socket.socket(socket.AF_UNIX)
        slow.connect(s.ps.socket)
        slow.sendall(first)
        t0 = time.time()
        cut = None
        for b in rest:
            try:
                slow.send(bytes([b]))
            except OSError:
                cut = time.time() - t0
                break
            time.sleep(0.5)
        slow.close()
        self.assertIsNotNone(cut, "still read after %.1f s" % (time.time() - t0))
        self.assertLess(cut, 5.0)
        c = FastCGI(s.ps.socket, timeout=10)
        c.send("GET", "/api/workflow/health")
        self.assertEqual(c.response()[0], 200)
        metrics = request(s.port, "GET", "/api/workflow/metrics").body
        self.assertIn("phasestream_http_clients_dropped_total 1\n", metrics)

    def test_a_request_trickled_a_byte_at_a_time_is_dropped_at_the_request_deadline(self):
        # Each read of libfcgi is bounded, not the whole request: a peer
        # sending a byte every half second held the only request thread for
        # as long as it went on. It is dropped at --request-timeout, counted,
        # and the next request is answered.
        s = Stack("basic.json", args=["--threads", "1", "--request-timeout", "2"])
        try:
            begin = bytes([1, 1, 0, 1, 0, 8, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0])
            self.assertTrickleCut(s, b"", begin[:12])
            self.assertIn("had not sent a whole request within 2 s", s.ps.read_log())
        finally:
            self.assertEqual(s.close(), 0)

    def test_a_body_trickled_a_byte_at_a_time_is_dropped_at_the_request_deadline(self):
        # The same for the body of a POST, read by the handler after the
        # request's parameters.
        s = Stack("basic.json", args=["--threads", "1", "--request-timeout", "2"])
        try:
            head, stdin = create_records()
            self.assertTrickleCut(s, head + stdin[:9], stdin[9:])
            metrics = request(s.port, "GET", "/api/workflow/metrics").body
            self.assertIn("phasestream_sessions_created_total 0\n", metrics)
        finally:
            self.assertEqual(s.close(), 0)

    def test_a_kept_connection_s_next_request_has_the_whole_deadline_and_is_counted(self):
        # The wait for a kept connection's next request is quiet; the
        # request, once its first bytes are in, has all of --request-timeout
        # and, trickled past it, is cut and counted like any other.
        s = Stack("basic.json", args=["--threads", "1", "--request-timeout", "2"])
        try:
            c = FastCGI(s.ps.socket, timeout=10)
            c.send("GET", "/api/workflow/health", keep=True)
            self.assertEqual(c.response()[0], 200)
            time.sleep(1.6)  # most of the deadline, idle
            head, stdin = create_records(keep=True)
            data = head + stdin
            t0 = time.time()
            cut = None
            for i in range(0, len(data), 8):
                try:
                    c.sock.send(data[i:i + 8])
                except OSError:
                    cut = time.time() - t0
                    break
                time.sleep(0.25)
            c.close()
            self.assertIsNotNone(cut, "the trickled request was read whole")
            self.assertGreater(cut, 1.5, "cut %.1f s into the request" % cut)
            metrics = request(s.port, "GET", "/api/workflow/metrics").body
            self.assertIn("phasestream_http_clients_dropped_total 1\n", metrics)
            self.assertIn("phasestream_sessions_created_total 0\n", metrics)
        finally:
            self.assertEqual(s.close(), 0)

    def test_a_request_being_read_when_the_server_stops_gets_its_answer(self):
        # Stopping shuts down only the reading side of a request being
        # read: its body ends there, and the client is told so (400), not
        # left with a closed connection; nothing is created.
        s = Stack("basic.json", args=["--threads", "1"])
        try:
            head, stdin = create_records()
            c = FastCGI(s.ps.socket, timeout=10)
            c.sock.sendall(head + stdin[:9])
            time.sleep(0.5)
            s.ps.send(signal.SIGTERM)
            status, _, body = c.response()
            c.close()
            self.assertEqual(status, 400, body)
            self.assertIn("the body ended before its 18 bytes", body)
            self.assertEqual(s.ps.proc.wait(10), 0)
            self.assertEqual(s.r("KEYS", "*state*"), [])
        finally:
            s.close()

    def test_a_silent_connection_does_not_hold_up_a_stop(self):
        # A connection that sends nothing sits in a request thread's read;
        # stopping does not wait for it (it waited for the read's 30 s).
        s = Stack("basic.json")
        c = socket.socket(socket.AF_UNIX)
        c.connect(s.ps.socket)
        try:
            time.sleep(0.5)
            t0 = time.time()
            self.assertEqual(s.ps.stop(), 0)
            self.assertLess(time.time() - t0, 10.0)
        finally:
            c.close()
            s.close()

    def test_viewers_catching_up_stay_within_their_buffer(self):
        # Forty viewers replaying a session of 600 events of 6 KB each and
        # reading nothing, with a 16 KiB --viewer-buffer: each may hold its
        # bound plus one event, not a whole read of 256 events (1.5 MB).
        with ReleaseServer("--viewer-buffer", "16384", "--viewer-stall", "60") as srv:
            sid = srv.finished("bulk")
            grown = srv.growth_with_unread(40, "/api/workflow?sessionId=" + sid)
            print("\n  RSS growth for 40 catching-up viewers: %d KiB" % grown)
            self.assertLess(grown, 12 * 1024, "RSS grew by %d KiB for 40 viewers" % grown)

    def test_state_answers_do_not_hold_a_whole_log_each(self):
        # Eight requests for the state of a 20,000-line session (about
        # 2.4 MB of log) whose clients read nothing: each request thread
        # holds a piece of the log at a time, not the whole of it.
        with ReleaseServer() as srv:
            sid = srv.finished("proofs")
            path = "/api/workflow/state?sessionId=" + sid
            whole = request(srv.port, "GET", path).body
            self.assertGreater(len(json.loads(whole)["logs"]), 20000)
            grown = srv.growth_with_unread(8, path)
            print("\n  RSS growth for 8 unread state answers of %d bytes: %d KiB"
                  % (len(whole), grown))
            self.assertLess(grown, 8 * 1024, "RSS grew by %d KiB" % grown)


class ReleaseServer:
    """The release build (ASan's quarantine would hide what is freed) behind
    nginx, for memory figures."""

    def __init__(self, *args):
        self.ws = Workspace()
        self.ps = self.ws.ps(os.path.join(PIPELINES, "basic.json"), binary=RELEASE_BIN,
                             args=list(args))
        self.port = self.ws.nginx(self.ps.socket).port

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.ws.close()

    def finished(self, proof_type):
        """A session of proof_type, run to its end."""
        sid = create(self.port, proof_type)
        end = follow(self.port, sid, timeout=60)[-1]
        assert end.type == "complete", end.data
        return sid

    def growth_with_unread(self, n, path):
        """RSS growth (KiB) while n FastCGI clients with tiny buffers have
        asked for path and read nothing."""
        before = rss_kib(self.ps.pid)
        clients = []
        for _ in range(n):
            c = FastCGI(self.ps.socket)
            c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            c.send("GET", path)
            clients.append(c)
        time.sleep(2.0)
        grown = rss_kib(self.ps.pid) - before
        for c in clients:
            c.sock.close()
        return grown


if __name__ == "__main__":
    unittest.main()
