#!/usr/bin/env python3
"""The stream benchmark: phasestream behind nginx, and behind lighttpd,
against nginx + nchan.

The stacks run side by side in one run, each with its own redis-server on a
loopback port; each row runs against phasestream behind nginx (the shipped
conf/nginx/phasestream.conf), phasestream behind lighttpd (the shipped
conf/lighttpd/phasestream.conf), then against nchan, and the table shows the
columns and each phasestream column's ratio to nchan.

Rows (ROWS=1,2,3,4,5; default all):
  1 throughput: one phase printing N lines flat out, one viewer (nchan: N
    HTTP publishes, one keep-alive connection, 64 pipelined)
  2 fan-out A: 1000 viewers x 20 events/s for 20 s on one session / channel
  3 fan-out B: 10000 viewers x 5 events/s for 20 s
  4 memory per idle viewer over 5000 idle viewers
  5 storm: 15000 and 19000 viewers at once; 19000 viewers reconnecting after
    phasestream is restarted under them

Server CPU is utime+stime from /proc/PID/stat (all threads) of phasestream,
redis-server and the web server (nginx master + workers, or lighttpd), as
deltas over the measured part.

lighttpd is one process holding two descriptors per viewer (the browser's and
phasestream's): a row with more viewers than half the open-file limit is
"n/a" in its column rather than a row of failures.

Knobs: ROWS, RUNS (repeat each row, report medians), SCALE=full|short,
NGINX_WORKERS (4), FRONTS=nginx,lighttpd (the phasestream columns).
`--check` is the correctness variant for make check: a few hundred viewers,
a small storm and a restart against phasestream (and nchan if installed); it
asserts that every viewer got every event exactly once and in order, never a
time, and exits 1 with the reason otherwise.

Viewers and publishers are build/bench/{sseload,pubload}; the phase is
build/bench/seqprint, which waits for a go file so that every viewer is
attached before the first line.
"""
import json
import os
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOOLS = os.path.join(ROOT, "build", "bench")
NCHAN_SO = "/usr/lib/nginx/modules/ngx_nchan_module.so"
NOFILE = 65536  # the shipped systemd unit's LimitNOFILE
CLK = os.sysconf("SC_CLK_TCK")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(cond, timeout=20, what="condition"):
    end = time.time() + timeout
    while time.time() < end:
        if cond():
            return
        time.sleep(0.05)
    raise RuntimeError("timed out waiting for " + what)


def raise_nofile():
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (NOFILE, NOFILE))
    except (ValueError, OSError):
        pass


def port_open(port):
    try:
        socket.create_connection(("127.0.0.1", port), 0.5).close()
        return True
    except OSError:
        return False


# --------------------------------------------------------------- /proc --
def children(pid):
    out = []
    try:
        for t in os.listdir("/proc/%d/task" % pid):
            with open("/proc/%d/task/%s/children" % (pid, t)) as f:
                out += [int(x) for x in f.read().split()]
    except OSError:
        pass
    return out


def cpu_ticks(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # fields 14, 15: utime, stime
    except OSError:
        return 0


def rss_kb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def loadavg():
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


# -------------------------------------------------------------- servers --
class Redis:
    def __init__(self, d):
        self.port = free_port()
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--maxclients", "10000", "--dir", d],
            stdout=open(os.path.join(d, "redis.log"), "w"), stderr=subprocess.STDOUT,
            preexec_fn=raise_nofile)
        wait_for(lambda: port_open(self.port), what="redis-server")

    def pids(self):
        return {"redis": [self.proc.pid]}

    def stop(self):
        stop_proc(self.proc)


def stop_proc(p, sig=signal.SIGTERM, timeout=20):
    if p.poll() is None:
        p.send_signal(sig)
        try:
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


# Through FastCGI nginx holds two descriptors per viewer (the browser's and
# phasestream's), nchan one. With this machine's 20,000 files per process,
# 19,000 viewers need at least two workers with a perfect split, and the
# kernel's reuseport hashing is not perfect: both stacks get NGINX_WORKERS
# (4) workers, which on 2 cores costs neither more CPU per event.
NGINX_WORKERS = int(os.environ.get("NGINX_WORKERS", "4"))

