"""The HTTP contract of docs/api.md, through a real nginx: every endpoint, every
status code, JSON errors."""
import json
import re
import time
import unittest

from harness import (Stack, Redis, FastCGI, request, create, follow, stored_events, wait_for,
                     global_key)


class ApiTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = Stack("basic.json", args=["--kill-grace", "1"])

    @classmethod
    def tearDownClass(cls):
        assert cls.s.close() == 0

    def assertJsonError(self, r, status):
        self.assertEqual(r.status, status, r.body)
        self.assertTrue(r.header("content-type").startswith("application/json"), r.headers)
        self.assertIsInstance(r.json()["error"], str)
        self.assertTrue(r.json()["error"])

    def test_post_json_creates_a_queued_session_with_its_urls(self):
        r = request(self.s.port, "POST", "/api/workflow", {"proofType": "groth16"})
        self.assertEqual(r.status, 201)
        body = r.json()
        sid = body["sessionId"]
        self.assertRegex(sid, r"^[A-Za-f][A-Za-z0-9_-]{21}$")  # never an option in argv
        self.assertEqual(body["proofType"], "groth16")
        self.assertEqual(body["status"], "queued")
        self.assertEqual(body["events"], "/api/workflow?sessionId=" + sid)
        self.assertEqual(body["state"], "/api/workflow/state?sessionId=" + sid)
        self.assertEqual(r.header("location"), body["events"])
        state = self.s.r("HGETALL", self.s.key(sid, "state"))
        self.assertIn("proofType", state)
        self.assertGreater(self.s.r("TTL", self.s.key(sid, "state")), 3500)
        self.assertGreater(self.s.r("TTL", self.s.key(sid, "events")), 3500)

    def test_post_form_creates_a_session(self):
        r = request(self.s.port, "POST", "/api/workflow", "proofType=plonk",
                    {"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(r.status, 201, r.body)
        self.assertEqual(r.json()["proofType"], "plonk")

    def test_session_ids_are_distinct(self):
        ids = {create(self.s.port, "ok") for _ in range(20)}
        self.assertEqual(len(ids), 20)

    def test_post_unknown_proof_type_is_400_listing_the_allowed_ones(self):
        r = request(self.s.port, "POST", "/api/workflow", {"proofType": "snark9"})
        self.assertJsonError(r, 400)
        self.assertIn("groth16", r.json()["error"])
        self.assertIn("snark9", r.json()["error"])

    def test_post_without_proof_type_is_400(self):
        self.assertJsonError(request(self.s.port, "POST", "/api/workflow", {}), 400)

    def test_post_malformed_bodies_are_400(self):
        for body, ctype in [("{not json", "application/json"), ("[1,2]", "application/json"),
                            ('{"proofType": 7}', "application/json"),
                            ('{"proofType": "groth16"} trailing', "application/json"),
                            ("proofType=%zz", "application/x-www-form-urlencoded"),
                            ("<xml/>", "application/xml")]:
            r = request(self.s.port, "POST", "/api/workflow", body, {"Content-Type": ctype})
            self.assertJsonError(r, 400)

    def test_a_body_shorter_than_its_content_length_is_400_and_creates_nothing(self):
        # Cut after the proof type, the body would still read as a request:
        # it must not pass for a shorter one. (A web server does not send
        # such a body; a FastCGI peer can.)
        def created():
            body = request(self.s.port, "GET", "/api/workflow/metrics").body
            return re.search(r"^phasestream_sessions_created_total (\d+)$", body, re.M).group(1)
        before = created()
        c = FastCGI(self.s.ps.socket)
        c.send("POST", "/api/workflow", b"proofType=ok",
               headers={"CONTENT_LENGTH": "40",
                        "CONTENT_TYPE": "application/x-www-form-urlencoded"})
        status, _, body = c.response()
        c.close()
        self.assertEqual(status, 400)
        self.assertEqual(json.loads(body)["error"], "the body ended before its 40 bytes")
        self.assertEqual(created(), before)

    def test_post_body_over_the_limit_is_413(self):
        big = json.dumps({"proofType": "groth16", "pad": "x" * 20000})
        self.assertJsonError(request(self.s.port, "POST", "/api/workflow", big,
                                     {"Content-Type": "application/json"}), 413)
        # Beyond nginx's own bound, nginx answers -- in JSON too.
        huge = "x" * 100000
        self.assertJsonError(request(self.s.port, "POST", "/api/workflow", huge,
                                     {"Content-Type": "application/json"}), 413)

    def test_other_methods_are_405_with_allow(self):
        for method, path, allow in [("PUT", "/api/workflow", "GET, POST, DELETE"),
                                    ("PATCH", "/api/workflow", "GET, POST, DELETE"),
                                    ("POST", "/api/workflow/state?sessionId=abcdefgh", "GET, HEAD"),
                                    ("DELETE", "/api/workflow/health", "GET, HEAD"),
                                    ("POST", "/api/workflow/metrics", "GET, HEAD")]:
            r = request(self.s.port, method, path, "" if method != "DELETE" else None)
            self.assertJsonError(r, 405)
            self.assertEqual(r.header("allow"), allow)

    def test_unknown_paths_under_the_prefix_are_404(self):
        for path in ["/api/workflow/nope", "/api/workflow/", "/api/workflow/state/x",
                     "/api/workflowx"]:
            self.assertJsonError(request(self.s.port, "GET", path), 404)

    def test_unknown_session_is_404_everywhere(self):
        for method, path in [("GET", "/api/workflow?sessionId=nosuchsession"),
                             ("GET", "/api/workflow/state?sessionId=nosuchsession"),
                             ("DELETE", "/api/workflow?sessionId=nosuchsession")]:
            self.assertJsonError(request(self.s.port, method, path), 404)

    def test_malformed_ids_are_400(self):
        for path, hdrs in [("/api/workflow?sessionId=short", {}),
                           ("/api/workflow?sessionId=bad%20chars!!", {}),
                           ("/api/workflow?sessionId=" + "a" * 65, {}),
                           ("/api/workflow?sessionId=abcdefgh&lastEventId=-1", {}),
                           ("/api/workflow?sessionId=abcdefgh&lastEventId=1x", {}),
                           ("/api/workflow?sessionId=abcdefgh", {"Last-Event-ID": "nope"}),
                           ("/api/workflow?sessionId=abcdefgh&sessionId=abcdefgi", {}),
                           ("/api/workflow/state?sessionId=abcdefgh&logs=maybe", {}),
                           ("/api/workflow/state", {}), ("/api/workflow", {})]:
            self.assertJsonError(request(self.s.port, "GET", path, headers=hdrs), 400)
        self.assertJsonError(request(self.s.port, "DELETE", "/api/workflow?sessionId=x"), 400)

    def test_state_has_the_workflow_state_and_logs_0_leaves_logs_out(self):
        sid = create(self.s.port, "groth16")
        follow(self.s.port, sid)
        st = request(self.s.port, "GET", "/api/workflow/state?sessionId=" + sid).json()
        for k in ["sessionId", "proofType", "status", "phase", "currentStep", "progress", "logs",
                  "generatedProofs", "verificationResults", "attestationResults", "error",
                  "startTime", "lastUpdate"]:
            self.assertIn(k, st)
        self.assertEqual(st["status"], "complete")
        self.assertEqual(st["progress"], 100)
        self.assertRegex(st["startTime"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        self.assertTrue(any(l["message"].startswith("generated") for l in st["logs"]))
        st0 = request(self.s.port, "GET", "/api/workflow/state?sessionId=%s&logs=0" % sid).json()
        self.assertNotIn("logs", st0)
        self.assertEqual(st0["status"], "complete")
        # lastEventId: the last event the answer covers, with or without logs.
        n = self.s.r("LLEN", self.s.key(sid, "events"))
        self.assertEqual(st["lastEventId"], n)
        self.assertEqual(st0["lastEventId"], n)

    def test_state_logs_are_the_stored_log_events_in_order(self):
        sid = create(self.s.port, "slow")
        follow(self.s.port, sid)
        st = request(self.s.port, "GET", "/api/workflow/state?sessionId=" + sid).json()
        stored = [json.loads(d) for (_, t, d) in stored_events(self.s.r, self.s, sid) if t == "log"]
        self.assertEqual(st["logs"], stored)

    def test_delete_of_an_ended_session_is_409(self):
        sid = create(self.s.port, "ok")
        follow(self.s.port, sid)
        self.assertJsonError(request(self.s.port, "DELETE", "/api/workflow?sessionId=" + sid), 409)

    def test_delete_of_a_running_session_is_202_and_it_ends_cancelled(self):
        sid = create(self.s.port, "sleepy")
        wait_for(lambda: self.s.r("HGET", self.s.key(sid, "state"), "phase") == "generating")
        r = request(self.s.port, "DELETE", "/api/workflow?sessionId=" + sid)
        self.assertEqual(r.status, 202)
        self.assertEqual(r.json(), {"status": "cancelling"})
        ev = follow(self.s.port, sid)
        self.assertEqual(ev[-1].type, "error")
        self.assertEqual(ev[-1].data["code"], "cancelled")

    def test_health_reports_redis_and_counts(self):
        r = request(self.s.port, "GET", "/api/workflow/health")
        self.assertEqual(r.status, 200)
        h = r.json()
        self.assertEqual(h["status"], "ok")
        self.assertEqual(h["redis"], "ok")
        self.assertIsInstance(h["queued"], int)
        self.assertIsInstance(h["running"], int)

    def test_metrics_is_prometheus_text_and_counts(self):
        before = request(self.s.port, "GET", "/api/workflow/metrics")
        sid = create(self.s.port, "ok")
        follow(self.s.port, sid)
        r = request(self.s.port, "GET", "/api/workflow/metrics")
        self.assertEqual(r.status, 200)
        self.assertTrue(r.header("content-type").startswith("text/plain"))

        def value(text, name):
            for line in text.splitlines():
                if line.startswith(name + " "):
                    return float(line.split()[1])
            raise AssertionError(name + " missing")
        for name in ["phasestream_sessions_created_total", "phasestream_sessions_completed_total",
                     "phasestream_sessions_failed_total", "phasestream_sessions_running",
                     "phasestream_queue_length", "phasestream_sse_clients",
                     "phasestream_events_written_total"]:
            value(r.body, name)
        self.assertGreater(value(r.body, "phasestream_sessions_created_total"),
                           value(before.body, "phasestream_sessions_created_total"))
        self.assertGreater(value(r.body, "phasestream_events_written_total"),
                           value(before.body, "phasestream_events_written_total"))
        self.assertIn('phasestream_phase_duration_seconds_bucket{phase="generating",le="+Inf"}',
                      r.body)

    def test_pipeline_endpoint_lists_proof_types_and_phases_only(self):
        r = request(self.s.port, "GET", "/api/workflow/pipeline")
        self.assertEqual(r.status, 200)
        p = r.json()
        self.assertIn("groth16", p["proofTypes"])
        self.assertEqual([ph["name"] for ph in p["phases"]], ["generating", "verifying", "attesting"])
        self.assertNotIn("command", r.body)
        self.assertNotIn("TEST_SECRET", r.body)

    def test_get_with_proof_type_creates_then_streams(self):
        sid = "compat-session-0001"
        ev = follow(self.s.port, sid + "&proofType=groth16")
        self.assertEqual(ev[-1].type, "complete")
        self.assertEqual(self.s.r("HGET", self.s.key(sid, "state"), "proofType"), "groth16")
        # Exists now: proofType is ignored.
        ev2 = follow(self.s.port, sid + "&proofType=plonk")
        self.assertEqual([e.raw for e in ev2], [e.raw for e in ev])
        # Unknown type for a new id: 400.
        r = request(self.s.port, "GET", "/api/workflow?sessionId=compat-session-0002&proofType=x9")
        self.assertJsonError(r, 400)


class ApiOptionsTest(unittest.TestCase):
    def test_get_create_off_is_404(self):
        s = Stack("basic.json", args=["--allow-get-create", "no"])
        try:
            r = request(s.port, "GET", "/api/workflow?sessionId=compat-off-0001&proofType=groth16")
            self.assertEqual(r.status, 404)
            self.assertEqual(s.r("EXISTS", s.key("compat-off-0001", "state")), 0)
        finally:
            self.assertEqual(s.close(), 0)

    def test_full_queue_is_429(self):
        s = Stack("basic.json", args=["--max-queue", "2"], runners=0)
        try:
            create(s.port, "ok")
            create(s.port, "ok")
            r = request(s.port, "POST", "/api/workflow", {"proofType": "ok"})
            self.assertEqual(r.status, 429)
            self.assertIn("queue", r.json()["error"])
            self.assertEqual(s.r("LLEN", global_key(s.prefix, "queue")), 2)
        finally:
            self.assertEqual(s.close(), 0)

    def test_redis_down_is_503_and_health_says_so(self):
        s = Stack("basic.json")
        try:
            sid = create(s.port, "ok")
            follow(s.port, sid)
            s.redis.stop()
            for method, path, body in [("POST", "/api/workflow", {"proofType": "ok"}),
                                       ("GET", "/api/workflow?sessionId=" + sid, None),
                                       ("GET", "/api/workflow/state?sessionId=" + sid, None),
                                       ("DELETE", "/api/workflow?sessionId=" + sid, None),
                                       ("GET", "/api/workflow/health", None)]:
                r = request(s.port, method, path, body)
                self.assertEqual(r.status, 503, (path, r.body))
                self.assertIn("error", r.json())
            h = request(s.port, "GET", "/api/workflow/health").json()
            self.assertEqual(h["redis"], "down")
            # Metrics still answer, saying Redis is down.
            m = request(s.port, "GET", "/api/workflow/metrics")
            self.assertEqual(m.status, 200)
            self.assertIn("phasestream_redis_up 0", m.body)
            # Back by itself when Redis returns (no stored data: no AOF here).
            s.redis.start()
            wait_for(lambda: request(s.port, "GET", "/api/workflow/health").status == 200,
                     what="health to recover")
        finally:
            self.assertEqual(s.close(), 0)

    def test_after_a_redis_restart_the_first_requests_succeed(self):
        s = Stack("basic.json", appendonly=True)
        try:
            sid = create(s.port, "ok")
            follow(s.port, sid)
            # Every request thread has a connection now...
            for _ in range(40):
                self.assertEqual(request(s.port, "GET", "/api/workflow/health").status, 200)
            s.r.close()
            s.redis.stop()
            s.redis.start()
            s.r = s.redis.client()
            # ...and each finds it stale: it reconnects, the client sees no 503.
            for _ in range(20):
                r = request(s.port, "GET", "/api/workflow/state?sessionId=%s&logs=0" % sid)
                self.assertEqual(r.status, 200, r.body)
        finally:
            self.assertEqual(s.close(), 0)

    def test_phasestream_down_is_a_json_502_from_nginx(self):
        s = Stack("basic.json")
        try:
            s.ps.stop()
            r = request(s.port, "GET", "/api/workflow/health")
            self.assertEqual(r.status, 502)
            self.assertIn("error", r.json())
        finally:
            s.nginx.stop()
            s.redis.stop()


if __name__ == "__main__":
    unittest.main()
