"""The emulator as a service: its settings, the aiohttp application assembled from each concern's
routes, the `Emulator` that runs it on a thread, and `serve_forever`.

One port serves the Web API (`/api/<method>`, `emulator.web_api`; `oauth.v2.access` and the authorize
page, `emulator.oauth`), Socket Mode's WebSocket (`/socket-mode`, `emulator.delivery`), the URLs Slack
would host elsewhere (response_url, file uploads) and the `/_emulator/...` control endpoints through
which tests and the demo shape the world (`emulator.world`), act as people in it (`emulator.acts`,
`emulator.interactivity`), and read back or disturb what the app does (`emulator.call_log`,
`emulator.faults`, `emulator.rate_limits`).
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import TracebackType

from aiohttp import web

from emulator import acts, call_log, delivery, faults, interactivity, oauth, rate_limits, web_api, world
from emulator.app_manifest import AppManifest
from emulator.control import JSON, errors_as_json
from emulator.delivery import Deliverer, SocketHub, app_urls
from emulator.interactivity import Responses
from emulator.rate_limits import (
    APP_KINDS,
    NON_MARKETPLACE,
    NON_MARKETPLACE_METHODS,
    RateLimiter,
    RateLimits,
)
from emulator.world import State

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class EmulatorSettings:
    host: str = "127.0.0.1"
    port: int = 0
    # One request URL, or several: replicas behind a load balancer, each delivery to one at random.
    app_url: str | Sequence[str] | None = None
    signing_secret: str | None = None
    # Slack waits three seconds for an app to acknowledge an event, command or interaction.
    ack_timeout: float = 3.0
    clock: Callable[[], float] = field(default=time.time)
    # The emulated app's OAuth credentials, which oauth.v2.access checks.
    client_id: str = oauth.CLIENT_ID
    client_secret: str = oauth.CLIENT_SECRET
    # Slack's rate limits (`emulator.rate_limits`), enforced only when given: off, nothing is refused.
    rate_limits: RateLimits | None = None
    # The installed app's scopes and Messages tab: the repository's manifest.yml unless told otherwise.
    manifest: AppManifest = field(default_factory=AppManifest.default)
    # How the app is distributed: "internal", "marketplace" or "non-marketplace" (`emulator.rate_limits`).
    app_kind: str = "internal"

    def __post_init__(self) -> None:
        if self.app_kind not in APP_KINDS:
            raise ValueError(f"app_kind must be one of {', '.join(APP_KINDS)}, not {self.app_kind!r}")


def build_app(state: State, settings: EmulatorSettings, base_url: Callable[[], str]) -> web.Application:
    """Every route of every concern, over one world; `base_url` is where the app will be listening."""
    app = web.Application(middlewares=[errors_as_json], client_max_size=64 * 1024 * 1024)
    hub = SocketHub()
    deliverer = Deliverer(hub, settings.app_url, settings.signing_secret, settings.ack_timeout)
    responses = Responses(state, deliverer, base_url)
    router = app.router
    # Before the Web API: its `/api/{method}` would take `/api/oauth.v2.access`.
    oauth.register(router, oauth.OAuth(state, settings.client_id, settings.client_secret))
    web_api.register(router, state, base_url)
    delivery.register(router, state, hub)
    world.register(router, state)
    acts.register(router, state, deliverer, responses)
    interactivity.register(router, state, deliverer, responses)
    call_log.register(router, state.call_log)
    faults.register(router, state.faults)
    rate_limits.register(router, state)
    state.bluesky.register(router)
    state.mastodon.register(router)

    async def close(app: web.Application) -> None:
        await hub.close_all()
        await deliverer.close()

    app.on_shutdown.append(close)
    return app


class Emulator:
    """The emulator on a background thread with its own event loop; `start()` returns once it listens."""

    def __init__(self, settings: EmulatorSettings | None = None) -> None:
        self.settings = settings or EmulatorSettings()
        self.state = State(clock=self.settings.clock)
        self.state.app = self.settings.manifest
        self.state.app_kind = self.settings.app_kind
        if self.settings.app_kind == "non-marketplace":
            per_workspace = dict.fromkeys(NON_MARKETPLACE_METHODS, NON_MARKETPLACE)
            self.state.non_marketplace = RateLimiter(RateLimits(per_workspace=per_workspace))
        if self.settings.rate_limits is not None:
            self.state.limiter = RateLimiter(self.settings.rate_limits)
        self._port: int | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._ready = threading.Event()
        self._failure: BaseException | None = None

    @property
    def base_url(self) -> str:
        if self._port is None:
            raise RuntimeError("the emulator is not started")
        host = self.settings.host
        if host in ("", "0.0.0.0", "::"):  # noqa: S104 - naming the wildcard, not binding to it
            host = "127.0.0.1"
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self._port}"

    @property
    def api_url(self) -> str:
        return self.base_url + "/api/"

    @property
    def socket_mode_url(self) -> str:
        return "ws" + self.base_url.removeprefix("http") + "/socket-mode"

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("the emulator is already started")
        self._thread = threading.Thread(target=self._run, name="slack-emulator", daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._failure is not None:
            self._thread.join()
            self._thread = None
            raise self._failure

    def stop(self) -> None:
        if self._thread is None or self._loop is None:
            return
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._thread = None

    def __enter__(self) -> Emulator:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def calls(self, method: str | None = None) -> list[JSON]:
        """The calls log, as `GET /_emulator/calls` lists it."""
        return self.state.call_log.entries(method)

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._loop = loop
        try:
            loop.run_until_complete(self._listen())
        except BaseException as e:  # reported to the thread that called start()
            self._failure = e
            self._ready.set()
            loop.close()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            if self._runner is not None:
                loop.run_until_complete(self._runner.cleanup())
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _listen(self) -> None:
        app = build_app(self.state, self.settings, lambda: self.base_url)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.settings.host, self.settings.port)
        await site.start()
        address = self._runner.addresses[0]
        self._port = int(address[1])


def describe(emulator: Emulator) -> str:
    """One line: where the emulator listens and what world it starts with, Bluesky and Mastodon too."""
    state = emulator.state
    with state.lock:
        team = state.team(None)
        channels = ", ".join(
            f"#{c.name} {c.id}" + (" (bot member)" if team.bot_user_id in c.members else "")
            for c in team.channels.values()
            if not c.is_im
        )
        target = ", ".join(app_urls(emulator.settings.app_url)) or "no app URL, Socket Mode only"
        limits = "Slack's rate limits enforced" if state.limiter is not None else "no rate limits"
        return (
            f"Slack emulator at {emulator.base_url}: Web API {emulator.api_url}, "
            f"Socket Mode {emulator.socket_mode_url}; team {team.id} ({team.domain}), "
            f"bot {team.bot_user_id}, channels {channels}; events go to {target}; {limits}; "
            f"Bluesky's AppView at {emulator.base_url}/bluesky, Mastodon's instances at "
            f"{emulator.base_url}/mastodon/<instance>"
        )


def serve_forever(settings: EmulatorSettings) -> None:
    """Runs the emulator until Ctrl-C or SIGTERM (the blocking entry point of `twoway emulator`)."""
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    stopping = threading.Event()
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda signum, frame: stopping.set())
    emulator = Emulator(settings)
    emulator.start()
    try:
        # Inside the try: Ctrl-C can come as soon as the line is out, before logging has returned.
        logger.info("%s", describe(emulator))
        while not stopping.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()
        logger.info("Slack emulator stopped")