NGINX_HEAD = """daemon off;
user root;
worker_processes %(workers)d;
worker_rlimit_nofile %(nofile)d;
pid %(dir)s/nginx.pid;
error_log %(dir)s/error.log error;
%(modules)s
events { worker_connections 19000; }
http {
    access_log off;
    client_body_temp_path %(dir)s/body;
    fastcgi_temp_path %(dir)s/fastcgi;
    proxy_temp_path %(dir)s/proxy;
    scgi_temp_path %(dir)s/scgi;
    uwsgi_temp_path %(dir)s/uwsgi;
"""


def start_web_server(name, argv, d, port):
    """Starts a web server in the foreground and waits until it listens on
    port; its stderr goes to d/NAME.stderr, quoted if it exits instead."""
    err = os.path.join(d, name + ".stderr")
    proc = subprocess.Popen(argv, stderr=open(err, "w"), preexec_fn=raise_nofile)
    wait_for(lambda: port_open(port) or proc.poll() is not None, what=name)
    if proc.poll() is not None:
        raise RuntimeError("%s exited: %s" % (name, open(err).read()))
    return proc


class Nginx:
    def __init__(self, d, body, modules=""):
        self.dir = d
        os.makedirs(d, exist_ok=True)
        shutil.copy("/etc/nginx/fastcgi_params", d)
        self.port = free_port()
        conf = NGINX_HEAD % {"dir": d, "nofile": NOFILE, "modules": modules,
                             "workers": NGINX_WORKERS}
        conf += body % {"port": self.port, "dir": d} + "}\n"
        self.conf = os.path.join(d, "nginx.conf")
        with open(self.conf, "w") as f:
            f.write(conf)
        self.proc = start_web_server("nginx", ["nginx", "-p", d, "-c", self.conf], d, self.port)

    def pids(self):
        return {"web": [self.proc.pid] + children(self.proc.pid)}

    def errors(self):
        return nginx_errors(self.dir)

    def stop(self):
        stop_proc(self.proc, signal.SIGQUIT)


LIGHTTPD_CONF = """server.document-root = "%(dir)s"
server.bind = "127.0.0.1"
server.port = %(port)d
server.max-fds = %(nofile)d
server.max-connections = %(conns)d
server.listen-backlog = 65535
server.errorlog = "%(dir)s/error.log"
server.pid-file = "%(dir)s/lighttpd.pid"
include "%(dir)s/phasestream.conf"
"""


class Lighttpd:
    """lighttpd with the shipped drop-in, pointed at the stack's socket."""

    def __init__(self, d, sock):
        self.dir = d
        os.makedirs(d, exist_ok=True)
        self.port = free_port()
        shipped = open(os.path.join(ROOT, "conf/lighttpd/phasestream.conf")).read()
        dropin = re.sub(r'(?m)^var\.phasestream_socket = .*$',
                        'var.phasestream_socket = "%s"' % sock, shipped)
        if dropin == shipped:
            raise RuntimeError("conf/lighttpd/phasestream.conf no longer sets var.phasestream_socket")
        with open(os.path.join(d, "phasestream.conf"), "w") as f:
            f.write(dropin)
        conf = os.path.join(d, "lighttpd.conf")
        with open(conf, "w") as f:
            f.write(LIGHTTPD_CONF % {"dir": d, "port": self.port, "nofile": nofile(),
                                     "conns": lighttpd_viewers()})
        self.proc = start_web_server("lighttpd", ["lighttpd", "-D", "-f", conf], d, self.port)

    def pids(self):
        return {"web": [self.proc.pid]}

    def errors(self):
        """Error lines of lighttpd's log, past its start-up line."""
        try:
            with open(os.path.join(self.dir, "error.log"), errors="replace") as f:
                n = sum(1 for line in f if "server started" not in line
                        and "server stopped" not in line and line.strip())
        except OSError:
            n = 0
        return "lines:%d" % n if n else "0"

    def stop(self):
        stop_proc(self.proc)


def nofile():
    return resource.getrlimit(resource.RLIMIT_NOFILE)[1]


def lighttpd_viewers():
    """The viewers one lighttpd process can hold: two descriptors each."""
    return (nofile() - 64) // 2


PS_SERVER = """    upstream phasestream { server unix:%(sock)s; }
    server {
        listen 127.0.0.1:%%(port)d backlog=65535 reuseport;
        include %(conf)s;
    }
"""

