"""People's acts: what a person does in the workspace, kept in the world and delivered to the app as
Slack would deliver it.

- `POST /_emulator/message {team, channel, user, text, thread_ts?, blocks?, ts?}` (also answers `ts`),
  `/_emulator/message_changed {team, channel, ts, text, blocks?}`, `/_emulator/message_deleted {team,
  channel, ts}`, `/_emulator/reaction {team, channel, ts, user, reaction, removed?}`, and
  `/_emulator/event {team, event}` for any other event: each answers `{ok, event_id, delivery,
  redeliveries}`, and `retries: N` redelivers the event N times, as Slack does when an app is slow to
  acknowledge
- `POST /_emulator/join {team, channel, user, inviter?}`: the person joins the channel (invited by
  `inviter`, whom the event names), and the app hears `member_joined_channel` if its bot is there
- `POST /_emulator/archive|unarchive|delete {team, channel, user?}`, `POST /_emulator/rename {team,
  channel, name, user?}` and `POST /_emulator/leave {team, channel, user?}` (the bot when no user is
  named: it is removed from the channel) change the channel, and the app hears what Slack sends: for a
  public channel `channel_archive`, `channel_unarchive`, `channel_deleted`, `channel_rename` whether
  or not its bot is there ("sent to all connections for a workspace"); for a private one the `group_*`
  twins, only if its bot is there; `channel_left` (`group_left`) to the bot removed, the event a bot
  gets for itself, not `member_left_channel` (slackapi issue threads: node-slack-sdk#931,
  bolt-js#1847); `member_left_channel` when someone else leaves a channel the bot is in
- `POST /_emulator/redeliver {event_id}` redelivers one event again (answers `{ok, event_id, delivery}`);
  `GET /_emulator/events[?team=]` lists every event delivered (one workspace's, with `team`) and its retries
- `POST /_emulator/command {team, channel, user, command, text}` runs a slash command, and answers what
  the person saw, as an interaction does (`emulator.interactivity`)

Channel events reach the app only from channels its bot is in, as in Slack. In a channel shared by
several workspaces (`POST /_emulator/share`) the event is delivered once, however many of them
installed the app: its `team_id` is the acting person's workspace, `is_ext_shared_channel` is true
between organizations, and `authorizations` names one installation whose bot is in the channel: the
control body's `authorized` team, else the acting person's workspace, else the host's.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

from aiohttp import web

from emulator import payloads
from emulator.control import JSON, WorldError, control_body, flag, number, text
from emulator.delivery import Deliverer, Delivery
from emulator.interactivity import Responses
from emulator.world import Channel, State, Team, im_id, is_ts, where


@dataclass
class StoredEvent:
    """An event as first delivered, kept so that it can be redelivered with the same `event_id`."""

    team_id: str
    payload: JSON
    retries: int = 0


def not_delivered(reason: str) -> JSON:
    return Delivery(None, None, error=reason).to_json()


class Acts:
    """The control endpoints through which tests and the demo act as people."""

    def __init__(self, state: State, deliverer: Deliverer, responses: Responses) -> None:
        self.state = state
        self.deliverer = deliverer
        self.responses = responses
        self.events: dict[str, StoredEvent] = {}

    async def join(self, request: web.Request) -> web.Response:
        """A user (or the bot) joins a channel; the app hears `member_joined_channel` if it is there."""
        body = await control_body(request)
        with self.state.lock:
            team, channel = where(self.state, body)
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
            inviter = text(body, "inviter", required=False)
            if inviter is not None:
                # Only when someone invited them (docs.slack.dev/reference/events/member_joined_channel).
                event["inviter"] = self.state.ensure_user(team, inviter).id
            bot_here = team.bot_user_id in channel.members
        if not bot_here:
            return web.json_response({"ok": True, "delivery": not_delivered("bot_not_in_channel")})
        return web.json_response({"ok": True, **await self._deliver_event(team, event, body)})

    async def archive(self, request: web.Request) -> web.Response:
        return await self._channel_change(request, "archive")

    async def unarchive(self, request: web.Request) -> web.Response:
        return await self._channel_change(request, "unarchive")

    async def delete(self, request: web.Request) -> web.Response:
        return await self._channel_change(request, "deleted")

    async def rename(self, request: web.Request) -> web.Response:
        return await self._channel_change(request, "rename")

    async def _channel_change(self, request: web.Request, change: str) -> web.Response:
        body = await control_body(request)
        with self.state.lock:
            team, channel = where(self.state, body)
            if channel.is_im:
                raise WorldError("method_not_supported_for_channel_type", 400)
            actor = text(body, "user", required=False) or team.bot_user_id
            prefix = "group" if channel.is_private else "channel"
            event: JSON = {"type": f"{prefix}_{change}", "channel": channel.id}
            if change != "deleted" or prefix == "group":
                # channel_deleted is the one event here that Slack documents without an event_ts.
                event["event_ts"] = self.state.next_ts()
            if change == "archive":
                channel.archived = True
                event["user"] = actor
                if prefix == "group":
                    # Always there in group_archive (0 unless the channel moved to another workspace).
                    event["is_moved"] = 0
            elif change == "unarchive":
                channel.archived = False
                event["user" if prefix == "channel" else "actor_id"] = actor
            elif change == "deleted":
                del team.channels[channel.id]
                if prefix == "group":
                    event.update(actor_id=actor, date_deleted=int(self.state.now()))
            else:
                channel.name = text(body, "name") or ""
                event["channel"] = {
                    "id": channel.id,
                    "name": channel.name,
                    "name_normalized": channel.name,
                    "created": channel.created,
                    "is_channel": not channel.is_private,
                    "is_mpim": False,
                }
            bot_there = team.bot_user_id in channel.members
        if prefix == "group" and not bot_there:
            return web.json_response({"ok": True, "delivery": not_delivered("bot_not_in_channel")})
        return web.json_response({"ok": True, **await self._deliver_event(team, event, body)})

    async def leave(self, request: web.Request) -> web.Response:
        """Someone leaves a channel, or is removed from it; the bot when no user is named."""
        body = await control_body(request)
        with self.state.lock:
            team, channel = where(self.state, body)
            user = text(body, "user", required=False) or team.bot_user_id
            if user not in channel.members:
                raise WorldError("not_in_channel", 400)
            bot_there = team.bot_user_id in channel.members
            channel.members.discard(user)
            now = self.state.next_ts()
            if user == team.bot_user_id:
                kind = "group_left" if channel.is_private else "channel_left"
                event: JSON = {"type": kind, "channel": channel.id, "actor_id": user, "event_ts": now}
            else:
                event = {
                    "type": "member_left_channel",
                    "user": user,
                    "channel": channel.id,
                    "channel_type": "G" if channel.is_private else "C",
                    "team": team.id,
                    "event_ts": now,
                }
        if not bot_there:
            return web.json_response({"ok": True, "delivery": not_delivered("bot_not_in_channel")})
        return web.json_response({"ok": True, **await self._deliver_event(team, event, body)})

    async def message(self, request: web.Request) -> web.Response:
        body = await control_body(request)
        blocks = body.get("blocks")
        if blocks is not None and not isinstance(blocks, list):
            raise WorldError("invalid_blocks", 400)
        with self.state.lock:
            team, channel = where(self.state, body)
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
            team, channel = where(self.state, body)
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
            team, channel = where(self.state, body)
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
            team, channel = where(self.state, body)
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
                removed, user.id, name, channel, message["ts"], message.get("user"), self.state.next_ts()
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
        if event_id not in self.events:
            raise WorldError("event_not_found")
        delivery = await self._redeliver(event_id)
        return web.json_response({"ok": True, "event_id": event_id, "delivery": delivery.to_json()})

    async def list_events(self, request: web.Request) -> web.Response:
        team = request.query.get("team")
        with self.state.lock:
            listed = [
                {
                    "event_id": event_id,
                    "team": e.team_id,
                    "retries": e.retries,
                    "payload": copy.deepcopy(e.payload),
                }
                for event_id, e in self.events.items()
                if team is None or e.team_id == team
            ]
        return web.json_response(listed)

    async def command(self, request: web.Request) -> web.Response:
        body = await control_body(request)
        with self.state.lock:
            team = self.state.team(text(body, "team", required=False))
            user = self.state.ensure_user(team, text(body, "user") or "")
            named = text(body, "channel") or ""
            # The person's DM with the app (its Messages tab) is there to type in before any message.
            dm = self.state.im_channel(team, user.id) if named == im_id(user.id) else None
            channel = dm or self.state.channel(team, named)
            command = text(body, "command") or ""
            if not command.startswith("/"):
                raise WorldError("invalid_command", 400)
            typed = body.get("text") or ""
            if not isinstance(typed, str):
                raise WorldError("invalid_text", 400)
            response_url = self.responses.new_url(team, channel, user.id, None)
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
        return await self.responses.interact(
            "slash_commands", form, response_url, body, accepts_response=True
        )

    async def _deliver_channel_event(self, team: Team, channel: Channel, event: JSON, body: JSON) -> JSON:
        # Slack sends channel events only to apps whose bot is in the channel. In a shared channel the
        # app gets the event once, whichever installations see it, with one of them in `authorizations`.
        with self.state.lock:
            seeing = [t for t in self.state.teams_in(channel) if t.bot_user_id in channel.members]
        if not seeing:
            return {"event_id": None, "delivery": not_delivered("bot_not_in_channel"), "redeliveries": []}
        authorized = self._authorized(team, seeing, body)
        return await self._deliver_event(team, event, body, authorized, channel.is_ext_shared)

    def _authorized(self, team: Team, seeing: list[Team], body: JSON) -> Team:
        """The installation `authorizations` names: `authorized` in the control body when it sees the
        event, else the acting person's workspace when its bot is there, else the channel's host side."""
        wanted = text(body, "authorized", required=False)
        if wanted is not None:
            found = next((t for t in seeing if t.id == wanted), None)
            if found is None:
                raise WorldError("authorized_team_not_in_channel", 400)
            return found
        return team if team in seeing else seeing[0]

    async def _deliver_event(
        self,
        team: Team,
        event: JSON,
        body: JSON,
        authorized: Team | None = None,
        ext_shared: bool = False,
    ) -> JSON:
        if not self.state.app.subscribes(event):
            return {"event_id": None, "delivery": not_delivered("not_subscribed"), "redeliveries": []}
        retries = int(number(body, "retries", 0))
        event_id = self.state.new_event_id()
        payload = payloads.event_callback(
            team, self.state.app_id, event, event_id, int(self.state.now()), authorized, ext_shared
        )
        with self.state.lock:
            self.events[event_id] = StoredEvent(team.id, payload)
        first = await self.deliverer.deliver("events_api", payload)
        again = [(await self._redeliver(event_id)).to_json() for _ in range(retries)]
        return {"event_id": event_id, "delivery": first.to_json(), "redeliveries": again}

    async def _redeliver(self, event_id: str) -> Delivery:
        with self.state.lock:
            stored = self.events[event_id]
            stored.retries += 1
            retry_num, payload = stored.retries, copy.deepcopy(stored.payload)
        return await self.deliverer.deliver("events_api", payload, retry_num=retry_num)


def register(router: web.UrlDispatcher, state: State, deliverer: Deliverer, responses: Responses) -> None:
    acts = Acts(state, deliverer, responses)
    router.add_post("/_emulator/join", acts.join)
    router.add_post("/_emulator/leave", acts.leave)
    router.add_post("/_emulator/archive", acts.archive)
    router.add_post("/_emulator/unarchive", acts.unarchive)
    router.add_post("/_emulator/rename", acts.rename)
    router.add_post("/_emulator/delete", acts.delete)
    router.add_post("/_emulator/message", acts.message)
    router.add_post("/_emulator/message_changed", acts.message_changed)
    router.add_post("/_emulator/message_deleted", acts.message_deleted)
    router.add_post("/_emulator/reaction", acts.reaction)
    router.add_post("/_emulator/event", acts.event)
    router.add_post("/_emulator/redeliver", acts.redeliver)
    router.add_get("/_emulator/events", acts.list_events)
    router.add_post("/_emulator/command", acts.command)
