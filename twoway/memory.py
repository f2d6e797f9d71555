"""Process-wide memory settings for the long-running server."""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

logger = logging.getLogger(__name__)

# glibc's mallopt parameter for the number of malloc arenas (malloc.h).
_M_ARENA_MAX = -8
ARENAS = 2


def limit_malloc_arenas(arenas: int = ARENAS) -> bool:
    """Let glibc's malloc keep at most ``arenas`` arenas; True if it took the setting.

    glibc gives each thread that allocates an arena of its own, up to eight per core, and memory
    freed in one is not reused by another: a server with some forty threads (HTTP, listeners,
    events, the scheduler) grows for nothing. Two arenas are what MALLOC_ARENA_MAX=2 would set. Call
    it before the threads start. Elsewhere than glibc it does nothing and says so.
    """
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        logger.debug("this C library has no mallopt; malloc arenas left as they are")
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(_M_ARENA_MAX, arenas))
