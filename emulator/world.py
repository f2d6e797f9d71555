"""The emulated world: teams, channels, users, kept messages, files, views, and the control endpoints
that shape it and read it back.

`State` is plain data behind one re-entrant lock, with no I/O, so that the aiohttp thread and a test's
own thread can both read and change it. Messages are stored in the shape Slack returns them from
`conversations.history`; thread fields (`reply_count`, `latest_reply`…) are derived on read so they can
never disagree with the replies actually kept. The state also holds the calls log, the faults and the
rate limiter (each in a module of its own), under the same lock.

The control endpoints (JSON bodies; `team` defaults to `T0TWOWAY1`):

- `POST /_emulator/team {id, domain, name?, bot_user_id?, bot_id?, enterprise_id?, enterprise_name?}` (an
  `enterprise_id` puts the workspace in that Enterprise Grid org), `POST /_emulator/channel {team, id,
  name, is_private?, bot_member? (default true), members?}`, `POST /_emulator/share {team, channel,
  with, bot_member? (default true)}` (the host `team` shares its channel with workspace `with`: Slack
  Connect between organizations, org-shared within one), `POST /_emulator/emoji {team, name, alias?}`
  (a custom emoji, which emoji.list lists), `POST /_emulator/user {team, id, name, real_name?, tz?,
  display_name?, deleted?, is_bot?}`, `POST /_emulator/token {token, team}` (ties a bot
  or app token to a team)
- `GET /_emulator/world`, `GET /_emulator/health`, `GET /_emulator/messages?team=&channel=` (kept
  messages oldest first, each naming its channel), `GET /_emulator/views?team=&user=` (each with `user`
  and `closed`), `GET /_emulator/ephemerals?team=&user=&channel=` (the ephemeral messages shown to that
  user, in that channel if one is named, oldest first, each naming its channel)
"""

from __future__ import annotations

import base64
import copy
import itertools
import re
import secrets
import threading
import time
import uuid
from bisect import insort
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from aiohttp import web

from emulator.app_manifest import AppManifest
from emulator.bluesky_api import Bluesky
from emulator.call_log import CallLog
from emulator.control import JSON, WorldError, control_body, flag, text
from emulator.faults import Faults
from emulator.mastodon_api import Mastodon
from emulator.rate_limits import RateLimiter

DEFAULT_TEAM_ID = "T0TWOWAY1"
DEFAULT_TEAM_DOMAIN = "twoway-demo"
DEFAULT_TEAM_NAME = "twoway demo"
APP_ID = "A0TWOWAY1"
BOT_USER_ID = "U0TWOWAYBOT"
BOT_ID = "B0TWOWAY1"
BOT_NAME = "twoway"
SOCIAL_CHANNEL_ID = "C0SOCIAL01"
GENERAL_CHANNEL_ID = "C0GENERAL1"
SEED_USERS: tuple[tuple[str, str, str, str], ...] = (
    ("U0ADA00001", "ada", "Ada Lovelace", "Europe/London"),
    ("U0GRACE001", "grace", "Grace Hopper", "America/New_York"),
    ("U0LINUS001", "linus", "Linus Torvalds", "America/Los_Angeles"),
)
# Slack's deprecated per-app verification token, which payloads still carry.
VERIFICATION_TOKEN = "emulator-verification-token"  # noqa: S105

_TS_RE = re.compile(r"^\d{1,12}\.\d{1,6}$")


def is_ts(value: str) -> bool:
    return bool(_TS_RE.match(value))


def ts_key(ts: str) -> int:
    """Microseconds since the epoch, so that ts strings of any width order correctly."""
    seconds, _, fraction = ts.partition(".")
    return int(seconds) * 1_000_000 + int((fraction or "0").ljust(6, "0")[:6])


def format_ts(micros: int) -> str:
    return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"


def tz_offset(tz: str, now: float) -> int:
    try:
        offset = datetime.fromtimestamp(now, ZoneInfo(tz)).utcoffset()
    except (ZoneInfoNotFoundError, ValueError):
        return 0
    return int(offset.total_seconds()) if offset else 0


def tz_label(tz: str, now: float) -> str:
    try:
        return datetime.fromtimestamp(now, ZoneInfo(tz)).tzname() or tz
    except (ZoneInfoNotFoundError, ValueError):
        return tz


