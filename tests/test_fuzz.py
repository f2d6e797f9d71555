"""Hostile text through the parsers, the ledger and the renderers: nothing raises, nothing is
stored other than as typed, nothing rendered breaks out of mrkdwn.

Hostile means SQL fragments, Slack's own mention, link and escape syntax, control characters
(NUL and lone surrogates included), every script, emoji sequences, and strings over 50 KB. The
``long`` Hypothesis profile runs 10,000 examples of each test with no deadline:

    HYPOTHESIS_PROFILE=long .venv/bin/python -m pytest -q tests/test_fuzz.py
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot import ledger
from bot.flagging import comment_text
from bot.grammar import FLAG_TEXT_LIMIT, BadInput, FlagRequest, parse_command
from bot.links import links_in_message, parse_post_link
from bot.nudges import Batch, render_batch
from bot.render_ledger import render_flag_notice, render_notice_closed
from bot.summary import (
    MAX_COUNT,
    MAX_SUMMARY_LENGTH,
    Engagement,
    mentions_counts,
    parse_count,
    parse_summary,
    read_summary,
)
from storage.comments import get_comment
from storage.db import make_engine, make_session_factory
from storage.migrate import upgrade
from storage.models import Comment, Post
from tests.support.postgres import fresh_schema

# A fixed number of examples per test in the long run, so that its time is predictable; the default
# profile keeps the ordinary test run quick.
settings.register_profile(
    "long", max_examples=10_000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
FUZZ = settings(
    settings.get_profile(os.environ.get("HYPOTHESIS_PROFILE", "default")),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    deadline=None,
)

TEAM, CHANNEL, OWNER, FLAGGER = "T0FUZZ0001", "C0FUZZ0001", "U0OWNER001", "U0FLAGGER1"
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
POST_URL = "https://x.com/twoway/status/1790000000000000001"

FRAGMENTS = [
    # SQL
    "'; DROP TABLE comments; --",
    "' OR '1'='1",
    "\\",
    "%_",
    "$$ $tag$",
    "E'\\x00'",
    "/* */",
    '"quoted"',
    # Slack mrkdwn and its escapes
    "<!channel>",
    "<!here|here>",
    "<!everyone>",
    "<@U0ADA00001>",
    "<@U0ADA00001|ada>",
    "<#C0SOCIAL01|social>",
    "<!subteam^S0123|@team>",
    "<https://evil.example/phish|click me>",
    "<mailto:a@b.c>",
    "<!date^1700000000^{date}|x>",
    "&lt;&gt;&amp;",
    "&lt;!channel&gt;",
    "<",
    ">",
    "&",
    "*bold* _it_ ~s~ `code` ```block```",
    "> quote\n>> more",
    ":speech_balloon:",
    "by Ada Lovelace",
    "https://x.com/twoway/status/1790000000000000002",
    # Control and invisible characters
    "\x00",
    "\x07\x08\x1b[31m",
    "\r\n\t\v\f",
    "\x7f",
    "\u2028\u2029",
    "\u200b\u200d\ufeff",
    "\u202e\u2066",
    "\ud800",
    "\udfff",
    # Scripts and emoji
    "مرحبا بالعالم",
    "שלום עולם",
    "नमस्ते दुनिया",
    "你好，世界",  # noqa: RUF001 - the full-width comma is the point
    "こんにちは",
    "안녕하세요",
    "สวัสดีชาวโลก",
    "Привет",
    "e\u0301\u0302\u0303\u0304",
    "Z̸̨̛̤̞a̷̧̖l̶̢̙g̴̟͝o̵̬͠",
    "👩\u200d👩\u200d👧\u200d👦",
    "🇫🇷🏳️\u200d🌈",
    "👍🏽",
    "\U0010ffff",
]

# Every code point, surrogates and unassigned ones included.
ANY_CHARACTER = st.characters(codec=None, categories=None)
PIECES = st.one_of(st.sampled_from(FRAGMENTS), st.text(ANY_CHARACTER, max_size=30))
# Over 50 KB: a hostile fragment repeated, as a paste of a whole thread might be.
HUGE = st.sampled_from(FRAGMENTS).map(lambda piece: piece * (51_200 // len(piece) + 1))
MIXED = st.lists(PIECES, max_size=8).map("".join)
# Huge strings are one draw in five: enough of them, without their cost ruling the run.
HOSTILE = st.one_of(MIXED, MIXED, MIXED, MIXED, HUGE)


# ---- the parsers never raise, and answer within their contracts ----------------------------------


@FUZZ
@given(text=HOSTILE)
def test_parse_command_never_raises(text: str) -> None:
    for command in (text, f"flag <{POST_URL}> {text}", f"log <{POST_URL}> {text}", f"settings {text}"):
        request = parse_command(command)
        if isinstance(request, FlagRequest):
            assert 0 < len(request.text) <= FLAG_TEXT_LIMIT
            assert not _UNSTORABLE.search(request.text)
        if isinstance(request, BadInput):
            assert "\n" not in request.reason


@FUZZ
@given(text=HOSTILE)
def test_parse_summary_never_raises(text: str) -> None:
    found = parse_summary(text)
    assert found is None or isinstance(found, Engagement)
    if found is not None:
        assert len(text) <= MAX_SUMMARY_LENGTH
        counts = [
            found.comments,
            found.replies,
            found.shares,
            found.likes,
            found.views,
            found.impressions,
            found.saves,
        ]
        assert all(c is None or 0 <= c <= MAX_COUNT for c in counts)


@FUZZ
@given(text=HOSTILE, platform=st.sampled_from([None, "x", "mastodon", "facebook"]))
def test_read_summary_mentions_counts_and_parse_count_never_raise(text: str, platform: str | None) -> None:
    summary = read_summary(text, platform)
    hint = mentions_counts(text)
    assert isinstance(hint, bool)
    if summary is not None:
        # A network changes how "replies" read, never whether a text is a summary.
        assert read_summary(text) is not None
    count = parse_count(text)
    assert count is None or 0 <= count <= MAX_COUNT


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | PIECES,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3),
    max_leaves=8,
)


@FUZZ
@given(text=HOSTILE, blocks=st.none() | st.lists(JSON, max_size=3))
def test_links_in_message_never_raises(text: str, blocks: Any) -> None:
    for link in links_in_message(text, blocks):
        assert link.canonical_url.startswith(("https://", "http://"))
        assert not any(c.isspace() or c in "<>|" for c in link.canonical_url)


# ---- stored as typed, read back literally, rendered inert ----------------------------------------


# PostgreSQL refuses NUL and lone surrogates; twoway drops them (and other C0 controls) on the way in.
_UNSTORABLE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\ud800-\udfff]")


LONG = os.environ.get("HYPOTHESIS_PROFILE") == "long"
BACKENDS = [
    pytest.param(
        "sqlite",
        # The long run spends its minutes on PostgreSQL, the stricter store.
        marks=pytest.mark.skipif(LONG, reason="the long run fuzzes PostgreSQL"),
    ),
    pytest.param("postgresql", marks=pytest.mark.postgres),
]


@dataclass(frozen=True)
class Ledger:
    sessions: sessionmaker[Session]
    post: Post


@pytest.fixture(scope="module", params=BACKENDS)
def fuzz_ledger(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ledger]:
    """A migrated ledger with one tracked post, shared by every example of a test (module-scoped:
    Hypothesis runs thousands of examples against one database)."""
    if request.param == "sqlite":
        yield from _ledger(f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'twoway.db'}")
        return
    admin: Engine = request.getfixturevalue("postgresql_admin")
    with fresh_schema(admin, request.getfixturevalue("postgresql_server"), prefix="fuzz") as url:
        yield from _ledger(url)


def _ledger(url: str) -> Iterator[Ledger]:
    engine = make_engine(url)
    upgrade(engine)
    sessions = make_session_factory(engine)
    link = parse_post_link(POST_URL)
    assert link is not None
    with sessions.begin() as s:
        shares = ledger.share_links(
            s,
            TEAM,
            channel_id=CHANNEL,
            message_ts="1700000000.000100",
            user_id=OWNER,
            links=[link],
            now=NOW - timedelta(days=1),
            timezone="UTC",
        )
    try:
        yield Ledger(sessions, shares.posts[0])
    finally:
        engine.dispose()


def _flag_and_read_back(db: Ledger, text: str, author: str | None) -> tuple[ledger.Flagged, Comment]:
    with db.sessions.begin() as s:
        flagged = ledger.flag(
            s,
            TEAM,
            post=db.post,
            channel_id=CHANNEL,
            text=text,
            author=author,
            flagged_by=FLAGGER,
            now=NOW,
            timezone="UTC",
        )
    with db.sessions.begin() as s:
        stored = get_comment(s, TEAM, flagged.comment.id)
    assert stored is not None
    return flagged, stored


@FUZZ
@given(text=HOSTILE, by_command=st.booleans())
def test_hostile_text_is_stored_as_typed_and_renders_inert(
    fuzz_ledger: Ledger, text: str, by_command: bool
) -> None:
    if by_command:
        # `/twoway flag` keeps the text as typed, minus what no database can store.
        request = parse_command(f"flag <{POST_URL}> {text}")
        if not isinstance(request, FlagRequest):
            return
        flagged, stored = _flag_and_read_back(fuzz_ledger, request.text, request.author)
        assert stored.text == request.text
        assert stored.author == request.author
    else:
        # A flag reaction or the shortcut stores the message as a person reads it.
        read = comment_text({"text": text})
        flagged, stored = _flag_and_read_back(fuzz_ledger, read, None)
        assert stored.text == _UNSTORABLE.sub("", read)
    _assert_inert(flagged, stored)


# What twoway itself writes into mrkdwn: mentions of ids it knows, dates, and the post's link.
_OURS = re.compile(
    r"<@U0[A-Z0-9]+>|<!date\^\d+\^\{date_short_pretty\} at \{time\}\|[^<>]*>|<https://[^<>|]+\|X post>"
)
_ENTITY = re.compile(r"&(?!(?:amp|lt|gt);)")


def _assert_inert(flagged: ledger.Flagged, stored: Comment) -> None:
    post = flagged.post
    for rendered in (
        render_flag_notice(flagged),
        render_notice_closed(stored, post, NOW),
        render_batch(Batch(stored.channel_id, 1, post.owner_user_id, ((stored, post),)), NOW),
        render_batch(Batch(stored.channel_id, 2, None, ((stored, post),)), NOW),
    ):
        for block in rendered["blocks"]:
            for line in _mrkdwn_of(block.to_dict() if hasattr(block, "to_dict") else block):
                assert len(line) <= 3000
                rest = _OURS.sub("", line)
                # A quote marker opens the comment's one line; any other < or > came from the user.
                rest = rest[2:] if rest.startswith("> ") else rest
                assert "<" not in rest, line[:300]
                assert ">" not in rest, line[:300]
                assert not _ENTITY.search(rest), line[:300]
                assert "\n" not in rest or "> " not in line, line[:300]


def _mrkdwn_of(block: Any) -> Iterator[str]:
    if isinstance(block, dict):
        if block.get("type") == "mrkdwn" and isinstance(block.get("text"), str):
            yield block["text"]
        for value in block.values():
            yield from _mrkdwn_of(value)
    elif isinstance(block, list):
        for item in block:
            yield from _mrkdwn_of(item)
