"""Faults injected for real: a runner killed with -9, Redis down at start,
restarted mid-run, gone for good; SIGTERM; several instances behind one
nginx; slow and vanished viewers."""
import json
import os
import re
import resource
import shutil
import signal
import socket
import tempfile
import threading
import time
import unittest

from harness import (Redis, Phasestream, Nginx, Stack, Workspace, FastCGI, request, create, follow,
                     follow_resuming, stream, stored_events, wait_for, processes_with_env,
                     zombies_of, proc_stat, PIPELINES, RELEASE_BIN, follow_in_pieces, rss_kib,
                     session_key, global_key, parse_element, UNDER_TSAN, FCGI_END)

PIPE = os.path.join(PIPELINES, "resilience.json")


def as_tuples(events):
    return [(e.id, e.type, e.raw) for e in events]


def ticks(events):
    return [e.data["message"] for e in events if e.type == "log"
            and e.data["message"].startswith("tick ")]


class Env(Workspace):
    """A workspace whose Redis is append-only (so it can be restarted with
    its data), whose instances share one key prefix and run the resilience
    pipeline."""

    PREFIX = "res:"  # the key prefix the tests' instances share

    def __init__(self, appendonly=True):
        super().__init__(appendonly=appendonly)

    def key(self, sid, what):
        """A session's key under the prefix the tests' instances share."""
        return session_key(self.PREFIX, sid, what)

    def ps(self, *args, runners=2, prefix=PREFIX, env=None, binary=None):
        return super().ps(PIPE, args=args, env=env, runners=runners, prefix=prefix,
                          binary=binary)