NCHAN_SERVER = """    upstream bench_redis { nchan_redis_server redis://127.0.0.1:%(redis)d; }
    server {
        listen 127.0.0.1:%%(port)d backlog=65535 reuseport;
        # The publisher keeps one connection for the whole run.
        keepalive_requests 100000000;
        location = /pub {
            nchan_publisher;
            nchan_channel_id $arg_id;
            nchan_redis_pass bench_redis;
            nchan_message_buffer_length 1000;
            nchan_message_timeout 600s;
        }
        location = /sub {
            nchan_subscriber eventsource;
            nchan_channel_id $arg_id;
            nchan_redis_pass bench_redis;
        }
    }
"""


class PhasestreamStack:
    """redis-server + phasestream (release build) + nginx or lighttpd with the
    shipped drop-in."""

    def __init__(self, top, types, front="nginx"):
        self.name = "ps+" + front
        self.front_name = front
        self.dir = os.path.join(top, "ps-" + front)
        os.makedirs(self.dir)
        self.godir = os.path.join(self.dir, "go")
        os.makedirs(self.godir)
        self.sock = os.path.join(self.dir, "ps.sock")
        self.pipeline = os.path.join(self.dir, "pipeline.json")
        with open(self.pipeline, "w") as f:
            json.dump({"proofTypes": sorted(types), "phases": [{
                "name": "printing", "step": "Printing",
                "command": [os.path.join(TOOLS, "seqprint"), "{proofType}", "{sessionId}"],
                "timeout": 900, "env": {"SEQ_GO_DIR": self.godir}}]}, f)
        self.redis = Redis(self.dir)
        self.procs = []
        self.start_ps()
        if front == "lighttpd":
            self.front = Lighttpd(os.path.join(self.dir, "lighttpd"), self.sock)
        else:
            self.front = Nginx(os.path.join(self.dir, "nginx"),
                               PS_SERVER % {"sock": self.sock,
                                            "conf": os.path.join(ROOT, "conf/nginx/phasestream.conf")})
        self.port = self.front.port

    def holds(self, viewers):
        return self.front_name != "lighttpd" or viewers <= lighttpd_viewers()

    def start_ps(self, *extra):
        p = subprocess.Popen(
            [os.path.join(ROOT, "phasestream"), "--listen", "unix:" + self.sock,
             "--socket-mode", "0666", "--runners", "1", "--pipeline", self.pipeline,
             "--redis", "redis://127.0.0.1:%d" % self.redis.port, "--max-events", "400000",
             "--log-level", "warn", "--workdir", os.path.join(self.dir, "work")] + list(extra),
            stderr=open(os.path.join(self.dir, "phasestream.log"), "a"), preexec_fn=raise_nofile)
        self.procs.append(p)
        if "--http" not in extra:
            wait_for(lambda: os.path.exists(self.sock) or p.poll() is not None, what="phasestream")
        if p.poll() is not None:
            raise RuntimeError("phasestream exited; see " + self.dir + "/phasestream.log")
        return p

    def pids(self):
        d = {"phasestream": [p.pid for p in self.procs if p.poll() is None]}
        d.update(self.redis.pids())
        d.update(self.front.pids())
        return d

    def create(self, proof_type):
        req = urllib.request.Request(
            "http://127.0.0.1:%d/api/workflow" % self.port,
            data=json.dumps({"proofType": proof_type}).encode(),
            headers={"Content-Type": "application/json"}, method="POST")
        with urllib.request.urlopen(req, timeout=10) as r:
            sid = json.load(r)["sessionId"]
        return "/api/workflow?sessionId=" + sid, os.path.join(self.godir, sid)

    def stop(self):
        self.front.stop()
        for p in self.procs:
            stop_proc(p)
        self.redis.stop()


class NchanStack:
    """redis-server + nginx with nchan on Redis storage."""
    name = "nginx+nchan"

    def __init__(self, top):
        self.dir = os.path.join(top, "nchan")
        os.makedirs(self.dir)
        self.redis = Redis(self.dir)
        self.front = Nginx(os.path.join(self.dir, "nginx"),
                           NCHAN_SERVER % {"redis": self.redis.port},
                           "load_module %s;" % NCHAN_SO)
        self.port = self.front.port
        self.n = 0

    def holds(self, viewers):
        return True

    def pids(self):
        d = self.redis.pids()
        d.update(self.front.pids())
        return d

    def channel(self):
        self.n += 1
        return "c%d_%d" % (os.getpid(), self.n)

    def stop(self):
        self.front.stop()
        self.redis.stop()


