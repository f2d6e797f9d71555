"""Sending to the app: signed HTTP requests to its URL, or envelopes over its Socket Mode connections.

When the app holds a Socket Mode connection, Slack stops using the request URL, so the socket wins
whenever one is open. Either way the emulator waits for the app's acknowledgement (Slack gives it
three seconds) and reports what came back as a `Delivery`.

Several request URLs stand for replicas behind a load balancer: each HTTP delivery goes to one at
random, and to another when that one refuses the connection; the `Delivery` names the one that
answered.

The app connects at `GET /socket-mode?ticket=…` with a ticket from `apps.connections.open`. Two control
endpoints play Slack's side of the connection: `GET /_emulator/connections` counts the open ones, and
`POST /_emulator/disconnect {reason?, close?}` asks each app to reconnect (or, with `close`, drops it).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import json
import logging
import random
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import aiohttp
from aiohttp import WSCloseCode, WSMsgType, web
from slack_sdk.signature import SignatureVerifier

from emulator import payloads
from emulator.control import JSON, WorldError, control_body, flag, text
from emulator.world import State

logger = logging.getLogger(__name__)

USER_AGENT = "Slackbot 1.0 (+https://api.slack.com/robots)"
RETRY_REASON = "http_timeout"
# Slack refreshes a Socket Mode connection after about five hours and says so in `hello`.
SOCKET_LIFETIME_SECONDS = 18060


@dataclass
class Delivery:
    """What became of one request to the app. `body` is the parsed ack (JSON, else text; None if empty)."""

    via: str | None
    status: int | None
    body: Any = None
    error: str | None = None
    retry_num: int = 0
    # The request URL that answered (or the last one tried), for HTTP deliveries.
    url: str | None = None

    @property
    def acked(self) -> bool:
        return self.status == 200

    def to_json(self) -> JSON:
        return {
            "via": self.via,
            "status": self.status,
            "body": self.body,
            "error": self.error,
            "retry_num": self.retry_num,
            "url": self.url,
        }


def parse_body(text: str) -> Any:
    if not text.strip():
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def signed_headers(
    signing_secret: str | None, body: str, content_type: str, at: int | None = None
) -> dict[str, str]:
    # Real time, not the emulator's clock: the app rejects signatures more than five minutes old.
    timestamp = str(int(time.time()) if at is None else at)
    headers = {"Content-Type": content_type, "User-Agent": USER_AGENT, "X-Slack-Request-Timestamp": timestamp}
    if signing_secret:
        signature = SignatureVerifier(signing_secret).generate_signature(timestamp=timestamp, body=body)
        if signature:
            headers["X-Slack-Signature"] = signature
    return headers


def encode_http_body(kind: str, payload: Any) -> tuple[str, str]:
    """(body, content type) as Slack posts each kind of request to a request URL."""
    if kind == "events_api":
        return json.dumps(payload), "application/json"
    if kind == "slash_commands":
        return urlencode(payload), "application/x-www-form-urlencoded"
    return urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded"


@dataclass
class SocketConnection:
    ws: web.WebSocketResponse
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    connected_at: float = field(default_factory=time.monotonic)


class SocketHub:
    """The app's open Socket Mode connections and the envelopes awaiting their acks."""

    def __init__(self) -> None:
        self.connections: list[SocketConnection] = []
        self._pending: dict[str, tuple[SocketConnection, asyncio.Future[Any]]] = {}
        self._turn = itertools.count()

    def add(self, ws: web.WebSocketResponse) -> SocketConnection:
        connection = SocketConnection(ws)
        self.connections.append(connection)
        return connection

    def remove(self, connection: SocketConnection) -> None:
        if connection in self.connections:
            self.connections.remove(connection)
        for envelope_id, (owner, future) in list(self._pending.items()):
            if owner is connection and not future.done():
                future.set_exception(ConnectionResetError("disconnected"))
                del self._pending[envelope_id]

    def pick(self) -> SocketConnection | None:
        """Slack spreads envelopes over an app's connections; round-robin does the same."""
        live = [c for c in self.connections if not c.ws.closed]
        if not live:
            return None
        return live[next(self._turn) % len(live)]

    def acknowledge(self, message: JSON) -> None:
        entry = self._pending.pop(str(message.get("envelope_id")), None)
        if entry is not None and not entry[1].done():
            entry[1].set_result(message.get("payload"))

    async def send(self, connection: SocketConnection, envelope: JSON, timeout: float) -> Delivery:
        retry_num = int(envelope.get("retry_attempt") or 0)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[envelope["envelope_id"]] = (connection, future)
        try:
            await connection.ws.send_json(envelope)
            payload = await asyncio.wait_for(future, timeout)
        except TimeoutError:
            return Delivery("socket", None, error="timeout", retry_num=retry_num)
        except (ConnectionResetError, aiohttp.ClientConnectionError) as e:
            return Delivery("socket", None, error=str(e) or "disconnected", retry_num=retry_num)
        finally:
            self._pending.pop(envelope["envelope_id"], None)
        return Delivery("socket", 200, payload or None, retry_num=retry_num)

    async def close_all(self) -> None:
        for connection in list(self.connections):
            with contextlib.suppress(Exception):
                await connection.ws.close(code=aiohttp.WSCloseCode.GOING_AWAY, message=b"emulator stopping")
        self.connections.clear()


