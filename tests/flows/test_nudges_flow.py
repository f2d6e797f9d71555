"""Batched nudges through the whole app: comments flagged by command, one nudge to their owner in the
channel, and its buttons closing the comment they stand under."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from bot.nudges import NUDGE_EVENT_TYPE, Nudger, redraw_nudge
from bot.render_ledger import ANSWERED_ACTION
from storage.models import Channel, Comment, PostedMessage
from storage.posted_messages import recipe_of
from tests.support.flows import ADA, CHANNEL, GRACE, TEAM, Flow
from tests.support.polling import eventually

POSTS = ("https://x.com/twoway/status/1790000000000000011", "https://x.com/twoway/status/1790000000000000012")


def test_two_waiting_comments_are_one_nudge_whose_buttons_close_them(flow: Flow) -> None:
    for url in POSTS:
        flow.say(GRACE, f"<{url}>")
    eventually(lambda: len(flow.calls("reactions.add")) == 2, what="both posts tracked")
    for n, url in enumerate(POSTS):
        flagged = flow.command(ADA, f'flag {url} "Question {n}?"')
        assert any(s["text"].startswith("Flagged as comment #") for s in flagged), flagged
    with flow.sessions.begin() as s:
        # Whatever day the test runs on: no weekend to wait out, no digest to wait for.
        s.execute(
            update(Channel)
            .where(Channel.team_id == TEAM, Channel.channel_id == CHANNEL)
            .values(nudge_weekends=True, digest_enabled=False)
        )
        first, second = s.scalars(select(Comment.id).where(Comment.team_id == TEAM).order_by(Comment.id))
    later = datetime.now(UTC) + timedelta(hours=25)
    nudger = Nudger(flow.sessions, lambda _: flow.runtime.deps.client, "test", lambda: later)

    outcomes = nudger.sweep(TEAM)

    assert sorted((o.comment_id, o.level, o.status) for o in outcomes) == [
        (first, 1, "sent"),
        (second, 1, "sent"),
    ]
    [nudge] = [
        m for m in flow.bot_messages() if (m.get("metadata") or {}).get("event_type") == NUDGE_EVENT_TYPE
    ]
    assert nudge["text"] == f"<@{GRACE}>, 2 comments wait for you, oldest 1 day."
    assert "thread_ts" not in nudge

    clicked = flow.click(GRACE, nudge["ts"], ANSWERED_ACTION, str(first))
    assert clicked["ack"]["status"] == 200, clicked
    eventually(lambda: _state(flow, first) == "answered", what="the click on the nudge")
    with flow.sessions.begin() as s:
        [remembered] = s.scalars(select(PostedMessage).where(PostedMessage.ts == nudge["ts"]))
        redrawn = redraw_nudge(s, TEAM, recipe_of(remembered), later, {})
    assert redrawn is not None
    assert redrawn["text"] == f"<@{GRACE}>, 1 comment waits for you, oldest 1 day."
    shown = json.dumps(redrawn["blocks"])
    assert f"*#{first}* on" in shown
    assert f'"block_id": "comment-{first}"' not in shown
    assert f'"block_id": "comment-{second}"' in shown
    assert nudger.sweep(TEAM) == []


def _state(flow: Flow, comment_id: int) -> str:
    with flow.sessions.begin() as s:
        return s.get_one(Comment, comment_id).state
