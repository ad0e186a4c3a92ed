"""Runs the shell examples of the docs against a real system, as a reader would.

    /usr/bin/python3 run_doc_examples.py <project root> <build dir> docs/api.md ...

The system is the quick start's (scripts/quickstart.sh --no-build: Mosquitto with
the project's broker-config, the real bridge, the demo worker), on free loopback
ports. Every ```sh or ```bash block of the given files runs in order, each in its
own `bash` with `set -eo pipefail` after `source .run/env`, from a view of the
clone whose build/ is the build under test, with a HOME of its own. A block that
exits non-zero fails the test.

Conventions the docs follow:
- A block whose first line is a comment starting with `# no-run:` is not run;
  the rest of that line says why (production only, installs packages, streams
  until Ctrl-C, ...). The reader sees the same line.
- curl fails on an HTTP error here (`fail-with-body` in the .curlrc of the
  test's HOME), so a `curl -s` example proves the request was answered 2xx/3xx.
- PATH starts with /usr/bin, as on a Debian machine (`python3` is Debian's).
"""

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from quickstart_run import QuickStart

NO_RUN = "# no-run:"
FENCE = re.compile(r"^```(\w*)")
BLOCK_TIMEOUT_S = 180


def shell_blocks(path: Path):
    """(line number, text) of each sh/bash block."""
    blocks, lines, start, language = [], None, 0, None
    for number, line in enumerate(path.read_text().splitlines(), 1):
        fence = FENCE.match(line)
        if lines is None and fence:
            lines, start, language = [], number, fence.group(1)
        elif lines is not None and line.startswith("```"):
            if language in ("sh", "bash"):
                blocks.append((start, "\n".join(lines)))
            lines = None
        elif lines is not None:
            lines.append(line)
    return blocks


def clone_view(project_root: Path, build_dir: Path, into: Path) -> Path:
    """The project's top-level entries as symlinks, with build/ the build under test."""
    into.mkdir()
    for entry in project_root.iterdir():
        if entry.name not in ("build", ".run", ".git"):
            (into / entry.name).symlink_to(entry)
    (into / "build").symlink_to(build_dir)
    return into


def main() -> int:
    project_root, build_dir = Path(sys.argv[1]).resolve(), Path(sys.argv[2]).resolve()
    docs = [project_root / name for name in sys.argv[3:]]
    with tempfile.TemporaryDirectory(prefix="progress-docs-") as tmp:
        tmp = Path(tmp)
        home = tmp / "home"
        home.mkdir()
        (home / ".curlrc").write_text("fail-with-body\nmax-time = 60\n")
        clone = clone_view(project_root, build_dir, tmp / "clone")
        quick = QuickStart(project_root, build_dir, tmp / "run")
        try:
            quick.wait_ready()
            env = {
                "PATH": "/usr/bin:/bin:" + os.environ.get("PATH", ""),
                "HOME": str(home),
                "CURL_HOME": str(home),
                "LANG": "C.UTF-8",
            }
            return run_all(docs, clone, quick.run_dir / "env", env)
        finally:
            quick.ctrl_c()
            try:
                quick.wait_exit()
            finally:
                quick.close()


def run_all(docs, clone: Path, env_file: Path, env: dict) -> int:
    failures, ran, skipped = [], 0, 0
    for doc in docs:
        blocks = shell_blocks(doc)
        runnable = [(line, text) for line, text in blocks if not text.lstrip().startswith(NO_RUN)]
        if not runnable:
            failures.append(f"{doc.name}: no runnable sh/bash block found")
        for line, text in blocks:
            where = f"{doc.relative_to(doc.parents[1])}:{line}"
            if text.lstrip().startswith(NO_RUN):
                skipped += 1
                print(f"-- {where}: not run ({text.lstrip().splitlines()[0][len(NO_RUN):].strip()})")
                continue
            ran += 1
            script = f'set -eo pipefail\nsource "{env_file}"\n{text}\n'
            try:
                done = subprocess.run(["bash", "-c", script], cwd=clone, env=env, capture_output=True,
                                      text=True, timeout=BLOCK_TIMEOUT_S)
                code, output = done.returncode, done.stdout + done.stderr
            except subprocess.TimeoutExpired as e:
                code, output = "timeout", f"{e.stdout or ''}{e.stderr or ''}"
            status = "ok" if code == 0 else f"FAILED ({code})"
            print(f"{'ok' if code == 0 else '!!'} {where}: {status}")
            if code != 0:
                failures.append(f"{where} exited {code}:\n{text}\n--- output ---\n{output[-3000:]}")
    print(f"{ran} blocks run, {skipped} marked no-run, {len(failures)} failed")
    for failure in failures:
        print(f"\n{failure}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