@dataclass
class User:
    id: str
    team_id: str
    name: str
    real_name: str
    tz: str = "UTC"
    is_bot: bool = False
    bot_id: str | None = None
    updated: int = 0
    # The name shown in Slack, when the person set one apart from their username.
    display_name: str | None = None
    # A deactivated account: users.list and users.info still answer it, flagged.
    deleted: bool = False

    @property
    def shown_name(self) -> str:
        return self.name if self.display_name is None else self.display_name

    def to_slack(self, now: float) -> JSON:
        profile: JSON = {
            "real_name": self.real_name,
            "real_name_normalized": self.real_name,
            "display_name": "" if self.is_bot else self.shown_name,
            "display_name_normalized": "" if self.is_bot else self.shown_name,
            "first_name": self.real_name.split(" ")[0],
            "last_name": " ".join(self.real_name.split(" ")[1:]),
            "title": "",
            "status_text": "",
            "status_emoji": "",
            "avatar_hash": "g000000000000",
            "image_48": "https://a.slack-edge.com/80588/img/avatars/user_shapes/ava_0001-48.png",
            "image_72": "https://a.slack-edge.com/80588/img/avatars/user_shapes/ava_0001-72.png",
            "team": self.team_id,
        }
        if self.is_bot:
            profile.update({"bot_id": self.bot_id, "api_app_id": APP_ID, "always_active": True})
        else:
            profile["email"] = f"{self.name}@{self.team_id.lower()}.example.com"
        return {
            "id": self.id,
            "team_id": self.team_id,
            "name": self.name,
            "deleted": self.deleted,
            "color": "9f69e7",
            "real_name": self.real_name,
            "tz": self.tz,
            "tz_label": tz_label(self.tz, now),
            "tz_offset": tz_offset(self.tz, now),
            "profile": profile,
            "is_admin": False,
            "is_owner": False,
            "is_primary_owner": False,
            "is_restricted": False,
            "is_ultra_restricted": False,
            "is_bot": self.is_bot,
            "is_app_user": False,
            "updated": self.updated,
        }


@dataclass
class Channel:
    id: str
    team_id: str
    name: str
    is_private: bool = False
    is_im: bool = False
    im_user: str | None = None
    created: int = 0
    archived: bool = False
    members: set[str] = field(default_factory=set)
    # A shared channel (Slack Connect between organizations, or shared across one Grid org's
    # workspaces) is one channel, with one id, in every team listed here; `team_id` is its host.
    shared_team_ids: list[str] = field(default_factory=list)
    is_ext_shared: bool = False
    messages: dict[str, JSON] = field(default_factory=dict)
    # Sorted ts keys; kept next to the dict because backdated messages may arrive out of order.
    order: list[tuple[int, str]] = field(default_factory=list)

    @property
    def channel_type(self) -> str:
        if self.is_im:
            return "im"
        return "group" if self.is_private else "channel"

    @property
    def is_shared(self) -> bool:
        return len(self.shared_team_ids) > 1

    def to_slack(
        self, bot_user_id: str, include_num_members: bool = False, context_team_id: str | None = None
    ) -> JSON:
        info: JSON = {
            "id": self.id,
            "created": self.created,
            "is_archived": self.archived,
            "is_im": self.is_im,
            "is_org_shared": self.is_shared and not self.is_ext_shared,
            # The workspace whose token asked; the host is `conversation_host_id` when shared.
            "context_team_id": context_team_id or self.team_id,
            "updated": self.created * 1000,
        }
        if self.is_im:
            info.update({"user": self.im_user, "is_user_deleted": False, "priority": 0})
        else:
            info.update(
                {
                    "name": self.name,
                    "is_channel": not self.is_private,
                    "is_group": self.is_private,
                    "is_mpim": False,
                    "is_private": self.is_private,
                    "is_general": self.name == "general",
                    "unlinked": 0,
                    "name_normalized": self.name,
                    "is_shared": self.is_shared,
                    "is_ext_shared": self.is_ext_shared,
                    "is_pending_ext_shared": False,
                    "pending_shared": [],
                    "parent_conversation": None,
                    "creator": "",
                    "is_member": bot_user_id in self.members,
                    "topic": {"value": "", "creator": "", "last_set": 0},
                    "purpose": {"value": "", "creator": "", "last_set": 0},
                    "previous_names": [],
                }
            )
        if self.is_shared:
            info["shared_team_ids"] = list(self.shared_team_ids)
            info["conversation_host_id"] = self.team_id
        if include_num_members:
            info["num_members"] = len(self.members)
        return info


