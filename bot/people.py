"""Finding a workspace member by the name someone typed: `@ada` typed as plain text, not picked from
Slack's autocomplete, reaches twoway as the text `@ada`, not as a linked `<@U123|ada>`.

The names come from users.list (users:read; Tier 2, about 20 calls a minute; docs.slack.dev/reference/
methods/users.list), whose pages slack_sdk follows by their cursor. A burst of commands must not spend
that tier, so each process keeps each workspace's list for ``ttl`` seconds and makes at most one pass over
it per workspace in that time, however many commands ask at once.

Only this module imports nothing of twoway's, so that `bot.deps` can carry a `People` of its own.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from slack_sdk import WebClient

# A member who joined, or changed their name, is found by that name this long after at the latest.
TTL_SECONDS = 600.0
# "We recommend no more than 200 results at a time" (users.list).
PAGE_SIZE = 200
# Slackbot is a member that is not flagged as a bot.
SLACKBOT = "USLACKBOT"


@dataclass(frozen=True)
class Member:
    """A person who can be named: active, not a bot. ``names`` are casefolded; ``shown`` is the name
    Slack shows for them (display name, else real name, else username), as they wrote it."""

    user_id: str
    names: frozenset[str]
    shown: str = ""


@dataclass(frozen=True)
class Found:
    """The one member going by the name."""

    user_id: str


@dataclass(frozen=True)
class Ambiguous:
    """More than one member goes by the name; their ids, in the order Slack listed them."""

    user_ids: tuple[str, ...]


@dataclass(frozen=True)
class Unknown:
    """No active member goes by the name."""


Match = Found | Ambiguous | Unknown


def _key(name: str) -> str:
    return " ".join(name.split()).casefold()


def member_of(user: dict[str, Any]) -> Member | None:
    """The member a users.list entry describes, by its username, display name and real name; None for a
    deactivated account, a bot or Slackbot, whom no command is about."""
    if user.get("deleted") or user.get("is_bot") or user.get("id") == SLACKBOT or not user.get("id"):
        return None
    profile = user.get("profile") or {}
    typed = (
        user.get("name"),
        profile.get("display_name"),
        profile.get("display_name_normalized"),
        profile.get("real_name"),
        profile.get("real_name_normalized"),
        user.get("real_name"),
    )
    names = frozenset(_key(name) for name in typed if isinstance(name, str) and name.strip())
    shown = next(
        (name.strip() for name in typed[1:] + typed[:1] if isinstance(name, str) and name.strip()), ""
    )
    return Member(str(user["id"]), names, shown)


class People:
    """Each workspace's members, as users.list last listed them, kept for ``ttl`` seconds.

    ``now`` is a monotonic clock; tests pass their own.
    """

    def __init__(self, ttl: float = TTL_SECONDS, now: Callable[[], float] = time.monotonic) -> None:
        self._ttl = ttl
        self._now = now
        self._guard = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}
        self._lists: dict[str, tuple[float, tuple[Member, ...]]] = {}

    def find(self, client: WebClient, team_id: str, typed: str) -> Match:
        """The member of ``team_id`` whose username, display name or real name is ``typed`` (without
        its `@`, any case). Raises SlackApiError when the list can't be had."""
        key = _key(typed.removeprefix("@"))
        ids = tuple(m.user_id for m in self.members(client, team_id) if key in m.names)
        if not ids:
            return Unknown()
        if len(ids) > 1:
            return Ambiguous(ids)
        return Found(ids[0])

    def names(self, client: WebClient, team_id: str, user_ids: Iterable[str] | None = None) -> dict[str, str]:
        """The name Slack shows for each of ``user_ids`` (every member when None) who is an active member
        of ``team_id``, to name a person without pinging them; the others (gone, bots) are left out.
        Raises SlackApiError when the list can't be had."""
        wanted = None if user_ids is None else set(user_ids)
        if wanted is not None and not wanted:
            return {}
        return {
            m.user_id: m.shown
            for m in self.members(client, team_id)
            if m.shown and (wanted is None or m.user_id in wanted)
        }

    def members(self, client: WebClient, team_id: str) -> tuple[Member, ...]:
        """The workspace's members, listed at most once per ``ttl``: concurrent askers wait for the one
        pass under way instead of starting their own."""
        with self._guard:
            lock = self._locks.setdefault(team_id, threading.Lock())
        with lock:
            kept = self._lists.get(team_id)
            if kept is not None and self._now() - kept[0] < self._ttl:
                return kept[1]
            listed = _list_members(client)
            self._lists[team_id] = (self._now(), listed)
            return listed


def _list_members(client: WebClient) -> tuple[Member, ...]:
    """Every page of users.list, as slack_sdk follows `response_metadata.next_cursor`; the client's token
    is the workspace's, so the list is that workspace's."""
    pages = client.users_list(limit=PAGE_SIZE)
    found = (member_of(user) for page in pages for user in page.get("members") or [])
    return tuple(member for member in found if member is not None)
