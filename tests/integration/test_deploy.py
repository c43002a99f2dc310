"""The other ways to deploy phasestream: spawn-fcgi, the systemd unit
(conf/systemd/phasestream.service) and make install / make uninstall.

Standalone --listen on a unix socket and on 127.0.0.1:port is covered by
test_listen.py, and lighttpd by test_lighttpd.py.

systemd is not PID 1 on the machines that run this suite, so the unit is
checked in two ways: systemd-analyze (verify, and the offline security
review) on the unit as installed, and its ExecStart run the way systemd
would run it: in a mount namespace where everything is read-only but the
unit's RuntimeDirectory and StateDirectory, with a private /tmp and /home,
as an unprivileged user without capabilities and with no_new_privs, in the
environment of its EnvironmentFile. A workflow whose phases write and read
their WORKDIR must complete there.
"""
import json
import os
import pwd
import re
import shlex
import shutil
import signal
import subprocess
import tempfile
import unittest

from harness import (BIN, PIPELINES, ROOT, FastCGI, Nginx, Redis, alive, create, fcgi, follow,
                     wait_for)

PIPE = os.path.join(PIPELINES, "basic.json")
UNIT = os.path.join(ROOT, "conf", "systemd", "phasestream.service")
CONF_FILES = ["phasestream.conf", "workflow.json", "nginx/phasestream.conf",
              "nginx/upstream.conf", "lighttpd/phasestream.conf",
              "lighttpd/phasestream-spawn.conf"]


def make(*args):
    """make -C ROOT ARGS, without the jobserver of a make that runs us."""
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    r = subprocess.run(["make", "-s", "-C", ROOT] + list(args), capture_output=True, text=True,
                       env=env, timeout=300)
    if r.returncode != 0:
        raise AssertionError("make %s failed:\n%s%s" % (" ".join(args), r.stdout, r.stderr))
    return r


def files_under(top):
    out = []
    for d, _, names in os.walk(top):
        out += [os.path.relpath(os.path.join(d, n), top) for n in names]
    return sorted(out)


def unit_settings(path):
    """[Service] and [Unit] settings of a unit file: {name: [values]}."""
    out = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line[0] in "#;[":
                continue
            k, _, v = line.partition("=")
            out.setdefault(k.strip(), []).append(v.strip())
    return out


# ------------------------------------------------------------ spawn-fcgi --

