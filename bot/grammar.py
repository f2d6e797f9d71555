"""The `/twoway` grammar: parsing command text into requests, with no Slack and no database.

The text is what Slack sends after `/twoway` with `should_escape: true`: mentions as `<@U123|ada>`,
links as `<https://…|label>`, and the `&`, `<` and `>` the user typed as `&amp;`, `&lt;` and `&gt;`.
A mention typed out rather than picked from Slack's autocomplete comes as the plain text `@ada`; it is
parsed to a `NamedPerson`, which `bot.people` finds among the workspace's members when the command runs.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from bot.links import PLATFORM_NAMES, PostLink, comment_link, parse_post_link
from bot.metrics import ReportPeriod
from bot.sources import Refused, parse_account, parse_site
from bot.summary import Engagement, Reading, read_summary
from bot.text import inline_code, storable, unescape
from bot.zones import ZoneChoices, ZoneOption, ZoneUnknown, read_zone


@dataclass(frozen=True)
class Subcommand:
    name: str
    usage: str
    summary: str
    available: bool = False


SUBCOMMANDS: tuple[Subcommand, ...] = (
    Subcommand("help", "/twoway help [subcommand]", "Show what twoway can do.", available=True),
    Subcommand(
        "log",
        "/twoway log <url> [comments=N] [replies=N] [shares=N] [likes=N]",
        "Record a post's engagement; `12 comments, 3 replies` works too. In a channel, a post twoway "
        "doesn't track yet is added to the channel's ledger, as yours.",
        available=True,
    ),
    Subcommand(
        "flag",
        "/twoway flag <url> [<comment link>] <comment text…> [by <author>]",
        "Flag an audience comment that is waiting for an answer.",
        available=True,
    ),
    Subcommand(
        "answered",
        "/twoway answered <comment id>…",
        "Close flagged comments as answered: one id, or up to 20, e.g. `answered 5 6 7`.",
        available=True,
    ),
    Subcommand(
        "dismiss",
        "/twoway dismiss <comment id>…",
        "Close flagged comments that need no reply: one id, or up to 20.",
        available=True,
    ),
    Subcommand(
        "unanswered",
        "/twoway unanswered [@user|me]",
        "List this channel's comments still waiting for an answer.",
        available=True,
    ),
    Subcommand(
        "report",
        "/twoway report [week|month] [@user|me]",
        "This channel's posts, comments received, replies sent and reply rate, with their counts.",
        available=True,
    ),
    Subcommand(
        "digest",
        "/twoway digest [preview|now]",
        "Preview this channel's digest (only you see it), or post last week's now.",
        available=True,
    ),
    Subcommand(
        "schedule",
        "/twoway schedule [weekday] [time] [time zone] | /twoway schedule off",
        "Show, set or turn off when this channel's digest is posted, e.g. `fri 4pm Paris` (Mondays at 09:00 "
        "by default, in the time zone of whoever added twoway).",
        available=True,
    ),
    Subcommand(
        "settings",
        "/twoway settings [threshold <hours>] [claim <hours>h|<days>d] [flag :emoji:] [resolve :emoji:] "
        "[dismiss :emoji:] [watch on|off] | /twoway settings sites|accounts [remove] <site or account>…",
        "Show or change this channel's nudge threshold, how long an “I'm on it” holds, its reactions, "
        "whether twoway reads its Bluesky and Mastodon posts' replies itself, and the sites and accounts "
        "whose links are the team's posts.",
        available=True,
    ),
    Subcommand(
        "dm",
        "/twoway dm [on|off]",
        "Show, or turn on or off, your weekly summary in a direct message instead of channel nudges.",
        available=True,
    ),
    Subcommand(
        "export",
        "/twoway export [posts|snapshots|comments]",
        "Get this channel's ledger as CSV files, in a direct message.",
        available=True,
    ),
)

BY_NAME = {sub.name: sub for sub in SUBCOMMANDS}

FLAG_TEXT_LIMIT = 3000
THRESHOLD_HOURS = range(1, 721)
Table = Literal["posts", "snapshots", "comments"]


@dataclass(frozen=True)
class HelpRequest:
    """Show the whole grammar, or one subcommand's usage."""

    topic: Subcommand | None = None


@dataclass(frozen=True)
class UnavailableRequest:
    """A subcommand of the grammar that this version of twoway does not serve yet."""

    subcommand: Subcommand


@dataclass(frozen=True)
class BadInput:
    """What was wrong, in one line, and the usage that would have been right."""

    reason: str
    usage: tuple[str, ...]


