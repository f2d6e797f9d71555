"""Fixtures for the emulator's tests: a running emulator, a Web API client on it, a Bolt app over HTTP."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from socketserver import ThreadingMixIn
from typing import TYPE_CHECKING, Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient

from emulator import Emulator, EmulatorSettings
from emulator.app_manifest import AppManifest
from tests.support.emulator import BoltOverHttp

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

SIGNING_SECRET = "emulator-test-signing-secret"
EVERY_SCOPE = AppManifest()


@pytest.fixture
def emu() -> Iterator[Emulator]:
    """An emulator whose installed app holds every scope: these tests are about the methods themselves
    (test_app_manifest.py is about the scopes)."""
    with Emulator(EmulatorSettings(manifest=EVERY_SCOPE)) as emulator:
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
        app_url=f"http://127.0.0.1:{server.server_port}/slack/events",
        signing_secret=SIGNING_SECRET,
        manifest=EVERY_SCOPE,
    )
    try:
        with Emulator(settings) as emulator:
            app = _bolt_app(emulator.api_url, app_secret)
            late.target = SlackRequestHandler(app)
            yield BoltOverHttp(emulator, app)
    finally:
        server.shutdown()
        server.server_close()