class SpawnFcgiTest(unittest.TestCase):
    @unittest.skipUnless(os.geteuid() == 0, "spawn-fcgi -U needs root (make check runs as root)")
    def test_spawn_fcgi_starts_phasestream_that_streams_a_workflow_and_stops(self):
        tmp = tempfile.mkdtemp(prefix="phasestream-test-")
        os.chmod(tmp, 0o755)  # nginx's workers run as nobody
        redis = Redis(tmp)
        sock, pidfile = os.path.join(tmp, "ps.sock"), os.path.join(tmp, "ps.pid")
        # spawn-fcgi sends phasestream's stderr to /dev/null: sanitizer
        # reports go to files instead.
        env = dict(os.environ,
                   ASAN_OPTIONS="detect_leaks=1:log_path=%s/asan" % tmp,
                   UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=%s/ubsan" % tmp)
        nginx = None
        pid = None
        try:
            r = subprocess.run(
                ["spawn-fcgi", "-s", sock, "-M", "0660", "-U", "nobody", "-G", "nogroup",
                 "-P", pidfile, "--", BIN, "--pipeline", PIPE, "--redis", redis.url,
                 "--key-prefix", "sf:", "--workdir", os.path.join(tmp, "work")],
                capture_output=True, text=True, env=env, timeout=30)
            self.assertEqual(r.returncode, 0, r.stderr)
            with open(pidfile) as f:
                pid = int(f.read())
            self.assertIn("child spawned successfully: PID: %d" % pid, r.stdout + r.stderr)
            self.assertEqual(os.readlink("/proc/%d/exe" % pid), os.path.realpath(BIN))
            self.assertTrue(os.readlink("/proc/%d/fd/0" % pid).startswith("socket:"))
            st = os.stat(sock)
            self.assertEqual((oct(st.st_mode & 0o777), pwd.getpwuid(st.st_uid).pw_name),
                             ("0o660", "nobody"))
            nginx = Nginx(tmp, sock)
            sid = create(nginx.port, "groth16")
            ev = follow(nginx.port, sid)
            self.assertEqual([e.id for e in ev], list(range(1, len(ev) + 1)))
            self.assertEqual(ev[-1].type, "complete")
            os.kill(pid, signal.SIGTERM)
            wait_for(lambda: not alive(pid), timeout=30, what="phasestream to stop")
            pid = None
            reports = [n for n in os.listdir(tmp) if n.startswith(("asan.", "ubsan."))]
            self.assertEqual(reports, [], "sanitizer reports")
        finally:
            if pid and alive(pid):
                os.kill(pid, signal.SIGKILL)
            if nginx:
                nginx.stop()
            redis.stop()
            shutil.rmtree(tmp, ignore_errors=True)


# --------------------------------------------------------------- install --

class InstallTest(unittest.TestCase):
    def setUp(self):
        self.dest = tempfile.mkdtemp(prefix="phasestream-test-destdir-")

    def tearDown(self):
        shutil.rmtree(self.dest, ignore_errors=True)

    def test_install_into_a_destdir_passes_check_and_uninstall_removes_it(self):
        make("install", "DESTDIR=" + self.dest)
        top = os.path.join(self.dest, "usr", "local")
        conf = os.path.join(top, "etc", "phasestream")
        installed = files_under(self.dest)
        for f in (["usr/local/bin/phasestream", "usr/local/libexec/phasestream/stark",
                   "usr/local/share/man/man8/phasestream.8",
                   "usr/local/lib/systemd/system/phasestream.service",
                   "usr/local/share/doc/phasestream/INSTALL",
                   "usr/local/share/phasestream/scripts/package.json"]
                  + ["usr/local/etc/phasestream/" + c for c in CONF_FILES]):
            self.assertIn(f, installed)
        if os.path.isdir(os.path.join(ROOT, "www")):
            self.assertIn("usr/local/share/phasestream/www/index.html", installed)
        # The phase scripts, not the repository's helpers or its node_modules.
        self.assertFalse([f for f in installed if "node_modules" in f
                          or f.endswith(("scripts/install-deps", "scripts/run-stack"))])
        self.assertTrue(os.access(os.path.join(top, "bin", "phasestream"), os.X_OK))

        # The installed binary: the installed pipeline is its default, and
        # --check accepts the installed settings and pipeline.
        exe = os.path.join(top, "bin", "phasestream")
        h = subprocess.run([exe, "--help"], capture_output=True, text=True, timeout=30)
        self.assertIn("(default /usr/local/etc/phasestream/workflow.json)", " ".join(h.stdout.split()))
        pipeline = os.path.join(conf, "workflow.json")
        r = subprocess.run([exe, "--check", "--config", os.path.join(conf, "phasestream.conf"),
                            "--pipeline", pipeline], capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("OK: 3 phases", r.stdout)

        # Its commands are the installed scripts: each one that exists in
        # scripts/ exists, executable, where the installed pipeline points.
        with open(pipeline) as f:
            installed_pipeline = json.load(f)
        phases = installed_pipeline["phases"]
        # The readiness file is the local stack's (make run), not an
        # installed server's: every proof type is ready there.
        self.assertNotIn("readiness", installed_pipeline)
        with open(os.path.join(ROOT, "conf", "workflow.json")) as f:
            source = json.load(f)["phases"]
        for ph, src in zip(phases, source):
            cmd = os.path.normpath(os.path.join(conf, ph["command"][0]))
            self.assertTrue(cmd.startswith(os.path.join(top, "share", "phasestream", "scripts")),
                            cmd)
            self.assertEqual(os.path.normpath(os.path.join(conf, ph["cwd"])),
                             os.path.join(top, "share", "phasestream"))
            in_tree = os.path.join(ROOT, "conf", src["command"][0])
            self.assertEqual(os.access(cmd, os.X_OK), os.access(in_tree, os.X_OK), cmd)
            self.assertNotIn("warning: phase %s:" % ph["name"],
                             r.stderr if os.access(in_tree, os.X_OK) else "")

        # The configuration names the installed paths.
        with open(os.path.join(conf, "lighttpd", "phasestream-spawn.conf")) as f:
            spawn = f.read()
        self.assertIn('var.phasestream_bin = "/usr/local/bin/phasestream"', spawn)
        self.assertIn('var.phasestream_config = "/usr/local/etc/phasestream/phasestream.conf"',
                      spawn)

        make("uninstall", "DESTDIR=" + self.dest)
        self.assertEqual(files_under(self.dest), [])
        left = [d for d, _, _ in os.walk(self.dest) if os.path.basename(d) == "phasestream"]
        self.assertEqual(left, [])

    def test_prefix_usr_puts_the_configuration_in_etc(self):
        make("install", "PREFIX=/usr", "DESTDIR=" + self.dest)
        exe = os.path.join(self.dest, "usr", "bin", "phasestream")
        h = subprocess.run([exe, "--help"], capture_output=True, text=True, timeout=30)
        self.assertIn("(default /etc/phasestream/workflow.json)", " ".join(h.stdout.split()))
        for c in CONF_FILES:
            self.assertTrue(os.path.isfile(os.path.join(self.dest, "etc", "phasestream", c)), c)
        with open(os.path.join(self.dest, "usr", "lib", "systemd", "system",
                               "phasestream.service")) as f:
            unit = f.read()
        self.assertIn("ExecStart=/usr/bin/phasestream --config /etc/phasestream/phasestream.conf",
                      unit)
        self.assertIn("EnvironmentFile=-/etc/phasestream/environment", unit)
        with open(os.path.join(self.dest, "usr", "share", "man", "man8", "phasestream.8")) as f:
            page = f.read()
        self.assertIn("/etc/phasestream/workflow.json", page)
        self.assertIn("/usr/share/doc/phasestream/", page)
        # Nothing but comments speaks of the default installation's paths.
        text = "".join(l for l in (page + unit).splitlines(True)
                       if not l.startswith(('.\\"', "#")))
        self.assertEqual(re.findall(r"\S*/usr/local\S*", text), [])
        r = subprocess.run([exe, "--check", "--pipeline",
                            os.path.join(self.dest, "etc", "phasestream", "workflow.json")],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        make("uninstall", "PREFIX=/usr", "DESTDIR=" + self.dest)
        self.assertEqual(files_under(self.dest), [])

    def test_a_changed_configuration_file_survives_reinstall_and_uninstall(self):
        make("install", "DESTDIR=" + self.dest)
        conf = os.path.join(self.dest, "usr", "local", "etc", "phasestream")
        mine = os.path.join(conf, "phasestream.conf")
        with open(mine, "a") as f:
            f.write("runners 3\n")
        r = make("install", "DESTDIR=" + self.dest)
        self.assertIn("%s differs from this version: kept; the new one is %s.new" % (mine, mine),
                      r.stdout + r.stderr)
        with open(mine) as f:
            self.assertTrue(f.read().endswith("runners 3\n"))
        self.assertTrue(os.path.isfile(mine + ".new"))
        self.assertFalse(os.path.exists(os.path.join(conf, "workflow.json.new")))
        r = make("uninstall", "DESTDIR=" + self.dest)
        self.assertIn("uninstall: %s was changed: kept" % mine, r.stdout + r.stderr)
        self.assertEqual(files_under(self.dest), ["usr/local/etc/phasestream/phasestream.conf"])


# --------------------------------------------------------------- systemd --

SANDBOX = r'''
# The unit's sandbox, as far as this test reproduces it. $1: the directory
# to mount on /run (it holds the RuntimeDirectory), $2: the one to mount on
# /var/lib (it holds the StateDirectory); then the environment and the
# command line.
set -e
# The checkout stands in for the installed files (the prefix lives in it),
# so it must stay visible where it is even when it lies in a tree the
# sandbox hides (a clone in /tmp or in a home directory): a copy of it is
# carried through /run and put back over the hidden path below.
mkdir -p "$1/.repo"
mount --bind "$PS_REPO" "$1/.repo"
mount --rbind "$1" /run
mount --bind "$2" /var/lib
mount -t tmpfs -o mode=1777 tmpfs /tmp          # PrivateTmp=yes
mount -t tmpfs -o mode=1777 tmpfs /var/tmp
for d in /home /root; do                        # ProtectHome=yes
    if [ -d "$d" ]; then mount -t tmpfs -o mode=0755 tmpfs "$d"; fi
done
case "$PS_REPO" in
/tmp/*|/var/tmp/*|/home/*|/root/*)
    mkdir -p "$PS_REPO"
    mount --bind /run/.repo "$PS_REPO"
    mount -o remount,bind,ro "$PS_REPO"
    ;;
esac
# ProtectSystem=strict: every other mount read-only (API file systems aside).
awk '{print $5}' /proc/self/mountinfo | sort -u | while read -r m; do
    case "$m" in
    /proc|/proc/*|/sys|/sys/*|/dev|/dev/*|/run|/run/*|/var/lib|/var/lib/*) ;;
    /tmp|/tmp/*|/var/tmp|/var/tmp/*|/home|/home/*|/root|/root/*) ;;
    *) mount -o remount,bind,ro "$m" 2>/dev/null || true ;;
    esac
done
for probe in /usr/.ps-probe /etc/.ps-probe "$PS_REPO/.ps-probe"; do
    if touch "$probe" 2>/dev/null; then
        rm -f "$probe"
        echo "sandbox: $probe is writable" >&2
        exit 3
    fi
done
umask 027                                       # UMask=0027
shift 2
# User=, NoNewPrivileges=yes, CapabilityBoundingSet= (empty); a clean
# environment as systemd gives a service.
exec setpriv --reuid="$PS_UID" --regid="$PS_GID" --clear-groups --no-new-privs \
    --inh-caps=-all --bounding-set=-all -- env -i "$@"
'''


class SystemdUnitTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # Installed for real under a prefix outside /tmp (the sandbox's /tmp
        # is private), so that the unit names existing files.
        os.makedirs(os.path.join(ROOT, "var"), exist_ok=True)
        cls.tmp = tempfile.mkdtemp(prefix="phasestream-test-", dir=os.path.join(ROOT, "var"))
        os.chmod(cls.tmp, 0o755)
        cls.prefix = os.path.join(cls.tmp, "prefix")
        try:
            make("install", "PREFIX=" + cls.prefix)
        except BaseException:
            shutil.rmtree(cls.tmp, ignore_errors=True)
            raise
        cls.unit = os.path.join(cls.prefix, "lib", "systemd", "system", "phasestream.service")
        cls.settings = unit_settings(cls.unit)

    @classmethod
    def tearDownClass(cls):
        make("uninstall", "PREFIX=" + cls.prefix)
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def analyze(self, *args):
        if not shutil.which("systemd-analyze"):
            self.skipTest("systemd-analyze is not installed (Debian package systemd)")
        env = dict(os.environ, MANPATH=os.path.join(self.prefix, "share", "man"))
        return subprocess.run(["systemd-analyze"] + list(args), capture_output=True, text=True,
                              env=env, timeout=120)

    def test_systemd_analyze_verify_accepts_the_installed_unit(self):
        # verify also runs man for the unit's Documentation= page.
        man = [] if shutil.which("man") else ["--man=no"]
        if man:
            print("\n  man is not installed (Debian package man-db): Documentation= not checked")
        r = self.analyze("verify", *man, self.unit)
        self.assertEqual((r.returncode, r.stdout + r.stderr), (0, ""))

    def test_the_offline_security_review_rates_the_unit_ok(self):
        r = self.analyze("security", "--offline=yes", self.unit)
        m = re.search(r"Overall exposure level for phasestream\.service: (\d+\.\d+) (\w+)", r.stdout)
        self.assertTrue(m, r.stdout + r.stderr)
        print("\n  systemd-analyze security: exposure %s %s" % (m.group(1), m.group(2)))
        self.assertLessEqual(float(m.group(1)), 2.0)

    def test_the_unit_says_what_the_deployment_relies_on(self):
        s = self.settings
        for k, v in [("User", "phasestream"), ("RuntimeDirectory", "phasestream"),
                     ("StateDirectory", "phasestream"), ("ProtectSystem", "strict"),
                     ("NoNewPrivileges", "yes"), ("PrivateTmp", "yes"), ("ProtectHome", "yes"),
                     ("KillMode", "mixed"), ("Restart", "on-failure")]:
            self.assertEqual(s.get(k), [v], k)
        argv = shlex.split(s["ExecStart"][0])
        self.assertEqual(argv[0], os.path.join(self.prefix, "bin", "phasestream"))
        opts = dict(zip(argv[1::2], argv[2::2]))
        self.assertEqual(opts["--config"],
                         os.path.join(self.prefix, "etc", "phasestream", "phasestream.conf"))
        self.assertTrue(opts["--workdir"].startswith("/var/lib/phasestream/"))
        # nginx's upstream and lighttpd's drop-in name the unit's socket.
        sock = opts["--listen"][len("unix:"):]
        self.assertTrue(sock.startswith("/run/phasestream/"))
        with open(os.path.join(ROOT, "conf", "nginx", "upstream.conf")) as f:
            self.assertIn("server unix:%s;" % sock, f.read())
        with open(os.path.join(ROOT, "conf", "lighttpd", "phasestream.conf")) as f:
            self.assertIn('var.phasestream_socket = "%s"' % sock, f.read())
        # Stopping leaves room for the graceful shutdown before systemd's KILL.
        self.assertGreater(int(s["TimeoutStopSec"][0]), 10 + 5)

    @unittest.skipUnless(os.geteuid() == 0, "the sandbox needs root (make check runs as root)")
    def test_the_units_command_runs_a_workflow_inside_its_sandbox(self):
        s = self.settings
        redis = Redis(self.tmp)
        run_dir, state_dir = os.path.join(self.tmp, "run"), os.path.join(self.tmp, "state")
        nobody = pwd.getpwnam("nobody")
        for d in (run_dir, state_dir):
            os.makedirs(os.path.join(d, "phasestream"))
            os.chown(os.path.join(d, "phasestream"), nobody.pw_uid, nobody.pw_gid)
            os.chmod(os.path.join(d, "phasestream"), 0o750)
        self.assertEqual(s["RuntimeDirectoryMode"], ["0750"])
        # EnvironmentFile=-...: the test's Redis and pipeline.
        envfile = s["EnvironmentFile"][0].lstrip("-")
        self.assertTrue(envfile.startswith(self.prefix))
        with open(envfile, "w") as f:
            f.write("REDIS_URL=%s\nPHASESTREAM_PIPELINE=%s\nPHASESTREAM_RUNNERS=1\n"
                    % (redis.url, PIPE))
        env = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
               "HOME=/", "USER=nobody", "LOGNAME=nobody"]
        with open(envfile) as f:
            env += [l.strip() for l in f if "=" in l]
        log = open(os.path.join(self.tmp, "service.log"), "wb")
        proc = subprocess.Popen(
            ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c", SANDBOX,
             "sandbox", run_dir, state_dir] + env + shlex.split(s["ExecStart"][0]),
            stdout=log, stderr=log, env=dict(os.environ, PS_REPO=ROOT, PS_UID=str(nobody.pw_uid),
                                             PS_GID=str(nobody.pw_gid)))
        sock = os.path.join(run_dir, "phasestream", "phasestream.sock")
        try:
            wait_for(lambda: os.path.exists(sock) or proc.poll() is not None, timeout=20,
                     what="the service's socket")
            self.assertIsNone(proc.poll(), open(log.name).read())
            # The process: the unit's user, no new privileges, no capabilities.
            with open("/proc/%d/status" % proc.pid) as f:
                status = f.read()
            self.assertRegex(status, r"\nUid:\t%d\t" % nobody.pw_uid)
            self.assertIn("\nNoNewPrivs:\t1\n", status)
            self.assertIn("\nCapBnd:\t0000000000000000\n", status)
            st = os.stat(sock)
            self.assertEqual(oct(st.st_mode & 0o777), "0o660")
            # A workflow whose phases hand a file over in WORKDIR.
            status_code, _, body = fcgi(sock, "POST", "/api/workflow", b'{"proofType":"env"}')
            self.assertEqual(status_code, 201, body)
            sid = json.loads(body)["sessionId"]
            c = FastCGI(sock, timeout=30)
            c.send("GET", "/api/workflow?sessionId=" + sid)
            code, headers, stream = c.response()
            c.close()
            self.assertEqual(code, 200)
            self.assertIn("event: complete", stream)
            self.assertIn("workdir /var/lib/phasestream/work/" + sid, stream)
            self.assertIn("read: handed over by gen", stream)
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)  # KillMode=mixed: the main process
            rc = proc.wait(30)
            log.close()
            redis.stop()
        with open(log.name, errors="replace") as f:
            text = f.read()
        self.assertEqual(rc, 0, text)
        self.assertIn("info: stopped", text)
        self.assertFalse(os.path.exists(sock))


if __name__ == "__main__":
    unittest.main()