@dataclass(frozen=True)
class LogRequest:
    """Record a snapshot of a post's engagement; `engagement` None when no counts were given, which
    adds a post twoway doesn't track yet and nothing else."""

    link: PostLink
    engagement: Engagement | None
    # How a bare "replies" count was read on the post's network, where that mattered.
    replies_read_as: Reading | None = None


@dataclass(frozen=True)
class FlagRequest:
    """Record an audience comment waiting for an answer; `text` is what the user typed, never empty."""

    link: PostLink
    text: str
    author: str | None
    # The comment's own link: a comment permalink given as the post's link, or a reply's link after it.
    comment_url: str | None = None


@dataclass(frozen=True)
class CloseRequest:
    """Close flagged comments, each on its own: ids in the order given, each once, CLOSE_LIMIT at most."""

    comment_ids: tuple[int, ...]
    state: Literal["answered", "dismissed"]


@dataclass(frozen=True)
class NamedPerson:
    """A person named in plain text, `@ada` or `@Ada Lovelace` (without the `@` here): a username,
    display name or real name to look up among the workspace's members."""

    name: str


@dataclass(frozen=True)
class Asker:
    """`me`: whoever ran the command."""


# A person as the command names them: a user id from a linked mention, a typed name, or `me`.
Person = str | NamedPerson | Asker


@dataclass(frozen=True)
class UnansweredRequest:
    """List open comments: everyone's, or those owned by one person."""

    person: Person | None


@dataclass(frozen=True)
class ReportRequest:
    """Counts and reply rate over a period: the channel's, or one person's."""

    period: ReportPeriod
    person: Person | None


@dataclass(frozen=True)
class SettingsRequest:
    """Change the given settings; all None means show them. Emoji names carry no colons."""

    threshold_hours: int | None
    flag_emoji: str | None
    resolve_emoji: str | None
    dismiss_emoji: str | None
    # How long an "I'm on it" stays fresh, in hours.
    claim_hours: int | None = None
    # Whether the channel's Bluesky and Mastodon posts are read from their networks.
    watch: bool | None = None


SourceList = Literal["sites", "accounts"]


@dataclass(frozen=True)
class SourcesRequest:
    """`/twoway settings sites|accounts …`: list the channel's own sites or accounts (nothing given), add
    some, or remove some (an account removed is taken off the list of accounts that aren't the team's
    too). Values come normalised: hosts, and accounts such as `x.com/acme`."""

    kind: SourceList
    add: tuple[str, ...] = ()
    remove: tuple[str, ...] = ()


@dataclass(frozen=True)
class ExportRequest:
    """The ledger as CSV: one table, or all three when `table` is None."""

    table: Table | None


@dataclass(frozen=True)
class DmRequest:
    """`/twoway dm [on|off]`: show the asker's weekly summary setting (``on`` None), or change it."""

    on: bool | None


@dataclass(frozen=True)
class DigestRequest:
    """`/twoway digest [preview|now]`: preview shows it to the asker only; now posts it to the channel."""

    post: bool


@dataclass(frozen=True)
class ScheduleRequest:
    """`/twoway schedule …`: show it (all None), turn it off, or set any of weekday, time and zone
    (each None is left as it is)."""

    off: bool = False
    weekday: int | None = None
    minute: int | None = None
    zone: str | None = None


@dataclass(frozen=True)
class ScheduleOption:
    """One schedule an ambiguous `/twoway schedule` may mean, and its button's words."""

    label: str
    request: ScheduleRequest


@dataclass(frozen=True)
class ScheduleQuestion:
    """`/twoway schedule …` that may mean several schedules: the question, and a choice for each.
    Nothing is recorded until one is chosen."""

    question: str
    options: tuple[ScheduleOption, ...]


Request = (
    HelpRequest
    | DigestRequest
    | ScheduleRequest
    | ScheduleQuestion
    | UnavailableRequest
    | BadInput
    | LogRequest
    | FlagRequest
    | CloseRequest
    | UnansweredRequest
    | ReportRequest
    | SettingsRequest
    | SourcesRequest
    | ExportRequest
    | DmRequest
)


class _Invalid(Exception):
    """Bad input found inside a subcommand's parser; `parse_command` adds that subcommand's usage."""


def parse_command(text: str) -> Request:
    """Read the text after `/twoway` into a request; never raises on user input."""
    words = text.split(maxsplit=1)
    if not words:
        return HelpRequest()
    sub = BY_NAME.get(words[0].lower())
    if sub is None:
        return BadInput(_unknown_reason(words[0]), tuple(s.usage for s in SUBCOMMANDS))
    if not sub.available:
        return UnavailableRequest(sub)
    try:
        return _PARSERS[sub.name](words[1] if len(words) > 1 else "")
    except _Invalid as invalid:
        return BadInput(str(invalid), (sub.usage,))