def app_urls(app_url: str | Sequence[str] | None) -> tuple[str, ...]:
    """One request URL, several (replicas behind a load balancer), or none, as a tuple."""
    if app_url is None:
        return ()
    if isinstance(app_url, str):
        return (app_url,) if app_url else ()
    return tuple(url for url in app_url if url)


class Deliverer:
    """Sends events, slash commands and interactions to the app by whichever way it listens."""

    def __init__(
        self,
        hub: SocketHub,
        app_url: str | Sequence[str] | None,
        signing_secret: str | None,
        ack_timeout: float,
        rng: random.Random | None = None,
    ) -> None:
        self.hub = hub
        self.app_urls = app_urls(app_url)
        self.signing_secret = signing_secret
        self.ack_timeout = ack_timeout
        self._rng = rng or random.Random()
        self._session: aiohttp.ClientSession | None = None
        # The last timestamp each body was signed with (by digest), so that no two deliveries share a
        # signature: Slack's retries come seconds apart, each signed when sent, and the app refuses a
        # signature it has already seen as a replay.
        self._signed_at: dict[bytes, int] = {}

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def deliver(
        self, kind: str, payload: Any, retry_num: int = 0, accepts_response: bool = True
    ) -> Delivery:
        """`kind` is events_api, slash_commands or interactive (Socket Mode's envelope types)."""
        reason = RETRY_REASON if retry_num else ""
        connection = self.hub.pick()
        if connection is not None:
            envelope = payloads.envelope(
                kind, payload, accepts_response and kind != "events_api", retry_num, reason
            )
            return await self.hub.send(connection, envelope, self.ack_timeout)
        if self.app_urls:
            return await self._post(kind, payload, retry_num, reason)
        return Delivery(None, None, error="no_app_connected", retry_num=retry_num)

    def _timestamp(self, body: str) -> int:
        now = int(time.time())
        digest = hashlib.sha256(body.encode()).digest()
        at = max(now, self._signed_at.get(digest, now - 1) + 1)
        self._signed_at[digest] = at
        if len(self._signed_at) > 10_000:
            # Beyond Bolt's five-minute window a repeated signature is refused as stale anyway.
            self._signed_at = {d: t for d, t in self._signed_at.items() if t > now - 600}
        return at

    async def _post(self, kind: str, payload: Any, retry_num: int, reason: str) -> Delivery:
        body, content_type = encode_http_body(kind, payload)
        headers = signed_headers(self.signing_secret, body, content_type, self._timestamp(body))
        if retry_num:
            headers["X-Slack-Retry-Num"] = str(retry_num)
            headers["X-Slack-Retry-Reason"] = reason
        if self._session is None:
            self._session = aiohttp.ClientSession()
        # A load balancer sends each request to one replica, and on to another only when that one
        # refuses the connection: once a request is sent it may have been handled, so it is not resent.
        candidates = self._rng.sample(self.app_urls, len(self.app_urls))
        refused: aiohttp.ClientConnectorError | None = None
        for url in candidates:
            try:
                async with self._session.post(
                    url,
                    data=body.encode(),
                    headers=headers,
                    timeout=aiohttp.ClientTimeout(total=self.ack_timeout),
                ) as response:
                    text = await response.text()
                    return Delivery("http", response.status, parse_body(text), retry_num=retry_num, url=url)
            except aiohttp.ClientConnectorError as e:
                refused = e
                continue
            except TimeoutError:
                return Delivery("http", None, error="timeout", retry_num=retry_num, url=url)
            except aiohttp.ClientError as e:
                logger.warning("Could not reach the app at %s: %s", url, e)
                return Delivery("http", None, error=f"connection_failed: {e}", retry_num=retry_num, url=url)
        logger.warning("Could not reach the app at %s: %s", ", ".join(candidates), refused)
        return Delivery(
            "http", None, error=f"connection_failed: {refused}", retry_num=retry_num, url=candidates[-1]
        )


