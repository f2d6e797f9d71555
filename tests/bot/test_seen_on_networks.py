"""Replies twoway saw on Bluesky and Mastodon, and numbers it fetched there, read back from the ledger on
SQLite and PostgreSQL: `/twoway unanswered`, `/twoway report` and the weekly direct message."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot import ledger
from bot.render_ledger import render_report, render_unanswered
from bot.weekly import PersonZone, compose, recipe_of, redraw_weekly_dm, render_weekly_dm
from storage.channels import ensure_channel
from storage.comments import flag_comment
from storage.models import Comment, Post
from storage.posts import SharedLink, record_share
from storage.snapshots import add_snapshot
from tests.support.seen import fetched_snapshot, seen_comment

Sessions = sessionmaker[Session]
TEAM, OTHER_TEAM, CHANNEL, ADA, GRACE = "T0TWOWAY1", "T0OTHER01", "C0SOCIAL01", "U0ADA00001", "U0GRACE001"
NOW = datetime(2026, 12, 14, 15, 0, tzinfo=UTC)
SKEET = "https://bsky.app/profile/acme.example/post/3kxyz"
TOOT = "https://mastodon.social/@acme/113"
REPLY = "https://bsky.app/profile/fan.bsky.social/post/3kabc"


def share(s: Session, url: str, platform: str, n: int, *, team_id: str = TEAM) -> Post:
    post, _ = record_share(
        s,
        team_id,
        channel_id=CHANNEL,
        message_ts=f"1700000000.{n:06d}",
        user_id=GRACE,
        link=SharedLink(url, url, platform),
        shared_at=NOW - timedelta(days=2),
    )
    return post


def ledger_of(s: Session) -> tuple[Post, Post]:
    """Grace's Bluesky post, its counts fetched and a reply seen there; her Mastodon post, its counts
    typed by Ada and a comment Ada flagged; and another workspace's post like hers."""
    ensure_channel(s, TEAM, CHANNEL, now=NOW - timedelta(days=30))
    skeet, toot = share(s, SKEET, "bluesky", 1), share(s, TOOT, "mastodon", 2)
    fetched_snapshot(s, skeet, at=NOW - timedelta(minutes=10), comments=5, replies=2, shares=3, quotes=1)
    add_snapshot(
        s,
        TEAM,
        toot.id,
        comments_received=4,
        replies_sent=1,
        shares=0,
        likes=7,
        recorded_at=NOW - timedelta(days=1),
        recorded_by=ADA,
        source="command",
    )
    seen_comment(
        s,
        skeet,
        text="Does it ship to Norway?",
        author="fan.bsky.social",
        written_at=NOW - timedelta(hours=5),
        seen_at=NOW - timedelta(hours=4),
        remote_id="at://did:plc:fan/app.bsky.feed.post/3kabc",
        url=REPLY,
    )
    flag_comment(
        s,
        TEAM,
        post=toot,
        channel_id=CHANNEL,
        text="Is the blue one back?",
        author="@fan@mastodon.social",
        flagged_by=ADA,
        flagged_at=NOW - timedelta(hours=2),
    )
    ensure_channel(s, OTHER_TEAM, CHANNEL, now=NOW - timedelta(days=30))
    theirs = share(s, SKEET, "bluesky", 3, team_id=OTHER_TEAM)
    fetched_snapshot(s, theirs, at=NOW - timedelta(minutes=5), comments=50, replies=0)
    return skeet, toot


def test_unanswered_lists_a_reply_seen_on_bluesky_with_its_own_link(sessions: Sessions) -> None:
    with sessions.begin() as s:
        ledger_of(s)
        waiting = ledger.unanswered(s, TEAM, ledger.Reach.channel(CHANNEL), owner=None, limit=10)
        reply = render_unanswered(waiting, NOW, owner=None)
    [seen, flagged] = [b["text"]["text"] for b in reply["blocks"] if b["type"] == "section"][1:]
    assert seen == (
        f"*#{waiting.items[0][0].id}* · 5 hours · <{SKEET}|Bluesky post> · <@{GRACE}> · from fan.bsky.social "
        f"· seen on Bluesky\n> Does it ship to Norway? · <{REPLY}|comment>"
    )
    assert "seen on" not in flagged
    assert "<@>" not in json.dumps(reply)


def test_a_report_counts_fetched_numbers_like_typed_ones_and_says_which_were_fetched(
    sessions: Sessions,
) -> None:
    with sessions.begin() as s:
        ledger_of(s)
        result = ledger.report(s, TEAM, channel_id=CHANNEL, owner=None, period="week", now=NOW)
    assert result.fetched == {"bluesky": 1}
    assert (result.report.comments_received, result.report.replies_sent) == (9, 3)
    shown = render_report(result, scope="this channel")
    assert shown["blocks"][-1]["elements"][0]["text"].endswith(
        "The latest numbers of 1 of the 2 posts were fetched from Bluesky."
    )


def test_the_weekly_message_says_where_numbers_came_from_and_a_reply_answered_on_bluesky(
    sessions: Sessions,
) -> None:
    reach = ledger.Reach(frozenset({CHANNEL}), owner=GRACE)
    with sessions.begin() as s:
        ledger_of(s)
        summary = compose(s, TEAM, reach, at=NOW, zone=PersonZone("UTC"))
        recipe = json.loads(json.dumps(recipe_of(summary, reach, NOW)))
    drawn = render_weekly_dm(summary, NOW)
    text = json.dumps(drawn["blocks"], ensure_ascii=False)
    assert "5 comments, 2 replies, 3 shares, 0 likes (fetched from Bluesky 10 minutes ago)" in text
    assert f"4 comments, 1 replies, 0 shares, 7 likes (typed by <@{ADA}> 1 day ago)" in text
    assert "from fan.bsky.social · seen on Bluesky" in text

    # The team answered on Bluesky itself, and twoway saw it there.
    with sessions.begin() as s:
        seen = s.scalars(select(Comment).where(Comment.team_id == TEAM, Comment.seen_on == "bluesky")).one()
        seen.state, seen.answered_at = "answered", NOW
        seen_id = seen.id
        again = redraw_weekly_dm(s, TEAM, recipe, NOW + timedelta(hours=1), {})
    assert again is not None
    assert f"~#{seen_id}~ on <{SKEET}|Bluesky post>: answered on Bluesky." in json.dumps(again["blocks"])
    assert "<@>" not in json.dumps(again)
