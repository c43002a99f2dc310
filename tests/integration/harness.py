"""Test harness: real redis-server, phasestream and nginx on loopback.

Everything a test starts runs in its own temporary directory, on a unix
socket or a free loopback port, and is stopped by PID. Helpers speak the
wire protocols directly (RESP to Redis, HTTP/1.1 with chunked decoding to
nginx, FastCGI where a test bypasses the web server) so that assertions are
about the bytes that really travel.
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("PHASESTREAM_BIN", os.path.join(ROOT, "phasestream"))
# The ThreadSanitizer build (make tsan): its forked shims may never run the
# parent-death signal's handler while they wait in waitpid().
UNDER_TSAN = "/tsan/" in BIN
# The optimised build, for measurements that a sanitizer's allocator would
# distort (ASan keeps freed memory in quarantine).
RELEASE_BIN = os.path.join(ROOT, "phasestream")
PIPELINES = os.path.join(ROOT, "tests", "pipelines")
TESTBIN = os.path.join(ROOT, "tests", "bin")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def session_key(prefix, sid, what):
    """A session's key or channel (what: state, events, notify), named as the
    server names it (src/store_schema.h)."""
    return "%s{%s}:%s" % (prefix, sid, what)


def global_key(prefix, what):
    """A key or channel shared by every session (queue, running,
    chan:queue, chan:cancel)."""
    return prefix + what


def parse_element(el):
    """A stored event element "TYPE\nJSON" as (type, data text)."""
    t, _, d = el.partition("\n")
    return t, d


def wait_for(pred, timeout=10.0, interval=0.02, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(interval)
    raise AssertionError("timed out waiting for " + what)


# ---------------------------------------------------------------- Redis --

class Resp:
    """A minimal RESP2 client on a real socket."""

    def __init__(self, path=None, port=None):
        if path:
            self.sock = socket.socket(socket.AF_UNIX)
            self.sock.connect(path)
        else:
            self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.settimeout(10)
        self.buf = b""

    def close(self):
        self.sock.close()

    def _line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("redis closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _exact(self, n):
        while len(self.buf) < n + 2:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("redis closed")
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n + 2:]
        return data

    def _reply(self):
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise RuntimeError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else self._exact(n).decode("utf-8", "replace")
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self._reply() for _ in range(n)]
        raise RuntimeError("bad reply " + repr(line))

    def __call__(self, *args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        self.sock.sendall(b"".join(out))
        return self._reply()


class Redis:
    def __init__(self, tmp, appendonly=False, port=None):
        self.dir = tmp
        self.port = port or free_port()
        self.sock = os.path.join(tmp, "redis.sock")
        self.appendonly = appendonly
        self.proc = None
        self.start()

    def start(self):
        args = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                "--unixsocket", self.sock, "--unixsocketperm", "700",
                "--save", "", "--appendonly", "yes" if self.appendonly else "no",
                "--dir", self.dir, "--daemonize", "no", "--logfile",
                os.path.join(self.dir, "redis.log"), "--maxclients", "10000"]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        def up():
            try:
                c = Resp(port=self.port)
                try:
                    return c("PING") == "PONG"
                finally:
                    c.close()
            except (OSError, RuntimeError):  # not listening yet, or LOADING
                return False
        wait_for(up, what="redis-server to start")

    @property
    def url(self):
        return "redis://127.0.0.1:%d" % self.port

    def client(self):
        return Resp(port=self.port)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.proc = None


def pipeline_with(name, directory, **fields):
    """tests/pipelines/NAME written into directory as NAME, with fields set
    at its top level (for a readiness file, say): its relative commands and
    working directories are made absolute, so that they still name the same
    files from there. Returns the new file's path."""
    with open(os.path.join(PIPELINES, name)) as f:
        p = json.load(f)
    for ph in p["phases"]:
        cmd = ph["command"]
        if "/" in cmd[0] and not os.path.isabs(cmd[0]):
            cmd[0] = os.path.normpath(os.path.join(PIPELINES, cmd[0]))
        ph["cwd"] = os.path.normpath(os.path.join(PIPELINES, ph.get("cwd", ".")))
    p.update(fields)
    path = os.path.join(directory, name)
    with open(path, "w") as f:
        json.dump(p, f)
    return path