@dataclass
class Team:
    id: str
    domain: str
    name: str
    bot_user_id: str
    bot_id: str
    # The Enterprise Grid organization (E…) the workspace belongs to; None for a standalone workspace.
    enterprise_id: str | None = None
    enterprise_name: str | None = None
    channels: dict[str, Channel] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)
    # The workspace's custom emoji, as emoji.list answers them: name → image URL, or `alias:<name>`.
    emoji: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"https://{self.domain}.slack.com/"

    def to_slack(self) -> JSON:
        info: JSON = {
            "id": self.id,
            "name": self.name,
            "url": self.url,
            "domain": self.domain,
            "email_domain": "",
            "icon": {"image_default": True},
            "is_verified": False,
        }
        if self.enterprise_id is not None:
            info.update({"enterprise_id": self.enterprise_id, "enterprise_name": self.enterprise_name})
        return info

    def enterprise(self) -> JSON | None:
        """The `enterprise` object of interactive payloads and oauth.v2.access: null outside Grid."""
        if self.enterprise_id is None:
            return None
        return {"id": self.enterprise_id, "name": self.enterprise_name or self.enterprise_id}


@dataclass
class StoredFile:
    id: str
    team_id: str
    user: str
    filename: str
    length: int
    alt_txt: str | None = None
    snippet_type: str | None = None
    data: bytes | None = None
    info: JSON | None = None


@dataclass
class Modal:
    """A modal the app opened for a person (`views.open`/`views.push`), open until submitted or cleared."""

    team_id: str
    # Whose trigger opened it; None when the trigger came from nowhere the emulator tied to a person.
    user_id: str | None
    closed: bool = False


# How long a trigger_id may be exchanged for a view, in seconds.
TRIGGER_LIFETIME = 3.0


@dataclass
class Ephemeral:
    """An ephemeral message: whom it was shown to, and the message as they see it."""

    user_id: str
    message: JSON


