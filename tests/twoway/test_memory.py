from __future__ import annotations

import platform

import pytest

from twoway.memory import limit_malloc_arenas


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt's arena limit is glibc's")
def test_glibc_takes_the_arena_limit() -> None:
    assert limit_malloc_arenas(2)
