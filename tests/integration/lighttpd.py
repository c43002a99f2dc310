"""A real lighttpd for the integration tests, serving one of the project's
drop-ins (conf/lighttpd/) on a free loopback port.

The drop-in is used as shipped except for its `var.phasestream_*` lines,
which name installed paths (the socket, the binary, the settings file): the
test gives every one of them a value, and a drop-in line that is not given
one fails the test rather than pointing lighttpd at a path outside the test.
Everything lighttpd writes (pid file, error log, and, when it spawns
phasestream, phasestream's own log on its standard error) stays in its
directory under the test's temporary directory. lighttpd runs as the
current user (without server.username it keeps the user it was started
as) and is stopped by PID.
"""
import os
import re
import signal
import socket
import subprocess

from harness import ROOT, SANITIZER_MARKS, alive, children_of, free_port, wait_for

DROPINS = os.path.join(ROOT, "conf", "lighttpd")
VAR_LINE = re.compile(r'(?m)^var\.(phasestream_\w+)\s*=\s*"[^"]*"\s*$')


def dropin_text(name, values):
    """The drop-in conf/lighttpd/NAME with each var.phasestream_KEY line set
    to values[KEY]; every such line must be given a value, and every value
    must name such a line."""
    with open(os.path.join(DROPINS, name)) as f:
        text = f.read()
    found = set(VAR_LINE.findall(text))
    wanted = {"phasestream_" + k for k in values}
    if found != wanted:
        raise AssertionError("%s sets %s; the test gives %s" % (name, sorted(found), sorted(wanted)))
    return VAR_LINE.sub(lambda m: 'var.%s = "%s"' % (m.group(1), values[m.group(1)[12:]]), text)


class Lighttpd:
    count = 0

    def __init__(self, tmp, dropin, values, port=None, edit=None):
        """dropin: a file name under conf/lighttpd/; values: its
        var.phasestream_* values by KEY; edit: a function applied to the
        drop-in's text, for tests that break it on purpose."""
        Lighttpd.count += 1
        self.dir = os.path.join(tmp, "lighttpd%d" % Lighttpd.count)
        os.makedirs(self.dir)
        self.port = port or free_port()
        text = dropin_text(dropin, values)
        if edit:
            text = edit(text)
        self.dropin = os.path.join(self.dir, dropin)
        with open(self.dropin, "w") as f:
            f.write(text)
        self.errorlog = os.path.join(self.dir, "error.log")
        self.log = os.path.join(self.dir, "stderr.log")
        self.conf = os.path.join(self.dir, "lighttpd.conf")
        with open(self.conf, "w") as f:
            f.write('server.document-root = "%s"\n' % os.path.join(ROOT, "www")
                    + 'server.bind = "127.0.0.1"\n'
                    + "server.port = %d\n" % self.port
                    + 'server.pid-file = "%s"\n' % os.path.join(self.dir, "lighttpd.pid")
                    + 'server.errorlog = "%s"\n' % self.errorlog
                    + 'server.upload-dirs = ( "%s" )\n' % self.dir
                    + 'index-file.names = ( "index.html" )\n'
                    + 'mimetype.assign = ( ".html" => "text/html", ".js" => "text/javascript", '
                      '".css" => "text/css" )\n'
                    + 'include "%s"\n' % self.dropin)
        check = subprocess.run(["lighttpd", "-tt", "-f", self.conf], capture_output=True,
                               text=True, timeout=30)
        if check.returncode != 0:
            raise AssertionError("lighttpd rejects the configuration:\n" + check.stdout
                                 + check.stderr)
        self.logf = open(self.log, "ab")
        self.proc = subprocess.Popen(["lighttpd", "-D", "-f", self.conf],
                                     stdout=self.logf, stderr=self.logf)
        self.pid = self.proc.pid
        self.stopped = None

        def up():
            if self.proc.poll() is not None:
                raise AssertionError("lighttpd exited: " + self.read_log() + self.read_errorlog())
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return True
            except OSError:
                return False
        wait_for(up, what="lighttpd to start")

    def read_log(self):
        with open(self.log, "r", errors="replace") as f:
            return f.read()

    def read_errorlog(self):
        try:
            with open(self.errorlog, "r", errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def backends(self):
        """The PIDs of the processes lighttpd spawned (bin-path)."""
        return children_of(self.pid)

    def stop(self, timeout=30):
        """Stops lighttpd (SIGTERM: it sends its kill-signal to the processes
        it spawned) and waits until those are gone too. Returns their PIDs.
        A sanitizer report in their log fails."""
        if self.stopped is not None:
            return self.stopped
        spawned = self.backends()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("lighttpd did not stop within %ss" % timeout)
        wait_for(lambda: not [p for p in spawned if alive(p)], timeout=timeout,
                 what="the processes lighttpd spawned to stop")
        self.logf.close()
        log = self.read_log()
        for mark in SANITIZER_MARKS:
            if mark in log:
                raise AssertionError("sanitizer report in phasestream's log:\n" + log[-6000:])
        self.stopped = spawned
        return spawned