def _parse_help(rest: str) -> HelpRequest:
    args = rest.split()
    if not args:
        return HelpRequest()
    topic = BY_NAME.get(args[0].lower())
    if topic is None or len(args) > 1:
        raise _Invalid(_unknown_reason(" ".join(args)))
    return HelpRequest(topic)


def _parse_log(rest: str) -> LogRequest:
    link, counts = _take_link(rest)
    if not counts.strip():
        return LogRequest(link, None)
    summary = read_summary(counts, link.platform)
    if summary is None or summary.engagement.is_empty():
        raise _Invalid(f"I couldn't read any counts in {_quote(counts)}; write e.g. `comments=12 replies=3`.")
    return LogRequest(link, summary.engagement, summary.replies_read_as)


def _parse_flag(rest: str) -> FlagRequest:
    link, body = _take_link(rest)
    comment_url = comment_link(link.url)
    reply = _reply_link(body, link)
    if reply is not None:
        # `/twoway flag <post> <reply> "text"`: the reply's own link, on the post's network (an X reply
        # is a status like any other, so only its place in the command says which post it answers).
        if comment_url is not None:
            raise _Invalid("Give the comment's link alone, or the post's link and then the reply's.")
        if reply.url == link.url:
            network = PLATFORM_NAMES.get(link.platform, "site")
            raise _Invalid(
                f"{_code(reply.url)} isn't a reply on the same {network} post; "
                "give the post's link, then the reply's, then the comment's text."
            )
        comment_url = reply.url
        body = _take_link(body)[1]
    elif comment_url is not None:
        # The post is recorded by its own link, not by one of its comments'.
        link = PostLink(link.canonical_url, link.canonical_url, link.platform)
    text, author = _split_author(storable(_as_typed(body)).strip())
    text = _unquote(text.strip())
    if not text:
        raise _Invalid("Add the comment's text after the link.")
    if len(text) > FLAG_TEXT_LIMIT:
        raise _Invalid(f"The comment is {len(text):,} characters long; the limit is {FLAG_TEXT_LIMIT:,}.")
    return FlagRequest(link, text, author, comment_url)


# A second link right after the post's: the reply's own (bare or in Slack's <…> markup).
_REPLY_LINK = re.compile(r"<?https?://", re.IGNORECASE)


def _reply_link(body: str, post: PostLink) -> PostLink | None:
    """The link that starts ``body`` when it is on ``post``'s network; a link elsewhere is the
    comment's text."""
    if not _REPLY_LINK.match(body):
        return None
    try:
        reply = _take_link(body)[0]
    except _Invalid:
        return None
    return reply if reply.platform == post.platform and reply.platform != "blog" else None


def _parse_answered(rest: str) -> CloseRequest:
    return CloseRequest(_comment_ids(rest), "answered")


def _parse_dismiss(rest: str) -> CloseRequest:
    return CloseRequest(_comment_ids(rest), "dismissed")


def _parse_unanswered(rest: str) -> UnansweredRequest:
    words = _words(rest)
    return UnansweredRequest(_person(words) if words else None)


_PERIODS: dict[str, ReportPeriod] = {"week": "week", "month": "month"}


def _parse_report(rest: str) -> ReportRequest:
    period: ReportPeriod | None = None
    rest_words = []
    for word in _words(rest):
        if word.lower() in _PERIODS:
            if period is not None:
                raise _Invalid("Give one period: `week` or `month`.")
            period = _PERIODS[word.lower()]
        else:
            rest_words.append(word)
    if rest_words and not (_is_mention_like(rest_words[0]) or rest_words[0].lower() == ME):
        words = _quote(" ".join(rest_words))
        raise _Invalid(
            f"{words} isn't a period or a person; use `week`, `month`, `me` or a mention like @Ada."
        )
    return ReportRequest(period or "week", _person(rest_words) if rest_words else None)


_SETTING_EXAMPLES = {
    "threshold": "a number of hours, e.g. `threshold 24`",
    "claim": "a time from 1h to 14d, e.g. `claim 2d` or `claim 36h`",
    "flag": "an emoji, e.g. `flag :eyes:`",
    "resolve": "an emoji, e.g. `resolve :white_check_mark:`",
    "dismiss": "an emoji, e.g. `dismiss :no_entry_sign:`",
    "watch": "`on` or `off`, e.g. `watch off`",
}
_SWITCH = {"on": True, "off": False}


