"""scripts/quickstart.sh run by a test, as a user runs it in a terminal.

It runs with --no-build against the build under test, on free loopback ports,
with its state in a temporary RUN_DIR, in a session of its own: stop() sends
SIGINT to the whole process group, as Ctrl-C in a terminal does.
Standard library only.
"""

import os
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

READY_LINE = "Press Ctrl-C to stop."


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class QuickStart:
    def __init__(self, project_root: Path, build_dir: Path, run_dir: Path):
        self.project_root = project_root
        self.run_dir = run_dir
        env = dict(os.environ)
        env.update(
            BUILD_DIR=str(build_dir),
            RUN_DIR=str(run_dir),
            MQTT_PORT=str(free_port()),
            MQTT_WS_PORT=str(free_port()),
            HTTP_PORT=str(free_port()),
            ADMIN_PORT=str(free_port()),
        )
        self.process = subprocess.Popen(
            [str(project_root / "scripts" / "quickstart.sh"), "--no-build"],
            cwd=project_root,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self._lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        with self.process.stdout:
            for line in self.process.stdout:
                self._lines.append(line)

    @property
    def output(self) -> str:
        return "".join(self._lines)

    def wait_ready(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while READY_LINE not in self.output:
            if self.process.poll() is not None:
                self._reader.join(5)
                raise AssertionError(f"the quick start ended before it was ready:\n{self.output}")
            if time.monotonic() > deadline:
                raise AssertionError(f"the quick start was not ready within {timeout} s:\n{self.output}")
            time.sleep(0.1)

    def children(self) -> dict[str, int]:
        """The quick start's child processes by program name."""
        found = {}
        for task in Path(f"/proc/{self.process.pid}/task").iterdir():
            for pid in (task / "children").read_text().split():
                try:
                    found[Path(f"/proc/{pid}/comm").read_text().strip()] = int(pid)
                except OSError:
                    pass
        return found

    def ctrl_c(self) -> None:
        os.killpg(self.process.pid, signal.SIGINT)

    def wait_exit(self, timeout: float = 30) -> int:
        code = self.process.wait(timeout)
        self._reader.join(5)
        return code

    def close(self) -> None:
        """Stops whatever is left (the process group is this test's own)."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
