"""What people write that Slack's Block Kit limits can't hold as it is: one post link 3,000 characters
long, comment text full of mrkdwn. Every answer, notice, nudge and Home tab still reaches Slack, within
its limits (the emulator refuses what Slack refuses: `invalid_blocks`, `msg_too_long`)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from bot.nudges import Nudger
from storage.models import Comment, Nudge
from tests.support.flows import ADA, GRACE, TEAM, Flow
from tests.support.polling import eventually

# A hostile tester's link: a section's text holds 3,000 characters at most.
LONG_LINK = "https://blog.example.com/" + "p" * 3000


def _view(call: dict[str, Any]) -> dict[str, Any]:
    view = call["args"]["view"]
    return json.loads(view) if isinstance(view, str) else dict(view)


def _comments(flow: Flow) -> list[Comment]:
    with flow.sessions.begin() as s:
        return list(s.scalars(select(Comment).where(Comment.team_id == TEAM).order_by(Comment.id)))


def test_one_3000_character_link_leaves_every_surface_of_its_channel_working(flow: Flow) -> None:
    flow.reply_text(ADA, "settings sites blog.example.com")
    flow.say(ADA, f"<{LONG_LINK}>")
    eventually(lambda: flow.calls("reactions.add"), what="the post tracked")

    logged = flow.reply_text(ADA, f"log {LONG_LINK} comments=3 replies=0")
    assert logged.startswith("Recorded for ")
    assert "3 comments received, 0 replies sent" in logged

    flagged = flow.reply_text(GRACE, f"flag {LONG_LINK} Is this still on sale?")
    [comment] = _comments(flow)
    assert flagged.startswith(f"Flagged as comment #{comment.id}")
    # The thread notice reached Slack, which kept it: the flag's event needs no retry.
    notices = eventually(
        lambda: [m for m in flow.bot_messages() if m["ts"] == _comments(flow)[0].notice_ts],
        what="the thread notice",
    )
    assert "Is this still on sale?" in json.dumps(notices[0]["blocks"])

    [shown] = flow.command(ADA, "unanswered")
    assert shown["text"].startswith("1 comment is waiting for an answer")
    assert [b["elements"][0]["value"] for b in shown["blocks"] if b["type"] == "actions"] == [str(comment.id)]

    flow.event({"type": "app_home_opened", "user": ADA, "channel": "D0ADA00001", "tab": "home"})
    published = eventually(lambda: [c for c in flow.calls("views.publish") if c["ok"]], what="the Home tab")
    assert "Is this still on sale?" in json.dumps(_view(published[-1])["blocks"])

    later = datetime.now(UTC) + timedelta(days=3)
    nudger = Nudger(flow.sessions, lambda _: flow.runtime.deps.client, "test", lambda: later)
    assert [(o.comment_id, o.status) for o in nudger.sweep(TEAM)] == [(comment.id, "sent")]
    with flow.sessions.begin() as s:
        assert [n.state for n in s.scalars(select(Nudge).where(Nudge.team_id == TEAM))] == ["sent"]
    # Nothing twoway sent was refused.
    refused = [
        c for c in flow.calls() if c["method"] in ("chat.postMessage", "views.publish") and not c["ok"]
    ]
    assert refused == []


def test_a_thread_notice_quotes_the_comment_with_its_mrkdwn_defused(flow: Flow) -> None:
    flow.say(ADA, "<https://x.com/twoway/status/1790000000000000001>")
    eventually(lambda: flow.calls("reactions.add"), what="the post tracked")
    flow.reply_text(
        GRACE, "flag https://x.com/twoway/status/1790000000000000001 *free* ```rm -rf``` _now_ ~x~"
    )
    notice = eventually(
        lambda: [m for m in flow.bot_messages() if m["ts"] == _comments(flow)[0].notice_ts],
        what="the thread notice",
    )[0]
    quoted = notice["blocks"][1]["text"]["text"]
    # Each word with a mark in a code span, shown as typed (as the digest shows it: bot.text.literal); a
    # code span can't hold a backtick, so those show as U+02CB.
    assert quoted == "> `*free*` `\u02cb\u02cb\u02cbrm` `-rf\u02cb\u02cb\u02cb` `_now_` `~x~`"