class DeadRunnerTest(unittest.TestCase):
    def test_a_killed_runner_is_noticed_and_viewers_elsewhere_see_it(self):
        env = Env()
        try:
            a = env.ps("--heartbeat", "2", runners=1)
            b = env.ps("--heartbeat", "2", runners=0)
            na, nb = env.nginx(a.socket), env.nginx(b.socket)
            sid = create(na.port, "ticks")
            wait_for(lambda: len(ticks(follow_partial(nb.port, sid))) >= 5, what="some ticks")
            es = stream(nb.port, sid)  # a viewer through the other instance
            self.assertEqual(es.status, 200)
            a.proc.kill()
            a.proc.wait()
            # The phase's processes die with their server.
            wait_for(lambda: not processes_with_env("PS_TEST_MARK=mark-" + sid), timeout=5,
                     what="the phase's processes to die")
            ev = es.events()
            es.close()
            self.assertEqual(ev[-1].type, "error")
            self.assertEqual(ev[-1].data["code"], "lost")
            st = request(nb.port, "GET", "/api/workflow/state?sessionId=" + sid).json()
            self.assertEqual(st["status"], "error")
            self.assertGreaterEqual(len([l for l in st["logs"] if l["message"].startswith("tick")]),
                                    5)
            self.assertIn("ended as lost", b.read_log())
        finally:
            env.close()

    @unittest.skipIf(UNDER_TSAN, "under ThreadSanitizer a shim may not run its parent-death "
                     "handler, so the phase outlives its killed server; the ASan run checks this")
    def test_the_same_instance_restarted_ends_its_lost_session(self):
        env = Env()
        try:
            a = env.ps("--heartbeat", "2", runners=1)
            sid = json.loads(request_fcgi(a.socket, "POST", b'{"proofType":"sleepy"}'))["sessionId"]
            wait_for(lambda: processes_with_env("PS_TEST_MARK=mark-" + sid), what="the phase")
            a.proc.kill()
            a.proc.wait()
            a2 = env.ps("--heartbeat", "2", runners=1)
            r = env.redis.client()
            wait_for(lambda: r("HGET", env.key(sid, "state"), "status") == "error", timeout=15,
                     what="the session to be ended")
            last = r("LINDEX", env.key(sid, "events"), -1)
            self.assertTrue(last.startswith("error\n"))
            self.assertEqual(json.loads(parse_element(last)[1])["code"], "lost")
            self.assertEqual(r("ZSCORE", global_key(env.PREFIX, "running"), sid), None)
            self.assertEqual(processes_with_env("PS_TEST_MARK=mark-" + sid), [])
            r.close()
            del a2
        finally:
            env.close()

    def test_a_lost_session_is_ended_by_scripts_called_by_sha_even_after_a_flush(self):
        env = Env()
        sid = None
        try:
            b = env.ps("--heartbeat", "2", runners=0)
            r = env.redis.client()
            # b's reaper has looked (after two heartbeats of uptime): b is
            # the only one here to call a script.
            wait_for(lambda: "cmd=evalsha" in r("CLIENT", "LIST"), timeout=15,
                     what="b's reaper to look")
            a = env.ps("--heartbeat", "2", runners=1)
            sid = json.loads(request_fcgi(a.socket, "POST", b'{"proofType":"sleepy"}'))["sessionId"]
            wait_for(lambda: processes_with_env("PS_TEST_MARK=mark-" + sid), what="the phase")
            phase = r("HGET", env.key(sid, "state"), "phase")
            # The runner dies and the scripts go: b must load them again.
            a.proc.kill()
            a.proc.wait()
            if not UNDER_TSAN:  # see test_the_same_instance_restarted_...
                wait_for(lambda: not processes_with_env("PS_TEST_MARK=mark-" + sid), timeout=5,
                         what="the phase's processes to die")
            self.assertEqual(r("SCRIPT", "FLUSH"), "OK")
            wait_for(lambda: r("HGET", env.key(sid, "state"), "status") == "error", timeout=15,
                     what="the session to be ended")
            events = r("LRANGE", env.key(sid, "events"), 0, -1)
            kind, data = parse_element(events[-1])
            self.assertEqual(kind, "error")
            msg = ("The runner of this session stopped (no heartbeat for 2 s); the workflow did "
                   "not finish.")
            # Built like every other error event (events.h): same members, same order.
            self.assertRegex(data, r'^\{"error":"%s","phase":"%s","code":"lost","timestamp":"'
                             r'\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"\}$'
                             % (re.escape(msg), re.escape(phase)))
            st = r("HGETALL", env.key(sid, "state"))
            st = dict(zip(st[::2], st[1::2]))
            self.assertEqual((st["status"], st["error"], st["terminal"]),
                             ("error", msg, str(len(events))))
            self.assertNotIn("cancel", st)
            self.assertEqual(r("ZSCORE", global_key(env.PREFIX, "running"), sid), None)
            self.assertIn("session %s: its runner stopped sending heartbeats; ended as lost" % sid,
                          b.read_log())
            # Nothing sends a script whole: every call is by SHA.
            stats = r("INFO", "commandstats")
            self.assertNotIn("cmdstat_eval:", stats)
            self.assertIn("cmdstat_evalsha:", stats)
            self.assertIn("errorstat_NOSCRIPT:", r("INFO", "errorstats"))
            r.close()
        finally:
            # Under ThreadSanitizer the killed runner's phase may outlive it:
            # end it here, so that nothing is left behind either way.
            for pid in processes_with_env("PS_TEST_MARK=mark-" + sid) if sid else []:
                os.kill(pid, signal.SIGKILL)
            env.close()


def follow_partial(port, sid):
    """The events stored so far (the state endpoint's view, as events)."""
    st = request(port, "GET", "/api/workflow/state?sessionId=" + sid)
    if st.status != 200:
        return []

    class E:
        def __init__(self, d):
            self.type, self.data = "log", d
    return [E(l) for l in st.json()["logs"]]


def request_fcgi(sock, method, body):
    c = FastCGI(sock)
    c.send(method, "/api/workflow", body)
    status, _, text = c.response()
    c.close()
    assert status == 201, (status, text)
    return text


