"""twoway's channels coming and going: removed, archived, deleted, invited back, as Slack tells it.

The emulator sends what Slack sends (channel_left to the bot removed, channel_archive…), and only the
events the manifest subscribes to: each test fails if the manifest stops asking for them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot.nudges import NudgeOutcome, Nudger
from storage.channels import get_channel
from storage.models import Channel, DigestRun
from storage.workspace_rows import count_rows
from tests.support.flows import ADA, CHANNEL, GRACE, TEAM, Flow
from tests.support.polling import eventually

POST = "https://x.com/twoway/status/1790000000000000001"
CANONICAL = "https://x.com/twoway/status/1790000000000000001"
JOB = f"digest:{TEAM}:{CHANNEL}"
LEDGER = {"channels", "posts", "post_shares", "snapshots", "comments", "digest_runs", "nudges"}


def _channel(flow: Flow, channel_id: str = CHANNEL) -> Channel | None:
    with flow.sessions.begin() as s:
        return get_channel(s, TEAM, channel_id)


def _until(flow: Flow, check: Callable[[Channel | None], bool], what: str) -> None:
    eventually(lambda: check(_channel(flow)), what=what)


def _posts_to_channel(flow: Flow) -> int:
    return len([c for c in flow.calls("chat.postMessage") if c["args"].get("channel") == CHANNEL])


def _share_flag_and_fail_a_digest(flow: Flow) -> None:
    """A tracked post with a waiting comment, and a digest that failed: all a sweep would retry."""
    flow.say(ADA, f"<{POST}>")
    eventually(lambda: flow.calls("reactions.add"), what="the post")
    flagged = flow.command(GRACE, f"flag {CANONICAL} Where is the FAQ?")
    assert any(s["text"].startswith("Flagged as comment #") for s in flagged), flagged
    schedules = flow.runtime.schedules
    assert schedules is not None
    # The channel was first met through a message: the next sweep gives it its digest job.
    schedules.run_sweep()
    assert schedules.scheduler.get_job(JOB) is not None
    flow._post("/_emulator/faults", {"method": "chat.postMessage", "status": 500})
    assert "I couldn't post the digest" in flow.reply_text(ADA, "digest now")
    flow.emulator.state.faults.clear()
    with flow.sessions.begin() as s:
        [run] = s.scalars(select(DigestRun).where(DigestRun.team_id == TEAM))
        assert run.state == "failed"


def _nudges_three_days_on(flow: Flow) -> list[NudgeOutcome]:
    later = datetime.now(UTC) + timedelta(days=3)
    nudger = Nudger(flow.sessions, lambda _: flow.runtime.deps.client, "test", lambda: later)
    return list(nudger.sweep(TEAM))


def _no_attempts_while_away(flow: Flow) -> None:
    schedules = flow.runtime.schedules
    assert schedules is not None
    # The listener records the change, then drops the job.
    eventually(lambda: schedules.scheduler.get_job(JOB) is None, what="the digest job gone")
    before = _posts_to_channel(flow)
    assert schedules.run_digest(TEAM, CHANNEL) is None
    schedules.run_sweep()
    schedules.catch_up_all()
    assert _nudges_three_days_on(flow) == []
    assert _posts_to_channel(flow) == before
    with flow.sessions.begin() as s:
        assert [r.attempts for r in s.scalars(select(DigestRun).where(DigestRun.team_id == TEAM))] == [1]


def test_twoway_removed_from_a_channel_makes_no_attempts_there_until_invited_back(flow: Flow) -> None:
    _share_flag_and_fail_a_digest(flow)
    left = flow._post("/_emulator/leave", {"team": TEAM, "channel": CHANNEL})
    assert left["delivery"]["status"] == 200, left
    _until(flow, lambda c: c is not None and not c.bot_is_member, "twoway out of the channel")
    _no_attempts_while_away(flow)
    with flow.sessions.begin() as s:
        assert count_rows(s, TEAM)["comments"] == 1, "the ledger stays"

    intros = len(flow.bot_messages())
    flow._post("/_emulator/join", {"team": TEAM, "channel": CHANNEL, "user": "U0TWOWAYBOT"})
    _until(flow, lambda c: c is not None and c.bot_is_member, "twoway back in the channel")
    schedules = flow.runtime.schedules
    assert schedules is not None
    eventually(lambda: schedules.scheduler.get_job(JOB), what="the digest job back")
    eventually(lambda: len(flow.bot_messages()) == intros + 1, what="the hello on coming back")
    assert [o.status for o in _nudges_three_days_on(flow)] == ["sent"]


def test_someone_else_leaving_changes_nothing(flow: Flow) -> None:
    flow.say(ADA, f"<{POST}>")
    eventually(lambda: flow.calls("reactions.add"), what="the post")
    answer = flow._post("/_emulator/leave", {"team": TEAM, "channel": CHANNEL, "user": ADA})
    assert answer["delivery"]["status"] == 200
    assert flow.event({"type": "member_left_channel", "user": ADA, "channel": CHANNEL})["delivery"]["status"]
    channel = _channel(flow)
    assert channel is not None
    assert channel.active


def test_an_archived_channel_gets_no_attempts_and_unarchived_gets_them_back(flow: Flow) -> None:
    _share_flag_and_fail_a_digest(flow)
    flow._post("/_emulator/archive", {"team": TEAM, "channel": CHANNEL, "user": ADA})
    _until(flow, lambda c: c is not None and c.is_archived, "the channel archived")
    _no_attempts_while_away(flow)

    flow._post("/_emulator/unarchive", {"team": TEAM, "channel": CHANNEL, "user": ADA})
    _until(flow, lambda c: c is not None and not c.is_archived, "the channel unarchived")
    schedules = flow.runtime.schedules
    assert schedules is not None
    eventually(lambda: schedules.scheduler.get_job(JOB), what="the digest job back")
    assert flow.reply_text(ADA, "digest now").startswith("Posted the digest of last week (to")


def test_a_deleted_channel_takes_its_ledger_with_it(flow: Flow) -> None:
    _share_flag_and_fail_a_digest(flow)
    flow._post("/_emulator/delete", {"team": TEAM, "channel": CHANNEL, "user": ADA})
    eventually(lambda: _channel(flow) is None, what="the channel forgotten")
    with flow.sessions.begin() as s:
        left = {table: n for table, n in count_rows(s, TEAM).items() if n and table in LEDGER}
    assert left == {}
    schedules = flow.runtime.schedules
    assert schedules is not None
    eventually(lambda: schedules.scheduler.get_job(JOB) is None, what="the digest job gone")


def test_a_command_where_twoway_is_not_a_member_says_how_to_invite_it_and_records_nothing(
    flow: Flow,
) -> None:
    flow._post(
        "/_emulator/channel", {"team": TEAM, "id": "C0ELSEWHE1", "name": "elsewhere", "bot_member": False}
    )
    flow._post(
        "/_emulator/channel",
        {"team": TEAM, "id": "C0SECRET01", "name": "secret", "is_private": True, "bot_member": False},
    )
    for channel in ("C0ELSEWHE1", "C0SECRET01"):
        for text in ("settings threshold 2", "schedule off", "digest now", f"flag {POST} hi", "unanswered"):
            answer = flow.reply_text(ADA, text, channel=channel)
            assert answer.startswith("twoway isn't in this channel"), (channel, text, answer)
            assert "/invite @twoway" in answer
    with flow.sessions.begin() as s:
        recorded = {table: n for table, n in count_rows(s, TEAM).items() if n and table in LEDGER}
    assert recorded == {}
    assert flow.calls("chat.postMessage") == []


def test_a_command_finds_twoway_invited_back_while_it_was_not_listening(flow: Flow) -> None:
    flow.say(ADA, f"<{POST}>")
    eventually(lambda: flow.calls("reactions.add"), what="the post")
    flow._post("/_emulator/leave", {"team": TEAM, "channel": CHANNEL})
    _until(flow, lambda c: c is not None and not c.bot_is_member, "twoway out of the channel")
    # Invited back while nothing listened: Slack has it as a member, the ledger doesn't.
    flow.emulator.state.teams[TEAM].channels[CHANNEL].members.add("U0TWOWAYBOT")
    assert flow.reply_text(ADA, "schedule").startswith("This channel's digest is posted every Monday")
    channel = _channel(flow)
    assert channel is not None
    assert channel.active
    assert flow.runtime.schedules is not None
    assert flow.runtime.schedules.scheduler.get_job(JOB) is not None
