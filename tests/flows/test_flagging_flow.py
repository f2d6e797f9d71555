"""Flagging by reaction without reading Slack: twoway keeps the replies under tracked posts from their
events, and finds a flagged message there. A message it never kept is read once, at Slack's pace.

An app installed from its install link (outside the Marketplace) may call conversations.history and
conversations.replies once a minute, 15 messages a page (docs.slack.dev/changelog/2025/05/29/
rate-limit-changes-for-non-marketplace-apps); the emulator's `app_kind="non-marketplace"` enforces it.
"""

from __future__ import annotations

import time

from sqlalchemy import delete, select

from storage.models import Comment, KeptMessage
from tests.support.flows import ADA, GRACE, LINUS, TEAM, Flow
from tests.support.inbox import settled_events
from tests.support.polling import eventually

POST = "https://x.com/twoway/status/1790000000000000001"
QUESTIONS = [f"Question {n}: do you ship to Canada?" for n in range(10)]
NOT_KEPT = "message shortcut"


def _texts(flow: Flow) -> dict[str, str]:
    """The flagged comments' texts, by the ts of the message each was flagged on."""
    with flow.sessions.begin() as s:
        comments = s.scalars(select(Comment).where(Comment.team_id == TEAM))
        return {str(c.message_ts): c.text for c in comments}


def _kept(flow: Flow) -> dict[str, str]:
    with flow.sessions.begin() as s:
        rows = s.scalars(select(KeptMessage).where(KeptMessage.team_id == TEAM))
        return {r.ts: r.text for r in rows}


def _share(flow: Flow) -> str:
    shared = flow.say(ADA, f"Our launch post: <{POST}>")
    eventually(
        lambda: any(c["args"].get("timestamp") == shared for c in flow.calls("reactions.add")),
        what="the :eyes: on the share",
    )
    return shared


def _told(flow: Flow) -> list[str]:
    return [str(c["args"].get("text")) for c in flow.calls("chat.postEphemeral")]


def test_ten_flags_in_a_minute_outside_the_marketplace_are_recorded_with_their_text_within_5s(
    non_marketplace_flow: Flow,
) -> None:
    flow = non_marketplace_flow
    shared = _share(flow)
    replies = [flow.say(LINUS, question, thread_ts=shared) for question in QUESTIONS]
    eventually(lambda: settled_events(flow.sessions, TEAM, expected=11), what="the share and its replies")

    started = time.monotonic()
    for ts in replies:
        flow.react(GRACE, ts, "speech_balloon")
    texts = eventually(
        lambda: found if len(found := _texts(flow)) == len(replies) else None,
        timeout=5,
        what="ten flagged comments",
    )
    took = time.monotonic() - started

    assert texts == dict(zip(replies, QUESTIONS, strict=True))
    assert flow.calls("conversations.history") == flow.calls("conversations.replies") == []
    eventually(lambda: len(flow.calls("chat.postMessage")) == 10, what="the ten notices")
    print(f"10 flags on a non-marketplace emulator recorded with their text {took:.2f}s after the first")