def write_readiness(path, types):
    """A readiness file as its writers make it: whole, renamed into place."""
    with open(path + ".tmp", "w") as f:
        json.dump({"proofTypes": types, "updated": "2026-01-01T00:00:00.000Z"}, f)
    os.rename(path + ".tmp", path)


# ---------------------------------------------------------- phasestream --

SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                   "WARNING: ThreadSanitizer")


class Phasestream:
    count = 0

    def __init__(self, tmp, redis_url, pipeline, args=(), env=None, listen=None,
                 prefix=None, runners=2, stdin=None, wait=True, binary=None):
        Phasestream.count += 1
        self.dir = tmp
        self.socket = os.path.join(tmp, "ps%d.sock" % Phasestream.count)
        self.listen = listen or ("unix:" + self.socket)
        self.log = os.path.join(tmp, "phasestream%d.log" % Phasestream.count)
        self.prefix = prefix or "t%d:" % Phasestream.count
        e = dict(os.environ)
        e.update({"ASAN_OPTIONS": "detect_leaks=1:halt_on_error=1:abort_on_error=0",
                  "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1"})
        for k in ("REDIS_URL", "REDIS_HOST", "REDIS_PORT", "REDIS_PASSWORD", "PRIVATE_KEY"):
            e.pop(k, None)
        if env:
            e.update(env)
        cmd = [binary or BIN, "--pipeline", pipeline, "--redis", redis_url,
               "--key-prefix", self.prefix, "--runners", str(runners),
               "--workdir", os.path.join(tmp, "work"), "--socket-mode", "0666"]
        if self.listen != "fd0":
            cmd += ["--listen", self.listen]
        cmd += list(args)
        self.cmd = cmd
        self.logf = open(self.log, "ab")
        self.proc = subprocess.Popen(cmd, stdin=stdin, stdout=self.logf, stderr=self.logf, env=e)
        self.pid = self.proc.pid
        if wait:
            wait_for(lambda: "phasestream started" in self.read_log() or self.proc.poll() is not None,
                     what="phasestream to start")
            if self.proc.poll() is not None:
                raise AssertionError("phasestream exited: " + self.read_log())

    def read_log(self):
        with open(self.log, "r", errors="replace") as f:
            return f.read()

    def send(self, sig):
        self.proc.send_signal(sig)

    def stop(self, sig=signal.SIGTERM, timeout=30):
        """Stops it and returns its exit status; a sanitizer report fails."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("phasestream did not stop within %ss" % timeout)
        self.logf.close()
        log = self.read_log()
        for mark in SANITIZER_MARKS:
            if mark in log:
                raise AssertionError("sanitizer report in phasestream's log:\n" + log[-6000:])
        return self.proc.returncode

    def fd_count(self):
        return len(os.listdir("/proc/%d/fd" % self.pid))

    def thread_count(self):
        return len(os.listdir("/proc/%d/task" % self.pid))


# ---------------------------------------------------------------- nginx --

class Nginx:
    def __init__(self, tmp, socket_path, port=None, conf_dir=None):
        self.dir = os.path.join(tmp, "nginx")
        os.makedirs(self.dir, exist_ok=True)
        self.port = port or free_port()
        shutil.copy("/etc/nginx/fastcgi_params", self.dir)
        with open(os.path.join(ROOT, "conf", "nginx", "local.conf.in")) as f:
            conf = f.read()
        # Several sockets: one upstream server each (nginx balances over them).
        paths = socket_path if isinstance(socket_path, list) else [socket_path]
        conf = conf.replace("server unix:@SOCKET@;",
                            "\n        ".join("server unix:%s;" % p for p in paths))
        conf = (conf.replace("@RUN@", self.dir).replace("@USER@", "")
                .replace("@PORT@", str(self.port)).replace("@WWW@", os.path.join(ROOT, "www"))
                .replace("@CONF@", conf_dir or os.path.join(ROOT, "conf")))
        self.conf = os.path.join(self.dir, "nginx.conf")
        with open(self.conf, "w") as f:
            f.write(conf)
        self.proc = subprocess.Popen(["nginx", "-p", self.dir, "-c", self.conf],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

        def up():
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return True
            except OSError:
                if self.proc.poll() is not None:
                    raise AssertionError("nginx exited: " + self.proc.stderr.read().decode())
                return False
        wait_for(up, what="nginx to start")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Workspace:
    """A temp dir with a Redis (its own, or one given), and the phasestreams
    and nginxes started in it; close() stops them in reverse order (nginx
    first) and returns the phasestreams' exit statuses."""

    def __init__(self, redis=None, appendonly=False):
        self.tmp = tempfile.mkdtemp(prefix="phasestream-test-")
        os.chmod(self.tmp, 0o755)  # nginx's workers run as nobody
        self.own_redis = redis is None
        self.redis = redis or Redis(self.tmp, appendonly=appendonly)
        self.procs = []
        self.nginxes = []

    def ps(self, pipeline, args=(), env=None, **kw):
        """A phasestream; "{tmp}" in an environment value is this
        workspace's directory."""
        env = {k: v.replace("{tmp}", self.tmp) for k, v in (env or {}).items()}
        p = Phasestream(self.tmp, self.redis.url, pipeline, args=list(args), env=env, **kw)
        self.procs.append(p)
        return p

    def nginx(self, sockets):
        n = Nginx(self.tmp, sockets)
        self.nginxes.append(n)
        return n

    def close(self):
        """Everything is stopped, even after a failure (the first one is
        raised at the end: a sanitizer report, a server that did not stop)."""
        codes, failures = [], []
        for n in self.nginxes:
            n.stop()
        for p in self.procs:
            try:
                codes.append(p.stop())
            except AssertionError as e:
                failures.append(e)
        if self.own_redis:
            self.redis.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)
        if failures:
            raise failures[0]
        return codes


