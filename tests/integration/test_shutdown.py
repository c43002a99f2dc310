"""Shutdown while notifications keep coming: the loop thread delivers queue
and cancel notifications to the runners, so it must be gone before they are
freed. Run under the ASan build, a notification that reached freed runners
is a sanitizer report in the server's log, which fails the stop."""
import os
import shutil
import signal
import tempfile
import threading
import unittest

from harness import Redis, Phasestream, Resp, PIPELINES, wait_for

ROUNDS = 20
BATCH = 200


class Publisher(threading.Thread):
    """PUBLISHes on the queue and cancel channels in a tight loop, pipelined
    in batches, and counts the messages some subscriber received, before and
    after `signalled` is set."""

    def __init__(self, port, prefix):
        super().__init__(daemon=True)
        self.r = Resp(port=port)
        one = []
        for chan, msg in (("chan:queue", "1"), ("chan:cancel", "no-such-session")):
            args = [b"PUBLISH", (prefix + chan).encode(), msg.encode()]
            one.append(b"*3\r\n" + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args))
        self.batch = b"".join(one) * (BATCH // 2)
        self.stop = threading.Event()
        self.signalled = threading.Event()
        self.received = {False: 0, True: 0}
        self.error = None

    def run(self):
        try:
            while not self.stop.is_set():
                after = self.signalled.is_set()
                self.r.sock.sendall(self.batch)
                for _ in range(BATCH):
                    self.received[after] += self.r._reply()
        except Exception as e:  # reported by the test
            self.error = e
        finally:
            self.r.close()


class ShutdownUnderNotificationsTest(unittest.TestCase):
    def test_sigterm_while_queue_notifications_arrive_exits_cleanly(self):
        tmp = tempfile.mkdtemp(prefix="phasestream-test-")
        redis = Redis(tmp)
        received_after = 0
        try:
            for _ in range(ROUNDS):
                ps = Phasestream(tmp, redis.url, os.path.join(PIPELINES, "basic.json"),
                                 runners=4)
                pub = Publisher(redis.port, ps.prefix)
                pub.start()
                wait_for(lambda: pub.received[False] >= BATCH or pub.error, what="notifications")
                pub.signalled.set()
                ps.send(signal.SIGTERM)
                rc = ps.stop()  # fails on a sanitizer report
                pub.stop.set()
                pub.join(10)
                self.assertIsNone(pub.error)
                self.assertEqual(rc, 0)
                self.assertIn("stopped", ps.read_log())
                received_after += pub.received[True]
            # The notifications did reach the server while it shut down.
            self.assertGreater(received_after, 0)
        finally:
            redis.stop()
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
