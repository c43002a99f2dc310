"""The pipeline's readiness file (docs/api.md, "Proof types that are not
ready yet"): GET /api/workflow/pipeline shows each proof type's readiness as
the file says at the time of the request, a type that is not ready is
refused with a 409 before any session exists, and a file that is missing,
too large or malformed holds nothing back."""
import json
import os
import time
import unittest

from harness import Stack, request, create, follow, write_readiness

PREPARING = {"ready": False, "state": "preparing", "step": 4, "steps": 8,
             "doing": "circuit poseidon_preimage"}
FAILED = {"ready": False, "state": "failed", "step": 0, "steps": 8, "doing": "solc: out of memory"}
READY = {"ready": True, "state": "ready"}


class ReadinessTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = Stack("basic.json", readiness=True)

    @classmethod
    def tearDownClass(cls):
        assert cls.s.close() == 0

    def tearDown(self):
        self.remove()

    def remove(self):
        path = self.s.readiness
        if os.path.isdir(path):
            os.rmdir(path)
        elif os.path.lexists(path):
            os.unlink(path)

    def write_raw(self, data):
        self.remove()
        with open(self.s.readiness + ".tmp", "wb") as f:
            f.write(data)
        os.rename(self.s.readiness + ".tmp", self.s.readiness)

    def pipeline(self):
        r = request(self.s.port, "GET", "/api/workflow/pipeline")
        self.assertEqual(r.status, 200, r.body)
        return r.json()

    def all_ready(self):
        return {t: READY for t in self.pipeline()["proofTypes"]}

    def sessions_in_redis(self):
        """The sessions this server made: their state keys (runs that an
        earlier test queued may still come and go from the queue)."""
        return sorted(self.s.r("KEYS", self.s.key("*", "state")))

    def test_the_pipeline_endpoint_shows_each_types_readiness_from_the_file(self):
        write_readiness(self.s.readiness, {"groth16": PREPARING, "plonk": FAILED, "ok": READY,
                                           "nosuchtype": PREPARING})
        p = self.pipeline()
        # The fields a page read before are unchanged.
        self.assertEqual(p["proofTypes"][:3], ["groth16", "plonk", "ok"])
        self.assertEqual([ph["name"] for ph in p["phases"]], ["generating", "verifying", "attesting"])
        self.assertIn("allowGetCreate", p)
        # Every type of the pipeline, and only those; a type the file does
        # not name is ready.
        self.assertEqual(sorted(p["readiness"]), sorted(p["proofTypes"]))
        self.assertEqual(p["readiness"]["groth16"], PREPARING)
        self.assertEqual(p["readiness"]["plonk"], FAILED)
        self.assertEqual(p["readiness"]["ok"], READY)
        self.assertEqual(p["readiness"]["fail"], READY)

    def test_the_endpoint_follows_the_files_changes(self):
        write_readiness(self.s.readiness, {"groth16": PREPARING})
        self.assertEqual(self.pipeline()["readiness"]["groth16"]["step"], 4)
        step7 = dict(PREPARING, step=7, doing="compiling the Solidity verifiers")
        write_readiness(self.s.readiness, {"groth16": step7})
        self.assertEqual(self.pipeline()["readiness"]["groth16"], step7)
        # Rewritten in place at once, same size: the same modification
        # time, quite possibly; the new text is read all the same.
        step8 = dict(PREPARING, step=8, doing="compiling the Solidity verifierZ")
        with open(self.s.readiness, "w") as f:
            json.dump({"proofTypes": {"groth16": step8}, "updated": "2026-01-01T00:00:00.000Z"}, f)
        self.assertEqual(self.pipeline()["readiness"]["groth16"], step8)
        write_readiness(self.s.readiness, {"groth16": READY})
        self.assertEqual(self.pipeline()["readiness"], self.all_ready())
        # ... and once the file is settled, the same answer again.
        time.sleep(2.5)
        self.assertEqual(self.pipeline()["readiness"], self.all_ready())

    def test_unknown_fields_are_ignored_and_doing_is_cleaned_and_cut(self):
        long = "\u00e9" * 150  # 300 bytes of two-byte characters
        write_readiness(self.s.readiness, {"groth16": dict(PREPARING, doing=long, eta=12,
                                                           extra={"a": [1]}),
                                           "plonk": dict(PREPARING, doing="a\tb\u0001c\u001b[31md")})
        r = self.pipeline()["readiness"]
        self.assertEqual(r["groth16"]["doing"], "\u00e9" * 100)  # 200 bytes, whole characters
        self.assertNotIn("eta", r["groth16"])
        self.assertEqual(r["plonk"]["doing"], "a\tbcd")  # as a phase's line is cleaned

    def test_a_type_that_is_not_ready_is_refused_with_409_and_no_session(self):
        write_readiness(self.s.readiness, {"groth16": PREPARING, "plonk": FAILED})
        before = self.sessions_in_redis()
        r = request(self.s.port, "POST", "/api/workflow", {"proofType": "groth16"})
        self.assertEqual(r.status, 409, r.body)
        self.assertTrue(r.header("content-type").startswith("application/json"))
        self.assertEqual(r.json(), {"error": "groth16 is not ready yet: waiting for the setup "
                                             "(preparing, step 4 of 8: circuit poseidon_preimage); "
                                             "try again when it is ready"})
        r = request(self.s.port, "POST", "/api/workflow", "proofType=plonk",
                    {"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(r.status, 409, r.body)
        self.assertEqual(r.json()["error"], "plonk cannot run: its setup failed (solc: out of memory)")
        # The original front end's create-by-GET is refused the same way.
        r = request(self.s.port, "GET", "/api/workflow?sessionId=notready-0001&proofType=groth16")
        self.assertEqual(r.status, 409, r.body)
        self.assertIn("groth16 is not ready yet", r.json()["error"])
        self.assertEqual(self.sessions_in_redis(), before)
        self.assertEqual(request(self.s.port, "GET",
                                 "/api/workflow/state?sessionId=notready-0001").status, 404)
        # Another type runs at once, to the end.
        ev = follow(self.s.port, create(self.s.port, "ok"))
        self.assertEqual(ev[-1].type, "complete")
        # Once the file says ready, the type runs.
        write_readiness(self.s.readiness, {"groth16": READY, "plonk": FAILED})
        ev = follow(self.s.port, create(self.s.port, "groth16"))
        self.assertEqual(ev[-1].type, "complete")

    def test_a_missing_oversized_or_malformed_file_means_every_type_is_ready(self):
        not_ready = {"groth16": PREPARING}
        write_readiness(self.s.readiness, not_ready)
        self.assertEqual(self.pipeline()["readiness"]["groth16"], PREPARING)
        logged = len(self.s.ps.read_log())
        cases = [
            ("missing", None),
            ("a directory", "dir"),
            ("not JSON", b'{"proofTypes": {"groth16": {"ready": false'),
            ("trailing data", json.dumps({"proofTypes": not_ready}).encode() + b" x"),
            ("not an object", b"[]"),
            ("proofTypes not an object", json.dumps({"proofTypes": ["groth16"]}).encode()),
            ("an entry not an object", json.dumps({"proofTypes": {"groth16": False}}).encode()),
            ("ready not a boolean",
             json.dumps({"proofTypes": {"groth16": dict(PREPARING, ready="no")}}).encode()),
            ("ready missing", json.dumps({"proofTypes": {"groth16": {"state": "preparing"}}}).encode()),
            ("an unknown state",
             json.dumps({"proofTypes": {"groth16": dict(PREPARING, state="cooking")}}).encode()),
            ("ready and state disagree",
             json.dumps({"proofTypes": {"groth16": dict(PREPARING, state="ready")}}).encode()),
            ("step not a number",
             json.dumps({"proofTypes": {"groth16": dict(PREPARING, step="4")}}).encode()),
            ("steps out of range",
             json.dumps({"proofTypes": {"groth16": dict(PREPARING, steps=10 ** 12)}}).encode()),
            ("step beyond steps",
             json.dumps({"proofTypes": {"groth16": dict(PREPARING, step=9)}}).encode()),
            ("doing not a string",
             json.dumps({"proofTypes": {"groth16": dict(PREPARING, doing=7)}}).encode()),
            ("invalid UTF-8", json.dumps({"proofTypes": not_ready}).encode().replace(
                b"poseidon", b"pos\xffidon")),
            ("a NUL byte", json.dumps({"proofTypes": not_ready}).encode() + b"\0"),
            ("deeply nested", b'{"proofTypes": {"groth16": {"ready": false, "x": '
             + b"[" * 100 + b"]" * 100 + b"}}}"),
            ("over 64 KiB", json.dumps({"proofTypes": not_ready, "updated": "x" * 70000}).encode()),
        ]
        for what, data in cases:
            with self.subTest(what):
                if data is None:
                    self.remove()
                elif data == "dir":
                    self.remove()
                    os.mkdir(self.s.readiness)
                else:
                    self.write_raw(data)
                for _ in range(2):
                    self.assertEqual(self.pipeline()["readiness"], self.all_ready())
                r = request(self.s.port, "POST", "/api/workflow", {"proofType": "groth16"})
                self.assertEqual(r.status, 201, r.body)
        # The same file, well-formed, does hold groth16 back.
        write_readiness(self.s.readiness, not_ready)
        self.assertEqual(self.pipeline()["readiness"]["groth16"], PREPARING)
        # Each problem is logged when it changes, however many requests
        # meet it (the two files without a boolean "ready" in a row are one
        # problem), with the reason and never the file's text.
        log = self.s.ps.read_log()[logged:]
        self.assertEqual(log.count("No such file or directory: every proof type counts as ready"),
                         1, log)
        self.assertEqual(log.count("larger than 64 KiB"), 1, log)
        self.assertEqual(log.count("proofTypes.groth16.ready must be true or false"), 1, log)
        self.assertEqual(log.count("readiness file"), len(cases) - 1 + 1, log)  # + "read"
        self.assertEqual(log.count("proofTypes.groth16: step 9 is beyond steps 8"), 1, log)
        self.assertNotIn("poseidon", log)


class NoReadinessTest(unittest.TestCase):
    """A pipeline without a readiness file: every type is ready, and the
    endpoint says so."""

    def test_every_type_is_ready(self):
        s = Stack("basic.json")
        try:
            p = request(s.port, "GET", "/api/workflow/pipeline").json()
            self.assertEqual(p["readiness"], {t: READY for t in p["proofTypes"]})
            self.assertNotIn("readiness file", s.ps.read_log())
        finally:
            self.assertEqual(s.close(), 0)


if __name__ == "__main__":
    unittest.main()
