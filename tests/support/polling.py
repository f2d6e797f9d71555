"""Waiting for something another thread or process does: the one polling loop the suite uses."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import pytest

T = TypeVar("T")

# Enough to show what the probe last saw without burying the failure under it.
_SHOWN = 300


def eventually(
    probe: Callable[[], T | None],
    *,
    timeout: float = 10,
    interval: float = 0.05,
    what: str,
    detail: Callable[[], str] | None = None,
) -> T:
    """Call ``probe`` until it returns something truthy, and return that.

    For state that another thread or process brings about (the app handles events after acknowledging
    them, a server takes a moment to listen). The probe may itself fail the test (``pytest.fail``, an
    assertion) when it sees something that can never come right. After ``timeout`` seconds the test
    fails, naming ``what`` was awaited and what the probe last returned, followed by ``detail()``
    when given (a process's log, say), read only then.
    """
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if result:
            return result
        if time.monotonic() > deadline:
            last = repr(result)
            if len(last) > _SHOWN:
                last = last[:_SHOWN] + "..."
            message = f"timed out after {timeout:g}s waiting for {what} (the probe last returned {last})"
            pytest.fail(message + (f"\n{detail()}" if detail is not None else ""))
        time.sleep(interval)
