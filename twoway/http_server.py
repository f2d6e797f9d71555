"""HTTP mode: Bolt behind a small WSGI router, served by waitress (a production server).

What reaches Bolt is a POST whose body Bolt can read: waitress answers 413 to a body over
`MAX_BODY_BYTES`, the router 405 to any other method on `/slack/events`, and a body Bolt can't parse
(bad UTF-8, broken JSON, a JSON array where Slack sends an object) gets 400 instead of the 500 that
Bolt's own request parsing would raise, and signature headers unlike Slack's get 401 instead of the 500
that slack_sdk's verifier would raise on them.

Slow clients cost a socket, never a thread: waitress reads each request whole in its one I/O thread
before a worker sees it, so a connection that sends half a request and waits, or trickles a byte at a
time, holds nothing a real request needs, as long as the server keeps accepting. `create_server` sees
to that (`connection_limit`, `channel_timeout`, poll()); README's "Behind a reverse proxy" says what to
put in front for the rest.
"""

from __future__ import annotations

import json
import logging
import math
import re
import resource
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from limits import RateLimitItemPerMinute
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from slack_bolt import App, BoltRequest, BoltResponse
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_bolt.adapter.wsgi.http_request import WsgiHttpRequest
from waitress.adjustments import Adjustments
from waitress.server import TcpWSGIServer

from bot.installs import INSTALL_PATH

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

logger = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
# Slack's payloads are a few KB; anything near this is not from Slack.
MAX_BODY_BYTES = 1024 * 1024
# How many installs one client address may start in a minute at /slack/install. A person clicks "Add to
# Slack" a few times at most; each start stores an OAuth state in the database for ten minutes.
INSTALLS_PER_MINUTE = 10

# waitress's defaults let 100 idle connections stop the server accepting (connection_limit=100) for
# two minutes (channel_timeout=120). These make an idle or slow connection cheap instead.
MAX_CONNECTIONS = 10_000
# A connection's socket, and the temporary file of a body over IN_MEMORY_BODY_BYTES.
FDS_PER_CONNECTION = 2
# The process's other files: the database pool, SQLite's WAL, logs, Slack's Web API connections.
RESERVED_FDS = 256
# Slack's request headers are under 2 KB; 32 KB is what nginx accepts by default (4 buffers of 8k).
MAX_HEADER_BYTES = 32 * 1024
# A body larger than this waits on disk rather than in memory; Slack's payloads are a few KB.
IN_MEMORY_BODY_BYTES = 64 * 1024
# An idle keep-alive connection is closed after this long, checked every CLEANUP_SECONDS. A reverse
# proxy's upstream keep-alive must be shorter (README), or it would reuse a connection being closed.
IDLE_SECONDS = 30
CLEANUP_SECONDS = 5
# Connections accepted each time the listening socket is ready (see `_Server`); Linux queues at most
# net.core.somaxconn (4,096) waiting ones.
ACCEPTS_PER_TURN = 1_000


# What reading a body that isn't Slack's raises inside Bolt's request parsing: bad UTF-8 and broken
# JSON (ValueError), deep nesting (RecursionError), and a shape Bolt's field lookups don't expect.
_UNREADABLE = (ValueError, TypeError, AttributeError, LookupError, RecursionError)

# Bolt reads these fields of a payload (and of an event) without checking their type first; Slack
# always sends them so, and anything else would crash Bolt's matching into a 500.
_OBJECTS = (
    "event",
    "view",
    "container",
    "message",
    "previous_message",
    "item",
    "assistant_thread",
    "function_data",
    "workflow_step",
    "state",
)
_OBJECTS_OR_IDS = ("team", "user", "channel", "enterprise")
_LISTS_OF_OBJECTS = ("authorizations", "actions")

# What Slack sends (api.slack.com/authentication/verifying-requests-from-slack): the request's Unix time in
# seconds, and "v0=" with the hex HMAC-SHA256. slack_sdk's verifier runs int() and hmac.compare_digest on
# them, which raise on a word, a fraction, 5,000 digits or a non-ASCII letter.
_SIGNATURE_HEADERS = {
    "x-slack-request-timestamp": re.compile(r"[0-9]{1,12}"),
    "x-slack-signature": re.compile(r"v0=[0-9a-f]{64}"),
}