class Stack(Workspace):
    """redis-server + phasestream + nginx, torn down in reverse order."""

    def __init__(self, pipeline="basic.json", args=(), env=None, runners=2, redis=None,
                 appendonly=False, readiness=False):
        """With readiness, the pipeline names a readiness file next to it, in
        the stack's directory, by a relative path (self.readiness, not
        written yet)."""
        super().__init__(redis=redis, appendonly=appendonly)
        self.readiness = os.path.join(self.tmp, "readiness.json") if readiness else None
        if readiness:
            self.pipeline = pipeline_with(pipeline, self.tmp, readiness="readiness.json")
        else:
            self.pipeline = (pipeline if os.path.isabs(pipeline)
                             else os.path.join(PIPELINES, pipeline))
        self.ps = super().ps(self.pipeline, args=args, env=env, runners=runners)
        self.nginx = super().nginx(self.ps.socket)
        self.r = self.redis.client()

    @property
    def port(self):
        return self.nginx.port

    def restart_nginx(self):
        """A new nginx on the same port, after a test stopped the last one;
        close() stops it too."""
        n = Nginx(self.tmp, self.ps.socket, port=self.nginx.port)
        self.nginxes.append(n)
        self.nginx = n
        return n

    @property
    def prefix(self):
        return self.ps.prefix

    def close(self):
        """The phasestream's exit status."""
        self.r.close()
        return super().close()[0]

    def key(self, sid, what):
        return session_key(self.prefix, sid, what)


# ----------------------------------------------------------------- HTTP --

class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body)

    def header(self, name):
        return self.headers.get(name.lower())