# ------------------------------------------------------------- measuring --
class Cpu:
    def __init__(self, stack):
        self.stack = stack
        self.t0 = self.sample()

    def sample(self):
        return {k: sum(cpu_ticks(p) for p in v) for k, v in self.stack.pids().items()}

    def delta(self):
        t1 = self.sample()
        return {k: (t1.get(k, 0) - self.t0.get(k, 0)) / CLK for k in t1}


def rss_total(stack):
    return sum(rss_kb(p) for k, v in stack.pids().items() if k != "redis" for p in v)


def sseload(port, path, viewers, expect, duration, ready, pace_us=0, reconnect=False,
            ready_timeout=60):
    if os.path.exists(ready):
        os.unlink(ready)
    cmd = [os.path.join(TOOLS, "sseload"), "--port", str(port), "--path", path,
           "--viewers", str(viewers), "--expect", str(expect), "--duration", str(duration),
           "--ready-file", ready, "--ready-timeout", str(ready_timeout),
           "--pace-us", str(pace_us)]
    if reconnect:
        cmd.append("--reconnect")
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, preexec_fn=raise_nofile)


def finish(p):
    out = p.communicate()[0].decode().strip().splitlines()
    if p.returncode != 0 or not out:
        raise RuntimeError("sseload failed (exit %s)" % p.returncode)
    return json.loads(out[-1])


def wait_ready(p, ready, timeout):
    wait_for(lambda: os.path.exists(ready) or p.poll() is not None, timeout, "viewers")


def touch(path):
    open(path, "w").close()


def publish(st, chan, count, rate):
    cmd = [os.path.join(TOOLS, "pubload"), "--port", str(st.port),
           "--path", "/pub?id=" + chan, "--count", str(count), "--rate", str(rate),
           "--conns", "1", "--depth", "64"]
    out = subprocess.run(cmd, stdout=subprocess.PIPE, check=False).stdout.decode()
    return json.loads(out.strip().splitlines()[-1])


def stream_run(st, tmp, viewers, count, rate, duration, ready_timeout=60, before_go=None,
               pace_us=0):
    """Viewers attach, then COUNT events at RATE; returns the figures."""
    ready = os.path.join(tmp, "ready")
    rss0 = rss_total(st)
    pub = None
    if isinstance(st, PhasestreamStack):
        path, go = st.create("%dx%g" % (count, rate))
    else:
        chan = st.channel()
        path, go = "/sub?id=" + chan, None
    p = sseload(st.port, path, viewers, count, duration, ready, pace_us=pace_us,
                ready_timeout=ready_timeout)
    wait_ready(p, ready, ready_timeout + 30)
    extra = before_go(st, rss0) if before_go else {}
    cpu = Cpu(st)
    if go:
        touch(go)
    else:
        pub = publish(st, chan, count, rate)
        if pub["broken"]:  # no end marker will come: stop the viewers now
            time.sleep(2)
            p.send_signal(signal.SIGTERM)
    r = finish(p)
    r["cpu"] = cpu.delta()
    r["pub"] = pub
    r.update(extra)
    return r


def restart_run(st, tmp, viewers, count, rate, duration):
    """All viewers attached to a running session; the HTTP instance restarts."""
    # An HTTP-only instance the viewers talk to, a runner-only one runs the
    # session: restarting the first must not touch the phase.
    for pr in list(st.procs):
        stop_proc(pr)
        st.procs.remove(pr)
    st.start_ps("--http", "0")
    http = st.start_ps("--runners", "0")
    ready = os.path.join(tmp, "ready")
    path, go = st.create("%dx%g" % (count, rate))
    p = sseload(st.port, path, viewers, count, duration, ready, reconnect=True)
    wait_ready(p, ready, 90)
    cpu = Cpu(st)
    touch(go)
    time.sleep(min(5, count / rate / 3))
    st.procs.remove(http)
    stop_proc(http)
    st.start_ps("--runners", "0")
    r = finish(p)
    r["cpu"] = cpu.delta()
    r["pub"] = None
    for pr in list(st.procs):  # back to one instance with one runner
        stop_proc(pr)
        st.procs.remove(pr)
    st.start_ps()
    return r


