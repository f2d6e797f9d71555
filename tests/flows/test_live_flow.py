"""Messages that stay true: once a comment changes, every message twoway posted about it (its notice, the
digest, the nudges) is drawn again through Slack, and a button left on an old one says what happened."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from bot.nudges import Nudger
from bot.render_ledger import ANSWERED_ACTION, SNOOZE_ACTION
from bot.scheduler import REFRESH_JOB_ID
from storage.models import Comment, PostedMessage
from tests.support.flows import ADA, GRACE, LINUS, TEAM, Flow
from tests.support.polling import eventually

POST = "https://x.com/twoway/status/1790000000000000001"
QUESTION = "Will the recording be online?"


def _comment(flow: Flow) -> Comment:
    with flow.sessions.begin() as s:
        found = s.scalars(select(Comment).where(Comment.team_id == TEAM)).one()
        s.expunge(found)
    return found


def _buttons(message: dict[str, Any]) -> list[str]:
    """The comment ids the message's buttons act on."""
    return [
        str(element.get("value"))
        for block in message.get("blocks") or []
        if block.get("type") == "actions"
        for element in block.get("elements") or []
    ]


def _message(flow: Flow, ts: str) -> dict[str, Any]:
    return next(m for m in flow.messages() if m["ts"] == ts)


def _text(message: dict[str, Any]) -> str:
    return json.dumps(message.get("blocks") or []) + message.get("text", "")


def _flagged_with_digest_and_nudge(flow: Flow) -> tuple[Comment, str, str]:
    """Comment #1 flagged by reaction in a post's thread, listed by a digest, and nudged at level 2 (the
    channel asked); returns it with the digest's and the nudge's ts."""
    shared = flow.say(ADA, f"<{POST}>")
    eventually(lambda: flow.calls("reactions.add"), what="the post tracked")
    quoted = flow.say(LINUS, QUESTION, thread_ts=shared)
    flow.react(GRACE, quoted, "speech_balloon")
    comment = eventually(lambda: _noticed(flow), what="the flag's notice")
    assert flow.reply_text(ADA, "digest now").startswith("Posted the digest")
    digest = next(
        m for m in flow.bot_messages() if (m.get("metadata") or {}).get("event_type") == "twoway_digest"
    )
    assert str(comment.id) in _buttons(digest)
    later = datetime.now(UTC) + timedelta(days=7)
    nudger = Nudger(flow.sessions, lambda _: flow.runtime.deps.client, "test", lambda: later)
    [nudged] = nudger.sweep(TEAM)
    assert (nudged.level, nudged.status) == (2, "sent")
    assert nudged.ts is not None
    assert "Can anyone take this?" in _text(_message(flow, nudged.ts))
    with flow.sessions.begin() as s:
        kinds = sorted(s.scalars(select(PostedMessage.kind).where(PostedMessage.team_id == TEAM)))
    assert kinds == ["digest", "notice", "nudge"]
    return comment, digest["ts"], nudged.ts


def _comment_or_none(flow: Flow) -> Comment | None:
    with flow.sessions.begin() as s:
        found = s.scalars(select(Comment).where(Comment.team_id == TEAM)).one_or_none()
        if found is not None:
            s.expunge(found)
    return found


def _noticed(flow: Flow) -> Comment | None:
    """The comment, once its notice is in Slack."""
    found = _comment_or_none(flow)
    return found if found is not None and found.notice_ts not in (None, "pending") else None


def _settled(flow: Flow) -> bool:
    with flow.sessions.begin() as s:
        stale = s.scalars(
            select(PostedMessage.id).where(
                PostedMessage.team_id == TEAM, PostedMessage.stale_since.is_not(None)
            )
        ).all()
    return not stale


def _all_drawn_again(flow: Flow, comment_id: int, ts: list[str], says: str) -> list[dict[str, Any]]:
    def probe() -> list[dict[str, Any]] | None:
        shown = [_message(flow, t) for t in ts]
        if _settled(flow) and all(str(comment_id) not in _buttons(m) for m in shown):
            return shown
        return None

    shown = eventually(probe, what="every message about the comment drawn again", timeout=20)
    for m in shown[1:]:  # the digest lists what still waits; the notice and nudge say what happened
        assert says in _text(m), (says, m)
    return shown


