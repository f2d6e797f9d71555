"""The calls log: every Web API call the app made, in order, and what it was answered, for tests and
the demo to read back.

Besides `/api/<method>` calls (`oauth.v2.access` included), it lists posts to a response_url (as
`response_url`) and file uploads (as `upload_url`). Tokens are masked to their kind (`xoxb-…`), and the
`token` argument is never listed.

- `GET /_emulator/calls[?method=]`: the log, oldest first, each call `{method, args, team, ok, error,
  status, token, at}`
- `DELETE /_emulator/calls`: empties it
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable

from aiohttp import web

from emulator.control import JSON


class CallLog:
    """The log of one emulator."""

    def __init__(self, lock: threading.RLock, clock: Callable[[], float]) -> None:
        # The world's lock, so that a call is answered and logged as one step.
        self.lock = lock
        self.clock = clock
        self.calls: list[JSON] = []

    def record(
        self,
        method: str,
        args: JSON,
        team_id: str | None,
        ok: bool,
        error: str | None,
        status: int = 200,
        token: str | None = None,
    ) -> None:
        with self.lock:
            self.calls.append(
                {
                    "method": method,
                    "args": args,
                    "team": team_id,
                    "ok": ok,
                    "error": error,
                    "status": status,
                    "token": mask_token(token),
                    "at": self.clock(),
                }
            )

    def entries(self, method: str | None = None) -> list[JSON]:
        """Copies of the calls, oldest first; only those of `method` when it is given."""
        with self.lock:
            return [copy.deepcopy(c) for c in self.calls if method is None or c["method"] == method]

    def clear(self) -> None:
        with self.lock:
            self.calls.clear()

    async def list_calls(self, request: web.Request) -> web.Response:
        return web.json_response(self.entries(request.query.get("method")))

    async def clear_calls(self, request: web.Request) -> web.Response:
        self.clear()
        return web.json_response({"ok": True})


def mask_token(token: str | None) -> str | None:
    if not token:
        return None
    prefix = token.split("-", 1)[0]
    return f"{prefix}-…"


def register(router: web.UrlDispatcher, log: CallLog) -> None:
    router.add_get("/_emulator/calls", log.list_calls)
    router.add_delete("/_emulator/calls", log.clear_calls)
