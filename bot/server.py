"""HTTP mode: Bolt behind a small WSGI router, served by waitress (a production server)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from waitress.server import TcpWSGIServer
from waitress.server import create_server as waitress_server

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

logger = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
# Slack's payloads are a few KB; anything near this is not from Slack.
MAX_BODY_BYTES = 1024 * 1024


def make_wsgi_app(bolt_app: App, healthy: Callable[[], bool]) -> WSGIApplication:
    """`POST /slack/events` for events, commands and interactivity; `GET /healthz`; 404 otherwise."""
    slack = SlackRequestHandler(bolt_app, path=EVENTS_PATH)

    def application(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "")
        if path == HEALTH_PATH and method in ("GET", "HEAD"):
            ok = healthy()
            body = json.dumps({"ok": ok}).encode()
            status = "200 OK" if ok else "503 Service Unavailable"
            start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return [body]
        return slack(environ, start_response)

    return application


def create_server(app: WSGIApplication, host: str, port: int, threads: int = 8) -> TcpWSGIServer:
    """A waitress server bound now (port 0 picks a free one), not yet serving: call `.run()`."""
    server = waitress_server(
        app,
        host=host,
        port=port,
        threads=threads,
        max_request_body_size=MAX_BODY_BYTES,
        ident="twoway",
        clear_untrusted_proxy_headers=True,
    )
    if not isinstance(server, TcpWSGIServer):  # several listen addresses, or a Unix socket
        raise TypeError("twoway listens on one TCP address")
    return server
