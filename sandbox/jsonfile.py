"""Atomic JSON files and the Hub's date format."""

from __future__ import annotations

import json
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


def write_json(path: Path, data: Any) -> None:
    """Write `data` to `path` atomically (temp file in the same folder, then `os.replace`)."""
    write_bytes(path, json.dumps(data, indent=1, sort_keys=True).encode())


def write_bytes(path: Path, content: bytes) -> None:
    """Write `content` to `path` atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(content)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_json(path: Path) -> Any:
    return json.loads(path.read_text())


def now_iso() -> str:
    """Now as the Hub writes dates: `2026-01-02T03:04:05.000Z` (a `+00:00` suffix breaks clients)."""
    return iso(datetime.now(UTC))


def iso(moment: datetime) -> str:
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
