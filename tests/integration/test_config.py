"""Start-up: flags, environment, the settings file, the pipeline file's
validation (--check), and the Redis address forms."""
import json
import os
import shutil
import subprocess
import tempfile
import unittest

from harness import (Redis, Phasestream, fcgi, BIN, PIPELINES, ROOT, session_key, wait_for)

PIPE = os.path.join(PIPELINES, "basic.json")


def run(*args, env=None, **kw):
    e = dict(os.environ)
    for k in ("REDIS_URL", "REDIS_HOST", "REDIS_PORT", "REDIS_PASSWORD"):
        e.pop(k, None)
    e.update(env or {})
    return subprocess.run([BIN] + list(args), capture_output=True, text=True, timeout=30, env=e,
                          **kw)


class CheckTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="phasestream-test-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def pipeline(self, text):
        path = os.path.join(self.tmp, "p.json")
        with open(path, "w") as f:
            f.write(text if isinstance(text, str) else json.dumps(text))
        return path

    def base(self, **phase):
        ph = {"name": "one", "step": "Phase 1", "command": ["/bin/true"]}
        ph.update(phase)
        return {"proofTypes": ["groth16"], "phases": [ph]}

    def test_the_default_and_test_pipelines_are_valid(self):
        for p in [os.path.join(ROOT, "conf", "workflow.json"), PIPE]:
            r = run("--check", "--pipeline", p)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("OK: 3 phases", r.stdout)

    def test_bad_pipelines_name_the_file_the_key_and_the_reason(self):
        cases = [
            ("{", "JSON"),
            ('{"proofTypes": ["a"], "phases": []} x', "JSON"),
            ([], "must be an object"),
            ({"proofTypes": ["a"]}, "phases"),
            ({"proofTypes": [], "phases": [{}]}, "at least one proof type"),
            ({"proofTypes": ["a b"], "phases": [{}]}, "not a valid name"),
            (dict(self.base(), extra=1), 'unknown key "extra"'),
            (self.base(timout=5), 'phases[0]: unknown key "timout"'),
            (self.base(command="true"), '"command" must be an array'),
            (self.base(command=[]), "must name a program"),
            (self.base(progress=[50, 10]), "progress"),
            (self.base(timeout=0), "timeout"),
            (self.base(cwd="/no/such/dir"), "is not a directory"),
            (self.base(extract=[{"pattern": "(", "count": "x"}]),
             "phases[0].extract[0]: pattern does not compile"),
            (self.base(extract=[{"pattern": "x"}]), "needs an action"),
            (self.base(extract=[{"pattern": "(x)", "event": {"type": "complete", "data": {}}}]),
             "server's own"),
            (self.base(extract=[{"pattern": "(x)", "event": {"type": "tx", "data": {"a": "$2"}}}]),
             "uses $2"),
            # A result beside the state's own fields may not take their names.
            (self.base(extract=[{"pattern": "(x)", "set": "status"}]),
             'phases[0].extract[0]: "status" would take the state\'s own field "status"'),
            (self.base(extract=[{"pattern": "(x)", "append": "sessionId.all"}]),
             'would take the state\'s own field "sessionId"'),
            (dict(self.base(extract=[{"pattern": "(x)", "count": "{proofType}.n"}]),
                  proofTypes=["groth16", "progress"]),
             'would take the state\'s own field "progress"'),
            (self.base(extract=[{"pattern": "x", "append": "a.b"}, {"pattern": "y", "count": "a.b"}]),
             "two different shapes"),
            (self.base(exitOkIf="nothing.here"), "which no rule fills"),
            (self.base(skipMessage="hi"), "only goes with"),
            (self.base(env={"BAD NAME": "x"}), "not a variable name"),
            (self.base(name="complete"), "not queued/complete"),
            (dict(self.base(), readiness=7), '"readiness" must be a string'),
            (dict(self.base(), readiness=["r.json"]), '"readiness" must be a string'),
            (dict(self.base(), readiness=""), "readiness: must name a file"),
            (dict(self.base(), readiness="."), "is a directory, not a file"),
        ]
        for text, want in cases:
            r = run("--check", "--pipeline", self.pipeline(text))
            self.assertEqual(r.returncode, 1, (text, r.stdout))
            self.assertIn(os.path.join(self.tmp, "p.json"), r.stderr)
            self.assertIn(want, r.stderr, text)

    def test_a_readiness_file_that_does_not_exist_yet_is_fine(self):
        p = self.pipeline(dict(self.base(), readiness="run/readiness.json"))
        r = run("--check", "--pipeline", p)
        self.assertEqual(r.returncode, 0, r.stderr)
        # Resolved against the pipeline's directory, like a command.
        self.assertIn("OK: 1 phases, proof types groth16, readiness file %s/run/readiness.json"
                      % os.path.realpath(self.tmp), r.stdout)

    def test_a_missing_command_is_only_a_warning(self):
        r = run("--check", "--pipeline", self.pipeline(self.base(command=["./nope"])))
        self.assertEqual(r.returncode, 0)
        self.assertIn("warning: phase one: command", r.stderr)

    def test_a_missing_pipeline_file_stops_the_server(self):
        r = run("--check", "--pipeline", os.path.join(self.tmp, "nope.json"))
        self.assertEqual(r.returncode, 1)
        self.assertIn("No such file", r.stderr)