class RedisOutageTest(unittest.TestCase):
    def test_a_state_answer_cut_short_by_redis_does_not_pass_for_a_whole_one(self):
        # The state is written as it is read: the 200 first, then the log in
        # pieces. Redis going away between two pieces ends the FastCGI
        # request without its end record, so the web server reports the
        # answer incomplete instead of passing a short body on as whole.
        s = Stack("basic.json")
        try:
            sid = create(s.port, "bulk")
            self.assertEqual(follow(s.port, sid)[-1].type, "complete")
            c = FastCGI(s.ps.socket, timeout=20)
            c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            c.send("GET", "/api/workflow/state?sessionId=" + sid)
            _, _, out = c.record()  # the thread is writing the first piece
            self.assertTrue(out.startswith(b"Status: 200"), out[:40])
            time.sleep(0.5)
            s.redis.stop()
            ended = False
            try:
                while not ended:
                    rtype, _, content = c.record()
                    ended = rtype == FCGI_END
                    out += content
            except ConnectionError:
                pass
            c.close()
            self.assertFalse(ended, "a short answer ended as a whole one")
            self.assertFalse(out.endswith(b"]}"), "the answer was whole")
            self.assertIn("the state's log ended short", s.ps.read_log())
            s.redis.start()
        finally:
            self.assertEqual(s.close(), 0)

    def test_redis_down_at_start_then_back(self):
        env = Env()
        try:
            env.redis.stop()
            a = env.ps()
            n = env.nginx(a.socket)
            r = request(n.port, "GET", "/api/workflow/health")
            self.assertEqual(r.status, 503)
            self.assertEqual(r.json()["redis"], "down")
            created = request(n.port, "POST", "/api/workflow", {"proofType": "quick"})
            self.assertEqual(created.status, 503)
            # Clients are told that Redis is away, not where it is: the
            # address and the system error are for the server log.
            for answer in (r, created):
                self.assertEqual(answer.json()["error"], "Redis is unavailable")
                self.assertNotIn(str(env.redis.port), answer.body)
            self.assertIn("127.0.0.1:%d" % env.redis.port, a.read_log())
            env.redis.start()
            wait_for(lambda: request(n.port, "GET", "/api/workflow/health").status == 200,
                     what="recovery")
            sid = create(n.port, "quick")
            self.assertEqual(follow(n.port, sid)[-1].type, "complete")
        finally:
            env.close()

    def test_redis_restarted_mid_phase_loses_no_line(self):
        env = Env()
        try:
            a = env.ps()
            n = env.nginx(a.socket)
            sid = create(n.port, "ticks")
            got = []
            t = threading.Thread(target=lambda: got.extend(follow_resuming(n.port, sid, 60)))
            t.start()
            r = env.redis.client()
            wait_for(lambda: r("LLEN", env.key(sid, "events")) > 15, what="some ticks")
            r.close()
            env.redis.stop()
            time.sleep(1.5)  # ~15 lines are printed while Redis is away
            env.redis.start()
            t.join(60)
            r = env.redis.client()
            stored = stored_events(r, env, sid)
            r.close()
            self.assertEqual(stored[-1][1], "complete")
            msgs = [json.loads(d)["message"] for (_, t_, d) in stored if t_ == "log"]
            self.assertEqual([m for m in msgs if m.startswith("tick ")],
                             ["tick %d" % i for i in range(80)])
            self.assertEqual(as_tuples(got), stored)
            self.assertIn("kept for later", a.read_log())
        finally:
            env.close()

    def test_redis_gone_for_good_stops_the_run_and_the_server_stays_up(self):
        env = Env()
        try:
            a = env.ps("--redis-retry", "2", "--kill-grace", "1")
            n = env.nginx(a.socket)
            sid = create(n.port, "sleepy")
            wait_for(lambda: processes_with_env("PS_TEST_MARK=mark-" + sid), what="the phase")
            env.redis.stop()
            # Past the budget the phase is stopped...
            wait_for(lambda: not processes_with_env("PS_TEST_MARK=mark-" + sid), timeout=10,
                     what="the phase to be stopped")
            self.assertEqual(request(n.port, "GET", "/api/workflow/health").status, 503)
            self.assertIsNone(a.proc.poll())
            # ...and when Redis answers again, the session ends as "redis".
            env.redis.start()
            r = env.redis.client()
            wait_for(lambda: r("HGET", env.key(sid, "state"), "status") == "error", timeout=10,
                     what="the terminal event")
            last = json.loads(parse_element(r("LINDEX", env.key(sid, "events"), -1))[1])
            self.assertEqual(last["code"], "redis")
            r.close()
        finally:
            env.close()


def answers_by(clients, deadline):
    """[(status, headers, body, closed) or None] of the FastCGI clients,
    whose requests were sent, reading each until deadline (time.time())."""
    out = []
    for c in clients:
        c.sock.settimeout(max(0.1, deadline - time.time()))
        try:
            status, headers, body = c.response()
            out.append((status, headers, body, c.closed()))
        except (socket.timeout, ConnectionError):
            out.append(None)
    return out