def _read_head(sock, buf):
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed before headers: %r" % buf)
        buf += chunk
    head, rest = buf.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        k, v = line.split(":", 1)
        headers[k.strip().lower()] = v.strip()
    return status, headers, rest


def request(port, method, path, body=None, headers=None, timeout=15):
    """One HTTP/1.1 request with Connection: close; the whole response."""
    sock = socket.create_connection(("127.0.0.1", port), timeout)
    hdrs = {"Host": "localhost", "Connection": "close"}
    if body is not None:
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
            hdrs["Content-Type"] = "application/json"
        body = body if isinstance(body, bytes) else body.encode()
        hdrs["Content-Length"] = str(len(body))
    hdrs.update(headers or {})
    req = "%s %s HTTP/1.1\r\n" % (method, path) + "".join(
        "%s: %s\r\n" % kv for kv in hdrs.items()) + "\r\n"
    sock.sendall(req.encode() + (body or b""))
    status, h, rest = _read_head(sock, b"")
    data = rest
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    sock.close()
    if h.get("transfer-encoding") == "chunked":
        data = _dechunk_all(data)
    return Response(status, h, data.decode("utf-8", "replace"))


def _dechunk_all(data):
    out = b""
    while data:
        line, data = data.split(b"\r\n", 1)
        n = int(line.split(b";")[0], 16)
        if n == 0:
            break
        out += data[:n]
        data = data[n + 2:]
    return out


def create(port, proof_type="groth16"):
    r = request(port, "POST", "/api/workflow", {"proofType": proof_type})
    assert r.status == 201, (r.status, r.body)
    return r.json()["sessionId"]


# ------------------------------------------------------------------ SSE --

class Event:
    def __init__(self, id, type, data, retry, at):
        self.id = int(id) if id is not None else None
        self.type = type
        self.raw = data
        self.data = json.loads(data) if data else None
        self.retry = retry
        self.at = at

    def __repr__(self):
        return "Event(%s %s %s)" % (self.id, self.type, self.raw[:80])


class EventStream:
    """An SSE client on a raw socket: chunked decoding, event parsing, the
    arrival time of each event, and the comments seen."""

    def __init__(self, port, path, last_event_id=None, timeout=15, rcvbuf=None):
        self.sock = socket.socket()
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(timeout)
        self.sock.connect(("127.0.0.1", port))
        hdrs = "Host: localhost\r\nAccept: text/event-stream\r\n"
        if last_event_id is not None:
            hdrs += "Last-Event-ID: %s\r\n" % last_event_id
        self.sock.sendall(("GET %s HTTP/1.1\r\n%s\r\n" % (path, hdrs)).encode())
        self.status, self.headers, self.raw = _read_head(self.sock, b"")
        self.chunked = self.headers.get("transfer-encoding") == "chunked"
        self.body = b""       # de-chunked bytes not yet parsed
        self.all = b""        # every de-chunked byte
        self.comments = []
        self.ended = False

    def _fill(self):
        """Reads more; returns False at the end of the response."""
        if self.ended:
            return False
        while True:
            if self.chunked:
                if b"\r\n" in self.raw:
                    line, rest = self.raw.split(b"\r\n", 1)
                    n = int(line.split(b";")[0], 16)
                    if n == 0:
                        self.ended = True
                        return False
                    if len(rest) >= n + 2:
                        self.body += rest[:n]
                        self.all += rest[:n]
                        self.raw = rest[n + 2:]
                        return True
            elif self.raw:
                self.body += self.raw
                self.all += self.raw
                self.raw = b""
                return True
            chunk = self.sock.recv(65536)
            if not chunk:
                self.ended = True
                return False
            self.raw += chunk

    def next(self):
        """The next event, or None when the stream ended."""
        while True:
            while b"\n\n" not in self.body:
                if not self._fill():
                    return None
            block, self.body = self.body.split(b"\n\n", 1)
            fields = {"id": None, "event": "message", "data": None, "retry": None}
            for line in block.decode("utf-8").split("\n"):
                if line.startswith(":"):
                    self.comments.append((line, time.time()))
                    continue
                k, _, v = line.partition(":")
                fields[k] = v[1:] if v.startswith(" ") else v
            if fields["data"] is None and fields["id"] is None:
                continue  # a comment block, or retry alone
            return Event(fields["id"], fields["event"], fields["data"], fields["retry"],
                         time.time())

    def events(self, limit=100000):
        out = []
        while len(out) < limit:
            e = self.next()
            if e is None:
                break
            out.append(e)
        return out

    def close(self):
        self.sock.close()


