#!/usr/bin/env python3
"""Memory: what a session costs in Redis, and what a viewer costs in
phasestream.

1. Redis: MEMORY USAGE of a 60-line session's keys (state hash + event
   list), median of 5 sessions; baseline: the bytes of the 60 lines
   themselves, so the ratio is the storage overhead (JSON envelope,
   timestamps, status events, Redis' own structures).
2. phasestream: resident memory with 0 and N idle viewers on one session
   (N = VIEWERS, default 1000), per viewer; baseline, in the same run: the
   growth of nginx's worker for the same connections."""
import os
import resource
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "integration"))
from harness import Stack, create, follow, stream, request, wait_for, rss_kib  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
VIEWERS = int(os.environ.get("VIEWERS", "1000"))


def nginx_worker(master):
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                with open("/proc/%s/stat" % pid) as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == master:
                        return int(pid)
            except OSError:
                pass
    raise RuntimeError("no nginx worker")


def main():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4 * VIEWERS + 1024), hard))
    s = Stack(os.path.join(HERE, "pipeline.json"))
    try:
        sizes, raw = [], []
        for _ in range(5):
            sid = create(s.port, "60x0")
            ev = follow(s.port, sid)
            lines = [e.data["message"] for e in ev if e.type == "log"]
            assert len(lines) == 60, len(lines)
            state = s.r("MEMORY", "USAGE", s.key(sid, "state"), "SAMPLES", "0")
            events = s.r("MEMORY", "USAGE", s.key(sid, "events"), "SAMPLES", "0")
            sizes.append((state, events))
            raw.append(sum(len(l.encode()) for l in lines))
        st = statistics.median(x[0] for x in sizes)
        evs = statistics.median(x[1] for x in sizes)
        base = statistics.median(raw)
        print("redis: a 60-line session (lines of ~75 bytes), median of 5 sessions")
        print("  %s = %d bytes, %s = %d bytes, total %d bytes (%.1f KiB)"
              % ("{S}:state", st, "{S}:events", evs, st + evs, (st + evs) / 1024))
        print("  baseline: the lines themselves, %d bytes; ratio %.2fx" % (base, (st + evs) / base))

        sid = create(s.port, "600x1000")
        wait_for(lambda: s.r("LLEN", s.key(sid, "events")) > 3, what="the session to start")
        worker = nginx_worker(s.nginx.proc.pid)
        time.sleep(0.5)
        ps0, ng0 = rss_kib(s.ps.pid), rss_kib(worker)
        viewers = [stream(s.port, sid) for _ in range(VIEWERS)]
        wait_for(lambda: "phasestream_sse_clients %d" % VIEWERS in
                 request(s.port, "GET", "/api/workflow/metrics").body, timeout=60,
                 what="the viewers")
        time.sleep(2)
        ps1, ng1 = rss_kib(s.ps.pid), rss_kib(worker)
        print("phasestream: resident memory with %d idle viewers on one session" % VIEWERS)
        print("  %d KiB -> %d KiB: %.2f KiB per viewer" % (ps0, ps1, (ps1 - ps0) / VIEWERS))
        print("  baseline: nginx worker %d KiB -> %d KiB: %.2f KiB per connection; ratio %.2fx"
              % (ng0, ng1, (ng1 - ng0) / VIEWERS,
                 ((ps1 - ps0) / max(ng1 - ng0, 1))))
        for es in viewers:
            es.close()
        request(s.port, "DELETE", "/api/workflow?sessionId=" + sid)
    finally:
        s.close()


if __name__ == "__main__":
    main()
