"""`/twoway log` and `flag` on a post nobody has shared: run in a channel, they add it to the channel's
ledger, owned by whoever ran them; from the app's direct message they can't tell which channel it
belongs to, and record nothing. The README's examples are run as written, on a fresh ledger."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TypeVar

from sqlalchemy import select

from bot.links import links_in_message
from storage.comments import NOTICE_PENDING
from storage.models import Comment, Post, PostShare, Snapshot
from storage.workspace_rows import count_rows
from tests.support.flows import ADA, CHANNEL, LINUS, TEAM, Flow
from tests.support.polling import eventually

README = Path(__file__).parents[2] / "README.md"
NEW = "https://x.com/twoway/status/1790000000000000042"
# Request bookkeeping grows with every request, and a channel is recorded on first contact.
BOOKKEEPING = ("channels", "seen_requests", "processed_events")


def _examples(verb: str) -> list[str]:
    """The README's `/twoway <verb> …` examples, as a person would type them after `/twoway` (usage
    forms such as `/twoway log <url>` are no examples)."""
    found = [text for text in re.findall(rf"`/twoway ({verb} [^`]+)`", README.read_text()) if "<" not in text]
    assert found, f"the README shows no `/twoway {verb}` example"
    return found


def _canonical(text: str) -> str:
    """The post's canonical URL: the example's first link (a second is the comment's own)."""
    return links_in_message(text)[0].canonical_url


Row = TypeVar("Row", Post, PostShare, Snapshot, Comment)


def _rows(flow: Flow, model: type[Row]) -> list[Row]:
    with flow.sessions.begin() as s:
        return list(s.scalars(select(model).where(model.team_id == TEAM).order_by(model.id)))


def _ledger(flow: Flow) -> dict[str, int]:
    with flow.sessions.begin() as s:
        counts = count_rows(s, TEAM)
    return {table: n for table, n in counts.items() if table not in BOOKKEEPING}


def test_the_readmes_log_examples_add_the_post_to_the_channel_owned_by_the_asker(flow: Flow) -> None:
    for example in _examples("log"):
        url = _canonical(example)
        answer = flow.reply_text(ADA, example)
        assert answer.startswith(f"Added <{url}|"), answer
        assert "to this channel's ledger, owned by you. Recorded for " in answer
        [post] = [p for p in _rows(flow, Post) if p.canonical_url == url]
        assert (post.channel_id, post.owner_user_id, post.message_ts, post.withdrawn_at) == (
            CHANNEL,
            ADA,
            None,
            None,
        )
        [snap] = [s for s in _rows(flow, Snapshot) if s.post_id == post.id]
        assert (snap.source, snap.recorded_by) == ("command", ADA)
    # The table's example states all four counts.
    assert "12 comments received, 3 replies sent, 5 shares, 40 likes" in flow.reply_text(
        ADA, _examples("log")[0]
    )
    # No message shares the posts: they have no share row.
    assert _rows(flow, PostShare) == []


def test_the_readmes_flag_examples_add_the_post_and_notice_the_channel(flow: Flow) -> None:
    for example in _examples("flag"):
        url = _canonical(example)
        answer = flow.reply_text(ADA, example)
        assert answer.startswith(f"Added <{url}|"), answer
        [post] = [p for p in _rows(flow, Post) if p.canonical_url == url]
        assert (post.channel_id, post.owner_user_id, post.message_ts) == (CHANNEL, ADA, None)
        [comment] = [c for c in _rows(flow, Comment) if c.post_id == post.id]
        assert f"Flagged as comment #{comment.id} on <{url}|" in answer
        assert answer.endswith(f"its owner <@{ADA}> will see it in the channel.")
        assert (comment.channel_id, comment.flagged_by, comment.state) == (CHANNEL, ADA, "open")
        # No message shares the post, so there is no thread: the notice is the channel's own message.
        posted = eventually(
            lambda: [c for c in _rows(flow, Comment) if c.notice_ts not in (None, NOTICE_PENDING)],
            what="the notice",
        )
        notice = next(m for m in flow.bot_messages() if m["ts"] == posted[-1].notice_ts)
        assert notice.get("thread_ts") in (None, notice["ts"])
    canada, android = _rows(flow, Comment)
    assert (canada.text, canada.author, canada.url) == ("Do you ship to Canada?", "@maple", None)
    assert (android.text, android.url) == ("Is there an Android app?", "https://x.com/maple/status/1791")


def test_log_without_counts_adds_a_new_post_and_records_nothing_on_a_tracked_one(flow: Flow) -> None:
    added = flow.reply_text(ADA, f"log {NEW}")
    assert added.startswith(f"Added <{NEW}|X post> to this channel's ledger, owned by you (no numbers yet).")
    [post] = _rows(flow, Post)
    assert (post.canonical_url, post.channel_id, post.owner_user_id) == (NEW, CHANNEL, ADA)
    assert _rows(flow, Snapshot) == []

    before = _ledger(flow)
    again = flow.reply_text(LINUS, f"log {NEW}")
    assert "nothing to record" in again
    assert "Added" not in again
    assert _ledger(flow) == before

    # With counts it is a snapshot of the post now tracked, which stays ada's.
    logged = flow.reply_text(LINUS, f"log {NEW} comments=2")
    assert logged.startswith(
        f"Recorded for <{NEW}|X post>: 2 comments received, 0 replies sent, 0 shares, 0 likes."
    )
    assert [(s.post_id, s.comments_received, s.recorded_by) for s in _rows(flow, Snapshot)] == [
        (post.id, 2, LINUS)
    ]
    assert [p.owner_user_id for p in _rows(flow, Post)] == [ADA]


def test_from_the_apps_dm_an_untracked_post_is_sent_to_its_channel_and_nothing_is_recorded(
    flow: Flow,
) -> None:
    dm = "D" + LINUS[1:]
    before = _ledger(flow)
    for text in (f"log {NEW} comments=3", f"log {NEW}", f"flag {NEW} Is this on sale?"):
        answer = flow.reply_text(LINUS, text, channel=dm)
        assert f"isn't tracking {NEW}" in answer
        assert "run the command in that channel" in answer
    assert _ledger(flow) == before


def test_bad_input_records_nothing(flow: Flow) -> None:
    before = _ledger(flow)
    assert "use the link to the post itself" in flow.reply_text(
        ADA, "log https://pbs.twimg.com/media/Fabc.jpg likes=3"
    )
    assert "couldn't read any counts" in flow.reply_text(ADA, f"log {NEW} we got lots")
    assert "Add the comment's text" in flow.reply_text(ADA, f"flag {NEW}")
    assert "a Slack link" in flow.reply_text(ADA, "flag https://twoway-demo.slack.com/archives/C1 hello?")
    assert _ledger(flow) == before
