"""The manual page, docs/phasestream.8: it renders with man -l without a
warning, and it lists exactly the flags, their arguments and the
environment variables that phasestream --help lists."""
import os
import re
import shutil
import subprocess
import unittest

from harness import BIN, ROOT

PAGE = os.path.join(ROOT, "docs", "phasestream.8")
ENV_NAME = re.compile(r"\b(PHASESTREAM_[A-Z_]+|REDIS_[A-Z]+|TMPDIR)\b")


def help_text():
    r = subprocess.run([BIN, "--help"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    return r.stdout


def help_flags():
    """{flag: its argument or None} from --help's option lines."""
    return {m.group(1): m.group(2) for m in
            re.finditer(r"(?m)^  (--[a-z-]+)(?: (\S+))?", help_text())}


def page_section(name):
    with open(PAGE) as f:
        text = f.read()
    m = re.search(r"(?ms)^\.SH %s\n(.*?)(?=^\.SH )" % re.escape(name), text)
    assert m, "no section %s in %s" % (name, PAGE)
    return m.group(1)


def page_flags():
    """{flag: its argument or None} from the .TP items of OPTIONS."""
    out = {}
    lines = page_section("OPTIONS").split("\n")
    for prev, line in zip(lines, lines[1:]):
        if prev != ".TP":
            continue
        m = re.match(r'^\.BI? ((?:\\-|[a-z])+)(?: " ([^"]+)")?$', line)
        assert m, "an OPTIONS item that is not a flag: %r" % line
        out[m.group(1).replace("\\-", "-")] = m.group(2)
    return out


class ManPageTest(unittest.TestCase):
    def test_the_page_and_help_list_the_same_flags_with_the_same_arguments(self):
        in_help, in_page = help_flags(), page_flags()
        self.assertGreater(len(in_help), 20)
        self.assertEqual(sorted(set(in_help) - set(in_page)), [], "in --help, not in the page")
        self.assertEqual(sorted(set(in_page) - set(in_help)), [], "in the page, not in --help")
        self.assertEqual(in_page, in_help)

    def test_the_page_and_help_name_the_same_environment_variables(self):
        in_help = set(ENV_NAME.findall(help_text()))
        in_page = set(ENV_NAME.findall(page_section("ENVIRONMENT").replace("\\-", "-")))
        self.assertIn("REDIS_PASSWORD", in_help)
        self.assertEqual(sorted(in_help - in_page), [], "in --help, not in the page")
        self.assertEqual(sorted(in_page - in_help), [], "in the page, not in --help")

    def test_the_page_names_the_version(self):
        r = subprocess.run([BIN, "--version"], capture_output=True, text=True, timeout=30)
        with open(PAGE) as f:
            th = [l for l in f if l.startswith(".TH ")][0]
        self.assertIn('"%s"' % r.stdout.strip(), th)

    def test_man_renders_it_without_warnings(self):
        if not shutil.which("man"):
            self.skipTest("man is not installed (Debian package man-db)")
        env = dict(os.environ, MANWIDTH="80", LC_ALL="C.UTF-8")
        r = subprocess.run(["man", "--warnings", "-l", PAGE], capture_output=True, text=True,
                           env=env, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr, "")
        for heading in ["NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "ENVIRONMENT", "SIGNALS",
                        "EXIT STATUS", "FILES", "EXAMPLES"]:
            self.assertRegex(r.stdout, r"(?m)^%s$" % heading)
        # groff's own strictest check, on the source.
        r = subprocess.run(["groff", "-ww", "-z", "-man", PAGE], capture_output=True, text=True,
                           timeout=60)
        self.assertEqual((r.returncode, r.stderr), (0, ""))


if __name__ == "__main__":
    unittest.main()
