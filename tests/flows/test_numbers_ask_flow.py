"""A post nobody gave numbers is asked about once in its thread, 48 hours after it was shared, with a
"Log numbers" button; and the digest lists the posts whose numbers are missing."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot.asks import ASK_EVENT_TYPE, Asker
from bot.clock import utc_now
from bot.render_numbers import LOG_NUMBERS_ACTION, NUMBERS_MODAL
from storage.channels import get_channel
from storage.models import Post, Snapshot
from tests.flows.conftest import running_flow
from tests.support.flows import ADA, CHANNEL, GRACE, SECRET, TEAM, Flow, Later, views_of
from tests.support.polling import eventually
from twoway.demo import free_port, local_config
from twoway.runtime import prepare

POST = "https://x.com/acme/status/1790000000000000001"
OTHER = "https://www.instagram.com/p/C0ffee/"
LAUNCHES = "C0LAUNCH01"


@pytest.fixture
def later() -> Later:
    return Later()


@pytest.fixture
def flow(db_url: str, later: Later) -> Iterator[Flow]:
    with running_flow(db_url, clock=later) as running:
        yield running


def share(flow: Flow, url: str, *, user: str = ADA, channel: str = CHANNEL) -> str:
    """Someone shares ``url``; returns the sharing message's ts once twoway has tracked it."""
    before = len(flow.calls("reactions.add"))
    ts = flow.say(user, f"Out now: <{url}>", channel=channel)
    eventually(lambda: len(flow.calls("reactions.add")) > before, what=f"{url} tracked")
    return ts


def asks(flow: Flow) -> list[dict[str, Any]]:
    """The asks twoway posted, as chat.postMessage calls, oldest first."""
    return [
        c["args"]
        for c in flow.calls("chat.postMessage")
        if (c["args"].get("metadata") or {}).get("event_type") == ASK_EVENT_TYPE
    ]


def asks_in_slack(flow: Flow, channel: str = CHANNEL) -> list[dict[str, Any]]:
    """The asks Slack kept in the channel's threads."""
    return [
        m for m in flow.bot_messages(channel) if (m.get("metadata") or {}).get("event_type") == ASK_EVENT_TYPE
    ]


def post_id(flow: Flow, url_part: str) -> int:
    with flow.sessions.begin() as s:
        return next(p.id for p in s.scalars(select(Post).where(Post.team_id == TEAM)) if url_part in p.url)


def asked_at(flow: Flow, url_part: str) -> object:
    with flow.sessions.begin() as s:
        return next(
            p.numbers_asked_at
            for p in s.scalars(select(Post).where(Post.team_id == TEAM))
            if url_part in p.url
        )


def sweep(flow: Flow) -> None:
    schedules = flow.runtime.schedules
    assert schedules is not None
    schedules.run_sweep()


def test_a_post_without_numbers_is_asked_about_once_in_its_thread_48_hours_on(
    flow: Flow, later: Later
) -> None:
    shared = share(flow, POST)

    later.ahead = timedelta(hours=47, minutes=59)
    sweep(flow)
    assert asks(flow) == []
    assert asked_at(flow, "acme") is None

    later.ahead = timedelta(hours=48)
    sweep(flow)
    [ask] = asks(flow)
    assert (ask["channel"], ask["thread_ts"]) == (CHANNEL, shared)
    assert ask["text"] == (
        "No numbers yet for this X post. How many comments did it get, and how many did we answer?"
    )
    blocks = json.loads(ask["blocks"]) if isinstance(ask["blocks"], str) else ask["blocks"]
    [button] = [e for b in blocks if b["type"] == "actions" for e in b["elements"]]
    assert (button["action_id"], button["value"]) == (LOG_NUMBERS_ACTION, str(post_id(flow, "acme")))
    assert button["text"]["text"] == "Log numbers"
    assert f"<@{ADA}>" in json.dumps(blocks)
    [kept] = asks_in_slack(flow)
    assert kept["thread_ts"] == shared
    assert asked_at(flow, "acme") is not None

    later.ahead = timedelta(hours=72)
    sweep(flow)
    sweep(flow)
    assert len(asks(flow)) == 1


