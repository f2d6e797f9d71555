"""Every renderer, fed any strings in every field a person can fill in (post URLs, comment text and
author, owners, channels, emoji names, platforms, Slack's failures), gives Block Kit that slack_sdk's
models accept and that Slack keeps (the emulator checks as Slack does, `emulator.block_kit`), and
whose links still go where they went.

Slack's limits (docs.slack.dev/reference/block-kit, each block's and object's page): 50 blocks in a
message and 100 in a view, a text object 3,000 characters, a header 150, a button's text 75 and its
value 2,000, a view's private_metadata 3,000; a message's text 40,000 for chat.postMessage and 4,000 for
chat.update, which twoway uses for its thread notices (docs.slack.dev/reference/methods/chat.update).
The strings go up to 100,000 characters, of every code point. The ``long`` Hypothesis profile
(tests/test_fuzz.py) runs 10,000 examples of each:

    HYPOTHESIS_PROFILE=long .venv/bin/python -m pytest -q tests/test_render_limits.py
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from bot.asks import render_ask
from bot.digest.blocks import render_digest
from bot.digest.build import (
    DigestInput,
    FoldedNudge,
    LostDigest,
    LostNudge,
    Undelivered,
    WaitingComment,
    build_digest,
)
from bot.digest.period import period_ending
from bot.grammar import BadInput, HelpRequest, UnavailableRequest, parse_command
from bot.ledger import Closed, Flagged, Home, PeriodReport, Recorded, Waiting
from bot.metrics import PostFact, Rate, Report, SnapshotFact
from bot.nudges import Batch, render_batch
from bot.render import render_home as render_intro_home
from bot.render import render_mention_reply, render_request
from bot.render_ledger import (
    render_closed,
    render_flag_modal,
    render_flag_notice,
    render_home,
    render_logged,
    render_notice_closed,
    render_notice_withdrawn,
    render_report,
    render_schedule,
    render_settings,
    render_unanswered,
)
from bot.render_numbers import ReadBack, render_hint, render_read_back
from bot.summary import MAX_COUNT, Engagement
from bot.text import channel_mention
from bot.weekly import MAX_LISTED, PersonZone, WeeklySummary, render_weekly_dm
from emulator import block_kit
from storage.models import Channel, Comment, Post, Snapshot
from tests.test_fuzz import FRAGMENTS, FUZZ, PIECES

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
MESSAGE_TEXT = 4000

# Any text up to 100,000 characters: hostile pieces, or one of them repeated past every limit.
MIXED = st.lists(PIECES, max_size=6).map("".join)
SEED = st.one_of(st.sampled_from(FRAGMENTS), st.text(min_size=1, max_size=4))
HUGE = st.tuples(SEED, st.integers(2_900, 100_000)).map(lambda p: (p[0] * (p[1] // len(p[0]) + 1))[: p[1]])
TEXT = st.one_of(MIXED, MIXED, HUGE)
# A post's URL: the tester's long link, anything at all, or a real one.
URL = st.one_of(
    TEXT.map(lambda tail: "https://blog.example.com/" + tail),
    TEXT,
    st.just("https://x.com/twoway/status/1790000000000000001"),
)
PLATFORM = st.one_of(st.sampled_from(["x", "blog", "instagram", "mastodon"]), TEXT)
MAYBE = st.one_of(st.none(), TEXT)


def _post(n: int, url: str, platform: str, owner: str) -> Post:
    return Post(
        id=n,
        team_id="T1",
        channel_id="C1",
        canonical_url=url,
        url=url,
        platform=platform,
        owner_user_id=owner,
        message_ts="1700000000.000100",
        shared_at=NOW - timedelta(days=1),
    )


def _comment(n: int, text: str, author: str | None, by: str, state: str = "open") -> Comment:
    return Comment(
        id=n,
        team_id="T1",
        post_id=n,
        channel_id="C1",
        text=text,
        author=author,
        state=state,
        flagged_by=by,
        flagged_at=NOW - timedelta(hours=n),
        written_at=None,
        answered_by=by if state == "answered" else None,
        answered_at=NOW if state == "answered" else None,
        dismissed_by=by if state == "dismissed" else None,
        snoozed_until=NOW + timedelta(hours=n) if n % 2 else None,
    )


# ---- what Slack keeps ----------------------------------------------------------------------------

_OURS = re.compile(r"<[^<>]*>")
_LINK = re.compile(r"<((?:https?|mailto):[^|<>]*)\|([^<>]*)>")
_LOOSE_ENTITY = re.compile(r"&(?!(?:amp|lt|gt);)")
_QUOTE_MARK = re.compile(r"^> ", re.MULTILINE)


def _texts(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        if value.get("type") == "mrkdwn" and isinstance(value.get("text"), str):
            yield value["text"]
        for inner in value.values():
            yield from _texts(inner)
    elif isinstance(value, list):
        for item in value:
            yield from _texts(item)


def _links_work(mrkdwn: str, targets: set[str]) -> None:
    """Every `<…>` is whole and every link goes to a URL given whole; nothing else is markup."""
    for link in _LINK.finditer(mrkdwn):
        assert link.group(1) in targets, link.group(1)[:200]
    rest = _OURS.sub("", _QUOTE_MARK.sub("", mrkdwn))
    assert "<" not in rest, mrkdwn[:300]
    assert ">" not in rest, mrkdwn[:300]
    assert not _LOOSE_ENTITY.search(mrkdwn), mrkdwn[:300]


def _blocks_kept(blocks: list[dict[str, Any]], limit: int, targets: set[str]) -> None:
    assert 0 < len(blocks) <= limit
    # slack_sdk's models refuse what breaks their limits when they serialise.
    assert [b.to_dict() for b in Block.parse_all(blocks)] == blocks
    assert block_kit.problems(blocks, limit=limit) == []
    for text in _texts(blocks):
        assert 0 < len(text) <= block_kit.SECTION_TEXT
        _links_work(text, targets)


def assert_message_kept(message: dict[str, Any], *urls: str) -> None:
    assert isinstance(message["text"], str)
    assert 0 < len(message["text"]) <= MESSAGE_TEXT
    _links_work(message["text"], _targets(urls))
    _blocks_kept(message["blocks"], block_kit.MESSAGE_BLOCKS, _targets(urls))


def assert_view_kept(view: View, *urls: str) -> None:
    shown = view.to_dict()
    assert block_kit.view_problems(shown) == []
    _blocks_kept(shown["blocks"], block_kit.VIEW_BLOCKS, _targets(urls))


def _targets(urls: tuple[str, ...]) -> set[str]:
    # The link markup's own characters are percent-encoded in a target and `&` escaped; nothing else.
    return {
        u.replace("|", "%7C")
        .replace(">", "%3E")
        .replace("<", "%3C")
        .replace(" ", "%20")
        .replace("&", "&amp;")
        for u in urls
    }


# ---- the renderers -------------------------------------------------------------------------------


@FUZZ
@given(
    url=URL,
    platform=PLATFORM,
    owner=TEXT,
    text=TEXT,
    author=MAYBE,
    by=TEXT,
    state=st.sampled_from(["open", "answered", "dismissed"]),
)
def test_a_comment_and_its_post_render_within_slacks_limits(
    url: str, platform: str, owner: str, text: str, author: str | None, by: str, state: str
) -> None:
    post = _post(1, url, platform, owner)
    comment = _comment(1, text, author, by, state)
    channel = Channel(team_id="T1", channel_id="C1", unanswered_threshold_hours=24, timezone="UTC")
    assert_message_kept(render_flag_notice(Flagged(comment, post, channel, True, NOW)), url)
    assert_message_kept(render_notice_closed(comment, post, NOW), url)
    assert_message_kept(render_notice_withdrawn(1, by))
    assert_message_kept(render_closed(Closed(comment, post, state != "open"), NOW))
    assert_message_kept(render_logged(Recorded(post, Engagement(1, 2, 3, 4), True), post, added=False), url)
    assert_message_kept(render_logged(Recorded(post, Engagement(1, 2, 3, 4), False), post, added=True), url)
    assert_message_kept(render_logged(None, post, added=True), url)
    for reading in ("ours", "audience", None):
        read = ReadBack(
            post, Engagement(MAX_COUNT, MAX_COUNT, 3, 4, MAX_COUNT, 5, 6), 2**62, replies_read_as=reading
        )
        assert_message_kept(render_read_back(read), url)
    assert_message_kept(render_hint(post), url)
    for level in (1, 2):
        assert_message_kept(render_batch(Batch("C1", level, owner, ((comment, post),)), NOW), url)
    assert_message_kept(render_ask(post), url)


@FUZZ
@given(
    items=st.lists(st.tuples(URL, PLATFORM, TEXT, TEXT, MAYBE), min_size=1, max_size=12),
    more=st.integers(0, 10**6),
    viewer=TEXT,
)
def test_lists_of_comments_and_posts_render_within_slacks_limits(
    items: list[tuple[str, str, str, str, str | None]], more: int, viewer: str
) -> None:
    pairs = [
        (_comment(n, text, author, owner), _post(n, url, platform, owner))
        for n, (url, platform, owner, text, author) in enumerate(items, start=1)
    ]
    urls = [url for url, *_ in items]
    waiting = Waiting(pairs, len(pairs) + more)
    assert_message_kept(render_unanswered(waiting, NOW, owner=None), *urls)
    assert_message_kept(render_unanswered(waiting, NOW, owner=viewer), *urls)
    owners = frozenset(owner for _, _, owner, _, _ in items)
    # More than a message lists: the rest are counted.
    many = tuple(
        (_comment(n + 100 * k, text, author, owner), _post(n, url, platform, owner))
        for k in range(5)
        for n, (url, platform, owner, text, author) in enumerate(items, start=1)
    )
    for batch in (Batch("C1", 1, viewer, tuple(pairs)), Batch("C1", 2, None, many, owners)):
        assert_message_kept(render_batch(batch, NOW), *urls)
    posts = [post for _, post in pairs] * 20
    assert_view_kept(render_home(Home(viewer, waiting, posts, Rate(3, 4, 0.75)), NOW), *urls)
    for weekly_dm in (True, False):
        home = render_home(
            Home(viewer, waiting, posts, Rate(3, 4, 0.75)),
            NOW,
            own_rate=Rate(12, 15, 0.8),
            weekly_dm=weekly_dm,
        )
        assert_view_kept(home, *urls)


@FUZZ
@given(
    items=st.lists(
        st.tuples(URL, PLATFORM, TEXT, TEXT, MAYBE, st.sampled_from(["open", "answered", "dismissed"])),
        min_size=1,
        max_size=MAX_LISTED + 3,
    ),
    more=st.integers(0, 10**6),
    user=TEXT,
    own=st.booleans(),
    zone_channel=MAYBE,
)
def test_the_weekly_direct_message_renders_within_slacks_limits(
    items: list[tuple[str, str, str, str, str | None, str]],
    more: int,
    user: str,
    own: bool,
    zone_channel: str | None,
) -> None:
    pairs = [
        (_comment(n, text, author, owner, state), _post(n, url, platform, owner))
        for n, (url, platform, owner, text, author, state) in enumerate(items, start=1)
    ]
    urls = [url for url, *_ in items]
    # Typed by someone with the longest id Slack gives, a long time ago: the longest words a source takes.
    snapshot = Snapshot(
        comments_received=MAX_COUNT,
        replies_sent=MAX_COUNT,
        shares=3,
        likes=MAX_COUNT,
        recorded_at=NOW - timedelta(weeks=60),
        recorded_by="W" + "Z" * 31,
        source="command",
    )
    summary = WeeklySummary(
        user_id=user,
        comments=pairs,
        waiting=len(pairs) + more,
        posts=[(post, snapshot if n % 2 else None) for n, (_, post) in enumerate(pairs * 20)],
        rate=Rate(MAX_COUNT, MAX_COUNT, 1.0),
        zone=PersonZone("America/New_York", own=own, channel_id=zone_channel),
    )
    shown = render_weekly_dm(summary, NOW)
    assert_message_kept(shown, *urls)
    # Every waiting comment not listed with its buttons is counted, and where to see them said.
    unshown = summary.waiting - sum(c.state == "open" for c, _ in pairs[:MAX_LISTED])
    if unshown:
        assert f"and {unshown} more: your Home tab lists them" in str(shown["blocks"])


@FUZZ
@given(
    channel_id=TEXT,
    owner=MAYBE,
    emojis=st.tuples(TEXT, TEXT, TEXT),
    zone=st.sampled_from(["UTC", "Asia/Tokyo"]),
)
def test_reports_settings_and_schedules_render_within_slacks_limits(
    channel_id: str, owner: str | None, emojis: tuple[str, str, str], zone: str
) -> None:
    figures = Report(3, 10, 4, Rate(4, 10, 0.4), 1, 2, 5, timedelta(hours=30), 2, timedelta(hours=3))
    result = PeriodReport("week", NOW - timedelta(days=7), NOW, owner, figures)
    assert_message_kept(render_report(result, scope=channel_mention(channel_id)))
    flag, resolve, dismiss = emojis
    channel = Channel(
        team_id="T1",
        channel_id=channel_id,
        unanswered_threshold_hours=24,
        flag_emoji=flag,
        resolve_emoji=resolve,
        dismiss_emoji=dismiss,
        timezone=zone,
        digest_enabled=True,
        digest_weekday=0,
        digest_minute=540,
    )
    assert_message_kept(render_settings(channel, changed=True))
    assert_message_kept(render_schedule(channel, NOW, changed=True))
    assert_view_kept(render_flag_modal("C0SOCIAL01", "1700000000.000100", "Which post?"))


@FUZZ
@given(command=TEXT, user=TEXT)
def test_answers_to_any_command_and_mention_render_within_slacks_limits(command: str, user: str) -> None:
    request = parse_command(command)
    if isinstance(request, HelpRequest | UnavailableRequest | BadInput):
        assert_message_kept(render_request(request))
    assert_message_kept(render_mention_reply(user))
    assert_view_kept(render_intro_home(user))


@FUZZ
@given(
    channel_id=TEXT,
    waiting=st.lists(st.tuples(TEXT, MAYBE, PLATFORM, URL, TEXT), max_size=12),
    # A post with None comments has no numbers at all: the digest lists it as numbers missing.
    posts=st.lists(
        st.tuples(TEXT, PLATFORM, URL, st.one_of(st.none(), st.integers(0, 5)), st.integers(0, 5)),
        max_size=12,
    ),
    errors=st.lists(MAYBE, max_size=4),
)
def test_the_digest_renders_within_slacks_limits(
    channel_id: str,
    waiting: list[tuple[str, str | None, str, str, str]],
    posts: list[tuple[str, str, str, int | None, int]],
    errors: list[str | None],
) -> None:
    period = period_ending(NOW, "UTC")
    previous = period_ending(period.start, "UTC")
    facts = [
        PostFact(
            n,
            owner,
            platform,
            url,
            period.start + timedelta(hours=n),
            () if c is None else (SnapshotFact(NOW, c, r, 0, 0),),
        )
        for n, (owner, platform, url, c, r) in enumerate(posts)
    ]
    comments = [
        WaitingComment(n, text, author, NOW - timedelta(hours=n), platform, url, owner)
        for n, (text, author, platform, url, owner) in enumerate(waiting)
    ]
    undelivered = Undelivered(
        tuple(LostDigest(previous, e) for e in errors),
        tuple(LostNudge(n, 1, e, True) for n, e in enumerate(errors)),
    )
    digest = build_digest(
        DigestInput(
            channel_id=channel_id,
            period=period,
            previous=previous,
            posts=facts,
            previous_posts=[],
            owner_history={f.owner: [f] for f in facts},
            waiting=comments,
            answered=[],
            missed_previous=bool(errors),
            undelivered=undelivered,
            # Nudges folded into the digest: one line per owner, some not to be mentioned.
            folded=tuple(
                FoldedNudge(owner if n % 3 else None, NOW - timedelta(hours=n))
                for n, (*_, owner) in enumerate(waiting * 4)
            ),
        ),
        NOW,
    )
    urls = [url for *_, url, _ in waiting] + [url for _, _, url, _, _ in posts]
    assert_message_kept(render_digest(digest), *urls)


@FUZZ
@given(url=URL, platform=PLATFORM, count=st.integers(0, 150), chosen=st.integers(0, 160))
def test_the_flag_dialog_offers_any_posts_within_a_selects_limits(
    url: str, platform: str, count: int, chosen: int
) -> None:
    posts = [_post(n + 1, f"{url}{n}", platform, "U1") for n in range(count)]
    selected = posts[chosen] if chosen < count else None
    view = render_flag_modal("C0SOCIAL01", "1700000000.000100", "Which post?", posts, selected)
    assert_view_kept(view)
    shown = view.to_dict()
    [select] = [b["element"] for b in shown["blocks"] if b.get("block_id") == "post_choice"] or [None]
    if count == 0:
        assert select is None
        return
    assert select is not None
    assert len(select["options"]) == min(count, 100)
    assert ("initial_option" in select) == (chosen < min(count, 100))