def stream(port, sid, last_event_id=None, param=None, **kw):
    path = "/api/workflow?sessionId=%s" % sid
    if param is not None:
        path += "&lastEventId=%s" % param
    return EventStream(port, path, last_event_id=last_event_id, **kw)


def line_latencies(port, sid, word="clock"):
    """Milliseconds from the printing of each `<word> <epoch-ms>` line of a
    session to this client reading it as an event, over its whole stream."""
    es = stream(port, sid)
    lat = []
    while True:
        e = es.next()
        if e is None:
            break
        if e.type == "log" and e.data["message"].startswith(word + " "):
            lat.append((e.at - int(e.data["message"].split()[1]) / 1000.0) * 1000)
    es.close()
    return lat


def follow(port, sid, **kw):
    """Every event of the session, to its end."""
    es = stream(port, sid, **kw)
    assert es.status == 200, es.status
    ev = es.events()
    es.close()
    return ev


def follow_resuming(port, sid, timeout=60):
    """Every event of the session, reconnecting as EventSource does (with
    Last-Event-ID, after a pause) until the terminal event or a 204."""
    got, last = [], None
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            es = stream(port, sid, last_event_id=last, timeout=10)
        except OSError:
            time.sleep(0.2)
            continue
        if es.status == 204:
            es.close()
            break
        if es.status != 200:
            es.close()
            time.sleep(0.2)
            continue
        try:
            while True:
                e = es.next()
                if e is None:
                    break
                got.append(e)
                last = e.id
                if e.type in ("complete", "error"):
                    es.close()
                    return got
        except OSError:
            pass
        es.close()
        time.sleep(0.2)
    return got


def follow_in_pieces(port, sid, pieces):
    """Every event of the session, read a few at a time: each connection
    takes pieces() events (or fewer, at the end), then disconnects and the
    next resumes with Last-Event-ID. Returns (events, connections)."""
    got, last, rounds = [], 0, 0
    while True:
        es = stream(port, sid, last_event_id=last)
        if es.status == 204:
            es.close()
            break
        assert es.status == 200, es.status
        rounds += 1
        for _ in range(pieces()):
            e = es.next()
            if e is None:
                break
            got.append(e)
            last = e.id
        es.close()
        if got and got[-1].type in ("complete", "error"):
            break
    return got, rounds


def stored_events(r, stack, sid):
    """The session's event list as stored: [(id, type, data)]."""
    out = []
    for i, el in enumerate(r("LRANGE", stack.key(sid, "events"), 0, -1)):
        t, d = parse_element(el)
        out.append((i + 1, t, d))
    return out


# ------------------------------------------------------------ processes --