def test_marking_answered_from_the_digest_updates_the_digest_the_nudge_and_the_notice(flow: Flow) -> None:
    comment, digest_ts, nudge_ts = _flagged_with_digest_and_nudge(flow)
    schedules = flow.runtime.schedules
    assert schedules is not None
    # Held for a moment, so that the nudge still shows its buttons when Linus clicks them.
    schedules.scheduler.pause_job(REFRESH_JOB_ID)
    flow.click(GRACE, digest_ts, ANSWERED_ACTION, str(comment.id))
    eventually(lambda: _comment(flow).state == "answered", what="the comment answered")
    assert str(comment.id) in _buttons(_message(flow, nudge_ts))

    flow.click(LINUS, nudge_ts, ANSWERED_ACTION, str(comment.id))
    told = eventually(
        lambda: [
            c for c in flow.calls("chat.postEphemeral") if "already answered" in c["args"].get("text", "")
        ],
        what="the stale button's answer",
    )
    assert told[-1]["args"]["text"] == (
        f"Comment #{comment.id} was already answered by <@{GRACE}> under a minute ago."
    )
    kept = _comment(flow)
    assert (kept.state, kept.answered_by) == ("answered", GRACE), "the second click changed nothing"

    schedules.scheduler.resume_job(REFRESH_JOB_ID)
    digest, notice, nudge = _all_drawn_again(
        flow, comment.id, [digest_ts, str(comment.notice_ts), nudge_ts], "was answered by"
    )
    assert QUESTION not in _text(digest), "the digest no longer lists it as waiting"
    assert f"<@{GRACE}>" in _text(notice)
    assert f"<@{GRACE}>" in _text(nudge)
    updates = [c for c in flow.calls("chat.update") if c["ok"]]
    assert sorted(c["args"]["ts"] for c in updates) == sorted([digest_ts, str(comment.notice_ts), nudge_ts])


def test_dismissing_by_command_updates_every_message(flow: Flow) -> None:
    comment, digest_ts, nudge_ts = _flagged_with_digest_and_nudge(flow)
    schedules = flow.runtime.schedules
    assert schedules is not None
    schedules.scheduler.pause_job(REFRESH_JOB_ID)
    assert "needs no reply" in flow.reply_text(ADA, f"dismiss {comment.id}")
    flow.click(LINUS, nudge_ts, SNOOZE_ACTION, str(comment.id))
    told = eventually(
        lambda: [
            c for c in flow.calls("chat.postEphemeral") if "already marked" in c["args"].get("text", "")
        ],
        what="the stale snooze's answer",
    )
    assert told[-1]["args"]["text"].startswith(
        f"Comment #{comment.id} was already marked as needing no reply by <@{ADA}>"
    )
    assert _comment(flow).snoozed_until is None
    schedules.scheduler.resume_job(REFRESH_JOB_ID)
    _all_drawn_again(flow, comment.id, [digest_ts, str(comment.notice_ts), nudge_ts], "needs no reply")


def test_snoozing_from_the_nudge_shows_on_the_nudge(flow: Flow) -> None:
    comment, digest_ts, nudge_ts = _flagged_with_digest_and_nudge(flow)
    flow.click(GRACE, nudge_ts, SNOOZE_ACTION, str(comment.id))

    def snoozed() -> dict[str, Any] | None:
        shown = _message(flow, nudge_ts)
        return shown if _settled(flow) and "Snoozed: no nudges until" in _text(shown) else None

    nudge = eventually(snoozed, what="the nudge drawn again")
    assert str(comment.id) in _buttons(nudge), "a snoozed comment still waits: its buttons stay"
    assert str(comment.id) in _buttons(_message(flow, digest_ts))


def test_taking_the_flag_back_takes_the_comment_off_the_digest(flow: Flow) -> None:
    shared = flow.say(ADA, f"<{POST}>")
    eventually(lambda: flow.calls("reactions.add"), what="the post tracked")
    quoted = flow.say(LINUS, QUESTION, thread_ts=shared)
    flow.react(GRACE, quoted, "speech_balloon")
    comment = eventually(lambda: _noticed(flow), what="the flag's notice")
    flow.reply_text(ADA, "digest now")
    digest = next(
        m for m in flow.bot_messages() if (m.get("metadata") or {}).get("event_type") == "twoway_digest"
    )
    assert QUESTION in _text(digest)

    flow.react(GRACE, quoted, "speech_balloon", removed=True)
    eventually(lambda: _comment_or_none(flow) is None, what="the withdrawal")

    def drawn_again() -> dict[str, Any] | None:
        shown, notice = _message(flow, digest["ts"]), _message(flow, str(comment.notice_ts))
        if _settled(flow) and QUESTION not in _text(shown) and "no longer tracked" in _text(notice):
            return notice
        return None

    notice = eventually(drawn_again, what="the digest and the notice drawn again")
    assert f"<@{GRACE}> took the flag back" in _text(notice)
