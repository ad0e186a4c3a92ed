"""The transport over paho-mqtt (MQTT v5), for paho-mqtt 1.6 (Debian 12's
python3-paho-mqtt) and 2.x.

- presence: the Last Will puts a retained {"status":"offline",...} on
  workers/<workerId>/status when the connection dies; every connect publishes
  {"status":"online",...} there, and disconnect() publishes "offline" itself (the
  broker discards the Will on a clean disconnect);
- subscriptions (QoS 1) are made again after every reconnect (the session starts
  clean); their messages go to the message handler on paho's network thread;
- reconnects on its own (1 s, doubling up to 30 s); QoS 1 messages handed over
  while the connection is down wait in paho's queue and leave on reconnect (the
  publisher bounds how many with max_buffered).

paho-mqtt 1.6 reads the reason code of a PUBACK but does not pass it on; the
client subclass below keeps it, so that a refusal (0x87 Not authorized) is told
apart from an acknowledgement. paho-mqtt 2.x passes it to on_publish itself."""

from __future__ import annotations

import json
import ssl
import struct
import threading
import time
from typing import Any, Dict, Optional
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt

from .errors import PublishError
from .publisher import Completion, MessageHandler, PublisherOptions
from .topic import worker_status_topic

KEEPALIVE_S = 20
RECONNECT_MIN_S = 1
RECONNECT_MAX_S = 30

_PAHO_2 = hasattr(mqtt, "CallbackAPIVersion")


