"""scripts/quickstart.sh: it writes .run/env, Ctrl-C stops it cleanly, and a child
that dies on its own is named with its log.

    /usr/bin/python3 test_quickstart.py <project root> <build dir>
"""

import os
import shlex
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

from quickstart_run import QuickStart

PROJECT_ROOT = Path(sys.argv[1]).resolve() if len(sys.argv) > 1 else Path(__file__).resolve().parents[2]
BUILD_DIR = Path(sys.argv[2]).resolve() if len(sys.argv) > 2 else PROJECT_ROOT / "build"


class QuickStartTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="progress-quickstart-")
        self.quick = QuickStart(PROJECT_ROOT, BUILD_DIR, Path(self.tmp.name) / "run")
        self.addCleanup(self.tmp.cleanup)
        self.addCleanup(self.quick.close)
        self.quick.wait_ready()

    def test_env_file_sets_up_a_shell_and_ctrl_c_stops_cleanly(self):
        env_file = self.quick.run_dir / "env"
        self.assertIn(f"source {env_file}", self.quick.output)
        self.assertEqual(env_file.stat().st_mode & 0o777, 0o600)
        # The file alone is enough: a clean environment, the variables it promises.
        script = (
            f"set -eu; source {shlex.quote(str(env_file))}; "
            'command -v progress-bridge progress-publish >/dev/null; '
            'test -n "$BRIDGE_JWT_SECRET"; '
            'curl -sf -H "Authorization: Bearer $TOKEN" "$BRIDGE_URL/api/v1/session"; echo; '
            'curl -sf "$ADMIN_URL/readyz" >/dev/null; '
            'progress-publish --user alice --job env-check --status started; '
            'case $MQTT_URL in tcp://127.0.0.1:*) ;; *) exit 9;; esac'
        )
        shell = subprocess.run(["bash", "-c", script], env={"PATH": os.environ["PATH"], "HOME": self.tmp.name},
                               capture_output=True, text=True, timeout=60)
        self.assertEqual(shell.returncode, 0, shell.stdout + shell.stderr)
        self.assertIn('"userId":"alice"', shell.stdout)

        self.quick.ctrl_c()
        self.assertEqual(self.quick.wait_exit(), 0, self.quick.output)
        tail = self.quick.output.split("Press Ctrl-C to stop.", 1)[1]
        self.assertIn("Ctrl-C: stopping mosquitto, the bridge and the demo worker", tail)
        self.assertIn("stopped; logs and credentials stay in", tail)
        self.assertNotIn("on its own", tail)

    def test_a_child_that_dies_is_named_with_its_log(self):
        bridge = self.quick.children()["progress-bridge"]
        os.kill(bridge, 9)
        self.assertEqual(self.quick.wait_exit(), 1, self.quick.output)
        tail = self.quick.output.split("Press Ctrl-C to stop.", 1)[1]
        self.assertIn("progress-bridge stopped on its own (exit status 137)", tail)
        self.assertIn(f"its log, {self.quick.run_dir / 'bridge.log'}, ends with:", tail)
        self.assertNotIn("Ctrl-C", tail)


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1], verbosity=2)