def _parse_settings(rest: str) -> SettingsRequest | SourcesRequest:
    given: dict[str, str] = {}
    if _words(rest)[:1] and _words(rest)[0].lower() in _SOURCE_PARSERS:
        return _parse_sources(_words(rest))
    words = iter(_words(rest))
    for word in words:
        key = word.lower()
        if key in _SOURCE_PARSERS:
            raise _Invalid(
                f"`{key}` comes on its own, e.g. `/twoway settings {key} {_SOURCE_EXAMPLES[key]}`."
            )
        if key not in _SETTING_EXAMPLES:
            raise _Invalid(
                f"{_quote(word)} isn't a setting: use `threshold`, `claim`, `flag`, `resolve`, `dismiss`, "
                "`watch`."
            )
        if key in given:
            raise _Invalid(f"`{key}` is given twice; give each setting once.")
        value = next(words, None)
        if value is None:
            raise _Invalid(f"`{key}` needs {_SETTING_EXAMPLES[key]}.")
        given[key] = value
    threshold = _hours(given["threshold"]) if "threshold" in given else None
    claim = _claim_hours(given["claim"]) if "claim" in given else None
    watch = _switch(given["watch"]) if "watch" in given else None
    emojis = {key: _emoji_name(given[key]) for key in ("flag", "resolve", "dismiss") if key in given}
    reaction_of: dict[str, str] = {}
    for key, name in emojis.items():
        if name in reaction_of:
            raise _Invalid(f"`:{name}:` can't be both the `{reaction_of[name]}` and the `{key}` reaction.")
        reaction_of[name] = key
    return SettingsRequest(
        threshold_hours=threshold,
        flag_emoji=emojis.get("flag"),
        resolve_emoji=emojis.get("resolve"),
        dismiss_emoji=emojis.get("dismiss"),
        claim_hours=claim,
        watch=watch,
    )


def _switch(word: str) -> bool:
    if word.lower() not in _SWITCH:
        raise _Invalid(f"{_quote(word)} isn't `on` or `off`; write `watch on` or `watch off`.")
    return _SWITCH[word.lower()]


_SOURCE_PARSERS: dict[str, Callable[[str], str]] = {"sites": parse_site, "accounts": parse_account}
_SOURCE_EXAMPLES = {"sites": "blog.acme.com", "accounts": "x.com/acme"}
# More than a channel would name at once; a bound on the rows one command writes.
SOURCES_LIMIT = 20


def _parse_sources(words: list[str]) -> SourcesRequest:
    kind: SourceList = "sites" if words[0].lower() == "sites" else "accounts"
    values = words[1:]
    removing = bool(values) and values[0].lower() == "remove"
    if removing:
        values = values[1:]
        if not values:
            raise _Invalid(f"Say which to remove, e.g. `settings {kind} remove {_SOURCE_EXAMPLES[kind]}`.")
    if len(values) > SOURCES_LIMIT:
        raise _Invalid(f"Give at most {SOURCES_LIMIT} {kind} at once.")
    parsed: list[str] = []
    for word in values:
        angled = _ANGLED.fullmatch(word)
        typed = unescape(angled[1] if angled else word)
        if angled and typed.startswith(("@", "#", "!")):
            raise _Invalid(
                f"{_quote(word)} isn't a site or an account; write e.g. `{_SOURCE_EXAMPLES[kind]}`."
            )
        try:
            value = _SOURCE_PARSERS[kind](typed)
        except Refused as refused:
            raise _Invalid(str(refused)) from None
        if value not in parsed:
            parsed.append(value)
    if removing:
        return SourcesRequest(kind, remove=tuple(parsed))
    return SourcesRequest(kind, add=tuple(parsed))


_TABLES: dict[str, Table] = {"posts": "posts", "snapshots": "snapshots", "comments": "comments"}


def _parse_export(rest: str) -> ExportRequest:
    words = _words(rest)
    if not words:
        return ExportRequest(None)
    table = _TABLES.get(words[0].lower())
    if table is None:
        raise _Invalid(f"{_quote(words[0])} isn't a table; use `posts`, `snapshots` or `comments`.")
    _no_more(words[1:])
    return ExportRequest(table)


def _parse_dm(rest: str) -> DmRequest:
    words = _words(rest)
    if not words:
        return DmRequest(None)
    _no_more(words[1:])
    choice = words[0].lower()
    if choice not in ("on", "off"):
        raise _Invalid(f"{_quote(words[0])} isn't `on` or `off`.")
    return DmRequest(on=choice == "on")


