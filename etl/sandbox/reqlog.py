"""The request log: what reached the sandbox and how it answered.

Tests and the demo read it (in process or through ``GET /_sandbox/requests``) to
check claims such as "zero API calls on an unchanged night" or "the token was
requested once". Kept in memory, bounded, never persisted: it describes one
server's lifetime.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Any

from etl.sandbox.engine import iso


class RequestLog:
    def __init__(self, size: int) -> None:
        self._entries: deque[dict[str, Any]] = deque(maxlen=size)
        self._seq = 0
        self._lock = threading.Lock()

    def add(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self._seq += 1
            now = time.time()
            self._entries.append({"seq": self._seq, "time": iso(now), "t": now, **entry})

    def entries(self, *, since: int = 0, path_prefix: str | None = None, kind: str | None = None,
                limit: int | None = None) -> list[dict[str, Any]]:
        with self._lock:
            found = [e for e in self._entries
                     if e["seq"] > since
                     and (path_prefix is None or e["path"].startswith(path_prefix))
                     and (kind is None or e["kind"] == kind)]
        return found[:limit] if limit is not None else found

    @property
    def last_seq(self) -> int:
        return self._seq

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
