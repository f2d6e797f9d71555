"""Fixtures for the emulator's tests: a running emulator, plain HTTP to it, and a real Bolt app over HTTP."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from socketserver import ThreadingMixIn
from typing import TYPE_CHECKING, Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient

from emulator import Emulator, EmulatorSettings

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

SIGNING_SECRET = "emulator-test-signing-secret"


def http(emu: Emulator, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    """(status, parsed JSON) of one request to the emulator, 4xx and 5xx included."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        emu.base_url + path, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def post(emu: Emulator, path: str, body: Any) -> Any:
    status, answer = http(emu, "POST", path, body)
    assert status == 200, answer
    return answer


def get(emu: Emulator, path: str) -> Any:
    status, answer = http(emu, "GET", path)
    assert status == 200, answer
    return answer


def wait_until(predicate: Callable[[], Any], timeout: float = 5.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.01)


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with Emulator(EmulatorSettings()) as emulator:
        yield emulator


@pytest.fixture
def client(emu: Emulator) -> WebClient:
    return WebClient(token="xoxb-test", base_url=emu.api_url)


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@dataclass
class LateApp:
    """A WSGI app bound before the Bolt app exists: the emulator's and the app's URLs name each other."""

    target: WSGIApplication | None = None

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        assert self.target is not None
        return self.target(environ, start_response)


@dataclass
class BoltOverHttp:
    emu: Emulator
    app: App
    seen: list[dict[str, Any]] = field(default_factory=list)


def _bolt_app(base_url: str, secret: str) -> App:
    return App(
        client=WebClient(token="xoxb-test", base_url=base_url),
        signing_secret=secret,
        token_verification_enabled=False,
    )


@pytest.fixture
def app_secret() -> str:
    return SIGNING_SECRET


@pytest.fixture
def bolt_http(app_secret: str) -> Iterator[BoltOverHttp]:
    """A real Bolt app on a loopback WSGI server, and an emulator that signs with SIGNING_SECRET."""
    late = LateApp()
    server = make_server("127.0.0.1", 0, late, server_class=_ThreadingServer, handler_class=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    settings = EmulatorSettings(
        app_url=f"http://127.0.0.1:{server.server_port}/slack/events", signing_secret=SIGNING_SECRET
    )
    try:
        with Emulator(settings) as emulator:
            app = _bolt_app(emulator.api_url, app_secret)
            late.target = SlackRequestHandler(app)
            yield BoltOverHttp(emulator, app)
    finally:
        server.shutdown()
        server.server_close()
