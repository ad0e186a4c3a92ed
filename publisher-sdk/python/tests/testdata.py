"""Reads the shared protocol vectors (protocol/testdata, see its README.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

TESTDATA = Path(__file__).resolve().parents[3] / "protocol" / "testdata"


def load_vectors(name: str) -> Any:
    return json.loads((TESTDATA / name).read_text(encoding="utf-8"))


def bytes_of(spec: Any) -> bytes:
    """The bytes of a byte spec: text, {hex}, {repeat, times} or {concat}."""
    if isinstance(spec, str):
        return spec.encode("utf-8")
    if "hex" in spec:
        return bytes.fromhex(spec["hex"])
    if "repeat" in spec:
        return bytes_of(spec["repeat"]) * spec["times"]
    return b"".join(bytes_of(part) for part in spec["concat"])


def text_of(spec: Any) -> str:
    return bytes_of(spec).decode("utf-8")