class HungRedisTest(unittest.TestCase):
    def test_a_stream_asked_for_while_redis_does_not_reply_is_a_503_within_seconds(self):
        # Redis connected but silent (stopped, swapping, a network black
        # hole): each new stream is answered 503 within the admission's wait
        # (SSE_ADMIT_WAIT_MS) and its connection is not held; the command
        # connection, silent past STORE_COMMAND_TIMEOUT_MS, is dropped and
        # made again, and the idle subscriber is left alone. Once Redis
        # replies, a viewer that followed the session all along gets every
        # event exactly once and the run ends, leaving no process.
        env = Env()
        try:
            a = env.ps()
            n = env.nginx(a.socket)
            sid = create(n.port, "ticks")
            r = env.redis.client()
            wait_for(lambda: r("LLEN", env.key(sid, "events")) > 5, what="some ticks")
            got = []
            t = threading.Thread(target=lambda: got.extend(follow(n.port, sid, timeout=40)))
            t.start()
            wait_for(lambda: "phasestream_sse_clients 1\n" in
                     request(n.port, "GET", "/api/workflow/metrics").body, what="the follower")
            fds_before = a.fd_count()
            stopped = time.time()
            os.kill(env.redis.proc.pid, signal.SIGSTOP)
            try:
                clients = []
                for _ in range(20):
                    c = FastCGI(a.socket)
                    c.send("GET", "/api/workflow?sessionId=" + sid)
                    clients.append(c)
                answers = answers_by(clients, stopped + 6.0)
                answered = time.time() - stopped
                held = a.fd_count() - fds_before
                for c in clients:
                    c.close()
                # Past the command bound, so the watchdog has had its turn.
                time.sleep(max(0.0, 7.0 - (time.time() - stopped)))
            finally:
                os.kill(env.redis.proc.pid, signal.SIGCONT)
            self.assertNotIn(None, answers, "streams unanswered while Redis was silent")
            for status, headers, body, closed in answers:
                self.assertEqual(status, 503)
                self.assertEqual(headers.get("retry-after"), "2")
                self.assertEqual(body, '{"error":"Redis is unavailable"}')
                self.assertTrue(closed)
            self.assertLess(answered, 6.0)
            # The runner's own Redis connection may be between two tries.
            self.assertLessEqual(held, 2)
            log = a.read_log()
            self.assertIn("Redis command connection: no reply for 5000 ms", log)
            self.assertNotIn("Redis subscriber connection", log)
            # Back: the follower saw the whole log, once, in order.
            t.join(40)
            self.assertFalse(t.is_alive())
            stored = stored_events(r, env, sid)
            self.assertEqual(stored[-1][1], "complete")
            self.assertEqual(len(ticks(got)), 80)
            self.assertEqual(as_tuples(got), stored)
            # A new stream is served again, from the first event.
            self.assertEqual(as_tuples(follow(n.port, sid)), stored)
            r.close()
            self.assertEqual(processes_with_env("PS_TEST_MARK=mark-" + sid), [])
            self.assertEqual(zombies_of(a.pid), [])
        finally:
            os.kill(env.redis.proc.pid, signal.SIGCONT)
            self.assertEqual(env.close(), [0])


