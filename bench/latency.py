#!/usr/bin/env python3
"""Per-line latency: from a phase printing a line to a browser-side client
reading it as an SSE event through nginx.

Baseline, measured in the same run: the same lines' latency to a plain
Redis subscriber on the session's notify channel (phasestream's runner
writes and publishes; the baseline stops there, so the ratio is what the
stream side and nginx add). Prints the median of RUNS runs of 20 lines."""
import os
import statistics
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "integration"))
from harness import Stack, Resp, create, stream  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
RUNS = int(os.environ.get("RUNS", "5"))


def one_run(s):
    sid = create(s.port, "20x200")
    # Baseline subscriber: the notify channel, then the event it names.
    sub = s.redis.client()
    sub("SUBSCRIBE", s.key(sid, "notify"))
    rd = s.redis.client()
    base = []

    def baseline():
        sub.sock.settimeout(30)
        while len(base) < 20:
            msg = sub._reply()
            if msg[0] != "message":
                continue
            at = time.time()
            el = rd("LINDEX", s.key(sid, "events"), int(msg[2]) - 1) or ""
            if el.startswith("log\n") and '"tick ' in el:
                printed = int(el.split('"tick ')[1].split()[0]) / 1000.0
                base.append((at - printed) * 1000)
    t = threading.Thread(target=baseline)
    t.start()
    es = stream(s.port, sid)
    lat = []
    while True:
        e = es.next()
        if e is None:
            break
        if e.type == "log" and e.data["message"].startswith("tick "):
            lat.append((e.at - int(e.data["message"].split()[1]) / 1000.0) * 1000)
    es.close()
    t.join(30)
    sub.close()
    rd.close()
    return statistics.median(lat), max(lat), statistics.median(base)


def main():
    s = Stack(os.path.join(HERE, "pipeline.json"))
    try:
        rows = [one_run(s) for _ in range(RUNS)]
    finally:
        s.close()
    med = statistics.median(r[0] for r in rows)
    worst = max(r[1] for r in rows)
    base = statistics.median(r[2] for r in rows)
    print("latency: line printed -> SSE event through nginx, %d runs x 20 lines" % RUNS)
    for i, (m, w, b) in enumerate(rows):
        print("  run %d: median %.2f ms, max %.2f ms; baseline (Redis subscriber) %.2f ms"
              % (i + 1, m, w, b))
    print("  median of medians: %.2f ms (max %.2f ms); baseline %.2f ms; ratio %.2fx"
          % (med, worst, base, med / base if base > 0 else float("nan")))


if __name__ == "__main__":
    main()