def processes_with_env(marker):
    """PIDs of live (non-zombie) processes whose environment holds marker."""
    found = []
    needle = marker.encode()
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/environ" % pid, "rb") as f:
                env = f.read()
            with open("/proc/%s/stat" % pid) as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if needle in env and state != "Z":
            found.append(int(pid))
    return found


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def proc_stat(pid):
    """(state, ppid, process group) of a process, or None when it is gone."""
    try:
        with open("/proc/%s/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return fields[0], int(fields[1]), int(fields[2])


def alive(pid):
    st = proc_stat(pid)
    return st is not None and st[0] != "Z"


def _children(ppid, zombies):
    out = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            st = proc_stat(pid)
            if st and st[1] == ppid and (st[0] == "Z") == zombies:
                out.append(int(pid))
    return sorted(out)


def children_of(ppid):
    """Live children of ppid."""
    return _children(ppid, False)


def zombies_of(ppid):
    """Children of ppid that nobody reaped."""
    return _children(ppid, True)


# -------------------------------------------------------------- FastCGI --

FCGI_BEGIN, FCGI_END, FCGI_PARAMS, FCGI_STDIN, FCGI_STDOUT = 1, 3, 4, 5, 6


def _fcgi_record(rtype, rid, content):
    pad = (8 - len(content) % 8) % 8
    return bytes([1, rtype, rid >> 8, rid & 0xff, len(content) >> 8, len(content) & 0xff,
                  pad, 0]) + content + b"\0" * pad


def _fcgi_len(n):
    return bytes([n]) if n < 128 else bytes([(n >> 24) | 0x80, (n >> 16) & 0xff,
                                              (n >> 8) & 0xff, n & 0xff])


class FastCGI:
    """A FastCGI client, as a web server would be: for tests that talk to
    phasestream without nginx (TCP listening, fd 0, kept connections)."""

    def __init__(self, addr, timeout=15):
        if isinstance(addr, str):
            self.sock = socket.socket(socket.AF_UNIX)
        else:
            self.sock = socket.socket()
        self.sock.settimeout(timeout)
        self.sock.connect(addr)
        self.buf = b""

    def send(self, method, uri, body=b"", headers=None, keep=False, rid=1):
        path, _, query = uri.partition("?")
        params = {"REQUEST_METHOD": method, "REQUEST_URI": uri, "QUERY_STRING": query,
                  "SCRIPT_NAME": path, "SERVER_PROTOCOL": "HTTP/1.1",
                  "CONTENT_LENGTH": str(len(body))}
        if body:
            params["CONTENT_TYPE"] = "application/json"
        params.update(headers or {})
        enc = b"".join(_fcgi_len(len(k)) + _fcgi_len(len(v.encode())) + k.encode() + v.encode()
                       for k, v in params.items())
        out = _fcgi_record(FCGI_BEGIN, rid, bytes([0, 1, 1 if keep else 0, 0, 0, 0, 0, 0]))
        out += _fcgi_record(FCGI_PARAMS, rid, enc) + _fcgi_record(FCGI_PARAMS, rid, b"")
        if body:
            out += _fcgi_record(FCGI_STDIN, rid, body)
        out += _fcgi_record(FCGI_STDIN, rid, b"")
        self.sock.sendall(out)

    def _need(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed")
            self.buf += chunk

    def record(self):
        self._need(8)
        h = self.buf[:8]
        clen, pad = (h[4] << 8) | h[5], h[6]
        self._need(8 + clen + pad)
        content = self.buf[8:8 + clen]
        self.buf = self.buf[8 + clen + pad:]
        return h[1], (h[2] << 8) | h[3], content

    def response(self):
        """(status, headers, body) of one whole response."""
        out = b""
        while True:
            rtype, _, content = self.record()
            if rtype == FCGI_STDOUT:
                out += content
            elif rtype == FCGI_END:
                break
        head, _, body = out.partition(b"\r\n\r\n")
        headers = {}
        status = 200
        for line in head.decode("latin-1").split("\r\n"):
            k, _, v = line.partition(":")
            if k.lower() == "status":
                status = int(v.split()[0])
            headers[k.strip().lower()] = v.strip()
        return status, headers, body.decode("utf-8", "replace")

    def closed(self, wait=1.0):
        """True when the server closed the connection."""
        self.sock.settimeout(wait)
        try:
            return self.sock.recv(1) == b""
        except socket.timeout:
            return False
        finally:
            self.sock.settimeout(15)

    def close(self):
        self.sock.close()


def fcgi(addr, method, uri, body=b""):
    c = FastCGI(addr)
    c.send(method, uri, body)
    r = c.response()
    c.close()
    return r