def signature_header_problem(headers: Mapping[str, str | Sequence[str]]) -> str | None:
    """Which signature header of ``headers`` is not shaped as Slack sends it; None if none is.

    A missing header is no problem here: Bolt refuses the request for it, with a 401.
    """
    for name, shape in _SIGNATURE_HEADERS.items():
        value = headers.get(name)
        values = [value] if isinstance(value, str) else list(value or [])
        if value is not None and (len(values) != 1 or not shape.fullmatch(values[0])):
            return f"a malformed signature header ({name})"
    return None


def shape_problem(body: object) -> str | None:
    """What makes ``body`` unlike anything Slack sends, in the fields Bolt relies on; None if nothing."""
    if not isinstance(body, dict):
        return f"a {type(body).__name__}, not an object"
    for part in (body, body.get("event") or {}):
        for name in _OBJECTS:
            if name in part and not isinstance(part[name], dict):
                return f"{name} is not an object"
        for name in _OBJECTS_OR_IDS:
            value = part.get(name)
            if value is not None and not isinstance(value, dict | str):
                return f"{name} is neither an object nor an id"
            if isinstance(value, dict) and not isinstance(value.get("id", ""), str):
                return f"{name}.id is not an id"
        for name in _LISTS_OF_OBJECTS:
            items = part.get(name)
            listed = isinstance(items, list) and all(isinstance(i, dict) for i in items)
            if items is not None and not listed:
                return f"{name} is not a list of objects"
    if body.get("type") == "event_callback" and "type" not in body.get("event", {}):
        return "an event without a type"
    if "view" in body and "type" not in body["view"]:
        return "a view without a type"
    if body.get("type") in ("block_actions", "interactive_message") and not body.get("actions"):
        return "an action payload without actions"
    return None


class _SlackHandler(SlackRequestHandler):
    """Bolt's WSGI adapter, answering 400 to a body Bolt can't parse instead of raising."""

    def dispatch(self, request: WsgiHttpRequest) -> BoltResponse:
        headers = request.get_headers()
        try:
            bolt_request = BoltRequest(body=request.get_body(), query=request.query_string, headers=headers)
            problem = shape_problem(bolt_request.body)
        except _UNREADABLE as error:
            problem = f"unreadable ({type(error).__name__})"
        signature_problem = signature_header_problem(headers)
        if signature_problem is not None:
            # Nothing of the header is logged: it is whatever the sender chose to write.
            logger.warning("refused a request to %s with %s", EVENTS_PATH, signature_problem)
            return BoltResponse(status=401, body="")
        if problem is not None:
            # Before the signature check, so nothing of the body is trusted, and none of it is logged.
            logger.warning("refused a request to %s: %s", EVENTS_PATH, problem)
            return BoltResponse(status=400, body="Bad Request")
        return self.app.dispatch(bolt_request)


class InstallLimit:
    """How often each client address may start an install, in this process (the `limits` library's
    moving window, kept in memory)."""

    def __init__(self, per_minute: int = INSTALLS_PER_MINUTE) -> None:
        self._rate = RateLimitItemPerMinute(per_minute)
        self._limiter = MovingWindowRateLimiter(MemoryStorage())

    def wait(self, address: str) -> int:
        """0 when ``address`` may start an install now (and counts it), else the seconds until it may."""
        if self._limiter.hit(self._rate, address):
            return 0
        reset = self._limiter.get_window_stats(self._rate, address).reset_time
        return max(1, math.ceil(reset - time.time()))


def _plain(start_response: StartResponse, status: str, headers: list[tuple[str, str]]) -> Iterable[bytes]:
    body = status.split(" ", 1)[1].encode()
    start_response(
        status, [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body))), *headers]
    )
    return [body]