# ---------------------------------------------------------------- rows --
def scale_params(scale):
    if scale == "short":
        return dict(n=30000, fa=(300, 20, 5), fb=(2000, 5, 5), idle=1000, storms=(3000,),
                    restart=1000)
    return dict(n=300000, fa=(1000, 20, 20), fb=(10000, 5, 20), idle=5000,
                storms=(15000, 19000), restart=19000)


def fmt(v):
    if v is None:
        return "-"
    if isinstance(v, str):
        return v
    if abs(v) >= 100 or v == int(v):
        return "%d" % round(v)
    return "%.2f" % v


def errors_of(r):
    bad = {k: v for k, v in r["status"].items() if k != "200"}
    s = ",".join("%s:%d" % kv for kv in sorted(bad.items()))
    if r["connect_errors"]:
        s += (";" if s else "") + "connfail:%d" % r["connect_errors"]
    if r["io_errors"] + r["eof_before_answer"]:
        s += (";" if s else "") + "reset:%d" % (r["io_errors"] + r["eof_before_answer"])
    return s or "0"


def order_of(r):
    return "%d/%d/%d" % (r["missing"], r["duplicates"], r["out_of_order"])


# A row lighttpd cannot hold here (see the top of this file).
NOT_HELD = {"connected": "n/a (files)"}
CPU_LABEL = {"web": "web server"}


def row_throughput(stacks, tmp, P):
    n = P["n"]
    out = []
    for st in stacks:
        r = stream_run(st, tmp, 1, n, 0, 900)
        span = (r["last_recv_ns"] - r["first_t_ns"]) / 1e9 if r["seq_events"] else 0
        d = {"lines/s end to end": r["seq_events"] / span if span else 0,
             "% delivered": 100.0 * r["seq_events"] / n,
             "missing/dup/ooo": order_of(r),
             "redis CPU us/line": 1e6 * r["cpu"].get("redis", 0) / n,
             "web server CPU us/line": 1e6 * r["cpu"].get("web", 0) / n}
        if isinstance(st, PhasestreamStack):
            d["phasestream CPU us/line"] = 1e6 * r["cpu"].get("phasestream", 0) / n
        else:
            d["publish ceiling msgs/s"] = r["pub"]["msgs_per_s"]
            d["publish non-2xx"] = sum(v for k, v in r["pub"]["status"].items()
                                       if not k.startswith("2"))
        out.append(d)
    return "1 throughput, N=%d, 1 viewer" % n, out


def row_fanout(stacks, tmp, spec, label):
    v, rate, dur = spec
    count = int(rate * dur)
    out = []
    for st in stacks:
        if not st.holds(v):
            out.append(NOT_HELD)
            continue
        r = stream_run(st, tmp, v, count, rate, dur + 120, ready_timeout=120)
        cpu = sum(r["cpu"].values())
        d = {"connected": r["connected"], "errors": errors_of(r),
             "attach s": r["ready_s"],
             "latency p50 ms": r["lat_p50_ms"], "latency p99 ms": r["lat_p99_ms"],
             "latency max ms": r["lat_max_ms"],
             "% delivered": 100.0 * r["seq_events"] / (v * count),
             "missing/dup/ooo": order_of(r),
             "events per server CPU-s": r["seq_events"] / cpu if cpu else 0,
             "server CPU s": cpu}
        for k in ("web", "phasestream", "redis"):
            d["CPU s " + CPU_LABEL.get(k, k)] = r["cpu"].get(k)
        out.append(d)
    return "%s: %d viewers x %g ev/s x %d s" % (label, v, rate, dur), out


def row_memory(stacks, tmp, P):
    v = P["idle"]
    out = []

    def measure(st, rss0):
        time.sleep(2)
        return {"rss_delta": rss_total(st) - rss0}

    for st in stacks:
        if not st.holds(v):
            out.append(NOT_HELD)
            continue
        # Paced (5000 a second): this row is not a storm.
        r = stream_run(st, tmp, v, 0, 0, 120, before_go=measure, pace_us=200)
        d = {"connected": r["connected"], "errors": errors_of(r),
             "RSS delta MB": r["rss_delta"] / 1024.0,
             "KB per idle viewer": r["rss_delta"] / float(max(r["connected"], 1))}
        out.append(d)
    return "4 memory: %d idle viewers (web server + phasestream RSS)" % v, out