def test_flags_of_messages_twoway_never_kept_read_slack_once_and_never_wait_its_minute(
    non_marketplace_flow: Flow,
) -> None:
    flow = non_marketplace_flow
    shared = _share(flow)
    old = [flow.say(LINUS, f"Old question {n}?", thread_ts=shared) for n in range(3)]
    recent = flow.say(LINUS, "Recent question?", thread_ts=shared)
    eventually(lambda: settled_events(flow.sessions, TEAM, expected=5), what="the share and its replies")
    # As if twoway had joined the thread after these were posted.
    with flow.sessions.begin() as s:
        s.execute(delete(KeptMessage).where(KeptMessage.team_id == TEAM, KeptMessage.ts.in_(old)))

    started = time.monotonic()
    for ts in [*old, recent]:
        flow.react(GRACE, ts, "speech_balloon")
    eventually(lambda: settled_events(flow.sessions, TEAM, expected=9), timeout=5, what="the four flags")
    took = time.monotonic() - started

    texts = _texts(flow)
    assert texts[recent] == "Recent question?"
    # Slack gave one read in its minute: one old message is flagged, the others' flaggers are told how
    # to flag it without a read.
    assert len([ts for ts in old if ts in texts]) == 1
    assert len([t for t in _told(flow) if NOT_KEPT in t]) == 2
    ok_reads = [c for c in flow.calls() if c["method"].startswith("conversations.") and c["status"] == 200]
    assert [c["args"]["limit"] for c in ok_reads] in (["1", "2"], [1, 2])
    print(f"4 flags (3 of unkept messages) settled in {took:.2f}s")

    # The message shortcut carries the message in its payload: it flags without a read.
    unflagged = next(ts for ts in old if ts not in texts)
    reads = len([c for c in flow.calls() if c["method"].startswith("conversations.")])
    flow.shortcut(GRACE, unflagged)
    eventually(lambda: unflagged in _texts(flow), what="the flag by shortcut")
    assert len([c for c in flow.calls() if c["method"].startswith("conversations.")]) == reads


def test_kept_replies_follow_edits_and_deletions_and_only_tracked_threads_are_kept(flow: Flow) -> None:
    shared = _share(flow)
    untracked = flow.say(ADA, "Lunch?")
    chat = flow.say(GRACE, "Pizza", thread_ts=untracked)
    edited = flow.say(LINUS, "Do you ship to Canda?", thread_ts=shared)
    deleted = flow.say(LINUS, "Oops, wrong thread", thread_ts=shared)
    # The lunch chatter can't change the ledger: acknowledged with no claim (bot/relevance.py).
    eventually(lambda: settled_events(flow.sessions, TEAM, expected=3), what="the messages")
    assert set(_kept(flow)) == {shared, edited, deleted}
    assert chat not in _kept(flow)
    assert untracked not in _kept(flow)

    flow.edit(edited, "Do you ship to Canada?")
    flow.delete(deleted)
    eventually(lambda: settled_events(flow.sessions, TEAM, expected=5), what="the edit and the deletion")
    assert _kept(flow) == {shared: f"Our launch post: <{POST}>", edited: "Do you ship to Canada?"}

    flow.react(GRACE, edited, "speech_balloon")
    assert eventually(lambda: _texts(flow), what="the flag") == {edited: "Do you ship to Canada?"}
    assert flow.calls("conversations.history") == []


def test_a_private_channels_replies_are_kept_and_flagged_only_there(flow: Flow) -> None:
    private = "G0PRIVATE1"
    flow._post(
        "/_emulator/channel",
        {"team": TEAM, "id": private, "name": "launch-plans", "is_private": True, "members": [ADA, LINUS]},
    )
    shared = flow.say(ADA, f"<{POST}>", channel=private)
    eventually(
        lambda: any(c["args"].get("timestamp") == shared for c in flow.calls("reactions.add")), what=":eyes:"
    )
    secret = flow.say(LINUS, "Are the numbers down?", thread_ts=shared, channel=private)
    eventually(lambda: secret in _kept(flow), what="the private reply kept")

    flow.react(ADA, secret, "speech_balloon", channel=private)
    assert eventually(lambda: _texts(flow), what="the flag") == {secret: "Are the numbers down?"}
    eventually(lambda: flow.calls("chat.postMessage"), what="the notice")
    # Kept rows are looked up by channel and ts together (tests/storage/test_messages.py); twoway says
    # nothing of the private text outside its channel.
    said = [c for c in flow.calls() if c["method"].startswith("chat.") and "numbers" in str(c["args"])]
    assert {c["args"]["channel"] for c in said} <= {private}
    with flow.sessions.begin() as s:
        [row] = s.scalars(select(KeptMessage).where(KeptMessage.team_id == TEAM, KeptMessage.ts == secret))
        assert row.channel_id == private