class ShutdownTest(unittest.TestCase):
    def test_sigterm_lets_a_short_phase_finish(self):
        env = Env()
        try:
            a = env.ps("--shutdown-grace", "10")
            n = env.nginx(a.socket)
            sid = create(n.port, "slow")
            wait_for(lambda: processes_with_env("PS_TEST_MARK=mark-" + sid), what="the phase")
            a.send(signal.SIGTERM)
            self.assertEqual(a.proc.wait(20), 0)
            r = env.redis.client()
            self.assertEqual(r("HGET", env.key(sid, "state"), "status"), "complete")
            r.close()
        finally:
            env.close()

    def test_sigterm_ends_long_phases_after_the_grace_and_says_so(self):
        env = Env()
        try:
            a = env.ps("--shutdown-grace", "1", "--kill-grace", "1")
            n = env.nginx(a.socket)
            sid = create(n.port, "sleepy")
            wait_for(lambda: processes_with_env("PS_TEST_MARK=mark-" + sid), what="the phase")
            es = stream(n.port, sid)
            es.next()
            t0 = time.time()
            a.send(signal.SIGTERM)
            self.assertEqual(a.proc.wait(20), 0)
            self.assertLess(time.time() - t0, 6)
            # The open stream ended cleanly (the viewer would reconnect).
            es.events()
            self.assertTrue(es.ended)
            es.close()
            r = env.redis.client()
            st = r("HGETALL", env.key(sid, "state"))
            st = dict(zip(st[::2], st[1::2]))
            self.assertEqual(st["status"], "error")
            self.assertIn("shut down", st["error"])
            self.assertEqual(r("ZSCORE", global_key(env.PREFIX, "running"), sid), None)
            r.close()
            self.assertEqual(processes_with_env("PS_TEST_MARK=mark-" + sid), [])
        finally:
            env.close()

    def test_a_second_signal_hurries(self):
        env = Env()
        try:
            a = env.ps("--shutdown-grace", "60", "--kill-grace", "1")
            n = env.nginx(a.socket)
            sid = create(n.port, "sleepy")
            wait_for(lambda: processes_with_env("PS_TEST_MARK=mark-" + sid), what="the phase")
            t0 = time.time()
            a.send(signal.SIGTERM)
            time.sleep(0.5)
            a.send(signal.SIGINT)
            self.assertEqual(a.proc.wait(20), 0)
            self.assertLess(time.time() - t0, 6)
            r = env.redis.client()
            self.assertEqual(r("HGET", env.key(sid, "state"), "status"), "error")
            r.close()
        finally:
            env.close()

    def test_a_second_signal_does_not_wait_for_redis(self):
        # Redis is away: the first signal waits (up to --redis-retry) to store
        # the session's end; a second one stops now, killing the phase, and
        # leaves the session to the reaper.
        env = Env()
        try:
            a = env.ps("--shutdown-grace", "60", "--kill-grace", "1", "--redis-retry", "60")
            n = env.nginx(a.socket)
            sid = create(n.port, "sleepy")
            wait_for(lambda: processes_with_env("PS_TEST_MARK=mark-" + sid), what="the phase")
            env.redis.stop()
            a.send(signal.SIGTERM)
            time.sleep(1)
            self.assertIsNone(a.proc.poll())
            t0 = time.time()
            a.send(signal.SIGTERM)
            self.assertEqual(a.proc.wait(20), 0)
            self.assertLess(time.time() - t0, 10)
            self.assertEqual(processes_with_env("PS_TEST_MARK=mark-" + sid), [])
            self.assertIn("could not be written", a.read_log())
        finally:
            env.close()


def open_pipes_and_sockets(pid):
    """The fds >= 3 of pid that are pipes or sockets."""
    out = []
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            target = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            continue
        if int(fd) > 2 and target.startswith(("pipe:", "socket:")):
            out.append((int(fd), target))
    return out


class DescriptorsTest(unittest.TestCase):
    def test_a_phase_holds_none_of_the_servers_descriptors(self):
        # Two long phases start along with six short ones. The long phases'
        # processes (the group's shim included, which lives as long as the
        # phase) hold only their stdin, stdout and stderr: no Redis or client
        # socket, and no pipe of a phase started at the same moment, which
        # would keep that phase from ever ending.
        env = Env()
        try:
            a = env.ps("--shutdown-grace", "1", "--kill-grace", "1", runners=8)
            n = env.nginx(a.socket)
            long_ = [create(n.port, "sleepy") for _ in range(2)]
            short = [create(n.port, "quick") for _ in range(6)]
            r = env.redis.client()
            for sid in short:
                wait_for(lambda: r("HEXISTS", env.key(sid, "state"), "terminal") == 1,
                         timeout=20, what="the short session to end")
                self.assertEqual(r("HGET", env.key(sid, "state"), "status"), "complete")
            r.close()
            for sid in long_:
                pids = wait_for(lambda: processes_with_env("PS_TEST_MARK=mark-" + sid),
                                what="the long phase")
                pgid = proc_stat(pids[0])[2]  # the group's leader: the shim
                for pid in set(pids) | {pgid}:
                    self.assertEqual(open_pipes_and_sockets(pid), [], pid)
                self.assertEqual(sorted(os.listdir("/proc/%d/fd" % pgid)), ["0", "1", "2"])
        finally:
            env.close()


