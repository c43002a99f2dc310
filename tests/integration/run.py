#!/usr/bin/env python3
"""Runs the integration suites: python3 tests/integration/run.py [pattern...]

Each test_*.py here starts its own redis-server, phasestream and nginx (see
harness.py). A name on the command line runs only the modules or tests whose
id contains it."""
import os
import sys
import time
import unittest

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)


def main():
    loader = unittest.TestLoader()
    suite = loader.discover(here, pattern="test_*.py", top_level_dir=here)
    wanted = sys.argv[1:]
    if wanted:
        def keep(s):
            out = unittest.TestSuite()
            for t in s:
                if isinstance(t, unittest.TestSuite):
                    out.addTests(keep(t))
                elif any(w in t.id() for w in wanted):
                    out.addTest(t)
            return out
        suite = keep(suite)
    start = time.time()
    result = unittest.TextTestRunner(verbosity=2, buffer=False).run(suite)
    print("integration: %d tests in %.1f s" % (result.testsRun, time.time() - start))
    sys.exit(0 if result.wasSuccessful() else 1)


if __name__ == "__main__":
    main()