def _parse_digest(rest: str) -> DigestRequest:
    words = _words(rest)
    choice = words[0].lower() if words else "preview"
    _no_more(words[1:])
    if choice not in ("preview", "now"):
        raise _Invalid(f"{_quote(words[0])} isn't `preview` or `now`.")
    return DigestRequest(post=choice == "now")


WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
SCHEDULE_EXAMPLES = "e.g. `fri 4pm Paris`, `monday 09:00 Europe/Paris` or `thu 16:30 UTC+2`"


def _weekday(word: str) -> int | None:
    """`mon`, `Monday`, `mondays`, `tues`, `thurs`: any start of a day's name of 3 letters or more."""
    word = word.lower().rstrip(".")
    if word.endswith("days"):
        word = word[:-1]
    matches = [i for i, day in enumerate(WEEKDAYS) if len(word) >= 3 and day.startswith(word)]
    return matches[0] if len(matches) == 1 else None


_CLOCK = re.compile(r"([0-9]{1,2})(?::([0-9]{2}))?")
_MERIDIEM = re.compile(r"(a|p)\.?m\.?")
_NAMED_TIMES = {"noon": 12 * 60, "midday": 12 * 60, "midnight": 0}


def _times_of_day(word: str, after: str | None) -> tuple[tuple[int, ...], bool] | None:
    """The minutes after midnight ``word`` (and ``after``, when it is `am` or `pm`) may mean, and
    whether ``after`` was used; None when ``word`` isn't a time at all.

    `16:00`, `09:00`, `9:30`, `09`, `16` and `0` are on a 24-hour clock; `4pm`, `4:30 pm`, `12am` on a
    12-hour one. A bare hour from 1 to 12 (`9`) may be either half of the day: both are offered."""
    low = word.lower()
    if low in _NAMED_TIMES:
        return (_NAMED_TIMES[low],), False
    clock = re.match(r"[0-9]{1,2}(?::[0-9]{2})?", low)
    if clock is None:
        return None
    rest, used = low[clock.end() :], False
    if not rest and after is not None and _MERIDIEM.fullmatch(after.lower()):
        rest, used = after.lower(), True
    meridiem = _MERIDIEM.fullmatch(rest) if rest else None
    if rest and meridiem is None:
        return None
    parsed = _CLOCK.fullmatch(clock[0])
    assert parsed is not None
    hours, minutes = int(parsed[1]), int(parsed[2] or 0)
    if minutes > 59:
        raise _Invalid(f"{_quote(word)} isn't a time of day; minutes go to 59.")
    if meridiem is not None:
        if not 1 <= hours <= 12:
            raise _Invalid(f"{_quote(word)} isn't a time of day; with am or pm, hours go from 1 to 12.")
        return ((hours % 12 + (12 if meridiem[1] == "p" else 0)) * 60 + minutes,), used
    if hours > 23:
        raise _Invalid(f"{_quote(word)} isn't a time of day; hours go to 23 and minutes to 59.")
    if parsed[2] is None and (len(parsed[1]) == 1 or hours >= 10) and 1 <= hours <= 12:
        # A bare `9` or `12`, with no minutes and no leading zero: morning or evening? Ask.
        return (hours % 12 * 60, (hours % 12 + 12) * 60), used
    return (hours * 60 + minutes,), used


def clock_time(minute: int) -> str:
    """Minutes after midnight as `HH:MM`, the form the grammar reads back unambiguously."""
    return f"{minute // 60:02d}:{minute % 60:02d}"


def schedule_text(request: ScheduleRequest) -> str:
    """The words after `/twoway schedule` that ask for exactly ``request``, none of them ambiguous."""
    if request.off:
        return "off"
    words = []
    if request.weekday is not None:
        words.append(WEEKDAYS[request.weekday])
    if request.minute is not None:
        words.append(clock_time(request.minute))
    if request.zone is not None:
        words.append(request.zone)
    return " ".join(words)


