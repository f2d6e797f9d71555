"""Interactivity: a person clicks a button, runs a message shortcut or submits a modal, and sees what the
app answers, in its ack and on the response_url.

- `POST /_emulator/action {team, channel, user, message_ts, action_id, value?}` clicks a button in a kept
  message, or in an ephemeral one the app showed that user (`is_ephemeral`, no `message`);
  `{team, user, view: "home", action_id, value?}` clicks one in the App Home tab the app
  published for that person (a `block_actions` with a view container, and no channel, message or
  response_url)
- `POST /_emulator/shortcut {team, channel, user, message_ts, callback_id}` runs a message shortcut
- both answer `{ok, ack: {status, body, error, via}, responses: [...], response_url, trigger_id}`;
  `wait` (default 5 s) and `linger` (0.3 s) tune the wait for response_url posts
- `POST /_emulator/submit {team, user, view_id?, callback_id?, values}` submits the person's newest
  open modal (or the one named) as a `view_submission`, and answers `{ok, ack, view_id, closed,
  trigger_id}`: an empty ack closes it, `response_action` `errors` keeps it open, `update` replaces it,
  `push` stacks a new one, `clear` closes the stack
- `POST /_emulator/response/{id}`: the response_url of one command or interaction, where the app posts
  replies (kept when `in_channel`), edits or deletes the original message

`Responses` hands out response URLs and collects what the app posts to them; slash commands
(`emulator.acts`) use it too.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

from emulator import payloads
from emulator.control import JSON, WorldError, control_body, flag, number, text
from emulator.delivery import Deliverer, Delivery
from emulator.web_api import store_view
from emulator.world import Channel, Ephemeral, Modal, State, Team, where

# How long /_emulator/command and /_emulator/action wait after the ack for response_url posts.
DEFAULT_WAIT = 5.0
DEFAULT_LINGER = 0.3


@dataclass
class ResponseUrl:
    team_id: str
    channel_id: str
    user_id: str
    # The message an interaction came from, which `replace_original` / `delete_original` act on.
    message_ts: str | None
    posts: list[JSON] = field(default_factory=list)


def ack_json(delivery: Delivery) -> JSON:
    return {"status": delivery.status, "body": delivery.body, "error": delivery.error, "via": delivery.via}


def _grown(posts: list[Any], seen: int) -> Callable[[], bool]:
    return lambda: len(posts) > seen


class Responses:
    """The response URLs of commands and interactions, and what the app posted to each."""

    def __init__(self, state: State, deliverer: Deliverer, base_url: Callable[[], str]) -> None:
        self.state = state
        self.deliverer = deliverer
        self.base_url = base_url
        self.urls: dict[str, ResponseUrl] = {}
        # Woken by each post, so that a person waiting for what the app says sees it as it comes.
        self._changed: dict[str, asyncio.Condition] = {}

    def new_url(self, team: Team, channel: Channel, user_id: str, message_ts: str | None) -> str:
        response_id = self.state.new_id("R0", 10)
        with self.state.lock:
            self.urls[response_id] = ResponseUrl(team.id, channel.id, user_id, message_ts)
        self._changed[response_id] = asyncio.Condition()
        return f"{self.base_url()}/_emulator/response/{response_id}"

    async def interact(
        self, kind: str, payload: JSON, response_url: str | None, body: JSON, accepts_response: bool
    ) -> web.Response:
        """Delivers a command or an interaction and answers with what the person saw: the ack, then
        the response_url posts."""
        wait = number(body, "wait", DEFAULT_WAIT)
        linger = number(body, "linger", DEFAULT_LINGER)
        delivery = await self.deliverer.deliver(kind, payload, accepts_response=accepts_response)
        responses: list[Any] = []
        if response_url is not None:
            response_id = response_url.rsplit("/", 1)[-1]
            responses = await self._collect(response_id, delivery, wait, linger)
        ack = ack_json(delivery)
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

    async def _collect(self, response_id: str, delivery: Delivery, wait: float, linger: float) -> list[Any]:
        """What the user saw after the ack: the first response_url post when the ack said nothing, then
        any further ones that follow within `linger` of each other."""
        posts = self.urls[response_id].posts
        changed = self._changed[response_id]
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

    async def receive(self, request: web.Request) -> web.Response:
        response_id = request.match_info["id"]
        stored = self.urls.get(response_id)
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
            self._apply(stored, message)
            stored.posts.append(message)
            self.state.call_log.record("response_url", message, stored.team_id, True, None)
        changed = self._changed.get(response_id)
        if changed is not None:
            async with changed:
                changed.notify_all()
        return web.json_response({"ok": True})

    def _apply(self, stored: ResponseUrl, message: JSON) -> None:
        """What a response_url post does to the channel: Slack keeps in_channel replies and edits or
        deletes the message an interaction came from; ephemeral ones are shown to one user, not kept."""
        team = self.state.team(stored.team_id)
        channel = team.channels[stored.channel_id]
        shown = self.state.ephemerals.get((team.id, channel.id, stored.message_ts or ""))
        if shown is not None and shown.user_id == stored.user_id:
            # An ephemeral original: replaced or deleted for the person who sees it.
            if flag(message, "delete_original"):
                del self.state.ephemerals[(team.id, channel.id, shown.message["ts"])]
                return
            if flag(message, "replace_original"):
                shown.message["text"] = message.get("text", "")
                if isinstance(message.get("blocks"), list):
                    shown.message["blocks"] = payloads.with_block_ids(message["blocks"])
                else:
                    shown.message.pop("blocks", None)
                return
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
        elif not flag(message, "replace_original") and not flag(message, "delete_original"):
            # An ephemeral reply, shown to the person who acted, whose buttons they may click.
            ts = self.state.next_ts()
            reply: JSON = {
                "type": "message",
                "ts": ts,
                "text": str(message.get("text", "")),
                "bot_id": team.bot_id,
            }
            if isinstance(message.get("blocks"), list):
                reply["blocks"] = payloads.with_block_ids(message["blocks"])
            self.state.ephemerals[(team.id, channel.id, ts)] = Ephemeral(stored.user_id, reply)


class Interactivity:
    """Button clicks, message shortcuts and modal submissions, delivered to the app."""

    def __init__(self, state: State, deliverer: Deliverer, responses: Responses) -> None:
        self.state = state
        self.deliverer = deliverer
        self.responses = responses

    async def action(self, request: web.Request) -> web.Response:
        body = await control_body(request)
        if body.get("view") is not None:
            return await self._view_action(body)
        with self.state.lock:
            team, channel = where(self.state, body)
            user = self.state.ensure_user(team, text(body, "user") or "")
            ts = text(body, "message_ts") or ""
            shown = self.state.ephemerals.get((team.id, channel.id, ts))
            # An ephemeral message is there for the person it was shown to, and for nobody else.
            ephemeral = shown is not None and shown.user_id == user.id
            message = shown.message if shown is not None and ephemeral else self.state.message(channel, ts)
            value = body.get("value")
            value = value if isinstance(value, str) else None
            found = payloads.find_button(message.get("blocks") or [], text(body, "action_id") or "", value)
            if found is None:
                raise WorldError("action_not_found")
            block_id, button = found
            response_url = self.responses.new_url(team, channel, user.id, message["ts"])
            payload = payloads.block_actions(
                team,
                self.state.app_id,
                channel,
                user,
                message if ephemeral else self.state.render(channel, message),
                block_id,
                button,
                value,
                self.state.next_ts(),
                response_url,
                self.state.issue_trigger(team.id, user.id),
                ephemeral=ephemeral,
            )
        return await self.responses.interact(
            "interactive", payload, response_url, body, accepts_response=False
        )

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
        return await self.responses.interact("interactive", payload, None, body, accepts_response=False)

    async def shortcut(self, request: web.Request) -> web.Response:
        body = await control_body(request)
        with self.state.lock:
            team, channel = where(self.state, body)
            user = self.state.ensure_user(team, text(body, "user") or "")
            message = self.state.message(channel, text(body, "message_ts") or "")
            response_url = self.responses.new_url(team, channel, user.id, message["ts"])
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
        return await self.responses.interact(
            "interactive", payload, response_url, body, accepts_response=False
        )

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
                "ack": ack_json(delivery),
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


def register(router: web.UrlDispatcher, state: State, deliverer: Deliverer, responses: Responses) -> None:
    interactivity = Interactivity(state, deliverer, responses)
    router.add_post("/_emulator/response/{id}", responses.receive)
    router.add_post("/_emulator/action", interactivity.action)
    router.add_post("/_emulator/shortcut", interactivity.shortcut)
    router.add_post("/_emulator/submit", interactivity.submit)