class State:
    """The whole world of one emulator, several teams included."""

    def __init__(self, clock: Callable[[], float] = time.time, seed: bool = True) -> None:
        self.lock = threading.RLock()
        self.clock = clock
        self.app_id = APP_ID
        self.teams: dict[str, Team] = {}
        self.default_team_id = DEFAULT_TEAM_ID
        self.tokens: dict[str, str] = {}
        self.call_log = CallLog(self.lock, clock)
        self.faults = Faults(self.lock)
        # Bluesky's public AppView (`emulator.bluesky_api`), under its own lock.
        self.bluesky = Bluesky(clock)
        self.triggers: dict[str, str] = {}
        self.tickets: set[str] = set()
        self.views: dict[str, JSON] = {}
        self.home_views: dict[tuple[str, str], str] = {}
        # Modals by view id, oldest first; a view id absent here is a home view.
        self.modals: dict[str, Modal] = {}
        self.trigger_users: dict[str, str] = {}
        # When each trigger was issued, and those already exchanged for a view.
        self.trigger_issued: dict[str, float] = {}
        self.exchanged: set[str] = set()
        # Ephemeral messages the app showed someone, by (team, channel, ts): only that person sees them,
        # and clicks their buttons. Slack keeps none in the channel's history.
        self.ephemerals: dict[tuple[str, str, str], Ephemeral] = {}
        self.files: dict[str, StoredFile] = {}
        # Slack's rate limits, when enforced (off unless asked for).
        self.limiter: RateLimiter | None = None
        # Mastodon's instances, their public API and its faults (`emulator.mastodon_api`).
        self.mastodon = Mastodon(clock)
        # The installed app as its manifest describes it: scopes granted, Messages tab.
        self.app = AppManifest()
        # How the app is distributed (APP_KINDS); outside the Marketplace, the history methods are
        # limited to one call a minute whether or not the other limits are on.
        self.app_kind = "internal"
        self.non_marketplace: RateLimiter | None = None
        self._last_ts = 0
        self._counter = itertools.count(1)
        if seed:
            self._seed()

    # ---- identifiers and time ---------------------------------------------------------------

    def now(self) -> float:
        return self.clock()

    def next_ts(self) -> str:
        """A message ts: the clock in microseconds, forced strictly above every ts handed out before."""
        with self.lock:
            micros = max(int(self.clock() * 1_000_000), self._last_ts + 1)
            self._last_ts = micros
            return format_ts(micros)

    def new_id(self, prefix: str, width: int = 8) -> str:
        with self.lock:
            return f"{prefix}{next(self._counter):0{width}X}"

    def new_event_id(self) -> str:
        return self.new_id("Ev0", 8)

    def issue_trigger(self, team_id: str, user_id: str | None = None) -> str:
        """A trigger_id; `user_id` is who acted, whose modal `views.open` with it will be."""
        with self.lock:
            trigger = f"{next(self._counter)}.{int(self.clock())}.{secrets.token_hex(16)}"
            self.triggers[trigger] = team_id
            self.trigger_issued[trigger] = self.clock()
            if user_id is not None:
                self.trigger_users[trigger] = user_id
            return trigger

    def consume_trigger(self, trigger_id: str, team_id: str) -> str | None:
        """None when the trigger is good; otherwise the error Slack gives: `exchanged_trigger_id` for one
        used before, `expired_trigger_id` past TRIGGER_LIFETIME (views.open, views.push: "Pass a valid
        trigger_id within 3 seconds of receiving it"), `invalid_trigger_id` for any other."""
        with self.lock:
            if trigger_id in self.exchanged:
                return "exchanged_trigger_id"
            owner = self.triggers.get(trigger_id)
            if owner is None or owner != team_id:
                return "invalid_trigger_id"
            if self.clock() - self.trigger_issued.get(trigger_id, 0.0) > TRIGGER_LIFETIME:
                return "expired_trigger_id"
            del self.triggers[trigger_id]
            self.exchanged.add(trigger_id)
            self.trigger_users.pop(trigger_id, None)
            return None

    def open_modals(self, team_id: str, user_id: str) -> list[str]:
        """The view ids of the modals that person has open in that team, newest first."""
        with self.lock:
            return [
                view_id
                for view_id, modal in reversed(self.modals.items())
                if modal.team_id == team_id and modal.user_id == user_id and not modal.closed
            ]

    def issue_ticket(self) -> str:
        with self.lock:
            ticket = uuid.uuid4().hex
            self.tickets.add(ticket)
            return ticket

    # ---- the world --------------------------------------------------------------------------

    def _seed(self) -> None:
        team = self.add_team(DEFAULT_TEAM_ID, DEFAULT_TEAM_DOMAIN, DEFAULT_TEAM_NAME, BOT_USER_ID, BOT_ID)
        for user_id, name, real_name, tz in SEED_USERS:
            self.add_user(team.id, user_id, name, real_name, tz)
        humans = [user_id for user_id, *_ in SEED_USERS]
        self.add_channel(team.id, SOCIAL_CHANNEL_ID, "social", bot_member=True, members=humans)
        self.add_channel(team.id, GENERAL_CHANNEL_ID, "general", bot_member=False, members=humans)

    def add_team(
        self,
        team_id: str,
        domain: str,
        name: str | None = None,
        bot_user_id: str | None = None,
        bot_id: str | None = None,
        enterprise_id: str | None = None,
        enterprise_name: str | None = None,
    ) -> Team:
        with self.lock:
            if team_id in self.teams:
                raise WorldError("team_already_exists", 409)
            if enterprise_id is not None and not enterprise_id.startswith("E"):
                raise WorldError("invalid_enterprise_id", 400)
            # Each workspace an app is installed in gets its own bot user, as in Slack.
            suffix = team_id[1:] if team_id.startswith("T") else team_id
            team = Team(
                id=team_id,
                domain=domain,
                name=name or domain,
                bot_user_id=bot_user_id or f"U{suffix}BOT",
                bot_id=bot_id or f"B{suffix}",
                enterprise_id=enterprise_id,
                enterprise_name=enterprise_name,
            )
            team.users[team.bot_user_id] = User(
                id=team.bot_user_id,
                team_id=team_id,
                name=BOT_NAME,
                real_name=BOT_NAME,
                is_bot=True,
                bot_id=team.bot_id,
                updated=int(self.clock()),
            )
            self.teams[team_id] = team
            return team

    def team(self, team_id: str | None) -> Team:
        with self.lock:
            team = self.teams.get(team_id or self.default_team_id)
            if team is None:
                raise WorldError("team_not_found")
            return team

    def add_user(
        self,
        team_id: str,
        user_id: str,
        name: str,
        real_name: str | None = None,
        tz: str | None = None,
        *,
        display_name: str | None = None,
        deleted: bool = False,
        is_bot: bool = False,
    ) -> User:
        with self.lock:
            team = self.team(team_id)
            if user_id in team.users:
                raise WorldError("user_already_exists", 409)
            user = User(
                id=user_id,
                team_id=team.id,
                name=name,
                real_name=real_name or name,
                tz=tz or "UTC",
                updated=int(self.clock()),
                display_name=display_name,
                deleted=deleted,
                is_bot=is_bot,
                bot_id=f"B{user_id[1:]}" if is_bot else None,
            )
            team.users[user_id] = user
            return user

    def ensure_user(self, team: Team, user_id: str) -> User:
        with self.lock:
            user = team.users.get(user_id)
            if user is None:
                user = self.add_user(team.id, user_id, user_id.lower())
            return user

    def add_channel(
        self,
        team_id: str,
        channel_id: str,
        name: str,
        is_private: bool = False,
        bot_member: bool = True,
        members: list[str] | None = None,
    ) -> Channel:
        with self.lock:
            team = self.team(team_id)
            if channel_id in team.channels:
                raise WorldError("channel_already_exists", 409)
            if any(c.name == name and not c.is_im for c in team.channels.values()):
                raise WorldError("name_taken", 409)
            channel = Channel(
                id=channel_id,
                team_id=team.id,
                name=name,
                is_private=is_private,
                created=int(self.clock()),
            )
            channel.members.update(members or [])
            if bot_member:
                channel.members.add(team.bot_user_id)
            team.channels[channel_id] = channel
            return channel

    def share_channel(self, host_id: str, channel_id: str, guest_id: str, bot_member: bool = True) -> Channel:
        """Share the host's channel with another workspace: one channel, one id, in both teams' lists.

        Between organizations that is Slack Connect (`is_ext_shared`); between workspaces of one Grid
        org it is an org-shared channel. The guest's bot (its own installation of the app) joins unless
        told not to, as someone there would invite it.
        """
        with self.lock:
            host, guest = self.team(host_id), self.team(guest_id)
            channel = self.channel(host, channel_id)
            if channel.is_im or channel.team_id != host.id:
                raise WorldError("not_the_host", 409)
            if channel.id in guest.channels:
                raise WorldError("already_shared", 409)
            if any(c.name == channel.name and not c.is_im for c in guest.channels.values()):
                raise WorldError("name_taken", 409)
            if not channel.shared_team_ids:
                channel.shared_team_ids = [host.id]
            channel.shared_team_ids.append(guest.id)
            teams = [self.team(t) for t in channel.shared_team_ids]
            channel.is_ext_shared = any(
                t.enterprise_id is None or t.enterprise_id != host.enterprise_id for t in teams
            )
            guest.channels[channel.id] = channel
            if bot_member:
                channel.members.add(guest.bot_user_id)
            return channel

    def teams_in(self, channel: Channel) -> list[Team]:
        """The workspaces a channel is in: its host, then those it is shared with."""
        with self.lock:
            return [self.team(t) for t in channel.shared_team_ids or [channel.team_id]]

    def channel(self, team: Team, channel_id: str) -> Channel:
        """By id, `#name` or name; raises `channel_not_found`."""
        with self.lock:
            found = team.channels.get(channel_id)
            if found is None:
                name = channel_id.removeprefix("#")
                found = next((c for c in team.channels.values() if c.name == name and not c.is_im), None)
            if found is None:
                raise WorldError("channel_not_found")
            return found

    def im_channel(self, team: Team, user_id: str) -> Channel:
        """The app's direct-message channel with a user (its Messages tab), opened on first use."""
        with self.lock:
            if user_id not in team.users:
                raise WorldError("user_not_found")
            channel_id = im_id(user_id)
            channel = team.channels.get(channel_id)
            if channel is None:
                channel = Channel(
                    id=channel_id,
                    team_id=team.id,
                    name=channel_id,
                    is_im=True,
                    im_user=user_id,
                    created=int(self.clock()),
                    members={user_id, team.bot_user_id},
                )
                team.channels[channel_id] = channel
            return channel

    def register_token(self, token: str, team_id: str) -> None:
        with self.lock:
            self.team(team_id)
            self.tokens[token] = team_id

    def team_for_token(self, token: str) -> Team:
        with self.lock:
            return self.team(self.tokens.get(token, self.default_team_id))

    # ---- messages ---------------------------------------------------------------------------

    def keep_message(self, channel: Channel, message: JSON) -> JSON:
        with self.lock:
            ts = message["ts"]
            if ts in channel.messages:
                raise WorldError("ts_taken", 409)
            channel.messages[ts] = message
            insort(channel.order, (ts_key(ts), ts))
            self._last_ts = max(self._last_ts, ts_key(ts))
            return message

    def message(self, channel: Channel, ts: str) -> JSON:
        with self.lock:
            found = channel.messages.get(ts)
            if found is None:
                raise WorldError("message_not_found")
            return found

    def remove_message(self, channel: Channel, ts: str) -> JSON:
        with self.lock:
            message = self.message(channel, ts)
            del channel.messages[ts]
            channel.order.remove((ts_key(ts), ts))
            return message

    def replies_of(self, channel: Channel, parent_ts: str) -> list[JSON]:
        with self.lock:
            return [
                channel.messages[ts]
                for _, ts in channel.order
                if ts != parent_ts and channel.messages[ts].get("thread_ts") == parent_ts
            ]

    def render(self, channel: Channel, message: JSON, include_metadata: bool = True) -> JSON:
        """A copy of a kept message as Slack returns it, thread summary included."""
        with self.lock:
            out = copy.deepcopy(message)
            if not include_metadata:
                out.pop("metadata", None)
            if message.get("thread_ts") in (None, message["ts"]):
                replies = self.replies_of(channel, message["ts"])
                if replies:
                    users = list(dict.fromkeys(r.get("user", "") for r in replies))
                    out.update(
                        {
                            "thread_ts": message["ts"],
                            "reply_count": len(replies),
                            "reply_users_count": len(users),
                            "latest_reply": replies[-1]["ts"],
                            "reply_users": users,
                            "is_locked": False,
                            "subscribed": False,
                        }
                    )
            return out

    def timeline(self, channel: Channel) -> list[JSON]:
        """What the channel itself shows, oldest first: top-level messages and broadcast replies."""
        with self.lock:
            out = []
            for _, ts in channel.order:
                message = channel.messages[ts]
                thread_ts = message.get("thread_ts")
                if thread_ts in (None, ts) or message.get("subtype") == "thread_broadcast":
                    out.append(message)
            return out

    def thread_parent(self, channel: Channel, ts: str) -> JSON:
        """The parent of the thread `ts` belongs to (itself when it is a parent or stands alone)."""
        with self.lock:
            message = channel.messages.get(ts)
            if message is None:
                raise WorldError("thread_not_found")
            parent_ts = message.get("thread_ts") or ts
            parent = channel.messages.get(parent_ts)
            if parent is None:
                raise WorldError("thread_not_found")
            return parent

    def add_reaction(self, message: JSON, name: str, user_id: str) -> bool:
        """False when the user had already reacted so."""
        with self.lock:
            reactions: list[JSON] = message.setdefault("reactions", [])
            entry = next((r for r in reactions if r["name"] == name), None)
            if entry is None:
                entry = {"name": name, "users": [], "count": 0}
                reactions.append(entry)
            if user_id in entry["users"]:
                return False
            entry["users"].append(user_id)
            entry["count"] = len(entry["users"])
            return True

    def remove_reaction(self, message: JSON, name: str, user_id: str) -> bool:
        """False when there was no such reaction by that user."""
        with self.lock:
            reactions: list[JSON] = message.get("reactions", [])
            entry = next((r for r in reactions if r["name"] == name), None)
            if entry is None or user_id not in entry["users"]:
                return False
            entry["users"].remove(user_id)
            entry["count"] = len(entry["users"])
            if not entry["users"]:
                reactions.remove(entry)
            if not reactions:
                message.pop("reactions", None)
            return True

    # ---- inspection -------------------------------------------------------------------------

    def world(self) -> JSON:
        with self.lock:
            now = self.clock()
            return {
                "app_id": self.app_id,
                "default_team": self.default_team_id,
                "teams": [
                    {
                        **team.to_slack(),
                        "bot_user_id": team.bot_user_id,
                        "bot_id": team.bot_id,
                        "channels": [
                            {**c.to_slack(team.bot_user_id), "members": sorted(c.members)}
                            for c in team.channels.values()
                        ],
                        "users": [u.to_slack(now) for u in team.users.values()],
                    }
                    for team in self.teams.values()
                ],
            }