class SocketMode:
    """Slack's end of the app's Socket Mode connections, and the control endpoints that act on them."""

    def __init__(self, state: State, hub: SocketHub) -> None:
        self.state = state
        self.hub = hub

    async def connect(self, request: web.Request) -> web.StreamResponse:
        if request.query.get("ticket") not in self.state.tickets:
            raise WorldError("invalid_ticket", 401)
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        connection = self.hub.add(ws)
        logger.debug("Socket Mode connection %s opened", connection.id)
        try:
            hello = payloads.hello(
                len(self.hub.connections), self.state.app_id, "emulator", SOCKET_LIFETIME_SECONDS
            )
            await ws.send_json(hello)
            async for message in ws:
                if message.type == WSMsgType.TEXT:
                    try:
                        data = json.loads(message.data)
                    except ValueError:
                        logger.warning("Ignored a Socket Mode message that is not JSON: %.200s", message.data)
                        continue
                    if isinstance(data, dict) and "envelope_id" in data:
                        self.hub.acknowledge(data)
                elif message.type == WSMsgType.ERROR:
                    break
        finally:
            self.hub.remove(connection)
            logger.debug("Socket Mode connection %s closed", connection.id)
        return ws

    async def connections(self, request: web.Request) -> web.Response:
        live = [c for c in self.hub.connections if not c.ws.closed]
        return web.json_response({"ok": True, "count": len(live)})

    async def disconnect(self, request: web.Request) -> web.Response:
        """Asks every connected app to reconnect, as Slack does before it recycles a server; with
        `close: true`, drops the connections outright instead, as a network failure would."""
        body = await control_body(request)
        reason = text(body, "reason", required=False) or "refresh_requested"
        connections = list(self.hub.connections)
        for connection in connections:
            with contextlib.suppress(ConnectionError):
                if flag(body, "close"):
                    await connection.ws.close(code=WSCloseCode.GOING_AWAY, message=reason.encode())
                else:
                    notice = {"type": "disconnect", "reason": reason, "debug_info": {"host": "emulator"}}
                    await connection.ws.send_json(notice)
        return web.json_response({"ok": True, "connections": len(connections)})


def register(router: web.UrlDispatcher, state: State, hub: SocketHub) -> None:
    socket_mode = SocketMode(state, hub)
    router.add_get("/socket-mode", socket_mode.connect)
    router.add_get("/_emulator/connections", socket_mode.connections)
    router.add_post("/_emulator/disconnect", socket_mode.disconnect)
