"""The ways phasestream listens: a unix socket, host:port, file descriptor 0
(as a web server or spawn-fcgi starts it), kept FastCGI connections, and
hostile bytes on the socket."""
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import unittest

from harness import (Redis, Phasestream, FastCGI, fcgi, free_port, wait_for, PIPELINES,
                     BIN, follow, Nginx, create, request)

PIPE = os.path.join(PIPELINES, "basic.json")


class ListenTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="phasestream-test-")
        os.chmod(cls.tmp, 0o755)  # nginx's workers run as nobody
        cls.redis = Redis(cls.tmp)

    @classmethod
    def tearDownClass(cls):
        cls.redis.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_listen_on_host_port(self):
        port = free_port()
        ps = Phasestream(self.tmp, self.redis.url, PIPE, listen="127.0.0.1:%d" % port)
        try:
            status, headers, body = fcgi(("127.0.0.1", port), "GET", "/api/workflow/health")
            self.assertEqual(status, 200)
            self.assertEqual(json.loads(body)["redis"], "ok")
            status, _, body = fcgi(("127.0.0.1", port), "POST", "/api/workflow",
                                   b'{"proofType":"ok"}')
            self.assertEqual(status, 201)
        finally:
            self.assertEqual(ps.stop(), 0)

    def listen_queue(self, kind, where):
        """The backlog of a listening socket, as ss shows it (Send-Q)."""
        out = subprocess.run(["ss", "-lnH", kind], capture_output=True, text=True,
                             timeout=10).stdout
        for line in out.splitlines():
            # A unix socket shows the name it was bound under (path.PID).
            f = line.split()
            at = [i for i, x in enumerate(f) if x == where or x.startswith(where + ".")]
            if at:
                return int(f[at[0] - 1])
        raise AssertionError("%s not listening: %s" % (where, out))

    def test_the_backlog_is_the_systems_or_the_flag(self):
        with open("/proc/sys/net/core/somaxconn") as f:
            system = int(f.read())
        port = free_port()
        ps = Phasestream(self.tmp, self.redis.url, PIPE, listen="127.0.0.1:%d" % port)
        try:
            self.assertEqual(self.listen_queue("-t", "127.0.0.1:%d" % port), system)
        finally:
            self.assertEqual(ps.stop(), 0)
        port = free_port()
        ps = Phasestream(self.tmp, self.redis.url, PIPE, listen="127.0.0.1:%d" % port,
                         args=["--backlog", "77"])
        try:
            self.assertEqual(self.listen_queue("-t", "127.0.0.1:%d" % port), 77)
        finally:
            self.assertEqual(ps.stop(), 0)
        ps = Phasestream(self.tmp, self.redis.url, PIPE, env={"PHASESTREAM_BACKLOG": "33"})
        try:
            self.assertEqual(self.listen_queue("-x", ps.socket), 33)
            status, _, _ = fcgi(ps.socket, "GET", "/api/workflow/health")
            self.assertEqual(status, 200)
        finally:
            self.assertEqual(ps.stop(), 0)

    def test_listen_on_a_unix_socket_and_remove_it_at_exit(self):
        ps = Phasestream(self.tmp, self.redis.url, PIPE)
        try:
            self.assertEqual(fcgi(ps.socket, "GET", "/api/workflow/health")[0], 200)
            self.assertEqual(oct(os.stat(ps.socket).st_mode & 0o777), "0o666")
        finally:
            self.assertEqual(ps.stop(), 0)
        self.assertFalse(os.path.exists(ps.socket))

    def test_the_socket_path_appears_only_once_it_accepts(self):
        # Bound under a temporary name and renamed once listening: whoever
        # sees the path can connect, and no temporary name is left behind.
        d = tempfile.mkdtemp(dir=self.tmp)
        sock = os.path.join(d, "ps.sock")
        for _ in range(5):
            p = subprocess.Popen([BIN, "--pipeline", PIPE, "--redis", self.redis.url,
                                  "--workdir", os.path.join(self.tmp, "w"),
                                  "--listen", "unix:" + sock],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                wait_for(lambda: os.path.exists(sock), interval=0.001, what="the socket")
                c = socket.socket(socket.AF_UNIX)
                c.connect(sock)  # refused if the path came before listen()
                c.close()
                self.assertEqual(os.listdir(d), ["ps.sock"])
            finally:
                p.terminate()
                self.assertEqual(p.wait(20), 0)
            self.assertEqual(os.listdir(d), [])

    def test_a_live_socket_is_not_taken_over(self):
        ps = Phasestream(self.tmp, self.redis.url, PIPE)
        try:
            r = subprocess.run([BIN, "--pipeline", PIPE, "--redis", self.redis.url,
                                "--listen", "unix:" + ps.socket], capture_output=True, timeout=20)
            self.assertNotEqual(r.returncode, 0)
            self.assertIn(b"another server is listening", r.stderr)
            self.assertEqual(fcgi(ps.socket, "GET", "/api/workflow/health")[0], 200)
        finally:
            self.assertEqual(ps.stop(), 0)

    def test_the_listening_socket_on_fd_0(self):
        path = os.path.join(self.tmp, "fd0.sock")
        lsock = socket.socket(socket.AF_UNIX)
        lsock.bind(path)
        lsock.listen(16)
        ps = Phasestream(self.tmp, self.redis.url, PIPE, listen="fd0", stdin=lsock.fileno())
        lsock.close()
        try:
            sid = json.loads(fcgi(path, "POST", "/api/workflow", b'{"proofType":"ok"}')[2])[
                "sessionId"]
            # The stream, straight over FastCGI: it ends with END_REQUEST.
            c = FastCGI(path)
            c.send("GET", "/api/workflow?sessionId=" + sid)
            status, headers, body = c.response()
            c.close()
            self.assertEqual(status, 200)
            self.assertEqual(headers["content-type"], "text/event-stream")
            self.assertIn("event: complete", body)
        finally:
            self.assertEqual(ps.stop(), 0)

    def test_without_listen_fd_0_must_be_a_listening_socket(self):
        r = subprocess.run([BIN, "--pipeline", PIPE, "--redis", self.redis.url],
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=20)
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"file descriptor 0 is not a listening socket", r.stderr)

    def test_kept_connections_serve_several_requests(self):
        ps = Phasestream(self.tmp, self.redis.url, PIPE)
        try:
            c = FastCGI(ps.socket)
            for rid in (1, 2, 3):
                c.send("GET", "/api/workflow/health", keep=True, rid=rid)
                self.assertEqual(c.response()[0], 200)
            self.assertFalse(c.closed(0.3))
            c.close()
            # Without FCGI_KEEP_CONN the server closes after the response.
            c = FastCGI(ps.socket)
            c.send("GET", "/api/workflow/health")
            self.assertEqual(c.response()[0], 200)
            self.assertTrue(c.closed())
            c.close()
        finally:
            self.assertEqual(ps.stop(), 0)

    def test_hostile_bytes_on_the_socket_do_not_hurt(self):
        ps = Phasestream(self.tmp, self.redis.url, PIPE, args=["--threads", "2"])
        try:
            import random
            rng = random.Random(1)
            for n in [1, 7, 8, 100, 5000]:
                s = socket.socket(socket.AF_UNIX)
                s.connect(ps.socket)
                s.sendall(bytes(rng.randrange(256) for _ in range(n)))
                s.shutdown(socket.SHUT_WR)
                s.settimeout(5)
                try:
                    while s.recv(4096):
                        pass
                except OSError:
                    pass
                s.close()
            # A record announcing more than it sends, then silence: the
            # request thread gives up on it; others are served meanwhile.
            s = socket.socket(socket.AF_UNIX)
            s.connect(ps.socket)
            s.sendall(bytes([1, 1, 0, 1, 0, 8, 0, 0]) + b"\0\1")
            self.assertEqual(fcgi(ps.socket, "GET", "/api/workflow/health")[0], 200)
            s.close()
            self.assertEqual(ps.proc.poll(), None)
        finally:
            self.assertEqual(ps.stop(), 0)

    def test_a_different_mount_point(self):
        ps = Phasestream(self.tmp, self.redis.url, PIPE, args=["--prefix", "/tools/zk"])
        try:
            self.assertEqual(fcgi(ps.socket, "GET", "/tools/zk/health")[0], 200)
            self.assertEqual(fcgi(ps.socket, "GET", "/api/workflow/health")[0], 404)
            status, headers, body = fcgi(ps.socket, "POST", "/tools/zk", b'{"proofType":"ok"}')
            self.assertEqual(status, 201)
            self.assertTrue(json.loads(body)["events"].startswith("/tools/zk?sessionId="))
        finally:
            self.assertEqual(ps.stop(), 0)

    def test_http_only_and_runner_only_instances_together(self):
        front = Phasestream(self.tmp, self.redis.url, PIPE, runners=0, prefix="mix:")
        back = Phasestream(self.tmp, self.redis.url, PIPE, args=["--http", "0"], runners=1,
                           prefix="mix:")
        nginx = Nginx(self.tmp, front.socket)
        try:
            sid = create(nginx.port, "groth16")
            ev = follow(nginx.port, sid)
            self.assertEqual(ev[-1].type, "complete")
            self.assertIn("session %s (groth16): running" % sid, back.read_log())
            self.assertNotIn("): running", front.read_log())
        finally:
            nginx.stop()
            self.assertEqual(front.stop(), 0)
            self.assertEqual(back.stop(), 0)


if __name__ == "__main__":
    unittest.main()
