"""The emulator's aiohttp application, the `Emulator` that runs it on a thread, and `serve_forever`.

One port serves the Web API (`/api/<method>`), Socket Mode's WebSocket (`/socket-mode`), the URLs
Slack would host elsewhere (response_url, file uploads) and the `/_emulator/...` control endpoints
through which tests and the demo act as people in the workspace.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import logging
import signal
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import WSCloseCode, WSMsgType, web

from emulator import call_log, faults, oauth, payloads, rate_limits
from emulator.control import JSON, WorldError, control_body, errors_as_json, flag, number, text
from emulator.delivery import Deliverer, Delivery, SocketHub, app_urls
from emulator.rate_limits import RateLimiter, RateLimits
from emulator.web_api import ApiResult, handle_call, store_view
from emulator.world import (
    Channel,
    Modal,
    ResponseUrl,
    State,
    StoredEvent,
    Team,
    is_ts,
    ts_key,
)

logger = logging.getLogger(__name__)

# How long /_emulator/command and /_emulator/action wait after the ack for response_url posts.
DEFAULT_WAIT = 5.0
DEFAULT_LINGER = 0.3
# Slack refreshes a Socket Mode connection after about five hours and says so in `hello`.
SOCKET_LIFETIME_SECONDS = 18060


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


class EmulatorApp:
    """The aiohttp side: routes and the deliveries they trigger, over a shared `State`."""

    def __init__(self, state: State, settings: EmulatorSettings, base_url: Callable[[], str]) -> None:
        self.state = state
        self.settings = settings
        self.base_url = base_url
        self.hub = SocketHub()
        self.deliverer = Deliverer(self.hub, settings.app_url, settings.signing_secret, settings.ack_timeout)
        self._responses_changed: dict[str, asyncio.Condition] = {}

    def build(self) -> web.Application:
        app = web.Application(middlewares=[errors_as_json], client_max_size=64 * 1024 * 1024)
        route = app.router
        oauth.register(route, oauth.OAuth(self.state, self.settings.client_id, self.settings.client_secret))
        route.add_route("*", "/api/{method}", self.api)
        route.add_get("/socket-mode", self.socket_mode)
        route.add_post("/_emulator/response/{id}", self.response_url)
        route.add_post("/_emulator/upload/{file_id}", self.upload)
        route.add_get("/_emulator/files/{file_id}/{name}", self.download)
        route.add_get("/_emulator/health", self.health)
        route.add_get("/_emulator/world", self.world)
        route.add_post("/_emulator/team", self.add_team)
        route.add_post("/_emulator/channel", self.add_channel)
        route.add_post("/_emulator/user", self.add_user)
        route.add_post("/_emulator/token", self.add_token)
        route.add_post("/_emulator/join", self.join)
        route.add_post("/_emulator/message", self.message)
        route.add_post("/_emulator/message_changed", self.message_changed)
        route.add_post("/_emulator/message_deleted", self.message_deleted)
        route.add_post("/_emulator/reaction", self.reaction)
        route.add_post("/_emulator/event", self.event)
        route.add_post("/_emulator/redeliver", self.redeliver)
        route.add_get("/_emulator/events", self.events)
        route.add_post("/_emulator/command", self.command)
        route.add_post("/_emulator/action", self.action)
        route.add_post("/_emulator/shortcut", self.shortcut)
        route.add_post("/_emulator/submit", self.submit)
        route.add_post("/_emulator/disconnect", self.disconnect)
        route.add_get("/_emulator/connections", self.connections)
        route.add_get("/_emulator/messages", self.messages)
        route.add_get("/_emulator/views", self.views)
        call_log.register(route, self.state.call_log)
        faults.register(route, self.state.faults)
        rate_limits.register(route, self.state)
        app.on_shutdown.append(self._on_shutdown)
        return app

    async def _on_shutdown(self, app: web.Application) -> None:
        await self.hub.close_all()
        await self.deliverer.close()

    # ---- Web API ----------------------------------------------------------------------------

    async def api(self, request: web.Request) -> web.Response:
        name = request.match_info["method"]
        values: JSON = dict(request.query)
        result: ApiResult | None = None
        if request.method == "POST":
            if request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
                form = await request.post()
                values.update({k: v for k, v in form.items() if isinstance(v, str)})
            else:
                raw = await request.text()
                if request.content_type == "application/json" and raw.strip():
                    try:
                        parsed = json.loads(raw)
                    except ValueError:
                        result = ApiResult(200, {"ok": False, "error": "invalid_json"})
                    else:
                        if isinstance(parsed, dict):
                            values.update(parsed)
                        else:
                            result = ApiResult(200, {"ok": False, "error": "json_not_object"})
                elif raw.strip():
                    values.update(parse_qsl(raw))
        auth = request.headers.get("Authorization", "")
        token = auth[7:].strip() if auth.lower().startswith("bearer ") else values.get("token")
        if result is None:
            result = handle_call(
                self.state, name, values, token if isinstance(token, str) else None, self.base_url()
            )
        else:
            self.state.call_log.record(name, {}, None, False, result.body["error"], token=str(token or ""))
        slow = self.state.faults.trip(name, slow=True)
        if slow is not None:
            # Done already, answered late: a client that dies meanwhile never learns that it worked.
            await asyncio.sleep(slow.delay)
        return web.json_response(result.body, status=result.status, headers=result.headers)

    async def upload(self, request: web.Request) -> web.Response:
        file_id = request.match_info["file_id"]
        data = await request.read()
        with self.state.lock:
            stored = self.state.files.get(file_id)
            if stored is None:
                raise WorldError("file_not_found")
            stored.data = data
            self.state.call_log.record(
                "upload_url", {"file_id": file_id, "length": len(data)}, stored.team_id, True, None
            )
        return web.Response(text=f"OK - {len(data)}")

    async def download(self, request: web.Request) -> web.Response:
        stored = self.state.files.get(request.match_info["file_id"])
        if stored is None or stored.data is None:
            raise WorldError("file_not_found")
        return web.Response(body=stored.data, content_type="application/octet-stream")

    # ---- Socket Mode ------------------------------------------------------------------------

    async def socket_mode(self, request: web.Request) -> web.StreamResponse:
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

    # ---- the world --------------------------------------------------------------------------

    async def health(self, request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    async def world(self, request: web.Request) -> web.Response:
        return web.json_response({"ok": True, **self.state.world()})

    async def add_team(self, request: web.Request) -> web.Response:
        body = await control_body(request)
        team = self.state.add_team(
            text(body, "id") or "",
            text(body, "domain") or "",
            text(body, "name", required=False),
            text(body, "bot_user_id", required=False),
            text(body, "bot_id", required=False),
        )
        return web.json_response(
            {"ok": True, "team": {**team.to_slack(), "bot_user_id": team.bot_user_id, "bot_id": team.bot_id}}
        )

    async def add_channel(self, request: web.Request) -> web.Response:
        body = await control_body(request)
        members = body.get("members") or []
        if not isinstance(members, list) or not all(isinstance(m, str) for m in members):
            raise WorldError("invalid_members", 400)
        with self.state.lock:
            team = self.state.team(text(body, "team", required=False))
            for user_id in members:
                self.state.ensure_user(team, user_id)
            channel = self.state.add_channel(
                team.id,
                text(body, "id") or "",
                (text(body, "name") or "").removeprefix("#"),
                is_private=flag(body, "is_private"),
                bot_member=flag(body, "bot_member", default=True),
                members=members,
            )
            info = channel.to_slack(team.bot_user_id)
        return web.json_response({"ok": True, "channel": info})

    async def add_user(self, request: web.Request) -> web.Response:
        body = await control_body(request)
        with self.state.lock:
            team = self.state.team(text(body, "team", required=False))
            user = self.state.add_user(
                team.id,
                text(body, "id") or "",
                text(body, "name") or "",
                text(body, "real_name", required=False),
                text(body, "tz", required=False),
            )
            return web.json_response({"ok": True, "user": user.to_slack(self.state.now())})

    async def add_token(self, request: web.Request) -> web.Response:
        body = await control_body(request)
        token = text(body, "token") or ""
        if not token.startswith(("xoxb-", "xapp-")):
            raise WorldError("invalid_token", 400)
        self.state.register_token(token, text(body, "team") or "")
        return web.json_response({"ok": True})

    # ---- people acting in the workspace -----------------------------------------------------

    def _where(self, body: JSON) -> tuple[Team, Channel]:
        team = self.state.team(text(body, "team", required=False))
        return team, self.state.channel(team, text(body, "channel") or "")

    async def join(self, request: web.Request) -> web.Response:
        """A user (or the bot) joins a channel; the app hears `member_joined_channel` if it is there."""
        body = await control_body(request)
        with self.state.lock:
            team, channel = self._where(body)
            user = self.state.ensure_user(team, text(body, "user") or "")
            channel.members.add(user.id)
            event: JSON = {
                "type": "member_joined_channel",
                "user": user.id,
                "channel": channel.id,
                "channel_type": "G" if channel.is_private else "C",
                "team": team.id,
                "event_ts": self.state.next_ts(),
            }
            bot_here = team.bot_user_id in channel.members
        if not bot_here:
            return web.json_response({"ok": True, "delivery": _not_delivered("bot_not_in_channel")})
        return web.json_response({"ok": True, **await self._deliver_event(team, event, body)})

    async def message(self, request: web.Request) -> web.Response:
        body = await control_body(request)
        blocks = body.get("blocks")
        if blocks is not None and not isinstance(blocks, list):
            raise WorldError("invalid_blocks", 400)
        with self.state.lock:
            team, channel = self._where(body)
            user = self.state.ensure_user(team, text(body, "user") or "")
            said = text(body, "text", required=blocks is None) or ""
            thread_ts, parent_user = None, None
            if (wanted := text(body, "thread_ts", required=False)) is not None:
                parent = self.state.thread_parent(channel, wanted)
                thread_ts, parent_user = parent["ts"], parent.get("user")
            ts = text(body, "ts", required=False)
            if ts is not None and not is_ts(ts):
                raise WorldError("invalid_ts", 400)
            # People post only where they are members; the emulator lets them in rather than refusing.
            channel.members.add(user.id)
            message = payloads.human_message(
                team, user, said, ts or self.state.next_ts(), thread_ts, parent_user, blocks
            )
            self.state.keep_message(channel, message)
            event = payloads.message_event(channel, message)
        result = await self._deliver_channel_event(team, channel, event, body)
        return web.json_response({"ok": True, "ts": message["ts"], **result})

    async def message_changed(self, request: web.Request) -> web.Response:
        body = await control_body(request)
        blocks = body.get("blocks")
        with self.state.lock:
            team, channel = self._where(body)
            message = self.state.message(channel, text(body, "ts") or "")
            previous = copy.deepcopy(message)
            said = payloads.linkify(text(body, "text") or "")
            now_ts = self.state.next_ts()
            message["text"] = said
            message["blocks"] = (
                payloads.with_block_ids(blocks) if isinstance(blocks, list) else payloads.rich_text(said)
            )
            message["edited"] = {"user": message.get("user", ""), "ts": now_ts}
            current = self.state.render(channel, message)
            event = payloads.message_changed_event(
                channel, self.state.render(channel, previous), current, now_ts
            )
        result = await self._deliver_channel_event(team, channel, event, body)
        return web.json_response({"ok": True, "ts": message["ts"], **result})

    async def message_deleted(self, request: web.Request) -> web.Response:
        body = await control_body(request)
        with self.state.lock:
            team, channel = self._where(body)
            ts = text(body, "ts") or ""
            previous = self.state.render(channel, self.state.message(channel, ts))
            self.state.remove_message(channel, ts)
            event = payloads.message_deleted_event(channel, previous, self.state.next_ts())
        result = await self._deliver_channel_event(team, channel, event, body)
        return web.json_response({"ok": True, "ts": ts, **result})

    async def reaction(self, request: web.Request) -> web.Response:
        body = await control_body(request)
        removed = flag(body, "removed")
        with self.state.lock:
            team, channel = self._where(body)
            user = self.state.ensure_user(team, text(body, "user") or "")
            message = self.state.message(channel, text(body, "ts") or "")
            name = (text(body, "reaction") or "").strip(":")
            if not name:
                raise WorldError("missing_reaction", 400)
            if removed and not self.state.remove_reaction(message, name, user.id):
                raise WorldError("no_reaction", 409)
            if not removed and not self.state.add_reaction(message, name, user.id):
                raise WorldError("already_reacted", 409)
            event = payloads.reaction_event(
                removed, user.id, name, channel.id, message["ts"], message.get("user"), self.state.next_ts()
            )
        result = await self._deliver_channel_event(team, channel, event, body)
        return web.json_response({"ok": True, **result})

    async def event(self, request: web.Request) -> web.Response:
        body = await control_body(request)
        event = body.get("event")
        if not isinstance(event, dict) or not isinstance(event.get("type"), str):
            raise WorldError("invalid_event", 400)
        team = self.state.team(text(body, "team", required=False))
        event = {**event, "event_ts": event.get("event_ts") or self.state.next_ts()}
        return web.json_response({"ok": True, **await self._deliver_event(team, event, body)})

    async def redeliver(self, request: web.Request) -> web.Response:
        body = await control_body(request)
        event_id = text(body, "event_id") or ""
        if event_id not in self.state.events:
            raise WorldError("event_not_found")
        delivery = await self._redeliver(event_id)
        return web.json_response({"ok": True, "event_id": event_id, "delivery": delivery.to_json()})

    async def events(self, request: web.Request) -> web.Response:
        with self.state.lock:
            listed = [
                {
                    "event_id": event_id,
                    "team": e.team_id,
                    "retries": e.retries,
                    "payload": copy.deepcopy(e.payload),
                }
                for event_id, e in self.state.events.items()
            ]
        return web.json_response(listed)

    async def _deliver_channel_event(self, team: Team, channel: Channel, event: JSON, body: JSON) -> JSON:
        # Slack sends channel events only to apps whose bot is in the channel.
        if team.bot_user_id not in channel.members:
            return {"event_id": None, "delivery": _not_delivered("bot_not_in_channel"), "redeliveries": []}
        return await self._deliver_event(team, event, body)

    async def _deliver_event(self, team: Team, event: JSON, body: JSON) -> JSON:
        retries = int(number(body, "retries", 0))
        event_id = self.state.new_event_id()
        payload = payloads.event_callback(team, self.state.app_id, event, event_id, int(self.state.now()))
        with self.state.lock:
            self.state.events[event_id] = StoredEvent(team.id, payload)
        first = await self.deliverer.deliver("events_api", payload)
        again = [(await self._redeliver(event_id)).to_json() for _ in range(retries)]
        return {"event_id": event_id, "delivery": first.to_json(), "redeliveries": again}

    async def _redeliver(self, event_id: str) -> Delivery:
        with self.state.lock:
            stored = self.state.events[event_id]
            stored.retries += 1
            retry_num, payload = stored.retries, copy.deepcopy(stored.payload)
        return await self.deliverer.deliver("events_api", payload, retry_num=retry_num)

    # ---- commands and interactions ----------------------------------------------------------

    def _response_url(self, team: Team, channel: Channel, user_id: str, message_ts: str | None) -> str:
        response_id = self.state.new_id("R0", 10)
        with self.state.lock:
            self.state.response_urls[response_id] = ResponseUrl(team.id, channel.id, user_id, message_ts)
        self._responses_changed[response_id] = asyncio.Condition()
        return f"{self.base_url()}/_emulator/response/{response_id}"

    async def command(self, request: web.Request) -> web.Response:
        body = await control_body(request)
        with self.state.lock:
            team, channel = self._where(body)
            user = self.state.ensure_user(team, text(body, "user") or "")
            command = text(body, "command") or ""
            if not command.startswith("/"):
                raise WorldError("invalid_command", 400)
            typed = body.get("text") or ""
            if not isinstance(typed, str):
                raise WorldError("invalid_text", 400)
            response_url = self._response_url(team, channel, user.id, None)
            form = payloads.slash_command(
                team,
                self.state.app_id,
                channel,
                user,
                command,
                typed,
                response_url,
                self.state.issue_trigger(team.id, user.id),
            )
        return await self._interact("slash_commands", form, response_url, body, accepts_response=True)

    async def action(self, request: web.Request) -> web.Response:
        body = await control_body(request)
        if body.get("view") is not None:
            return await self._view_action(body)
        with self.state.lock:
            team, channel = self._where(body)
            user = self.state.ensure_user(team, text(body, "user") or "")
            message = self.state.message(channel, text(body, "message_ts") or "")
            value = body.get("value")
            value = value if isinstance(value, str) else None
            found = payloads.find_button(message.get("blocks") or [], text(body, "action_id") or "", value)
            if found is None:
                raise WorldError("action_not_found")
            block_id, button = found
            response_url = self._response_url(team, channel, user.id, message["ts"])
            payload = payloads.block_actions(
                team,
                self.state.app_id,
                channel,
                user,
                self.state.render(channel, message),
                block_id,
                button,
                value,
                self.state.next_ts(),
                response_url,
                self.state.issue_trigger(team.id, user.id),
            )
        return await self._interact("interactive", payload, response_url, body, accepts_response=False)

    async def _view_action(self, body: JSON) -> web.Response:
        """A button clicked on the App Home tab the app published for that person with `views.publish`;
        with `value`, the button with that action_id and that value."""
        if body.get("view") != "home":
            raise WorldError("invalid_view", 400)
        with self.state.lock:
            team = self.state.team(text(body, "team", required=False))
            user = self.state.ensure_user(team, text(body, "user") or "")
            view_id = self.state.home_views.get((team.id, user.id))
            if view_id is None:
                raise WorldError("view_not_found")
            view = self.state.views[view_id]
            value = text(body, "value", required=False)
            found = [
                (block_id, button)
                for block_id, button in payloads.find_buttons(view["blocks"], text(body, "action_id") or "")
                if value is None or button.get("value") == value
            ]
            if not found:
                raise WorldError("action_not_found")
            block_id, button = found[0]
            payload = payloads.view_block_actions(
                team,
                self.state.app_id,
                user,
                view,
                block_id,
                button,
                self.state.next_ts(),
                self.state.issue_trigger(team.id, user.id),
            )
        return await self._interact("interactive", payload, None, body, accepts_response=False)

    async def shortcut(self, request: web.Request) -> web.Response:
        body = await control_body(request)
        with self.state.lock:
            team, channel = self._where(body)
            user = self.state.ensure_user(team, text(body, "user") or "")
            message = self.state.message(channel, text(body, "message_ts") or "")
            response_url = self._response_url(team, channel, user.id, message["ts"])
            payload = payloads.message_action(
                team,
                channel,
                user,
                self.state.render(channel, message),
                text(body, "callback_id") or "",
                self.state.next_ts(),
                response_url,
                self.state.issue_trigger(team.id, user.id),
            )
        return await self._interact("interactive", payload, response_url, body, accepts_response=False)

    async def submit(self, request: web.Request) -> web.Response:
        """The person submits a modal the app opened for them (the newest open one unless `view_id` or
        `callback_id` names it); what the app's ack says then closes it, keeps it open (`errors`),
        replaces it (`update`), stacks another on it (`push`) or closes its whole stack (`clear`)."""
        body = await control_body(request)
        with self.state.lock:
            team = self.state.team(text(body, "team", required=False))
            user = self.state.ensure_user(team, text(body, "user") or "")
            view_id = self._modal_to_submit(
                team,
                user.id,
                text(body, "view_id", required=False),
                text(body, "callback_id", required=False),
            )
            view = self.state.views[view_id]
            values = payloads.submitted_state(view["blocks"], body.get("values") or {})
            payload = payloads.view_submission(
                team, self.state.app_id, user, view, values, self.state.issue_trigger(team.id, user.id)
            )
        delivery = await self.deliverer.deliver("interactive", payload, accepts_response=True)
        with self.state.lock:
            closed = self._after_submission(team, view_id, values, delivery)
        return web.json_response(
            {
                "ok": True,
                "ack": _ack(delivery),
                "view_id": view_id,
                "closed": closed,
                "trigger_id": payload["trigger_id"],
            }
        )

    def _modal_to_submit(self, team: Team, user_id: str, view_id: str | None, callback_id: str | None) -> str:
        for candidate in self.state.open_modals(team.id, user_id):
            if view_id not in (None, candidate):
                continue
            if callback_id not in (None, self.state.views[candidate]["callback_id"]):
                continue
            return candidate
        raise WorldError("view_not_found")

    def _after_submission(self, team: Team, view_id: str, values: JSON, delivery: Delivery) -> bool:
        """Applies the app's answer to a view_submission; True when the submitted modal closed. A
        missing or failed ack leaves it open, as Slack then shows the person an error in it."""
        view = self.state.views[view_id]
        modal = self.state.modals[view_id]
        answer = delivery.body
        if delivery.acked and answer is None:
            answer = {}
        action = answer.get("response_action") if isinstance(answer, dict) else None
        new_view = answer.get("view") if isinstance(answer, dict) else None
        usable_view = isinstance(new_view, dict) and isinstance(new_view.get("blocks"), list)
        new_view = new_view if isinstance(new_view, dict) else {}
        if not delivery.acked or not isinstance(answer, dict) or action == "errors":
            # The modal stays open with what was typed, and the errors (or Slack's) under the inputs.
            view["state"] = {"values": values}
        elif action is None:
            modal.closed = True
        elif action == "clear":
            root = view["root_view_id"]
            for other_id, other in self.state.modals.items():
                if (other.team_id, other.user_id) == (modal.team_id, modal.user_id) and (
                    self.state.views[other_id]["root_view_id"] == root
                ):
                    other.closed = True
        elif action == "update" and usable_view:
            store_view(
                self.state,
                team,
                {**new_view, "type": "modal"},
                view_id=view_id,
                root_id=view["root_view_id"],
                previous_id=view["previous_view_id"],
            )
        elif action == "push" and usable_view:
            view["state"] = {"values": values}
            pushed = store_view(
                self.state,
                team,
                {**new_view, "type": "modal"},
                root_id=view["root_view_id"],
                previous_id=view_id,
            )
            self.state.modals[pushed["id"]] = Modal(team.id, modal.user_id)
        else:
            view["state"] = {"values": values}
        return modal.closed

    async def _interact(
        self, kind: str, payload: JSON, response_url: str | None, body: JSON, accepts_response: bool
    ) -> web.Response:
        wait = number(body, "wait", DEFAULT_WAIT)
        linger = number(body, "linger", DEFAULT_LINGER)
        delivery = await self.deliverer.deliver(kind, payload, accepts_response=accepts_response)
        responses: list[Any] = []
        if response_url is not None:
            response_id = response_url.rsplit("/", 1)[-1]
            responses = await self._collect_responses(response_id, delivery, wait, linger)
        ack = _ack(delivery)
        trigger_id = payload.get("trigger_id")
        return web.json_response(
            {
                "ok": True,
                "ack": ack,
                "responses": responses,
                "response_url": response_url,
                "trigger_id": trigger_id,
            }
        )

    async def _collect_responses(
        self, response_id: str, delivery: Delivery, wait: float, linger: float
    ) -> list[Any]:
        """What the user saw after the ack: the first response_url post when the ack said nothing, then
        any further ones that follow within `linger` of each other."""
        posts = self.state.response_urls[response_id].posts
        changed = self._responses_changed[response_id]
        if delivery.acked:
            async with changed:
                if delivery.body is None:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(changed.wait_for(lambda: len(posts) >= 1), wait)
                while True:
                    try:
                        await asyncio.wait_for(changed.wait_for(_grown(posts, len(posts))), linger)
                    except TimeoutError:
                        break
        with self.state.lock:
            return copy.deepcopy(posts)

    async def response_url(self, request: web.Request) -> web.Response:
        response_id = request.match_info["id"]
        stored = self.state.response_urls.get(response_id)
        if stored is None:
            raise WorldError("expired_url")
        raw = await request.text()
        try:
            message = json.loads(raw) if raw.strip() else {}
        except ValueError:
            if request.content_type == "application/x-www-form-urlencoded":
                message = json.loads(dict(parse_qsl(raw)).get("payload", "{}"))
            else:
                raise WorldError("invalid_payload", 400) from None
        if not isinstance(message, dict):
            raise WorldError("invalid_payload", 400)
        with self.state.lock:
            self._apply_response(stored, message)
            stored.posts.append(message)
            self.state.call_log.record("response_url", message, stored.team_id, True, None)
        changed = self._responses_changed.get(response_id)
        if changed is not None:
            async with changed:
                changed.notify_all()
        return web.json_response({"ok": True})

    def _apply_response(self, stored: ResponseUrl, message: JSON) -> None:
        """What a response_url post does to the channel: Slack keeps in_channel replies and edits or
        deletes the message an interaction came from; ephemeral ones are shown to one user, not kept."""
        team = self.state.team(stored.team_id)
        channel = team.channels[stored.channel_id]
        original = channel.messages.get(stored.message_ts or "")
        if original is not None and flag(message, "delete_original"):
            self.state.remove_message(channel, original["ts"])
        elif original is not None and flag(message, "replace_original"):
            original["text"] = message.get("text", "")
            if isinstance(message.get("blocks"), list):
                original["blocks"] = payloads.with_block_ids(message["blocks"])
            else:
                original.pop("blocks", None)
        elif message.get("response_type") == "in_channel":
            thread_ts = message.get("thread_ts") if isinstance(message.get("thread_ts"), str) else None
            parent_user = None
            if thread_ts is not None:
                parent = self.state.thread_parent(channel, thread_ts)
                thread_ts, parent_user = parent["ts"], parent.get("user")
            kept = payloads.bot_message(
                team,
                self.state.app_id,
                self.state.next_ts(),
                self.state.now(),
                str(message.get("text", "")),
                blocks=message.get("blocks") if isinstance(message.get("blocks"), list) else None,
                thread_ts=thread_ts,
                parent_user_id=parent_user,
            )
            self.state.keep_message(channel, kept)

    # ---- inspection -------------------------------------------------------------------------

    async def messages(self, request: web.Request) -> web.Response:
        """Kept messages oldest first, thread replies included, each naming its channel."""
        with self.state.lock:
            team = self.state.team(request.query.get("team"))
            wanted = request.query.get("channel")
            channels = [self.state.channel(team, wanted)] if wanted else list(team.channels.values())
            listed = []
            for channel in channels:
                for _, ts in channel.order:
                    listed.append({**self.state.render(channel, channel.messages[ts]), "channel": channel.id})
            listed.sort(key=lambda m: ts_key(m["ts"]))
        return web.json_response(listed)

    async def views(self, request: web.Request) -> web.Response:
        with self.state.lock:
            team = self.state.team(request.query.get("team"))
            user = request.query.get("user")
            owners: dict[str, str | None] = {
                view_id: u for (t, u), view_id in self.state.home_views.items() if t == team.id
            }
            owners.update({view_id: m.user_id for view_id, m in self.state.modals.items()})
            listed = [
                {
                    **copy.deepcopy(v),
                    "user": owners.get(view_id),
                    "closed": view_id in self.state.modals and self.state.modals[view_id].closed,
                }
                for view_id, v in self.state.views.items()
                if v["team_id"] == team.id and (user is None or owners.get(view_id) == user)
            ]
        return web.json_response(listed)


def _grown(posts: list[Any], seen: int) -> Callable[[], bool]:
    return lambda: len(posts) > seen


def _ack(delivery: Delivery) -> JSON:
    return {"status": delivery.status, "body": delivery.body, "error": delivery.error, "via": delivery.via}


def _not_delivered(reason: str) -> JSON:
    return Delivery(None, None, error=reason).to_json()


class Emulator:
    """The emulator on a background thread with its own event loop; `start()` returns once it listens."""

    def __init__(self, settings: EmulatorSettings | None = None) -> None:
        self.settings = settings or EmulatorSettings()
        self.state = State(clock=self.settings.clock)
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
        app = EmulatorApp(self.state, self.settings, lambda: self.base_url).build()
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.settings.host, self.settings.port)
        await site.start()
        address = self._runner.addresses[0]
        self._port = int(address[1])


def describe(emulator: Emulator) -> str:
    """One line: where the emulator listens and what world it starts with."""
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
            f"bot {team.bot_user_id}, channels {channels}; events go to {target}; {limits}"
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
