"""Fault injection: the ways the real API refuses, fails and lags, replayable under a seed.

Every request subject to faults draws the same number of values from the
generator whatever the configuration, so request *n* meets the same fate in two
runs with the same seed and the same order of requests. A scripted fault (the
``script`` list) applies to the next matching request before any random draw: the
tool for tests that want "this POST gets a 503, the retry succeeds".
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from etl.sandbox.config import FaultConfig


@dataclass(frozen=True, slots=True)
class Decision:
    # None: answer normally. "rate_limit" / "throttle": 429. "error": a 5xx.
    # "precondition_failed": 412, unprocessed (conditional PUTs only).
    # "drop": close the connection unanswered. "lost_response": process, then close unanswered.
    kind: str | None = None
    status: int | None = None
    retry_after_s: int | None = None
    delay_s: float = 0.0


NO_FAULT = Decision()


class FaultInjector:
    def __init__(self, faults: FaultConfig, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self.configure(faults)

    @property
    def faults(self) -> FaultConfig:
        """The configuration in force; ``script`` lists the scripted faults not yet consumed."""
        with self._lock:
            return self._faults.model_copy(update={"script": list(self._script)})

    def configure(self, faults: FaultConfig) -> None:
        """Apply a new fault configuration; the generator restarts from its seed."""
        with self._lock:
            self._faults = faults
            self._rng = random.Random(faults.seed)
            self._script = list(faults.script)
            self._capacity = float(faults.rate_limit_burst or max(1, math.ceil(faults.rate_limit_per_s or 1)))
            self._tokens = self._capacity
            self._refilled_at = self._clock()

    def decide(self, method: str, path: str, *, conditional: bool = False) -> Decision:
        """The fate of one request; ``conditional``: a PUT of a classified carrying If-Match."""
        with self._lock:
            f = self._faults
            for i, scripted in enumerate(self._script):
                if scripted.matches(method, path, conditional=conditional):
                    del self._script[i]
                    return _scripted(scripted.action, scripted.status, scripted.retry_after_s, scripted.delay_ms)
            if f.rate_limit_per_s is not None:
                limited = self._take_token(f.rate_limit_per_s)
                if limited is not None:
                    return Decision("rate_limit", 429, limited)
            # Fixed number of draws per request, whatever the configuration: see module doc.
            u_drop, u_error, u_throttle, u_lost, u_jitter, u_pick, u_precondition = (
                self._rng.random() for _ in range(7))
            if f.methods is not None and method not in {m.upper() for m in f.methods}:
                return NO_FAULT
            delay = (f.latency_ms + f.latency_jitter_ms * u_jitter) / 1000
            if u_drop < f.drop_rate:
                return Decision("drop", delay_s=delay)
            if u_error < f.error_rate:
                status = f.error_statuses[min(int(u_pick * len(f.error_statuses)), len(f.error_statuses) - 1)]
                return Decision("error", status, delay_s=delay)
            if u_throttle < f.throttle_rate:
                return Decision("throttle", 429, f.retry_after_s, delay_s=delay)
            # After the gateway's faults (drop, 5xx, 429): a 412 comes from the API itself.
            if conditional and u_precondition < f.precondition_failed_rate:
                return Decision("precondition_failed", 412, delay_s=delay)
            if u_lost < f.lost_response_rate:
                return Decision("lost_response", delay_s=delay)
            return Decision(delay_s=delay) if delay else NO_FAULT

    def _take_token(self, rate: float) -> int | None:
        """None when the request may pass; otherwise the seconds to wait (Retry-After)."""
        now = self._clock()
        self._tokens = min(self._capacity, self._tokens + (now - self._refilled_at) * rate)
        self._refilled_at = now
        if self._tokens >= 1:
            self._tokens -= 1
            return None
        return max(1, math.ceil((1 - self._tokens) / rate))


def _scripted(action: str, status: int, retry_after_s: int, delay_ms: float) -> Decision:
    delay = delay_ms / 1000
    match action:
        case "error":
            return Decision("error", status, delay_s=delay)
        case "throttle":
            return Decision("throttle", 429, retry_after_s, delay_s=delay)
        case "drop" | "lost_response":
            return Decision(action, delay_s=delay)
        case "precondition_failed":
            return Decision(action, 412, delay_s=delay)
    return Decision(delay_s=delay)