class _PubackKeepingClient(mqtt.Client):  # type: ignore[misc]
    """paho-mqtt 1.6: remembers each PUBACK's reason code for on_publish."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.puback_reason_codes: Dict[int, int] = {}

    def _handle_pubackcomp(self, cmd: Any) -> Any:
        packet = self._in_packet["packet"]
        if cmd == "PUBACK" and self._in_packet["remaining_length"] > 2:
            (mid,) = struct.unpack("!H", packet[:2])
            self.puback_reason_codes[mid] = packet[2]
        return super()._handle_pubackcomp(cmd)


def _reason_value(code: Any) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    return int(getattr(code, "value", 0))


def _host_port_tls(url: str) -> tuple:
    parts = urlsplit(url)
    scheme = parts.scheme or "tcp"
    if scheme not in ("tcp", "mqtt", "ssl", "mqtts"):
        raise PublishError("client_error", f"unsupported broker URL {url!r}: use tcp://, mqtt://, ssl:// or mqtts://")
    tls = scheme in ("ssl", "mqtts")
    return parts.hostname or "127.0.0.1", parts.port or (8883 if tls else 1883), tls


def _describe_error(error: BaseException) -> str:
    return str(error) or type(error).__name__


class MqttTransport:
    def __init__(self, options: PublisherOptions) -> None:
        self._options = options
        self._status_topic = worker_status_topic(options.worker_id)
        self._lock = threading.Lock()
        self._pending: Dict[int, Completion] = {}  # mid -> completion; at most max_buffered
        self._early: Dict[int, int] = {}  # acknowledgements that beat publish() returning
        self._subscriptions: Dict[str, Optional[Completion]] = {}  # filter -> completion until first answered
        self._subscribing: Dict[int, str] = {}  # SUBSCRIBE mid -> filter
        self._early_subacks: Dict[int, int] = {}
        self._on_message: Optional[MessageHandler] = None
        self._connected = threading.Event()
        self._connack: Optional[int] = None
        self._disconnected = False
        if _PAHO_2:
            self._client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=options.client_id, protocol=mqtt.MQTTv5)
        else:
            self._client = _PubackKeepingClient(client_id=options.client_id, protocol=mqtt.MQTTv5)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_publish = self._on_publish
        self._client.on_subscribe = self._on_subscribe
        self._client.on_message = self._on_message_arrived

    def _status_payload(self, status: str) -> bytes:
        # Keys sorted, as the C++ SDK writes them.
        return json.dumps(
            {"status": status, "timestamp": time.time_ns() // 1_000_000, "workerId": self._options.worker_id},
            separators=(",", ":"),
        ).encode()

    # --- paho callbacks: run on paho's network thread; they only look up and call ---

    def _on_connect(self, client: Any, userdata: Any, flags: Any, reason_code: Any, properties: Any = None) -> None:
        code = _reason_value(reason_code)
        self._connack = code
        if code < 0x80:
            self._connected.set()
            info = self._client.publish(self._status_topic, self._status_payload("online"), qos=1, retain=True)
            self._track(info.mid, lambda error: None)
            with self._lock:
                filters = list(self._subscriptions)
            for topic_filter in filters:
                self._send_subscribe(topic_filter)

    def _on_disconnect(self, client: Any, userdata: Any, *args: Any) -> None:
        self._connected.clear()

    def _on_publish(self, client: Any, userdata: Any, mid: int, reason_code: Any = None, properties: Any = None) -> None:
        if reason_code is None and isinstance(client, _PubackKeepingClient):
            code = client.puback_reason_codes.pop(mid, 0)
        else:
            code = _reason_value(reason_code)
        with self._lock:
            done = self._pending.pop(mid, None)
            if done is None:
                self._early[mid] = code
                return
        done(PublishError.rejected(code) if code >= 0x80 else None)

    def _on_subscribe(self, client: Any, userdata: Any, mid: int, reason_codes: Any, properties: Any = None) -> None:
        codes = list(reason_codes) if isinstance(reason_codes, (list, tuple)) else [reason_codes]
        code = _reason_value(codes[0]) if codes else 0
        with self._lock:
            topic_filter = self._subscribing.pop(mid, None)
            if topic_filter is None:
                self._early_subacks[mid] = code
                return
        self._answer_subscribe(topic_filter, code)

    def _on_message_arrived(self, client: Any, userdata: Any, message: Any) -> None:
        handler = self._on_message
        if handler is not None:
            try:
                handler(message.topic, bytes(message.payload))
            except Exception:
                pass  # never raise into paho's thread

    def _send_subscribe(self, topic_filter: str) -> None:
        rc, mid = self._client.subscribe(topic_filter, qos=1)
        if rc != mqtt.MQTT_ERR_SUCCESS or mid is None:
            return  # not connected: on_connect subscribes again
        with self._lock:
            early = self._early_subacks.pop(mid, None)
            if early is None:
                self._subscribing[mid] = topic_filter
                return
        self._answer_subscribe(topic_filter, early)

    def _answer_subscribe(self, topic_filter: str, code: int) -> None:
        # The first answer for a filter goes to its subscriber; later ones (after reconnects) find none.
        with self._lock:
            done = self._subscriptions.get(topic_filter)
            if done is None:
                return
            self._subscriptions[topic_filter] = None
        done(PublishError.rejected(code, f"subscription to {topic_filter} refused: ") if code >= 0x80 else None)

    # --- Transport ---

    def set_message_handler(self, handler: MessageHandler) -> None:
        self._on_message = handler

    def subscribe(self, topic_filter: str, done: Completion) -> None:
        with self._lock:
            self._subscriptions[topic_filter] = done
        if self._connected.is_set():
            self._send_subscribe(topic_filter)

    def unsubscribe(self, topic_filter: str) -> None:
        with self._lock:
            self._subscriptions.pop(topic_filter, None)
        if self._connected.is_set():
            self._client.unsubscribe(topic_filter)

    def connect(self) -> None:
        o = self._options
        host, port, tls = _host_port_tls(o.url)
        client = self._client
        if o.username:
            client.username_pw_set(o.username, o.password or None)
        if tls:
            client.tls_set(cert_reqs=ssl.CERT_REQUIRED)
        client.will_set(self._status_topic, self._status_payload("offline"), qos=1, retain=True)
        client.reconnect_delay_set(RECONNECT_MIN_S, RECONNECT_MAX_S)
        try:
            client.connect(host, port, keepalive=KEEPALIVE_S, clean_start=True)
        except (OSError, ValueError) as e:
            raise PublishError("client_error", f"cannot connect to {o.url}: {_describe_error(e)}") from None
        client.loop_start()
        deadline = time.monotonic() + o.connect_timeout
        while not self._connected.wait(0.05):
            code = self._connack
            if code is not None and code >= 0x80:
                self._stop()
                raise PublishError.rejected(code, f"cannot connect to {o.url}: ")
            if time.monotonic() > deadline:
                self._stop()
                raise PublishError("timed_out", f"no answer from {o.url} within {o.connect_timeout:g} s")

    def _stop(self) -> None:
        self._disconnected = True
        try:
            self._client.disconnect()
        finally:
            self._client.loop_stop()

    def publish(self, topic: str, payload: bytes, qos: int, retain: bool, done: Completion) -> None:
        if self._disconnected:
            done(PublishError("closed", "the connection was closed"))
            return
        try:
            info = self._client.publish(topic, payload, qos=qos, retain=retain)
        except Exception as e:  # paho raises ValueError on a bad topic or payload
            done(PublishError("client_error", f"MQTT client error: {_describe_error(e)}"))
            return
        # MQTT_ERR_NO_CONN: queued by paho, sent after the reconnect.
        if info.rc not in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN):
            code = "buffer_full" if info.rc == mqtt.MQTT_ERR_QUEUE_SIZE else "client_error"
            done(PublishError(code, f"MQTT client error {info.rc}: {mqtt.error_string(info.rc)}"))
            return
        self._track(info.mid, done)

    def _track(self, mid: int, done: Completion) -> None:
        with self._lock:
            early = self._early.pop(mid, None)
            if early is None:
                self._pending[mid] = done
                return
        done(PublishError.rejected(early) if early >= 0x80 else None)

    def disconnect(self) -> None:
        if self._disconnected:
            return
        timeout = self._options.connect_timeout
        if self._connected.is_set():
            try:
                info = self._client.publish(self._status_topic, self._status_payload("offline"), qos=1, retain=True)
                info.wait_for_publish(timeout)
            except (RuntimeError, ValueError):
                pass  # the connection dropped meanwhile: the Last Will says offline instead
            # Waits for the messages in flight, as long as connecting may take.
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and self._connected.is_set():
                with self._lock:
                    if not self._pending:
                        break
                time.sleep(0.01)
        self._stop()
        with self._lock:
            left, self._pending = self._pending, {}
            self._early.clear()
        for done in left.values():
            done(PublishError("disconnected", "disconnected before the broker acknowledged"))
