"""What a run tells the operator while it works: log lines (text or JSON) and a progress bar on a terminal."""

from __future__ import annotations

import sys
import time
from datetime import datetime, timezone
from typing import Any, TextIO

import orjson


class RunLog:
    """``fmt`` is ``text`` or ``json``. Progress bars only on a terminal and in text mode."""

    def __init__(self, fmt: str = "text", stream: TextIO | None = None):
        self.fmt = fmt
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty() and fmt == "text"
        self._bar: tuple[str, int, int, float] | None = None

    def event(self, event: str, message: str = "", *, level: str = "info", **fields: Any) -> None:
        self._clear_bar()
        if self.fmt == "json":
            rec = {"ts": datetime.now(timezone.utc).isoformat(timespec="milliseconds"), "level": level,
                   "event": event, "message": message, **fields}
            self.stream.write(orjson.dumps(rec, default=str).decode() + "\n")
        else:
            # in text the message already says it all; only identifiers support asks for are appended
            extra = " ".join(f"{k}={fields[k]}" for k in ("op", "key", "traceparent") if fields.get(k))
            agency = f"[{fields['agency']}] " if fields.get("agency") else ""
            self.stream.write(f"{time.strftime('%H:%M:%S')} {level.upper():5} {agency}{message or event}"
                              f"{' ' + extra if extra else ''}\n")
        self.stream.flush()

    def start_progress(self, label: str, total: int) -> None:
        self._bar = (label, 0, total, 0.0)
        self._draw(force=True)

    def advance(self, n: int = 1) -> None:
        if self._bar is None:
            return
        label, done, total, last = self._bar
        self._bar = (label, done + n, total, last)
        self._draw()

    def end_progress(self) -> None:
        if self._bar is not None:
            self._draw(force=True)
            if self.tty:
                self.stream.write("\n")
            self._bar = None

    def _draw(self, force: bool = False) -> None:
        if not self.tty or self._bar is None:
            return
        label, done, total, last = self._bar
        now = time.monotonic()
        if not force and now - last < 0.1 and done != total:
            return
        self._bar = (label, done, total, now)
        width = 30
        filled = int(width * done / total) if total else width
        self.stream.write(f"\r{label} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
        self.stream.flush()

    def _clear_bar(self) -> None:
        if self.tty and self._bar is not None:
            self.stream.write("\r\x1b[K")
