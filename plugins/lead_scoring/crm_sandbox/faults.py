"""Injected faults, HubSpot's rate limits and the request counters of the sandbox."""

from __future__ import annotations

import hashlib
import random
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any


class UnknownFaultError(ValueError):
    """A fault name or value the sandbox does not know."""


@dataclass
class FaultSettings:
    """What can go wrong. Zero/empty means off. Shares are 0..1."""

    ten_secondly_429_seconds: float = 0.0  # HubSpot answers 429 TEN_SECONDLY_ROLLING for N s
    daily_limit_exhausted: bool = False  # HubSpot 429 DAILY; Salesforce 403 REQUEST_LIMIT_EXCEEDED
    server_error_next: int = 0  # the next N API requests answer server_error_status
    server_error_share: float = 0.0  # this share of API requests answers server_error_status
    server_error_status: int = 503
    delay_seconds: float = 0.0  # slow responses (a delay past the client's timeout = timeout)
    delay_next: int = 0  # only the next N requests are delayed (0: all while delay_seconds > 0)
    reject_share: float = 0.0  # share of written inputs rejected (stable per match key)
    reject_ids: list[str] = field(default_factory=list)  # match keys / record ids to reject
    empty_results_next: int = 0  # next N batch/composite writes: 2xx, no results, no errors
    unable_to_lock_row_share: float = 0.0  # parallel Bulk jobs: UNABLE_TO_LOCK_ROW on this share
    unable_to_lock_row_ids: list[str] = field(default_factory=list)  # ... or on these keys
    bulk_fail_after_records: int = 0  # the next Bulk job to run fails after N records


def _stable_share(key: str, salt: str) -> float:
    digest = hashlib.sha1(f"{salt}:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def _coerce(name: str, default: Any, value: Any) -> Any:
    try:
        if isinstance(default, list):
            items = value.split(",") if isinstance(value, str) else value
            return [str(v).strip() for v in items if str(v).strip()]
        if isinstance(default, bool):
            if isinstance(value, str):
                return value.strip().lower() in ("1", "true", "yes", "on")
            return bool(value)
        return type(default)(value)
    except (TypeError, ValueError) as exc:
        raise UnknownFaultError(
            f"fault {name!r} needs a {type(default).__name__}, got {value!r}"
        ) from exc


class Faults:
    """Thread-safe fault switches, set at start, by ``/_sandbox/faults`` or from Python."""

    def __init__(self, seed: int = 0):
        self._lock = threading.Lock()
        self._settings = FaultSettings()
        self._ten_secondly_until = 0.0
        self._random = random.Random(seed)

    def set(self, **changes: Any) -> dict[str, Any]:
        known = {f.name for f in fields(FaultSettings)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise UnknownFaultError(
                f"unknown fault {unknown[0]!r}; known faults: {', '.join(sorted(known))}"
            )
        with self._lock:
            for name, value in changes.items():
                value = _coerce(name, getattr(FaultSettings(), name), value)
                setattr(self._settings, name, value)
                if name == "ten_secondly_429_seconds":
                    self._ten_secondly_until = time.monotonic() + float(value)
        return self.snapshot()

    def clear(self) -> None:
        with self._lock:
            self._settings = FaultSettings()
            self._ten_secondly_until = 0.0

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            data = {f.name: getattr(self._settings, f.name) for f in fields(FaultSettings)}
            data["ten_secondly_429_remaining_s"] = max(
                0.0, round(self._ten_secondly_until - time.monotonic(), 3)
            )
        return data

    # -- checks used by the servers --------------------------------------------------------
    def ten_secondly_active(self) -> bool:
        return time.monotonic() < self._ten_secondly_until

    def daily_exhausted(self) -> bool:
        return self._settings.daily_limit_exhausted

    def take_server_error(self) -> int | None:
        with self._lock:
            s = self._settings
            if s.server_error_next > 0:
                s.server_error_next -= 1
                return s.server_error_status
            if s.server_error_share > 0 and self._random.random() < s.server_error_share:
                return s.server_error_status
        return None

    def take_delay(self) -> float:
        with self._lock:
            s = self._settings
            if s.delay_seconds <= 0:
                return 0.0
            delay = s.delay_seconds
            if s.delay_next > 0:
                s.delay_next -= 1
                if s.delay_next == 0:
                    s.delay_seconds = 0.0
            return delay

    def take_empty_results(self) -> bool:
        with self._lock:
            if self._settings.empty_results_next > 0:
                self._settings.empty_results_next -= 1
                return True
        return False

    def take_bulk_fail_after(self) -> int | None:
        """For the Bulk job that starts processing now: fail after this many records."""
        with self._lock:
            limit = self._settings.bulk_fail_after_records
            self._settings.bulk_fail_after_records = 0
        return limit or None

    def rejects(self, *keys: str | None) -> bool:
        s = self._settings
        present = [str(k) for k in keys if k not in (None, "")]
        if any(k in s.reject_ids or k.lower() in s.reject_ids for k in present):
            return True
        return bool(present) and _stable_share(present[0].lower(), "reject") < s.reject_share

    def locks_row(self, key: str) -> bool:
        s = self._settings
        if key in s.unable_to_lock_row_ids:
            return True
        return _stable_share(key, "lock") < s.unable_to_lock_row_share


class RateLimiter:
    """HubSpot's two policies: a rolling ten-second window and a daily count (UTC day)."""

    interval_ms = 10_000

    def __init__(self, per_10s: int, daily: int):
        self.per_10s = per_10s
        self.daily = daily
        self._lock = threading.Lock()
        self._window: deque[float] = deque()
        self._day = ""
        self._daily_used = 0

    def reset(self) -> None:
        with self._lock:
            self._window.clear()
            self._daily_used = 0

    def _roll(self, now: float) -> None:
        while self._window and now - self._window[0] >= self.interval_ms / 1000:
            self._window.popleft()
        today = datetime.now(UTC).strftime("%Y-%m-%d")
        if today != self._day:
            self._day, self._daily_used = today, 0

    def acquire(self) -> str | None:
        """Count one request; the name of the exceeded policy if it may not run."""
        with self._lock:
            now = time.monotonic()
            self._roll(now)
            if self._daily_used >= self.daily:
                return "DAILY"
            if len(self._window) >= self.per_10s:
                return "TEN_SECONDLY_ROLLING"
            self._window.append(now)
            self._daily_used += 1
            return None

    def headers(self) -> dict[str, str]:
        with self._lock:
            self._roll(time.monotonic())
            return {
                "X-HubSpot-RateLimit-Max": str(self.per_10s),
                "X-HubSpot-RateLimit-Remaining": str(max(0, self.per_10s - len(self._window))),
                "X-HubSpot-RateLimit-Interval-Milliseconds": str(self.interval_ms),
                "X-HubSpot-RateLimit-Daily": str(self.daily),
                "X-HubSpot-RateLimit-Daily-Remaining": str(max(0, self.daily - self._daily_used)),
            }


class Stats:
    """Request counts per server, endpoint and status."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[tuple[str, str, int]] = Counter()

    def record(self, server: str, endpoint: str, status: int) -> None:
        with self._lock:
            self._counts[(server, endpoint, status)] += 1

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            items = sorted(self._counts.items())
        requests: dict[str, dict[str, int]] = {}
        by_status: Counter[str] = Counter()
        for (server, endpoint, status), n in items:
            requests.setdefault(f"{server} {endpoint}", {})[str(status)] = n
            by_status[f"{server} {status}"] += n
        return {
            "requests": requests,
            "by_status": dict(by_status),
            "total": sum(n for _, n in items),
        }