def test_two_replicas_sweeping_at_once_ask_once(flow: Flow, later: Later, db_url: str) -> None:
    share(flow, POST)
    share(flow, OTHER, user=GRACE)
    config = local_config(
        api_url=flow.emulator.api_url, signing_secret=SECRET, database_url=db_url, port=free_port()
    )
    other = prepare(config, host="127.0.0.1", clock=later)
    try:
        replicas = [flow.runtime.schedules, other.schedules]
        later.ahead = timedelta(hours=49)
        start = threading.Barrier(len(replicas))

        def run(index: int) -> None:
            schedules = replicas[index]
            assert schedules is not None
            start.wait()
            schedules.run_sweep()

        threads = [threading.Thread(target=run, args=(i,)) for i in range(len(replicas))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        other.stop()
    posted = asks(flow)
    assert sorted(a["metadata"]["event_payload"]["post_id"] for a in posted) == sorted(
        [post_id(flow, "acme"), post_id(flow, "C0ffee")]
    )
    assert len(asks_in_slack(flow)) == 2


def test_no_ask_for_posts_withdrawn_with_numbers_without_a_message_or_in_archived_channels(
    flow: Flow, later: Later
) -> None:
    flow._post("/_emulator/channel", {"team": TEAM, "id": LAUNCHES, "name": "launches", "members": [ADA]})
    withdrawn = share(flow, "https://x.com/acme/status/1790000000000000002")
    flow.delete(withdrawn)
    numbered = share(flow, "https://x.com/acme/status/1790000000000000003")
    flow.say(GRACE, "14 comments, 3 replies", thread_ts=numbered)
    eventually(lambda: flow.calls("reactions.add")[-1]["args"]["name"] == "bar_chart", what="the numbers")
    logged = flow.reply_text(ADA, "log https://x.com/acme/status/1790000000000000004")
    assert "1790000000000000004" in logged
    share(flow, "https://x.com/acme/status/1790000000000000005", channel=LAUNCHES)
    flow._post("/_emulator/archive", {"team": TEAM, "channel": LAUNCHES, "user": ADA})

    def archived() -> bool:
        with flow.sessions.begin() as s:
            channel = get_channel(s, TEAM, LAUNCHES)
            return channel is not None and channel.is_archived

    eventually(archived, what="#launches archived")
    share(flow, POST)

    later.ahead = timedelta(hours=49)
    sweep(flow)
    [ask] = asks(flow)
    assert ask["metadata"]["event_payload"]["post_id"] == post_id(flow, "1790000000000000001")


def test_no_ask_about_a_post_over_a_week_old(flow: Flow, later: Later) -> None:
    """An upgrade, or a sweep that didn't run for days, doesn't fill the channel with asks."""
    share(flow, POST)
    later.ahead = timedelta(days=7, minutes=1)
    sweep(flow)
    assert asks(flow) == []
    assert asked_at(flow, "acme") is None


def test_an_ask_slack_refused_is_asked_again_later_and_posted_once(flow: Flow, later: Later) -> None:
    share(flow, POST)
    later.ahead = timedelta(hours=48, minutes=5)
    asker = Asker(flow.sessions, lambda _: flow.runtime.deps.client, later)
    # Slack refuses every try, slack_sdk's own retries of the rate limit included.
    flow._post("/_emulator/faults", {"method": "chat.postMessage", "status": 429, "retry_after": 0})
    [failed] = asker.sweep(TEAM)
    assert (failed.status, failed.error) == ("failed", "ratelimited")
    assert asked_at(flow, "acme") is None
    assert asks_in_slack(flow) == []

    flow.emulator.state.faults.clear()
    later.ahead = timedelta(hours=48, minutes=10)
    [sent] = asker.sweep(TEAM)
    assert sent.status == "sent"
    assert asker.sweep(TEAM) == []
    assert [m["ts"] for m in asks_in_slack(flow)] == [sent.ts]


def test_an_ask_slack_kept_but_answered_with_an_error_is_found_not_repeated(flow: Flow, later: Later) -> None:
    share(flow, POST)
    later.ahead = timedelta(hours=50)
    asker = Asker(flow.sessions, lambda _: flow.runtime.deps.client, later)
    fault = {"method": "chat.postMessage", "status": 500, "count": 1, "kept": True}
    flow._post("/_emulator/faults", fault)
    [outcome] = asker.sweep(TEAM)
    assert outcome.status == "sent"
    assert len(flow.calls("conversations.replies")) >= 1
    assert [m["ts"] for m in asks_in_slack(flow)] == [outcome.ts]
    assert asker.sweep(TEAM) == []
    assert len(asks_in_slack(flow)) == 1


def test_the_digest_lists_the_posts_whose_numbers_are_missing(flow: Flow, later: Later) -> None:
    numbered = share(flow, "https://x.com/acme/status/1790000000000000003", user=GRACE)
    flow.say(GRACE, "comments=8 replies=0", thread_ts=numbered)
    eventually(lambda: flow.calls("reactions.add")[-1]["args"]["name"] == "bar_chart", what="the numbers")
    share(flow, POST)
    # The digest's slot falls after both posts' first 48 hours, so that one-way can be told.
    slot = utc_now() + timedelta(hours=48, minutes=30)
    assert "Saved" in flow.reply_text(ADA, f"schedule {slot:%A} {slot:%H:%M} UTC")
    later.ahead = timedelta(hours=49)
    assert flow.reply_text(ADA, "digest now").startswith("Posted the digest of last week (to")
    [digest] = [
        m for m in flow.bot_messages() if (m.get("metadata") or {}).get("event_type") == "twoway_digest"
    ]
    text = json.dumps(digest["blocks"])
    assert "*Numbers missing*: 1 post with no comments or replies logged" in text
    assert f"<{POST}|X post> by <@{ADA}>" in text
    # Named as Slack names them, without a ping.
    assert "Can't tell yet for ada (1 post)" in text
    assert "grace: 1 post drew 8 comments and no replies" in text
    assert "1 post with numbers missing" in digest["text"]


def test_an_ask_whose_outcome_stays_unknown_stays_asked_rather_than_risk_asking_twice(
    flow: Flow, later: Later
) -> None:
    share(flow, POST)
    later.ahead = timedelta(hours=50)
    asker = Asker(flow.sessions, lambda _: flow.runtime.deps.client, later)
    # Slack answers fatal_error every time: it may have kept any of them.
    flow._post("/_emulator/faults", {"method": "chat.postMessage", "status": 500})
    [outcome] = asker.sweep(TEAM)
    assert (outcome.status, outcome.error) == ("unsure", "fatal_error")
    assert len(asks(flow)) == 2, "tried, looked in the thread, tried once more"
    assert asked_at(flow, "acme") is not None

    flow.emulator.state.faults.clear()
    assert asker.sweep(TEAM) == []
    assert len(asks(flow)) == 2


def test_the_asks_button_opens_the_log_numbers_form_which_records_the_numbers(
    flow: Flow, later: Later
) -> None:
    share(flow, POST)
    later.ahead = timedelta(hours=48)
    sweep(flow)
    [kept] = eventually(lambda: asks_in_slack(flow), what="the ask")
    pid = post_id(flow, "acme")

    answer = flow.click(GRACE, kept["ts"], LOG_NUMBERS_ACTION, str(pid))
    assert answer["ack"]["status"] == 200
    [modal] = eventually(
        lambda: [
            v for v in views_of(flow, GRACE) if v["type"] == "modal" and v["callback_id"] == NUMBERS_MODAL
        ],
        what="the Log numbers form",
    )
    assert {b["block_id"] for b in modal["blocks"] if b["type"] == "input"} >= {"comments", "replies"}
    done = flow._post(
        "/_emulator/submit",
        {"team": TEAM, "user": GRACE, "values": {"comments": {"count": "14"}, "replies": {"count": "3"}}},
    )
    assert done["ack"]["status"] == 200

    def recorded() -> list[tuple[int, int, str | None]]:
        with flow.sessions.begin() as s:
            return [
                (snapshot.comments_received, snapshot.replies_sent, snapshot.recorded_by)
                for snapshot in s.scalars(
                    select(Snapshot).where(Snapshot.team_id == TEAM, Snapshot.post_id == pid)
                )
            ]

    assert eventually(recorded, what="the numbers logged in the form") == [(14, 3, GRACE)]
