"""A real Mosquitto running the project's broker-config (render-config, accounts by
progress-user) on a free loopback port and the real progress-bridge, as child
processes for the integration tests. Paths come from the environment (ctest sets
them): PROGRESS_BROKER_CONFIG, PROGRESS_BRIDGE_BINARY, MOSQUITTO."""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, TypeVar

import paho.mqtt.client as mqtt

ACCOUNTS = ("worker", "bridge", "alice", "bob")
T = TypeVar("T")


def required_env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise RuntimeError(f"{name} is not set (ctest sets it; see tests/sdk/CMakeLists.txt)")
    return value


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(what: str, condition: Callable[[], Optional[T]], timeout: float = 15.0) -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)


class Child:
    """A child process whose output goes to a file in the test directory."""

    def __init__(self, name: str, args: List[str], directory: Path, env: Optional[Dict[str, str]] = None) -> None:
        self.name = name
        self.log_path = directory / f"{name}.log"
        self._log = open(self.log_path, "wb")
        self.process = subprocess.Popen(
            args, stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env={**os.environ, **(env or {})}
        )

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, kill: bool = False) -> None:
        if self.process.poll() is None:
            self.process.kill() if kill else self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self._log.close()


class System:
    """Mosquitto and the bridge; stop() ends both and removes the directory."""

    def __init__(self) -> None:
        broker_config = Path(required_env("PROGRESS_BROKER_CONFIG"))
        self.bridge_binary = required_env("PROGRESS_BRIDGE_BINARY")
        self.dir = Path(tempfile.mkdtemp(prefix="progress-sdk-py-"))
        self.passwords = {account: f"{account}-{secrets.token_hex(9)}" for account in ACCOUNTS}
        self.jwt_secret = secrets.token_hex(32)
        self.children: List[Child] = []
        try:
            port, ws_port = free_port(), free_port()
            subprocess.run([str(broker_config / "render-config"), str(self.dir), "--port", str(port),
                            "--ws-port", str(ws_port)], check=True, capture_output=True)
            for account, password in self.passwords.items():
                subprocess.run([str(broker_config / "progress-user"), "add", str(self.dir / "passwd"), account, password],
                               check=True, capture_output=True)
            self.port = port
            self.start_broker()
            self.mqtt_url = f"tcp://127.0.0.1:{port}"
            bridge = Child("progress-bridge", [
                self.bridge_binary, "--mqtt-url", self.mqtt_url, "--mqtt-username", "bridge",
                "--mqtt-client-id", f"bridge-{secrets.token_hex(4)}", "--http-listen", "127.0.0.1:0",
                "--admin-listen", "127.0.0.1:0",
                "--data-dir", str(self.dir / "bridge-data"),
            ], self.dir, {"BRIDGE_JWT_SECRET": self.jwt_secret, "BRIDGE_MQTT_PASSWORD": self.passwords["bridge"]})
            self.children.append(bridge)
            match = wait_for("the bridge to listen", lambda: self._listening(bridge))
            self.bridge_url = f"http://127.0.0.1:{match.group(1)}"
        except BaseException:
            self.stop()
            raise

    def start_broker(self) -> None:
        """Starts Mosquitto (again: the same port, accounts and retained messages)."""
        self.mosquitto = Child("mosquitto", [os.environ.get("MOSQUITTO", "/usr/sbin/mosquitto"), "-c",
                                             str(self.dir / "mosquitto.conf")], self.dir)
        self.children.insert(0, self.mosquitto)
        wait_for("mosquitto to accept connections", lambda: self._accepts(self.port, self.mosquitto))

    def stop_broker(self) -> None:
        self.mosquitto.stop()

    @staticmethod
    def _accepts(port: int, child: Child) -> bool:
        if child.process.poll() is not None:
            raise RuntimeError(f"mosquitto stopped:\n{child.output()}")
        with socket.socket() as s:
            return s.connect_ex(("127.0.0.1", port)) == 0

    @staticmethod
    def _listening(child: Child) -> Optional["re.Match[str]"]:
        if child.process.poll() is not None:
            raise RuntimeError(f"progress-bridge stopped:\n{child.output()}")
        return re.search(r"progress-bridge \S+ listening on http://127\.0\.0\.1:(\d+)", child.output())

    def stop(self) -> None:
        for child in reversed(self.children):
            child.stop()
        if not os.environ.get("PROGRESS_KEEP_TEST_DIRS"):
            shutil.rmtree(self.dir, ignore_errors=True)

    def logs(self) -> str:
        return "\n".join(f"--- {c.name}\n{c.output()[-4000:]}" for c in self.children)

    def token(self, user: str) -> str:
        result = subprocess.run([self.bridge_binary, "token", "--user", user], check=True, capture_output=True, text=True,
                                env={**os.environ, "BRIDGE_JWT_SECRET": self.jwt_secret})
        return result.stdout.strip()

    def rest_job(self, user: str, job: str) -> Optional[Dict[str, Any]]:
        request = urllib.request.Request(f"{self.bridge_url}/api/v1/users/{user}/jobs/{job}",
                                         headers={"Authorization": f"Bearer {self.token(user)}"})
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError:
            return None


class Reader:
    """A plain paho client of `account` (not the SDK) that collects what it receives."""

    def __init__(self, system: System, account: str, *filters: str) -> None:
        self.messages: List[Any] = []
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        self.client = mqtt.Client(client_id=f"{account}-{secrets.token_hex(4)}", protocol=mqtt.MQTTv5) if not hasattr(
            mqtt, "CallbackAPIVersion") else mqtt.Client(mqtt.CallbackAPIVersion.VERSION2,
                                                         client_id=f"{account}-{secrets.token_hex(4)}",
                                                         protocol=mqtt.MQTTv5)
        self.client.username_pw_set(account, system.passwords[account])
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", system.port)
        self.client.loop_start()
        for topic_filter in filters:
            self.client.subscribe(topic_filter, qos=1)

    def _on_message(self, client: Any, userdata: Any, message: Any) -> None:
        with self._lock:
            self.messages.append((message.topic, bytes(message.payload), bool(message.retain)))

    def received(self, topic: str) -> List[Any]:
        with self._lock:
            return [m for m in self.messages if m[0] == topic]

    def publish(self, topic: str, payload: str) -> None:
        info = self.client.publish(topic, payload, qos=1, retain=True)
        info.wait_for_publish(10)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