def _parse_schedule(rest: str) -> ScheduleRequest | ScheduleQuestion:
    """A weekday, a time and a zone, each optional but not all: the day and the time in either order,
    then the zone, which may hold spaces (`new york`)."""
    words = _words(rest)
    if not words:
        return ScheduleRequest()
    if words[0].lower() == "off":
        _no_more(words[1:])
        return ScheduleRequest(off=True)
    weekday: int | None = None
    minutes: tuple[int, ...] | None = None
    time_typed = ""
    i = 0
    while i < len(words) and (weekday is None or minutes is None):
        day = _weekday(words[i]) if weekday is None else None
        if day is not None:
            weekday, i = day, i + 1
            continue
        after = words[i + 1] if i + 1 < len(words) else None
        times = _times_of_day(words[i], after) if minutes is None else None
        if times is None:
            break
        minutes, used = times
        time_typed = " ".join(words[i : i + 1 + used])
        i += 1 + used
    zone_typed = " ".join(words[i:])
    if weekday is None and minutes is None and not zone_typed:
        raise _Invalid(f"Give a weekday, a time or a time zone, {SCHEDULE_EXAMPLES}; or `off`.")
    zones: tuple[ZoneOption | None, ...] = (None,)
    why: list[str] = []
    if zone_typed:
        reading = read_zone(unescape(zone_typed))
        if isinstance(reading, ZoneUnknown):
            if weekday is None or minutes is None:
                raise _Invalid(
                    f"I couldn't read {_quote(zone_typed)} as a weekday, a time or a time zone; "
                    f"write it {SCHEDULE_EXAMPLES}."
                )
            raise _Invalid(reading.reason)
        if isinstance(reading, ZoneChoices):
            zones = reading.options
            why.append(reading.why)
        else:
            zones = (ZoneOption(reading.zone, reading.zone),)
    if minutes is not None and len(minutes) > 1:
        why.append(f"{_quote(time_typed)} may be in the morning or the evening.")
    options = [
        ScheduleOption(
            _option_label(weekday, minute, option),
            ScheduleRequest(weekday=weekday, minute=minute, zone=option.zone if option else None),
        )
        for minute in (minutes or (None,))
        for option in zones
    ]
    if len(options) == 1:
        return options[0].request
    return ScheduleQuestion(" ".join(why) + " Which did you mean?", tuple(options[:SCHEDULE_OPTIONS]))


SCHEDULE_OPTIONS = 10


def _option_label(weekday: int | None, minute: int | None, zone: ZoneOption | None) -> str:
    """A choice's button text: `Mondays 09:00 America/New_York (US Eastern)`."""
    parts = []
    if weekday is not None:
        parts.append(WEEKDAYS[weekday].capitalize() + "s")
    if minute is not None:
        parts.append(clock_time(minute))
    if zone is not None:
        parts.append(zone.zone + (f" ({zone.label})" if zone.label != zone.zone else ""))
    return " ".join(parts)


_PARSERS: dict[str, Callable[[str], Request]] = {
    "digest": _parse_digest,
    "schedule": _parse_schedule,
    "help": _parse_help,
    "log": _parse_log,
    "flag": _parse_flag,
    "answered": _parse_answered,
    "dismiss": _parse_dismiss,
    "unanswered": _parse_unanswered,
    "report": _parse_report,
    "settings": _parse_settings,
    "export": _parse_export,
    "dm": _parse_dm,
}


# Slack's `<…>` sequences stay one word even when a label holds spaces.
_WORD = re.compile(r"<[^<>]*>|[^\s<]+|<")


def _words(rest: str) -> list[str]:
    return _WORD.findall(rest)


def _no_more(words: list[str]) -> None:
    if words:
        raise _Invalid(f"Unexpected {_quote(' '.join(words))}.")


_ANGLED = re.compile(r"<([^<>|]*)(?:\|([^<>]*))?>")
_SLACK_HOSTS = ("slack.com", "slack-edge.com", "slack-imgs.com", "slack-files.com", "slack-redir.net")
_IMAGE_HOSTS = ("pbs.twimg.com", "i.imgur.com", "i.redd.it", "i.ytimg.com")
_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".webp", ".heic", ".avif", ".bmp", ".svg")
_FILE_SUFFIXES = (".mp4", ".mov", ".webm", ".mp3", ".m4a", ".wav", ".pdf", ".zip")


def _take_link(rest: str) -> tuple[PostLink, str]:
    """The post link that starts `rest`, and the text after it."""
    if not rest.strip():
        raise _Invalid("The post's link is missing.")
    angled = _ANGLED.match(rest)
    if angled:
        url, after = angled[1], rest[angled.end() :]
        if url.startswith(("@", "#", "!")):
            raise _Invalid(f"{_quote(angled[0])} isn't a link; start with the post's link.")
    else:
        url, *tail = rest.split(maxsplit=1)
        after = tail[0] if tail else ""
        if "://" not in url:
            raise _Invalid(f"{_quote(url)} isn't a link; start with the post's link.")
    url = unescape(url)
    link = parse_post_link(url)
    if link is None:
        raise _Invalid(_not_a_post(url))
    return link, after.strip()


