"""Faults: Web API methods made to fail, or to answer late, on purpose, so that tests can watch the app
cope with a Slack that misbehaves.

- `POST /_emulator/faults {method, status, every?, retry_after?, count?, delay?}`: from now on every
  `every`-th call of `method` (`*` is every method) fails with HTTP `status` and Slack's error for it
  (429 `ratelimited` with `Retry-After`, 500 `fatal_error`, 503 `service_unavailable`), `count` times
  or for ever; `status: 200` with `delay` seconds answers correctly, only late. With `kept: true` the
  call is carried out first (a message posted is kept) and only then answered with the failure, or,
  with `drop: true` too, answered with no response at all: the connection is closed. That is Slack's
  unknown outcome ("it's possible some aspect of the operation succeeded", its docs on `fatal_error`).
  A method holds one failing and one slow fault at most; a new one replaces the old.
- `GET /_emulator/faults`: the faults in force, each with the calls it has `seen` and the times it
  `fired`; `DELETE /_emulator/faults` lifts them all.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from aiohttp import web

from emulator.control import JSON, WorldError, control_body, flag, number, text

ERRORS = {429: "ratelimited", 500: "fatal_error", 503: "service_unavailable"}


@dataclass
class Fault:
    method: str
    status: int
    every: int = 1
    retry_after: int = 1
    count: int | None = None
    seen: int = 0
    fired: int = 0
    # Seconds the answer is held back; a status-200 fault answers correctly, only this late.
    delay: float = 0.0
    # The call is carried out, then answered with the failure (or, with `drop`, not answered).
    kept: bool = False
    drop: bool = False

    @property
    def slow(self) -> bool:
        return self.status < 300

    def answer(self) -> tuple[JSON, dict[str, str]]:
        """The body and headers Slack fails a call with at this status."""
        headers = {"Retry-After": str(self.retry_after)} if self.status == 429 else {}
        return {"ok": False, "error": ERRORS.get(self.status, "fatal_error")}, headers

    def to_json(self) -> JSON:
        return {
            "method": self.method,
            "status": self.status,
            "every": self.every,
            "retry_after": self.retry_after,
            "count": self.count,
            "delay": self.delay,
            "seen": self.seen,
            "fired": self.fired,
            "kept": self.kept,
            "drop": self.drop,
        }


class Faults:
    """The faults in force in one emulator."""

    def __init__(self, lock: threading.RLock) -> None:
        # The world's lock, so that a call counts against its fault in the same step as it is answered.
        self.lock = lock
        self.faults: list[Fault] = []

    def add(self, fault: Fault) -> None:
        with self.lock:
            # A method can be slow and failing at once: one fault of each kind per method.
            self.faults = [f for f in self.faults if (f.method, f.slow) != (fault.method, fault.slow)]
            self.faults.append(fault)

    def clear(self) -> None:
        with self.lock:
            self.faults.clear()

    def trip(self, method: str, *, slow: bool = False, kept: bool = False) -> Fault | None:
        """Counts a call against the fault set for its method; the fault when this call should fail.

        With ``slow``, the same for the method's slow fault: the fault when this answer should wait.
        With ``kept``, for a fault that fails the call once it is done (asked after the call worked).
        """
        with self.lock:
            fault = next(
                (f for f in self.faults if f.method in (method, "*") and f.slow == slow and f.kept == kept),
                None,
            )
            if fault is None:
                return None
            fault.seen += 1
            if fault.seen % fault.every != 0:
                return None
            fault.fired += 1
            if fault.count is not None and fault.fired >= fault.count:
                self.faults.remove(fault)
            return fault

    async def list_faults(self, request: web.Request) -> web.Response:
        with self.lock:
            return web.json_response([f.to_json() for f in self.faults])

    async def add_fault(self, request: web.Request) -> web.Response:
        body = await control_body(request)
        kept, drop = flag(body, "kept") or flag(body, "drop"), flag(body, "drop")
        # An unknown outcome is a server error by default; anything else, a rate limit.
        status = int(number(body, "status", 500 if kept else 429))
        every = int(number(body, "every", 1))
        retry_after = int(number(body, "retry_after", 1))
        delay = number(body, "delay", 0)
        count = body.get("count")
        # Status 200 is a slow answer rather than a failure, so it needs a delay.
        slow = status == 200 and 0 < delay <= 60
        if not (400 <= status <= 599 or slow) or every < 1 or retry_after < 0 or delay < 0:
            raise WorldError("invalid_fault", 400)
        if count is not None and (not isinstance(count, int) or count < 1):
            raise WorldError("invalid_count", 400)
        if kept and slow:
            raise WorldError("invalid_fault", 400)
        fault = Fault(
            text(body, "method") or "", status, every, retry_after, count, delay=delay, kept=kept, drop=drop
        )
        self.add(fault)
        return web.json_response({"ok": True, "fault": fault.to_json()})

    async def clear_faults(self, request: web.Request) -> web.Response:
        self.clear()
        return web.json_response({"ok": True})


def register(router: web.UrlDispatcher, faults: Faults) -> None:
    router.add_get("/_emulator/faults", faults.list_faults)
    router.add_post("/_emulator/faults", faults.add_fault)
    router.add_delete("/_emulator/faults", faults.clear_faults)