def make_wsgi_app(bolt_app: App, healthy: Callable[[], bool]) -> WSGIApplication:
    """`POST /slack/events` for events, commands and interactivity; `GET /healthz`; 404 otherwise.

    Other paths still reach Bolt's adapter, which serves its OAuth pages when the app has them; each
    client address starts at most `INSTALLS_PER_MINUTE` installs, and gets 429 past that.
    """
    slack = _SlackHandler(bolt_app, path=EVENTS_PATH)
    installs = InstallLimit()

    def application(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "")
        if path == HEALTH_PATH and method in ("GET", "HEAD"):
            ok = healthy()
            body = json.dumps({"ok": ok}).encode()
            status = "200 OK" if ok else "503 Service Unavailable"
            start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return [body]
        if path == EVENTS_PATH and method != "POST":
            return _plain(start_response, "405 Method Not Allowed", [("Allow", "POST")])
        if path == INSTALL_PATH:
            # waitress's REMOTE_ADDR: the peer, or what a trusted proxy forwarded for (`create_server`).
            wait = installs.wait(environ.get("REMOTE_ADDR") or "-")
            if wait:
                logger.debug("refused an install start from %s for %d s", environ.get("REMOTE_ADDR"), wait)
                return _plain(start_response, "429 Too Many Requests", [("Retry-After", str(wait))])
        return slack(environ, start_response)

    return application


def raise_open_file_limit(wanted: int = MAX_CONNECTIONS * FDS_PER_CONNECTION + RESERVED_FDS) -> int:
    """Raise this process's soft limit on open files toward ``wanted``, as far as the hard limit allows,
    and return the soft limit now in force.

    Many systems start a process at 1,024 open files (soft) while allowing far more (hard); each
    connection is a file.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError):
            logger.warning("could not raise the open-file limit from %d to %d", soft, target)
            return soft
        logger.info("raised the open-file limit from %d to %d (hard limit %s)", soft, target, hard)
        return target
    return soft if soft != resource.RLIM_INFINITY else wanted


def connection_limit(open_files: int) -> int:
    """How many connections a process allowed ``open_files`` files may hold, at most MAX_CONNECTIONS."""
    return max(1, min(MAX_CONNECTIONS, (open_files - RESERVED_FDS) // FDS_PER_CONNECTION))


class _Server(TcpWSGIServer):
    """waitress's TCP server, accepting every connection that waits when its socket is ready, not one.

    waitress's loop visits every open connection each turn, and accepts one new connection a turn: with
    a thousand open, a thousand opened at once took 0.9 s to accept, and five thousand over 3 s, while a
    request from Slack waited behind them in the kernel's queue (bench/slow_clients.py).
    """

    def handle_accept(self) -> None:
        for _ in range(ACCEPTS_PER_TURN):
            before = self._open()
            if before >= self.adj.connection_limit:
                return
            super().handle_accept()
            if self._open() == before:
                return  # none waiting, or one that failed

    def _open(self) -> int:
        """Open sockets, this one's included: what waitress counts against its connection limit."""
        return len(self._map)  # type: ignore[attr-defined]


def create_server(
    app: WSGIApplication, host: str, port: int, threads: int = 8, *, trusted_proxy: str | None = None
) -> TcpWSGIServer:
    """A waitress server bound now (port 0 picks a free one), not yet serving: call `.run()`.

    It raises the process's open-file limit (`raise_open_file_limit`) to hold its connections. With
    ``trusted_proxy`` (its address, or "*"), waitress takes the client's address from the
    X-Forwarded-For that proxy sends; otherwise the header is dropped, since any client can write it.
    """
    proxy: dict[str, Any] = (
        {"trusted_proxy": trusted_proxy, "trusted_proxy_headers": {"x-forwarded-for"}}
        if trusted_proxy
        else {}
    )
    limit = connection_limit(raise_open_file_limit())
    adjustments = Adjustments(
        host=host,
        port=port,
        threads=threads,
        max_request_body_size=MAX_BODY_BYTES,
        max_request_header_size=MAX_HEADER_BYTES,
        inbuf_overflow=IN_MEMORY_BODY_BYTES,
        connection_limit=limit,
        channel_timeout=IDLE_SECONDS,
        cleanup_interval=CLEANUP_SECONDS,
        # select() can't watch a file numbered 1,024 or above (FD_SETSIZE, select(2)); poll() can.
        asyncore_use_poll=True,
        ident="twoway",
        clear_untrusted_proxy_headers=True,
        **proxy,
    )
    if len(adjustments.listen) != 1:  # a host name with several addresses
        raise TypeError("twoway listens on one TCP address")
    return _Server(app, adj=adjustments)