def row_storm(stacks, tmp, v):
    out = []
    for st in stacks:
        if not st.holds(v):
            out.append(NOT_HELD)
            continue
        r = stream_run(st, tmp, v, 10, 10, 120, ready_timeout=45)
        d = {"got stream (200 + event)": r["got_stream"], "errors": errors_of(r),
             "attach s": r["ready_s"], "missing/dup/ooo": order_of(r)}
        out.append(d)
    return "5 storm: %d viewers at once" % v, out


def row_restart(stacks, tmp, P, v=None, count=100, rate=5):
    v = v or P["restart"]
    out = []
    for st in stacks:
        if not isinstance(st, PhasestreamStack):
            out.append({"viewers saw the end": "n/a"})
            continue
        if not st.holds(v):
            out.append(NOT_HELD)
            continue
        r = restart_run(st, tmp, v, count, rate, 180)
        out.append({"viewers saw the end": r["done"],
                    "errors": errors_of(r), "dead viewers": r["dead"],
                    "reconnects": r["reconnects"], "missing/dup/ooo": order_of(r),
                    "missing, viewers at end": r["missing_done"]})
    return "5 restart: %d viewers, %d events at %g/s, HTTP instance restarted" % (
        v, count, rate), out


def median_rows(runs):
    merged, keys = [], []
    for d in runs[0][1]:
        keys += [k for k in d if k not in keys]
    for k in keys:
        vals = [[run[1][i].get(k) for run in runs] for i in range(len(runs[0][1]))]
        merged.append((k, [statistics.median(x) if all(isinstance(y, (int, float)) for y in x)
                           else x[-1] for x in vals]))
    return merged


def print_row(title, load, runs, names):
    """Each column, then each phasestream column's ratio to the last (nchan)."""
    print("\n== %s   (load average %.2f%s)" % (
        title, load, "  WARNING: > 1.5, figures are disturbed" if load > 1.5 else ""))
    ratios = names[:-1]
    hdr = "%-28s" % "" + "".join("%14s" % n for n in names) + \
        "".join("%16s" % (n.split("+")[-1] + "/nchan") for n in ratios)
    print(hdr)
    for k, vals in median_rows(runs):
        line = "%-28s" % k + "".join("%14s" % fmt(v) for v in vals)
        base = vals[-1]
        for v in vals[:-1]:
            ok = isinstance(v, (int, float)) and isinstance(base, (int, float)) and base
            line += "%16s" % ("%.2fx" % (v / base) if ok else "")
        print(line)
    sys.stdout.flush()


def bench(rows, runs, scale):
    P = scale_params(scale)
    types = types_for(P)
    print("somaxconn %s, open files %s, scale %s, runs %d" % (
        open("/proc/sys/net/core/somaxconn").read().strip(),
        resource.getrlimit(resource.RLIMIT_NOFILE)[1], scale, runs))
    plan = []
    if "1" in rows:
        plan.append(lambda stacks, tmp: row_throughput(stacks, tmp, P))
    if "2" in rows:
        plan.append(lambda stacks, tmp: row_fanout(stacks, tmp, P["fa"], "2 fan-out A"))
    if "3" in rows:
        plan.append(lambda stacks, tmp: row_fanout(stacks, tmp, P["fb"], "3 fan-out B"))
    if "4" in rows:
        plan.append(lambda stacks, tmp: row_memory(stacks, tmp, P))
    if "5" in rows:
        for v in P["storms"]:
            plan.append(lambda stacks, tmp, v=v: row_storm(stacks, tmp, v))
        plan.append(lambda stacks, tmp: row_restart(stacks, tmp, P))
    for row in plan:
        load = loadavg()
        results = []
        for _ in range(runs):
            results.append(with_stacks(types, row))
            time.sleep(1)
        print_row(results[0][0], load, results,
                  ["ps+" + f for f in fronts()] + [NchanStack.name])


NGINX_ERRORS = (("worker_connections are not enough", "wc"), ("Too many open files", "nofile"),
                ("Resource temporarily unavailable", "EAGAIN"), ("Connection refused", "refused"),
                ("prematurely closed", "premature"), ("setrlimit", "rlimit"),
                ("accept4() failed", "accept"))


def nginx_errors(d):
    """The bench nginx's error log, counted by cause: why viewers failed."""
    counts = {}
    try:
        with open(os.path.join(d, "error.log"), errors="replace") as f:
            for line in f:
                if "[error]" not in line and "[alert]" not in line and "[crit]" not in line:
                    continue
                key = next((k for m, k in NGINX_ERRORS if m in line), "other")
                counts[key] = counts.get(key, 0) + 1
    except OSError:
        pass
    return ",".join("%s:%d" % kv for kv in sorted(counts.items())) or "0"