def _not_a_post(url: str) -> str:
    """Why `parse_post_link` turned `url` down, as far as the URL shows it."""
    quoted = _code(url)
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").rstrip(".")
    except ValueError:
        return f"{quoted} isn't a valid link."
    if parts.scheme.lower() not in ("http", "https"):
        return f"{quoted} isn't a web link; use the post's https link."
    if any(host == slack or host.endswith("." + slack) for slack in _SLACK_HOSTS):
        return f"{quoted} is a Slack link; use the post's own link on its platform."
    path = parts.path.lower()
    if host in _IMAGE_HOSTS or path.endswith(_IMAGE_SUFFIXES):
        return f"{quoted} is an image; use the link to the post itself."
    if path.endswith(_FILE_SUFFIXES):
        return f"{quoted} is a file; use the link to the post itself."
    return f"{quoted} isn't a link to a post."


_BY = re.compile(r"(?:^|\s)by\s+", re.IGNORECASE)
_AUTHOR_WORD = re.compile(r"@\w[\w.'\u2019-]*|[^\W\d_][\w.'\u2019-]*")
# Phrases after "by" that aren't people, so "fixed by the way" or "done by Friday" stay comment text.
_NOT_AUTHORS = frozenset(
    (
        *("a", "an", "the", "this", "that", "these", "those", "my", "your", "our", "their", "his", "her"),
        *("its", "me", "you", "us", "them", "him", "it", "all", "any", "some", "no", "far", "now", "then"),
        *("way", "default", "design", "accident", "mistake", "chance", "hand", "email", "phone", "next"),
        *("today", "tonight", "tomorrow", "noon", "midnight", "end", "eod", "eow", "monday", "tuesday"),
        *("wednesday", "thursday", "friday", "saturday", "sunday"),
    )
)
_AUTHOR_LIMIT = 80


def _split_author(body: str) -> tuple[str, str | None]:
    """The comment text and its author from `<text> by <author>`, else the whole body and None."""
    # Only the last "by" can be followed by a bare name: any earlier one has "by" among its words.
    matches = list(_BY.finditer(body))
    if not matches:
        return body, None
    last = matches[-1]
    author = body[last.end() :].strip()
    words = author.split()
    if (
        1 <= len(words) <= 4
        and len(author) <= _AUTHOR_LIMIT
        and all(_AUTHOR_WORD.fullmatch(word) for word in words)
        and words[0].lower() not in _NOT_AUTHORS
        and "by" not in (word.lower() for word in words)
    ):
        return body[: last.start()], " ".join(words)
    return body, None


_QUOTES = {'"': '"”', "“": '"”'}


def _unquote(text: str) -> str:
    if len(text) >= 2 and text[-1] in _QUOTES.get(text[0], ""):
        return text[1:-1].strip()
    return text


_ID = re.compile(r"#?([0-9]+)")
# The most ids one `answered` or `dismiss` closes: each is a transaction and a notice updated in Slack.
CLOSE_LIMIT = 20


def _comment_id(rest: str) -> int:
    """The one comment id of a command that acts on one comment."""
    words = _words(rest)
    if not words:
        raise _Invalid("Give the comment's id, e.g. `#12`.")
    number = _ID.fullmatch(words[0])
    # At most 19 digits: int() refuses very long digit strings, and ids are below 2^63.
    digits = number[1].lstrip("0") if number else ""
    if not digits or len(digits) > 19 or int(digits) >= 2**63:
        raise _Invalid(f"{_quote(words[0])} isn't a comment id; ids are whole numbers like `12` or `#12`.")
    _no_more(words[1:])
    return int(digits)


def _comment_ids(rest: str) -> tuple[int, ...]:
    """The ids of `5 6 7` or `#5, #6 and #7`, each once; any other word is bad input for them all."""
    # Between ids: spaces, commas, and "and" ("#5, #6 and #7").
    pieces = [p for w in _words(rest) for p in ([w] if w.startswith("<") else w.split(","))]
    words = [w for w in pieces if w and w.lower() != "and"]
    if not words:
        raise _Invalid("Give the comment's id, e.g. `#12`.")
    several = len(words) > 1
    ids: list[int] = []
    for word in words:
        number = _ID.fullmatch(word)
        # At most 19 digits: int() refuses very long digit strings, and ids are below 2^63.
        digits = number[1].lstrip("0") if number else ""
        if not digits or len(digits) > 19 or int(digits) >= 2**63:
            reason = f"{_quote(word)} isn't a comment id; ids are whole numbers like `12` or `#12`."
            raise _Invalid(reason + (" Nothing was closed." if several else ""))
        if int(digits) not in ids:
            ids.append(int(digits))
    if len(ids) > CLOSE_LIMIT:
        raise _Invalid(f"Give at most {CLOSE_LIMIT} comment ids at once; nothing was closed.")
    return tuple(ids)


