"""twoway arriving in a channel: the channel's time zone, taken from whoever brought twoway there, and
what the welcome says about when digests post.

A channel twoway has not seen takes the zone of the person who invited twoway (the `inviter` of
`member_joined_channel`) or who first ran a command there, read with users.info (users:read; Tier 4,
100+ calls a minute; docs.slack.dev/reference/methods/users.info: the user object's `tz`). A channel
twoway knows keeps its zone: whoever set it, or whoever brought twoway first, decided it. A zone that
can't be read (Slack refused, or gave a name that isn't an IANA zone) leaves the configured default, and
the welcome says so.
"""

from __future__ import annotations

from dataclasses import dataclass

from slack_sdk import WebClient

from bot import ledger
from bot.deps import Deps
from bot.grammar import clock_time
from bot.render_ledger import WEEKDAY_NAMES, zone_words
from bot.slack_calls import attempt
from bot.text import mention
from bot.zones import is_zone
from storage.channels import get_channel
from storage.person_zones import ZONE_KEPT, remember_zone, remembered_zone


@dataclass(frozen=True)
class Arrival:
    """twoway in a channel: whether that is news, its digest's weekday, minute and zone, and where the
    zone came from: ``zone_of`` the person whose zone it is, or ``unread`` the person whose zone could
    not be read."""

    news: bool
    weekday: int
    minute: int
    zone: str
    zone_of: str | None = None
    unread: str | None = None


def zone_of(deps: Deps, client: WebClient, team_id: str, user_id: str) -> str | None:
    """The person's IANA zone, as Slack gives it, or None when Slack doesn't say."""
    now = deps.clock()
    with deps.sessions.begin() as s:
        known = remembered_zone(s, team_id, user_id, read_since=now - ZONE_KEPT)
    if known is not None:
        return known
    found = attempt(lambda: client.users_info(user=user_id), "users.info")
    user = found.get("user") if found is not None else None
    tz = user.get("tz") if isinstance(user, dict) else None
    if not isinstance(tz, str) or not is_zone(tz):
        return None
    with deps.sessions.begin() as s:
        remember_zone(s, team_id, user_id, tz, now=now)
    return tz


def arrive(deps: Deps, client: WebClient, team_id: str, channel_id: str, *, by: str | None) -> Arrival:
    """twoway is in the channel: start (or restart) its ledger, a new one in the zone of ``by``."""
    with deps.sessions.begin() as s:
        known = get_channel(s, team_id, channel_id) is not None
    zone = zone_of(deps, client, team_id, by) if by and not known else None
    with deps.sessions.begin() as s:
        news = ledger.joined(s, team_id, channel_id, timezone=zone or deps.config.timezone, now=deps.clock())
        channel = ledger.channel(s, team_id, channel_id, timezone=deps.config.timezone, now=deps.clock())
        return Arrival(
            news=news,
            weekday=channel.digest_weekday,
            minute=channel.digest_minute,
            zone=channel.timezone,
            zone_of=by if zone and channel.timezone == zone else None,
            unread=by if by and not known and zone is None else None,
        )


CHANGE_IT = "Change it with `/twoway schedule fri 4pm Europe/Paris`."


def digest_line(arrival: Arrival) -> str:
    """The welcome's word on when digests post, and in whose time zone."""
    when = f"{WEEKDAY_NAMES[arrival.weekday]}s at {clock_time(arrival.minute)} {zone_words(arrival.zone)}"
    if arrival.zone_of is not None:
        return f"Digests post {when} ({mention(arrival.zone_of)}'s time zone). {CHANGE_IT}"
    if arrival.unread is not None:
        unread = f"I couldn't read {mention(arrival.unread)}'s time zone from Slack"
        return f"Digests post {when} ({unread}). {CHANGE_IT}"
    return f"Digests post {when}. {CHANGE_IT}"