def encode_cursor(kind: str, value: str) -> str:
    """Opaque like Slack's (which are base64 of e.g. `next_ts:1512085861000543`)."""
    return base64.b64encode(f"{kind}:{value}".encode()).decode()


def decode_cursor(cursor: str, kind: str) -> str | None:
    try:
        raw = base64.b64decode(cursor.encode(), validate=True).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    found, _, value = raw.partition(":")
    return value if found == kind and value else None


def im_id(user_id: str) -> str:
    """The id of the app's direct-message channel with a user, in this emulator."""
    return "D" + user_id[1:]


def where(state: State, body: JSON) -> tuple[Team, Channel]:
    """The team (the default one unless `team` names another) and the channel a control body names."""
    team = state.team(text(body, "team", required=False))
    return team, state.channel(team, text(body, "channel") or "")


class WorldControl:
    """The control endpoints that add to the world and read it back."""

    def __init__(self, state: State) -> None:
        self.state = state

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
            text(body, "enterprise_id", required=False),
            text(body, "enterprise_name", required=False),
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

    async def share(self, request: web.Request) -> web.Response:
        body = await control_body(request)
        with self.state.lock:
            host = self.state.team(text(body, "team", required=False))
            channel = self.state.share_channel(
                host.id,
                text(body, "channel") or "",
                text(body, "with") or "",
                bot_member=flag(body, "bot_member", default=True),
            )
            info = channel.to_slack(host.bot_user_id)
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
                display_name=text(body, "display_name", required=False),
                deleted=flag(body, "deleted"),
                is_bot=flag(body, "is_bot"),
            )
            return web.json_response({"ok": True, "user": user.to_slack(self.state.now())})

    async def add_emoji(self, request: web.Request) -> web.Response:
        """A custom emoji added to the workspace (`alias` makes it another name of an emoji)."""
        body = await control_body(request)
        with self.state.lock:
            team = self.state.team(text(body, "team", required=False))
            name = text(body, "name") or ""
            if not re.fullmatch(r"[a-z0-9_'+-]{1,100}", name):
                raise WorldError("invalid_name", 400)
            alias = text(body, "alias", required=False)
            team.emoji[name] = f"alias:{alias}" if alias else f"{team.url}emoji/{name}/0123456789.png"
            return web.json_response({"ok": True, "emoji": {name: team.emoji[name]}})

    async def add_token(self, request: web.Request) -> web.Response:
        body = await control_body(request)
        token = text(body, "token") or ""
        if not token.startswith(("xoxb-", "xapp-")):
            raise WorldError("invalid_token", 400)
        self.state.register_token(token, text(body, "team") or "")
        return web.json_response({"ok": True})

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

    async def ephemerals(self, request: web.Request) -> web.Response:
        """The ephemeral messages the app showed one person (``user``), in one channel (``channel``) or in
        any, oldest first, each naming its channel."""
        with self.state.lock:
            team = self.state.team(request.query.get("team"))
            user = request.query.get("user")
            channel = request.query.get("channel")
            listed = [
                {**copy.deepcopy(shown.message), "channel": channel_id, "user": shown.user_id}
                for (team_id, channel_id, _), shown in self.state.ephemerals.items()
                if team_id == team.id
                and (user is None or shown.user_id == user)
                and (channel is None or channel_id == channel)
            ]
        return web.json_response(listed)


def register(router: web.UrlDispatcher, state: State) -> None:
    control = WorldControl(state)
    router.add_get("/_emulator/health", control.health)
    router.add_get("/_emulator/world", control.world)
    router.add_post("/_emulator/team", control.add_team)
    router.add_post("/_emulator/channel", control.add_channel)
    router.add_post("/_emulator/share", control.share)
    router.add_post("/_emulator/user", control.add_user)
    router.add_post("/_emulator/emoji", control.add_emoji)
    router.add_post("/_emulator/token", control.add_token)
    router.add_get("/_emulator/messages", control.messages)
    router.add_get("/_emulator/views", control.views)
    router.add_get("/_emulator/ephemerals", control.ephemerals)