class WorkdirTest(unittest.TestCase):
    """The work directory is where phases hand each other files: one that
    another user could write to, or a link, is refused at start-up."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="phasestream-test-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def start(self, workdir):
        return run("--pipeline", PIPE, "--redis", "redis://127.0.0.1:1", "--workdir", workdir,
                   "--listen", "unix:" + os.path.join(self.tmp, "wd.sock"), "--runners", "1")

    def test_a_work_directory_others_can_write_or_a_link_is_refused(self):
        open_dir = os.path.join(self.tmp, "open")
        os.mkdir(open_dir)
        os.chmod(open_dir, 0o777)
        link = os.path.join(self.tmp, "link")
        os.symlink(self.tmp, link)
        for path, why in ((open_dir, "is writable by other users"),
                          (link, "is not a directory (or is a link)")):
            r = self.start(path)
            self.assertEqual(r.returncode, 1, r.stderr)
            self.assertIn("refusing the work directory %s: it %s" % (path, why), r.stderr)
            self.assertFalse(os.path.exists(os.path.join(self.tmp, "wd.sock")))

    def test_a_missing_work_directory_is_made_private(self):
        made = os.path.join(self.tmp, "made")
        e = dict(os.environ)
        p = subprocess.Popen([BIN, "--pipeline", PIPE, "--redis", "redis://127.0.0.1:1",
                              "--workdir", made, "--listen",
                              "unix:" + os.path.join(self.tmp, "wd.sock"), "--runners", "1"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=e)
        try:
            wait_for(lambda: os.path.isdir(made), what="the work directory")
            self.assertEqual(os.stat(made).st_mode & 0o777, 0o700)
        finally:
            p.terminate()
            p.wait(30)


class FlagsTest(unittest.TestCase):
    def test_help_lists_every_flag_of_the_contract(self):
        r = run("--help")
        self.assertEqual(r.returncode, 0)
        for flag in ["--listen", "--pipeline", "--config", "--redis", "--key-prefix", "--prefix",
                     "--runners", "--http", "--session-ttl", "--check", "--version", "--help"]:
            self.assertRegex(r.stdout, r"(?m)^  %s\b" % flag)
        for env in ["PHASESTREAM_LISTEN", "PHASESTREAM_PIPELINE", "REDIS_URL", "REDIS_HOST",
                    "REDIS_PORT", "REDIS_PASSWORD", "PHASESTREAM_KEY_PREFIX", "PHASESTREAM_PREFIX",
                    "PHASESTREAM_RUNNERS"]:
            self.assertIn(env, r.stdout)

    def test_version(self):
        r = run("--version")
        self.assertEqual(r.returncode, 0)
        self.assertRegex(r.stdout, r"^phasestream \d+\.\d+\.\d+\n$")

    def test_bad_flags_are_usage_errors(self):
        for args in [["--nope"], ["--runners"], ["--runners", "x"], ["--runners", "-1"],
                     ["--redis", "http://x"], ["--prefix", "api"], ["--http", "0", "--runners", "0"],
                     ["stray"], ["--socket-mode", "999"]]:
            r = run(*args, "--check", "--pipeline", PIPE)
            self.assertEqual(r.returncode, 2, args)
            self.assertTrue(r.stderr.startswith("phasestream: "), r.stderr)


class SettingsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="phasestream-test-")
        cls.redis = Redis(cls.tmp)
        cls.r = cls.redis.client()

    @classmethod
    def tearDownClass(cls):
        cls.r.close()
        cls.redis.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def start(self, args=(), env=None, redis_url=None):
        """A phasestream with only what args/env give (no harness defaults
        for the prefix or Redis)."""
        sock = os.path.join(self.tmp, "cfg%d.sock" % len(os.listdir(self.tmp)))
        e = dict(os.environ)
        for k in ("REDIS_URL", "REDIS_HOST", "REDIS_PORT", "REDIS_PASSWORD"):
            e.pop(k, None)
        e.update(env or {})
        log = open(os.path.join(self.tmp, "cfg.log"), "ab")
        p = subprocess.Popen([BIN, "--workdir", os.path.join(self.tmp, "w")] + list(args),
                             stdout=log, stderr=log, env=e)
        return p, sock

    def session_keys(self, sock):
        status, _, body = fcgi(sock, "POST", "/api/workflow", b'{"proofType":"ok"}')
        self.assertEqual(status, 201, body)
        sid = json.loads(body)["sessionId"]
        return sid, [k for k in self.r("KEYS", "*") if sid in k]

    def stop(self, p):
        p.terminate()
        self.assertEqual(p.wait(20), 0)

    def test_environment_variables(self):
        sock = os.path.join(self.tmp, "env.sock")
        p, _ = self.start(env={"PHASESTREAM_LISTEN": "unix:" + sock, "PHASESTREAM_PIPELINE": PIPE,
                               "REDIS_HOST": "127.0.0.1", "REDIS_PORT": str(self.redis.port),
                               "PHASESTREAM_KEY_PREFIX": "envp:", "PHASESTREAM_RUNNERS": "0"})
        try:
            wait_for(lambda: os.path.exists(sock), what="the socket")
            sid, keys = self.session_keys(sock)
            self.assertIn(session_key("envp:", sid, "state"), keys)
        finally:
            self.stop(p)

    def test_settings_file_then_environment_then_flags(self):
        sock = os.path.join(self.tmp, "file.sock")
        conf = os.path.join(self.tmp, "phasestream.conf")
        with open(conf, "w") as f:
            f.write("# settings\nlisten unix:%s\npipeline = %s\nredis redis://127.0.0.1:%d\n"
                    "key-prefix filep:\nsession-ttl 120\nrunners 0\n" % (sock, PIPE, self.redis.port))
        p, _ = self.start(["--config", conf])
        try:
            wait_for(lambda: os.path.exists(sock), what="the socket")
            sid, keys = self.session_keys(sock)
            self.assertIn(session_key("filep:", sid, "state"), keys)
            self.assertLessEqual(self.r("TTL", session_key("filep:", sid, "state")), 120)
        finally:
            self.stop(p)
        p, _ = self.start(["--config", conf, "--key-prefix", "flagp:"],
                          env={"PHASESTREAM_KEY_PREFIX": "envp2:"})
        try:
            wait_for(lambda: os.path.exists(sock), what="the socket")
            sid, keys = self.session_keys(sock)
            self.assertIn(session_key("flagp:", sid, "state"), keys)
        finally:
            self.stop(p)
        p, _ = self.start(["--config", conf], env={"PHASESTREAM_KEY_PREFIX": "envp2:"})
        try:
            wait_for(lambda: os.path.exists(sock), what="the socket")
            sid, keys = self.session_keys(sock)
            self.assertIn(session_key("envp2:", sid, "state"), keys)
        finally:
            self.stop(p)

    def test_the_log_can_go_to_a_file(self):
        sock = os.path.join(self.tmp, "logfile.sock")
        logfile = os.path.join(self.tmp, "server.log")
        p, _ = self.start(["--listen", "unix:" + sock, "--pipeline", PIPE, "--runners", "0",
                           "--redis", self.redis.url, "--log-file", logfile])
        try:
            wait_for(lambda: os.path.exists(sock), what="the socket")
            self.session_keys(sock)
        finally:
            self.stop(p)
        with open(logfile) as f:
            text = f.read()
        self.assertIn("phasestream started", text)
        self.assertIn("(ok): created", text)
        self.assertIn("stopped", text)

    def test_a_bad_settings_file_names_the_line(self):
        conf = os.path.join(self.tmp, "bad.conf")
        with open(conf, "w") as f:
            f.write("listen unix:/tmp/x.sock\nrunerz 3\n")
        r = run("--config", conf, "--check", "--pipeline", PIPE)
        self.assertEqual(r.returncode, 2)
        self.assertIn("bad.conf:2: unknown setting 'runerz'", r.stderr)

    def test_redis_on_a_unix_socket(self):
        sock = os.path.join(self.tmp, "unix.sock")
        p, _ = self.start(["--listen", "unix:" + sock, "--pipeline", PIPE, "--runners", "0",
                           "--redis", "unix://" + self.redis.sock, "--key-prefix", "unixp:"])
        try:
            wait_for(lambda: os.path.exists(sock), what="the socket")
            sid, keys = self.session_keys(sock)
            self.assertIn(session_key("unixp:", sid, "state"), keys)
        finally:
            self.stop(p)

    def test_redis_url_with_password_and_database(self):
        self.r("CONFIG", "SET", "requirepass", "pw:with%x")
        try:
            authed = self.redis.client()
            authed("AUTH", "pw:with%x")
            sock = os.path.join(self.tmp, "pw.sock")
            p, _ = self.start(["--listen", "unix:" + sock, "--pipeline", PIPE, "--runners", "0",
                               "--redis", "redis://:pw%%3Awith%%25x@127.0.0.1:%d/3" % self.redis.port,
                               "--key-prefix", "pwp:"])
            try:
                wait_for(lambda: os.path.exists(sock), what="the socket")
                status, _, body = fcgi(sock, "POST", "/api/workflow", b'{"proofType":"ok"}')
                self.assertEqual(status, 201, body)
                sid = json.loads(body)["sessionId"]
                authed("SELECT", 3)
                self.assertEqual(authed("EXISTS", session_key("pwp:", sid, "state")), 1)
            finally:
                self.stop(p)
            authed("CONFIG", "SET", "requirepass", "")
            authed.close()
        finally:
            pass


if __name__ == "__main__":
    unittest.main()
