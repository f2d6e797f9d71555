"""The digest's words through Slack: what waits first, people named without a ping and led to their
oldest waiting comment, conversations by the share answered, typed text shown exactly, and the preview
and `digest now` each naming the week they tell."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot.digest.blocks import OPEN_OLDEST_ACTION
from storage.models import Comment, Snapshot
from tests.flows.conftest import running_flow
from tests.support.flows import ADA, CHANNEL, GRACE, LINUS, TEAM, Flow, Later
from tests.support.polling import eventually

TIKTOK = "https://www.tiktok.com/@acme/video/7300000000000000001"
TIKTOK_SHOWN = "https://tiktok.com/@/video/7300000000000000001"  # its canonical form
YOUTUBE = "https://www.youtube.com/watch?v=dQw4w9WgXcQ"
BLOG = "https://x.com/acme/status/1790000000000000002"


@pytest.fixture
def later() -> Later:
    return Later()


@pytest.fixture
def flow(db_url: str, later: Later) -> Iterator[Flow]:
    with running_flow(db_url, clock=later) as running:
        yield running


def _share(flow: Flow, who: str, url: str) -> str:
    shared = flow.say(who, f"<{url}>")
    eventually(
        lambda: any(c["args"].get("timestamp") == shared for c in flow.calls("reactions.add")),
        what=f"the :eyes: on {url}",
    )
    return shared


def _snapshots(flow: Flow) -> int:
    with flow.sessions.begin() as s:
        return len(list(s.scalars(select(Snapshot.id))))


def _comments(flow: Flow) -> list[Comment]:
    with flow.sessions.begin() as s:
        found = list(s.scalars(select(Comment).where(Comment.team_id == TEAM).order_by(Comment.id)))
        s.expunge_all()
        return found


def _digest(flow: Flow) -> dict[str, Any]:
    [posted] = [
        m for m in flow.bot_messages() if (m.get("metadata") or {}).get("event_type") == "twoway_digest"
    ]
    return posted


def _section(blocks: list[dict[str, Any]], starts: str) -> dict[str, Any]:
    return next(
        b for b in blocks if b["type"] == "section" and b.get("text", {}).get("text", "").startswith(starts)
    )


def test_the_digest_names_people_leads_to_the_oldest_comment_and_says_which_week(
    flow: Flow, later: Later
) -> None:
    shared = _share(flow, LINUS, TIKTOK)
    flow.say(GRACE, "32 comments, 0 replies", thread_ts=shared)
    eventually(lambda: _snapshots(flow) == 1, what="the TikTok post's numbers")
    # A conversation by raw replies, but most comments left alone: 4 of 31.
    youtube = _share(flow, ADA, YOUTUBE)
    flow.say(GRACE, "31 comments, 4 replies", thread_ts=youtube)
    # 9 of 10 answered: held up as a conversation.
    talked = _share(flow, ADA, BLOG)
    flow.say(GRACE, "10 comments, we replied 9", thread_ts=talked)
    eventually(lambda: _snapshots(flow) == 3, what="the numbers of all three posts")

    question = flow.say(
        GRACE, "@perf_nerd asks: is the *blue* one ~back~? <!channel> `now`", thread_ts=shared
    )
    flow.react(ADA, question, "speech_balloon")
    [oldest] = eventually(lambda: _comments(flow), what="the flagged comment")
    flow.reply_text(GRACE, f"flag {TIKTOK} Where do I buy it? by @perf_nerd")
    eventually(lambda: len(_comments(flow)) == 2, what="the comment flagged by command")

    [preview] = flow.command(ADA, "digest preview")
    assert "This week so far: " in preview["blocks"][2]["elements"][0]["text"]

    later.ahead = timedelta(days=8)
    posted_note = flow.reply_text(ADA, "digest now")
    assert posted_note.startswith("Posted the digest of last week (to")
    digest = _digest(flow)
    blocks = digest["blocks"]

    # What waits comes first, in the notification text and the first section, without a percentage.
    assert digest["text"].startswith(f"2 comments wait for an answer in <#{CHANNEL}>, oldest 8 days.")
    assert blocks[2]["text"]["text"].startswith("2 comments wait for an answer")
    assert "%" not in digest["text"]
    assert blocks[1]["elements"][0]["text"].startswith(f"<#{CHANNEL}> · Last week: ")

    # The one-way line: the person's name, no ping, the next step and a button to the comment.
    person = _section(blocks, "• linus: ")
    assert person["text"]["text"] == (
        f"• linus: 1 post drew 32 comments and no replies: <{TIKTOK_SHOWN}|TikTok post>. "
        f"Next: pick one question on the <{TIKTOK_SHOWN}|TikTok post> and answer it."
    )
    assert "<@" not in json.dumps(person)
    button = person["accessory"]
    assert button["text"]["text"] == "Open the oldest comment"
    [asked] = [c for c in flow.calls("chat.getPermalink") if c["args"].get("message_ts") == oldest.message_ts]
    assert button["url"].startswith("https://")
    assert f"/archives/{CHANNEL}/p{question.replace('.', '')}?thread_ts={shared}" in button["url"]
    assert asked["args"]["channel"] == CHANNEL
    assert any(c for c in flow.calls("users.list"))
    # Slack opens the link itself and tells the app, which only acknowledges, posting nothing.
    before = len(flow.calls("chat.postEphemeral")) + len(flow.calls("chat.postMessage"))
    clicked = flow.click(GRACE, digest["ts"], OPEN_OLDEST_ACTION, "")
    assert clicked["ack"]["status"] == 200
    assert clicked["responses"] == []
    assert len(flow.calls("chat.postEphemeral")) + len(flow.calls("chat.postMessage")) == before

    # Conversations by the share answered: 9 of 10 is there, 4 of 31 is not.
    talk = _section(blocks, "*Conversations*")["text"]["text"]
    assert f"<{BLOG}|X post> by <@{ADA}>: answered 9 of 10 comments" in talk
    assert YOUTUBE not in talk

    # Typed text exactly as written: no look-alikes, no live mention.
    dumped = json.dumps(blocks, ensure_ascii=False)
    assert "from `@perf_nerd`" in dumped
    assert "`@perf_nerd` asks: is the `*blue*` one `~back~?` &lt;!channel&gt; `\u02cbnow\u02cb`" in dumped
    assert "<!channel>" not in dumped
    for lookalike in ("\u2217", "\u02cd", "\u223c", "\uff3f"):
        assert lookalike not in dumped


def test_comments_on_older_posts_are_listed_without_0_posts(flow: Flow, later: Later) -> None:
    shared = _share(flow, LINUS, TIKTOK)
    question = flow.say(GRACE, "is it back?", thread_ts=shared)
    flow.react(ADA, question, "speech_balloon")
    eventually(lambda: _comments(flow), what="the flagged comment")
    # Two weeks on, the post is older than last week: its comment still waits and is listed.
    later.ahead = timedelta(days=15)
    flow.reply_text(ADA, "digest now")
    digest = _digest(flow)
    assert digest["text"] == (
        f"1 comment waits for an answer in <#{CHANNEL}>, oldest 2 weeks. No new posts last week."
    )
    dumped = json.dumps(digest["blocks"])
    assert "0 posts" not in dumped
    assert "0 new posts" not in dumped
    assert "is it back?" in dumped


def test_with_slack_failing_the_digest_names_no_one_and_still_posts(flow: Flow, later: Later) -> None:
    shared = _share(flow, LINUS, TIKTOK)
    flow.say(GRACE, "32 comments, 0 replies", thread_ts=shared)
    question = flow.say(GRACE, "is it back?", thread_ts=shared)
    flow.react(ADA, question, "speech_balloon")
    eventually(lambda: _comments(flow) and _snapshots(flow) == 1, what="the comment and the numbers")
    for method in ("users.list", "chat.getPermalink"):
        flow._post("/_emulator/faults", {"method": method, "status": 500})
    later.ahead = timedelta(days=8)
    # twoway retries a server error twice, with a pause: the answer may take several seconds.
    seen = flow._post(
        "/_emulator/command",
        {
            "team": TEAM,
            "channel": CHANNEL,
            "user": ADA,
            "command": "/twoway",
            "text": "digest now",
            "wait": 30,
        },
    )
    assert seen["ack"]["status"] == 200
    assert seen["responses"][0]["text"].startswith("Posted the digest of last week (to")
    person = _section(_digest(flow)["blocks"], "• A teammate: 1 post drew 32 comments")
    # No name, no ping, and no button: Slack gave no link to the comment.
    assert "<@" not in json.dumps(person)
    assert "accessory" not in person
    assert flow.calls("users.list")
    assert flow.calls("chat.getPermalink")
