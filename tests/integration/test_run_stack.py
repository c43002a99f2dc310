"""make run's stack (scripts/run-stack) from a checkout in a 0700 directory,
as when root clones into its own home: the page and the API answer through
nginx before the address is printed, and when they do not, it says which
and why instead of printing an address that does not work."""
import os
import shutil
import signal
import subprocess
import tempfile
import time
import unittest
import urllib.error
import urllib.request

from harness import ROOT, BIN, free_port, wait_for, alive


def http_status(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


class RunStackTest(unittest.TestCase):
    def setUp(self):
        # A private checkout: the server, the page, the configuration and
        # the script (no scripts/node_modules, so no proof tooling or chain).
        self.top = tempfile.mkdtemp(prefix="phasestream-private-")
        os.chmod(self.top, 0o700)
        shutil.copy(BIN, os.path.join(self.top, "phasestream"))
        for d in ("www", "conf"):
            shutil.copytree(os.path.join(ROOT, d), os.path.join(self.top, d))
        os.mkdir(os.path.join(self.top, "scripts"))
        shutil.copy(os.path.join(ROOT, "scripts", "run-stack"),
                    os.path.join(self.top, "scripts", "run-stack"))
        self.port = free_port()
        self.env = dict(os.environ, PORT=str(self.port), REDIS_PORT=str(free_port()),
                        CHAIN_PORT=str(free_port()), EXPLORER_PORT=str(free_port()))
        self.out = os.path.join(self.top, "out.log")
        self.proc = None

    def tearDown(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(30)
        shutil.rmtree(self.top, ignore_errors=True)

    def start(self):
        self.outf = open(self.out, "w")
        self.proc = subprocess.Popen([os.path.join(self.top, "scripts", "run-stack")],
                                     cwd=self.top, env=self.env, stdout=self.outf,
                                     stderr=subprocess.STDOUT, start_new_session=True)

    def output(self):
        with open(self.out) as f:
            return f.read()

    def test_the_stack_answers_from_a_private_directory(self):
        self.start()
        wait_for(lambda: "phasestream is running" in self.output() or self.proc.poll() is not None,
                 timeout=60, what="run-stack to come up")
        self.assertIn("phasestream is running", self.output())
        self.assertEqual(http_status("http://127.0.0.1:%d/" % self.port), 200)
        self.assertEqual(http_status("http://127.0.0.1:%d/api/workflow/health" % self.port), 200)
        self.assertEqual(
            http_status("http://127.0.0.1:%d/api/workflow/pipeline" % self.port), 200)
        with open(os.path.join(self.top, "var", "run", "nginx.pid")) as f:
            nginx = int(f.read())
        self.proc.send_signal(signal.SIGTERM)
        self.assertEqual(self.proc.wait(30), 0)
        self.assertIn("run-stack: stopped", self.output())
        wait_for(lambda: not alive(nginx), what="nginx to stop")

    def test_a_stack_that_does_not_answer_says_what_is_wrong(self):
        os.remove(os.path.join(self.top, "www", "index.html"))
        self.start()
        self.assertNotEqual(self.proc.wait(60), 0)
        out = self.output()
        self.assertNotIn("phasestream is running", out)
        self.assertIn("/ answered 403", out)  # a directory without its index
        self.assertIn("/api/workflow/health answered 200", out)
        self.assertIn("nginx's error log", out)


if __name__ == "__main__":
    unittest.main()
