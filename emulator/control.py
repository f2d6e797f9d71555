"""What every `/_emulator/...` control endpoint shares: reading a request's body and its fields, and
answering a mistake as `{"ok": false, "error": …}` with an HTTP status, never a traceback.

A control body is JSON, or a form (`curl -d`), or empty. Fields are read leniently, as a person typing
curl commands would hope: `"true"` and `1` are both true, `"5"` is a number.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

JSON = dict[str, Any]

logger = logging.getLogger(__name__)


class WorldError(Exception):
    """A request that names something the world does not have, or that the emulator refuses;
    `status` is the HTTP status to answer with."""

    def __init__(self, error: str, status: int = 404) -> None:
        super().__init__(error)
        self.error = error
        self.status = status


def error_response(error: str, status: int) -> web.Response:
    return web.json_response({"ok": False, "error": error}, status=status)


@web.middleware
async def errors_as_json(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Control endpoints answer mistakes with `{"ok": false, "error": …}`, never a traceback."""
    try:
        return await handler(request)
    except WorldError as e:
        return error_response(e.error, e.status)
    except web.HTTPException as e:
        if e.status >= 400:
            return error_response(e.reason.lower().replace(" ", "_"), e.status)
        raise
    except Exception:
        logger.exception("Emulator failed on %s %s", request.method, request.path)
        return error_response("internal_error", 500)


async def control_body(request: web.Request) -> JSON:
    raw = await request.text()
    if not raw.strip():
        return {}
    if request.content_type == "application/x-www-form-urlencoded":
        return dict(parse_qsl(raw))
    try:
        body = json.loads(raw)
    except ValueError:
        raise WorldError("invalid_json", 400) from None
    if not isinstance(body, dict):
        raise WorldError("json_not_object", 400)
    return body


def text(body: JSON, name: str, required: bool = True) -> str | None:
    value = body.get(name)
    if value is None or value == "":
        if required:
            raise WorldError(f"missing_{name}", 400)
        return None
    if not isinstance(value, str):
        raise WorldError(f"invalid_{name}", 400)
    return value


def number(body: JSON, name: str, default: float) -> float:
    value = body.get(name, default)
    try:
        return float(value)
    except (TypeError, ValueError):
        raise WorldError(f"invalid_{name}", 400) from None


def flag(body: JSON, name: str, default: bool = False) -> bool:
    value = body.get(name, default)
    if isinstance(value, str):
        return value.lower() in ("1", "true", "yes")
    return bool(value)