_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^<>]*)?>")


ME = "me"
# Slack's display names are at most 80 characters; a longer typed name is no one's.
_NAME_LIMIT = 80


def _is_mention_like(word: str) -> bool:
    return word.startswith(("@", "<@", "<!", "<#"))


def _person(words: list[str]) -> Person:
    """The one person ``words`` name: a linked mention, `me`, or `@` and a name that may hold spaces."""
    first, more = words[0], words[1:]
    mention = _MENTION.fullmatch(first)
    if mention:
        person: Person = mention[1]
    elif first.lower() == ME:
        person = Asker()
    elif first.startswith("@"):
        return _named(words)
    else:
        raise _Invalid(f"{_quote(first)} isn't a person: mention one, e.g. @Ada, or write `me`.")
    if any(_is_mention_like(word) for word in more):
        raise _Invalid("Give at most one person.")
    _no_more(more)
    return person


def _named(words: list[str]) -> NamedPerson:
    """`@ada` or `@Ada Lovelace` typed as plain text: a name to look up when the command runs."""
    if any(_is_mention_like(word) or word.startswith("<") for word in words[1:]):
        raise _Invalid("Give at most one person.")
    name = unescape(" ".join(words))[1:].strip()
    if not name:
        raise _Invalid("`@` isn't a person: mention one, e.g. @Ada, or write `me`.")
    if len(name) > _NAME_LIMIT:
        raise _Invalid(
            f"{_quote('@' + name)} is longer than any name in Slack; mention the person, e.g. @Ada."
        )
    return NamedPerson(name)


_HOURS = re.compile(r"([0-9]{1,4})h?", re.IGNORECASE)


def _hours(value: str) -> int:
    hours = _HOURS.fullmatch(value)
    if hours is None or int(hours[1]) not in THRESHOLD_HOURS:
        raise _Invalid(f"{_quote(value)} isn't a threshold; use whole hours from 1 to 720, e.g. `24`.")
    return int(hours[1])


# How long a claim may hold: an hour to two weeks.
CLAIM_HOURS = range(1, 14 * 24 + 1)
_CLAIM = re.compile(r"([0-9]{1,4})([hd])", re.IGNORECASE)


def _claim_hours(value: str) -> int:
    found = _CLAIM.fullmatch(value)
    hours = int(found[1]) * (24 if found[2].lower() == "d" else 1) if found else 0
    if hours not in CLAIM_HOURS:
        raise _Invalid(
            f"{_quote(value)} isn't a claim time; use hours or days from 1h to 14d, e.g. `claim 2d` or "
            "`claim 36h`."
        )
    return hours


# Slack's emoji names; a skin tone such as `::skin-tone-2` belongs to the reaction, not the name.
_EMOJI = re.compile(r"(:?)([a-z0-9_+'-]{1,100})(?:::skin-tone-[2-6])?\1")


def _emoji_name(value: str) -> str:
    # isascii first: lower() turns some non-ASCII letters, such as the Kelvin sign, into ASCII ones.
    emoji = _EMOJI.fullmatch(value.lower()) if value.isascii() else None
    if emoji is None or not any(c.isalnum() for c in emoji[2]):
        raise _Invalid(f"{_quote(value)} isn't an emoji name; use one like `:eyes:`.")
    return emoji[2]


def _as_typed(text: str) -> str:
    """`text` as the user typed it: Slack's links and mentions back to their labels, escapes undone."""
    return unescape(_ANGLED.sub(_link_as_typed, text))


def _link_as_typed(angled: re.Match[str]) -> str:
    target, label = angled[1], angled[2]
    if target[:1] not in ("@", "#", "!"):
        return label or target
    sigil = "#" if target[0] == "#" else "@"  # `<!here>` was typed as `@here`
    shown = label or target[1:]
    return shown if shown.startswith(sigil) else sigil + shown


def _quote(raw: str) -> str:
    """A piece of the escaped text Slack sent, as the user typed it, on one line, as inline code."""
    return _code(unescape(raw))


def _code(typed: str) -> str:
    return inline_code(" ".join(typed.split()))


def _unknown_reason(word: str) -> str:
    reason = f"{_quote(word)} isn't a twoway command."
    close = difflib.get_close_matches(word.lower(), BY_NAME, n=1)
    if close:
        reason += f" Did you mean `{close[0]}`?"
    return reason