class InstancesTest(unittest.TestCase):
    def test_three_instances_thirty_workflows_each_run_once(self):
        env = Env()
        try:
            runlog = os.path.join(env.tmp, "runs.log")
            ps = [env.ps(runners=2, env={"PS_RUN_LOG": runlog}) for _ in range(3)]
            n = env.nginx([p.socket for p in ps])
            sids = [create(n.port, "quick") for _ in range(30)]
            for sid in sids:
                ev = follow_resuming(n.port, sid, 120)
                self.assertEqual(ev[-1].type, "complete", sid)
            with open(runlog) as f:
                runs = [l.split()[1] for l in f if l.startswith("gen ")]
            self.assertEqual(sorted(runs), sorted(sids))  # each exactly once
            per = [sum(1 for sid in sids if "session %s (quick): running" % sid in p.read_log())
                   for p in ps]
            print("\n  runs per instance: %s" % per)
            self.assertEqual(sum(per), 30)
            self.assertTrue(all(c > 0 for c in per), per)
        finally:
            env.close()

    def test_reconnects_landing_on_other_instances_get_the_exact_log(self):
        env = Env()
        try:
            ps = [env.ps(runners=1) for _ in range(3)]
            n = env.nginx([p.socket for p in ps])
            sid = create(n.port, "ticks")
            got, _ = follow_in_pieces(n.port, sid, lambda: 3)
            r = env.redis.client()
            stored = stored_events(r, env, sid)
            r.close()
            self.assertEqual(as_tuples(got), stored)
        finally:
            env.close()


class ViewersTest(unittest.TestCase):
    def test_a_viewer_that_stops_reading_is_dropped_and_delays_nobody(self):
        env = Env()
        try:
            a = env.ps("--viewer-stall", "2", "--viewer-buffer", "65536")
            n = env.nginx(a.socket)
            sid = create(n.port, "flood")
            # The slow one talks FastCGI directly, with a tiny buffer, and never reads.
            slow = FastCGI(a.socket)
            slow.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            slow.send("GET", "/api/workflow?sessionId=" + sid)
            t0 = time.time()
            ev = follow(n.port, sid)
            self.assertEqual(ev[-1].type, "complete")
            self.assertLess(time.time() - t0, 10)
            wait_for(lambda: "phasestream_sse_clients 0" in
                     request(n.port, "GET", "/api/workflow/metrics").body, timeout=10,
                     what="the slow viewer to be dropped")
            self.assertIn("read nothing for 2 s", a.read_log())
            self.assertIn("phasestream_sse_clients_dropped_total 1\n",
                          request(n.port, "GET", "/api/workflow/metrics").body)
            slow.close()
        finally:
            env.close()

    def test_ten_thousand_connects_leave_nothing_behind(self):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 8192), hard))
        env = Env()
        try:
            # The release build: ASan's quarantine would hide what is freed.
            a = env.ps(runners=2, binary=RELEASE_BIN)
            running = json.loads(request_fcgi(a.socket, "POST", b'{"proofType":"sleepy"}'))[
                "sessionId"]
            done = json.loads(request_fcgi(a.socket, "POST", b'{"proofType":"quick"}'))[
                "sessionId"]
            r = env.redis.client()
            wait_for(lambda: r("HEXISTS", env.key(done, "state"), "terminal") == 1,
                     timeout=20, what="the quick session to end")
            st = r("HGETALL", env.key(done, "state"))
            r.close()
            st = dict(zip(st[::2], st[1::2]))
            self.assertEqual(st["status"], "complete", st)

            def cycle(i):
                c = FastCGI(a.socket)
                c.send("GET", "/api/workflow?sessionId=%s" % (running if i % 2 else done))
                c.record()  # the headers, at least
                c.close()

            for i in range(200):  # warm-up: allocator pools, thread stacks
                cycle(i)
            time.sleep(0.5)
            fds0, th0 = a.fd_count(), a.thread_count()
            rss0 = rss_kib(a.pid)
            t0 = time.time()
            for i in range(10000):
                cycle(i)
            took = time.time() - t0
            wait_for(lambda: "phasestream_sse_clients 0" in
                     fcgi_text(a.socket, "/api/workflow/metrics"), timeout=20,
                     what="the viewers to be gone")
            time.sleep(0.5)
            fds1, th1 = a.fd_count(), a.thread_count()
            rss1 = rss_kib(a.pid)
            print("\n  10000 connect/disconnect cycles in %.1f s: fds %d -> %d, threads %d -> %d,"
                  " RSS %d -> %d KiB" % (took, fds0, fds1, th0, th1, rss0, rss1))
            self.assertLessEqual(abs(fds1 - fds0), 2)
            self.assertEqual(th1, th0)
            self.assertLess(rss1 - rss0, 8 * 1024)
        finally:
            env.close()


def fcgi_text(sock, uri):
    c = FastCGI(sock)
    c.send("GET", uri)
    text = c.response()[2]
    c.close()
    return text


if __name__ == "__main__":
    unittest.main()
