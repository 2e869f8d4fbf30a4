"""Client-side rate limiting and retries shared by both CRM clients.

Every HTTP request of a run passes ``Throttle.acquire`` (a rolling-window limiter a little
below the CRM's own limit, each request counted from its answer, so error responses stay
rare however slow the host), and every retry goes through
``Throttle.retrying``: exponential backoff with full jitter for 5xx, timeouts and empty 2xx
answers; a ten-secondly 429 pauses all workers and the run goes on; a daily 429 stops
the run (``DailyLimitReached``). Retries are made by this loop, not by urllib3, so POSTs
(HubSpot batch upserts, which are idempotent by match key) are retried like any request.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections import deque
from collections.abc import Callable
from enum import Enum
from typing import Any, TypeVar

from lead_scoring.crm_sync.config import SyncOptions
from lead_scoring.crm_sync.errors import DailyLimitReached, DeadlineReached

log = logging.getLogger(__name__)
T = TypeVar("T")
RETRY_STATUSES = frozenset({408, 500, 502, 503, 504})


class Verdict(Enum):
    RETRY = "retry"  # transient: back off and try again
    RATE = "rate"  # ten-secondly 429: everyone pauses, then go on
    DAILY = "daily"  # daily quota spent: stop the run


class TransientAnswer(Exception):
    """A 2xx answer that confirms nothing (empty results and errors): try again."""


class RateLimiter:
    """At most ``max_requests`` requests in any ``window_s``, plus a margin.

    A request enters the window when it starts and, once its answer is back, is counted
    from that moment instead (``finished``): the CRM counted it somewhere between the
    two, so counting from the answer can never run ahead of the CRM's own window, however
    slow this host or the network is. The margin covers the CRM's clock and rounding."""

    def __init__(self, max_requests: int, window_s: float = 10.0, margin_s: float = 0.5):
        self.max_requests = max(1, max_requests)
        self.window_s = window_s + margin_s
        self._times: deque[list[float]] = deque()  # one [time] per request, oldest first
        self._paused_until = 0.0
        self._lock = threading.Lock()

    def pause(self, seconds: float) -> None:
        with self._lock:
            self._paused_until = max(self._paused_until, time.monotonic() + seconds)

    def start(self) -> tuple[float, list[float] | None]:
        """(seconds until a request may start, None), or (0, its slot) when it may start now:
        the slot is recorded and goes to ``finished`` when the answer is back."""
        with self._lock:
            now = time.monotonic()
            if now < self._paused_until:
                return self._paused_until - now, None
            while self._times and now - self._times[0][0] >= self.window_s:
                self._times.popleft()
            if len(self._times) >= self.max_requests:  # the oldest has not expired: > 0
                return self._times[0][0] + self.window_s - now, None
            slot = [now]
            self._times.append(slot)
            return 0.0, slot

    def finished(self, slot: list[float]) -> None:
        with self._lock:
            slot[0] = max(slot[0], time.monotonic())


def verdict_for_response(status: int, body: Any, headers: Any = None) -> Verdict | None:
    """How to treat an HTTP error answer from either CRM (None: not retryable)."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body or "")
    if status == 429:
        try:
            policy = json.loads(text).get("policyName", "")
        except (ValueError, AttributeError):
            policy = ""
        return Verdict.DAILY if policy == "DAILY" or "DAILY" in text else Verdict.RATE
    if status == 403 and "REQUEST_LIMIT_EXCEEDED" in text:  # Salesforce's daily API limit
        return Verdict.DAILY
    if status in RETRY_STATUSES:
        return Verdict.RETRY
    return None


def retry_after(headers: Any) -> float:
    if not headers:
        return 0.0
    try:
        value = dict(headers).get("Retry-After") or dict(headers).get("retry-after")
        return float(value) if value else 0.0
    except (TypeError, ValueError):
        return 0.0


class Throttle:
    """Rate limit, retries, stop signals and request counters of one run (thread-safe)."""

    def __init__(
        self,
        options: SyncOptions,
        max_requests_per_10s: int,
        deadline: float | None = None,
        rng: random.Random | None = None,
    ):
        self.options = options
        self.limiter = RateLimiter(max_requests_per_10s)
        self.deadline = deadline  # time.monotonic() value, or None
        self.requests = 0
        self.error_responses = 0
        self.retries = 0
        self.daily_limit_reached = False
        self._rng = rng or random.Random()
        self._lock = threading.Lock()

    # -- counters and stop signals ---------------------------------------------------------
    def count(self, *, error: bool) -> None:
        with self._lock:
            self.requests += 1
            self.error_responses += int(error)

    def _check_stop(self) -> None:
        if self.daily_limit_reached:
            raise DailyLimitReached("the CRM's daily request limit was reached in this run")
        if self.deadline is not None and time.monotonic() >= self.deadline:
            raise DeadlineReached("the run's deadline passed")

    def stop_daily(self) -> DailyLimitReached:
        self.daily_limit_reached = True
        return DailyLimitReached("the CRM answered 429 DAILY: its daily request limit is spent")

    def sleep(self, seconds: float) -> None:
        """Sleep, but never past the deadline or a stop signal."""
        end = time.monotonic() + seconds
        while True:
            self._check_stop()
            left = end - time.monotonic()
            if left <= 0:
                return
            if self.deadline is not None:
                left = min(left, max(0.0, self.deadline - time.monotonic()) + 0.001)
            time.sleep(min(left, 0.25))

    def acquire(self) -> list[float]:
        """Block until the limiter lets one more request start; its slot in the window."""
        while True:
            self._check_stop()
            wait, slot = self.limiter.start()
            if slot is not None:
                return slot
            self.sleep(wait)

    def backoff(self, attempt: int) -> float:
        """Full jitter: uniform in [0, min(cap, base * 2**attempt)]."""
        ceiling = min(self.options.backoff_cap_s, self.options.backoff_base_s * 2**attempt)
        return self._rng.uniform(0, ceiling)

    # -- the retry loop --------------------------------------------------------------------
    def retrying(
        self,
        send: Callable[[], T],
        classify: Callable[[BaseException], tuple[Verdict | None, float]],
        *,
        acquire: bool = True,
        what: str = "request",
    ) -> T:
        """Call ``send`` until it returns; ``classify(exc)`` -> (verdict, retry-after seconds).

        Not retryable (verdict None) or out of retries: the exception propagates.
        """
        attempt = 0
        started = time.monotonic()
        while True:
            slot = None
            if acquire:
                slot = self.acquire()
            else:
                self._check_stop()
            try:
                try:
                    return send()
                finally:
                    if slot is not None:
                        self.limiter.finished(slot)  # counted from its answer on
            except (DailyLimitReached, DeadlineReached):
                raise
            except Exception as exc:
                verdict, after = classify(exc)
                if verdict is None:
                    raise
                if verdict is Verdict.DAILY:
                    raise self.stop_daily() from exc
                if verdict is Verdict.RATE:
                    if time.monotonic() - started > self.options.rate_limit_patience_s:
                        raise
                    delay = max(after, self.backoff(min(attempt, 6)) + 0.1)
                    self.limiter.pause(delay)
                    log.info("%s: ten-secondly rate limit, all requests pause %.2f s", what, delay)
                else:
                    if attempt >= self.options.max_retries:
                        raise
                    delay = max(after, self.backoff(attempt))
                    log.info(
                        "%s: %s, retry %d in %.2f s", what, type(exc).__name__, attempt + 1, delay
                    )
                    self.sleep(delay)
                attempt += 1
                with self._lock:
                    self.retries += 1