def with_stacks(types, row):
    """Runs one row on fresh servers: no memory or state left by another row."""
    tmp = tempfile.mkdtemp(prefix="psbench-")
    os.chmod(tmp, 0o755)
    stacks = []
    try:
        for front in fronts():
            stacks.append(PhasestreamStack(tmp, types, front))
        stacks.append(NchanStack(tmp))
        time.sleep(0.5)
        title, out = row(stacks, tmp)
        for st, d in zip(stacks, out):
            d["web server error log"] = st.front.errors()
        return title, out
    finally:
        for s in reversed(stacks):
            s.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def fronts():
    f = [x for x in os.environ.get("FRONTS", "nginx,lighttpd").split(",") if x]
    bad = [x for x in f if x not in ("nginx", "lighttpd")]
    if bad or not f:
        sys.exit("stream.py: FRONTS takes nginx and/or lighttpd, not %r" % ",".join(bad))
    return f


def types_for(P):
    t = {"%dx0" % P["n"], "0x0", "10x10", "100x5", "60x20"}
    for v, rate, dur in (P["fa"], P["fb"]):
        t.add("%dx%g" % (int(rate * dur), rate))
    return t


# --------------------------------------------------------------- check --
def check_ok(what, r, viewers):
    problems = []
    if r["connected"] != viewers:
        problems.append("%d of %d viewers connected" % (r["connected"], viewers))
    if errors_of(r) != "0":
        problems.append("errors " + errors_of(r))
    for k in ("missing", "duplicates", "out_of_order", "dead"):
        if r[k]:
            problems.append("%s %d" % (k, r[k]))
    if r["done"] != viewers:
        problems.append("%d of %d viewers saw the end" % (r["done"], viewers))
    print("%-44s %s" % (what, "ok" if not problems else "FAIL: " + "; ".join(problems)))
    return not problems


def check():
    types = {"60x20", "10x10", "100x5", "0x0"}
    tmp = tempfile.mkdtemp(prefix="psbench-check-")
    os.chmod(tmp, 0o755)
    stacks, ok = [], True
    try:
        stacks.append(PhasestreamStack(tmp, types))
        stacks.append(PhasestreamStack(tmp, types, "lighttpd"))
        if os.path.exists(NCHAN_SO):
            stacks.append(NchanStack(tmp))
        for st in stacks:
            r = stream_run(st, tmp, 300, 60, 20, 60)
            ok &= check_ok("%s: 300 viewers x 60 events" % st.name, r, 300)
            r = stream_run(st, tmp, 500, 10, 10, 60, ready_timeout=30)
            ok &= check_ok("%s: storm of 500 viewers at once" % st.name, r, 500)
        r = restart_run(stacks[0], tmp, 200, 100, 5, 90)
        ok &= check_ok("%s: 200 viewers across a restart" % stacks[0].name, r, 200)
        if ok and r["reconnects"] < 200:
            print("FAIL: the restart reconnected %d viewers, not 200" % r["reconnects"])
            ok = False
    finally:
        for s in reversed(stacks):
            s.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    if not ok:
        print("bench-check: FAILED")
    return 0 if ok else 1


def main():
    for tool in ("sseload", "pubload", "seqprint"):
        if not os.access(os.path.join(TOOLS, tool), os.X_OK):
            sys.exit("stream.py: build/bench/%s is missing: make bench-tools" % tool)
    if not os.access(os.path.join(ROOT, "phasestream"), os.X_OK):
        sys.exit("stream.py: ./phasestream is missing: make")
    raise_nofile()
    if "--check" in sys.argv[1:]:
        sys.exit(check())
    if not os.path.exists(NCHAN_SO):
        sys.exit("stream.py: %s is missing: install libnginx-mod-nchan (make deps)" % NCHAN_SO)
    rows = os.environ.get("ROWS", "1,2,3,4,5").split(",")
    t0 = time.time()
    bench(rows, int(os.environ.get("RUNS", "1")), os.environ.get("SCALE", "full"))
    print("\nstream benchmark: %.0f s" % (time.time() - t0))


if __name__ == "__main__":
    main()
