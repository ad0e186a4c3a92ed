"""progress-bridge and progress-publish, run as binaries: a mistyped flag or a bad
value is a usage error (exit 2) whose message never holds a secret, and listen
addresses take host names.

    /usr/bin/python3 test_error_output.py <progress-bridge> <progress-publish>
"""

import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import unittest

BRIDGE, PUBLISH = sys.argv[1], sys.argv[2]
SECRET = "hunter2-" + os.urandom(6).hex()
JWT_SECRET = "jwt-" + os.urandom(24).hex()


def run(*args: str, env: dict | None = None) -> tuple[int, str]:
    done = subprocess.run(list(args), capture_output=True, text=True, timeout=30,
                          env={"PATH": "/usr/bin:/bin", **(env or {})})
    return done.returncode, done.stdout + done.stderr


class SecretsStayOut(unittest.TestCase):
    def assert_usage_error_without_secrets(self, *args: str, env: dict | None = None) -> str:
        code, output = run(*args, env=env)
        self.assertEqual(code, 2, output)
        self.assertNotIn(SECRET, output)
        self.assertNotIn(JWT_SECRET, output)
        return output

    def test_bridge(self):
        for args in (
            ["--mqtt-pasword", SECRET, "--jwt-secret", JWT_SECRET],
            ["--mqtt-password", SECRET, "--jwt-secert", JWT_SECRET],
            ["--jwt-secret=" + JWT_SECRET, "--mqtt-pasword=" + SECRET],
            ["--mqtt-password", SECRET, "--jwt-secret", JWT_SECRET, "--mqtt-keepalive", SECRET],
            ["--jwt-secret", JWT_SECRET, "token", "--user", "alice", "--ttl", JWT_SECRET],
            ["--jwt-secret", JWT_SECRET, SECRET],
        ):
            with self.subTest(args=args[:1] + args[2:3]):
                self.assert_usage_error_without_secrets(BRIDGE, *args)
        output = self.assert_usage_error_without_secrets(BRIDGE, "--mqtt-pasword", SECRET,
                                                         env={"BRIDGE_JWT_SECRET": JWT_SECRET})
        self.assertIn("unknown option --mqtt-pasword", output)

    def test_publish(self):
        for args in (
            ["--pasword", SECRET, "--user", "alice", "--job", "j", "--status", "started"],
            ["--password", SECRET, "--timeout", SECRET, "--user", "alice", "--job", "j", "--status", "started"],
            ["--password=" + SECRET, "--phase", SECRET, "--user", "alice", "--job", "j", "--status", "started"],
            ["--user", "alice", "--job", "j", SECRET],
        ):
            with self.subTest(args=args[:1]):
                self.assert_usage_error_without_secrets(PUBLISH, *args)
        output = self.assert_usage_error_without_secrets(PUBLISH, "--pasword", SECRET)
        self.assertIn("unknown option --pasword", output)


class ListenAddresses(unittest.TestCase):
    def test_a_host_name_is_resolved_at_start(self):
        with tempfile.TemporaryDirectory(prefix="progress-listen-") as data:
            bridge = subprocess.Popen(
                [BRIDGE, "--http-listen", "localhost:0", "--admin-listen", "localhost:0", "--data-dir", data,
                 "--mqtt-url", "tcp://127.0.0.1:9"],
                env={"PATH": "/usr/bin:/bin", "BRIDGE_JWT_SECRET": JWT_SECRET},
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            try:
                seen = ""
                deadline = time.monotonic() + 20
                while not re.search(r"listening on http://127\.0\.0\.1:\d+", seen):
                    self.assertIsNone(bridge.poll(), seen)
                    self.assertLess(time.monotonic(), deadline, seen)
                    seen += bridge.stdout.readline()
            finally:
                bridge.send_signal(signal.SIGTERM)
                bridge.communicate(timeout=20)

    def test_a_bad_address_says_what_is_expected(self):
        for flag in ("--http-listen", "--admin-listen"):
            for value in ("8080", "no-such-host.invalid:8080", "localhost:http"):
                with self.subTest(flag=flag, value=value):
                    code, output = run(BRIDGE, flag, value, env={"BRIDGE_JWT_SECRET": JWT_SECRET})
                    self.assertEqual(code, 2, output)
                    self.assertIn(f"{flag}: expected host:port with an IP address or a host name that resolves",
                                  output)
                    self.assertIn("localhost:8080", output)


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1], verbosity=2)
