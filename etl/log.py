"""What a run tells the operator while it works: log lines (text or JSON) and a progress bar on a terminal."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, TextIO

import orjson


@dataclass(slots=True)
class _Bar:
    label: str
    done: int
    total: int
    drawn: float  # when it was last drawn (or logged)
    started: float
    items: int | None = None  # what is counted when ``done`` is another measure (bytes read)
    unit: str = ""  # of ``items`` (« annonces »)


class RunLog:
    """``fmt`` is ``text`` or ``json``. Progress bars only on a terminal and in text mode; elsewhere
    a progress started with ``unit`` is logged as a plain line every ``progress_every`` seconds."""

    def __init__(self, fmt: str = "text", stream: TextIO | None = None, *, progress_every: float = 10.0):
        self.fmt = fmt
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty() and fmt == "text"
        self.progress_every = progress_every
        self._bar: _Bar | None = None

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

    def start_progress(self, label: str, total: int, *, unit: str = "") -> None:
        """``unit``: ``done`` measures something else (bytes read), and ``items`` of ``unit`` are
        shown with their rate; ``total`` 0 when unknown (no bar, no time left)."""
        now = time.monotonic()
        self._bar = _Bar(label, 0, total, now, now, 0 if unit else None, unit)
        self._draw(force=True)

    def advance(self, n: int = 1) -> None:
        if self._bar is None:
            return
        self._bar.done += n
        self._draw()

    def progress_to(self, done: int, items: int, total: int = 0) -> None:
        """Absolute progress: ``done`` of ``total`` (0: unknown), ``items`` counted so far."""
        bar = self._bar
        if bar is None:
            return
        if total:
            bar.done, bar.total = done, total
        bar.items = items
        self._draw()

    def end_progress(self) -> None:
        if self._bar is not None:
            self._draw(force=True)
            if self.tty:
                self.stream.write("\n")
            self._bar = None

    def _draw(self, force: bool = False) -> None:
        bar = self._bar
        if bar is None or not (self.tty or bar.unit):
            return
        now = time.monotonic()
        finished = self.tty and bar.total and bar.done >= bar.total  # the last step of a bar is drawn
        if not force and now - bar.drawn < (0.1 if self.tty else self.progress_every) and not finished:
            return
        if not self.tty and force and now - bar.started < self.progress_every:
            return  # a log line at the start, or at the end of a short piece of work, says nothing
        bar.drawn = now
        done, total = bar.done, bar.total
        if bar.items is None:
            counts = f"{done}/{total}"
        else:
            elapsed = now - bar.started
            rate = bar.items / elapsed if elapsed > 0 else 0.0
            counts = f"{_thousands(bar.items)} {bar.unit}, {_thousands(round(rate))}/s"
            if total and done and elapsed > 0:
                left = elapsed * (total - done) / done
                counts += f", reste {int(left // 60)}:{int(left % 60):02d}"
        if not self.tty:
            share = f"{100 * done // total} % — " if total else ""
            self.event("progress", f"{bar.label} : {share}{counts}", done=done, total=total, items=bar.items)
            return
        width = 30
        filled = min(width, int(width * done / total)) if total else (width if bar.items is None else 0)
        shown = f"[{'#' * filled}{'.' * (width - filled)}] " if total or bar.items is None else ""
        self.stream.write(f"\r\x1b[K{bar.label} {shown}{counts}")
        self.stream.flush()

    def _clear_bar(self) -> None:
        if self.tty and self._bar is not None:
            self.stream.write("\r\x1b[K")


def _thousands(n: int) -> str:
    return f"{n:,}".replace(",", "\u202f")  # French: a narrow no-break space between thousands
