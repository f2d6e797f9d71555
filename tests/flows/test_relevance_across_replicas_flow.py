"""Relevance is decided right across replicas: a post recorded on replica A makes the first reply under
it relevant on replica B at once, even when B had just ignored a reply under the same message.

Two `twoway` replicas run on loopback on one database, each with its own view of the ledger
(`bot.relevance.LedgerView`); the test plays Slack, delivering signed events to the replica it picks.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from contextlib import ExitStack
from functools import partial
from typing import Any

import pytest
from sqlalchemy import select

from emulator import Emulator, EmulatorSettings
from storage.models import PostShare, ProcessedEvent, Snapshot
from tests.support.flows import ADA, CHANNEL, GRACE, SECRET, TEAM
from tests.support.polling import eventually
from tests.support.processes import http
from tests.support.signing import signed_headers
from twoway.demo import free_port, local_config
from twoway.runtime import Runtime, prepare

RACES = 8
_ids = itertools.count(1)


@pytest.fixture
def replicas(db_url: str) -> Iterator[dict[str, tuple[str, Runtime]]]:
    """Replicas A and B on ``db_url``, by name: each one's events URL and runtime."""
    settings = EmulatorSettings(host="127.0.0.1", port=0, signing_secret=SECRET, app_kind="internal")
    with ExitStack() as stack:
        emulator = stack.enter_context(Emulator(settings))
        running: dict[str, tuple[str, Runtime]] = {}
        for name in ("A", "B"):
            port = free_port()
            config = local_config(
                api_url=emulator.api_url, signing_secret=SECRET, database_url=db_url, port=port
            )
            runtime = prepare(config, host="127.0.0.1", schedule=False)
            runtime.start_background()
            stack.callback(runtime.stop)
            running[name] = (f"http://127.0.0.1:{port}/slack/events", runtime)
        yield running


def deliver(url: str, event: dict[str, Any]) -> str:
    """Deliver ``event`` as Slack does, signed; return its event id once the replica answered 200."""
    event_id = f"Ev0RACE{next(_ids):06d}"
    body = json.dumps(
        {
            "type": "event_callback",
            "team_id": TEAM,
            "api_app_id": "A0TWOWAY1",
            "event_id": event_id,
            "event_time": 1712345678,
            "event": {"channel": CHANNEL, "channel_type": "channel", "team": TEAM, **event},
        }
    )
    status, answer = http("POST", url, body=body.encode(), headers=signed_headers(body, secret=SECRET))
    assert status == 200, answer
    return event_id


def test_the_first_reply_under_a_post_new_on_another_replica_is_handled(
    replicas: dict[str, tuple[str, Runtime]],
) -> None:
    (a, runtime), (b, _) = replicas["A"], replicas["B"]
    sessions = runtime.deps.sessions

    def claimed(event_id: str) -> bool:
        with sessions() as s:
            return (
                s.scalar(select(ProcessedEvent.event_id).where(ProcessedEvent.event_id == event_id))
                is not None
            )

    def shared(ts: str) -> bool:
        with sessions() as s:
            return s.scalar(select(PostShare.id).where(PostShare.message_ts == ts)) is not None

    def snapshot_of(ts: str) -> bool:
        with sessions() as s:
            return s.scalar(select(Snapshot.id).where(Snapshot.source_ref == ts)) is not None

    # Timestamps of 2024: no post of theirs can be in flight (`LedgerView.may_share_soon`), so the
    # replicas' views alone decide.
    for n in range(RACES):
        post_ts, early_ts, reply_ts = (
            f"1712340{n:03d}.000100",
            f"1712340{n:03d}.000200",
            f"1712340{n:03d}.000300",
        )
        # B sees a reply under the message before it shares anything: chatter, ignored.
        early = deliver(
            b, {"type": "message", "user": GRACE, "text": "hi", "ts": early_ts, "thread_ts": post_ts}
        )
        assert not claimed(early)
        deliver(
            a,
            {
                "type": "message",
                "user": ADA,
                "text": f"<https://x.com/twoway/status/17{n:017d}>",
                "ts": post_ts,
            },
        )
        # The first reply reaches B the moment A has recorded the post.
        eventually(partial(shared, post_ts), interval=0.001, what=f"post {n} recorded on A")
        reply = deliver(
            b,
            {
                "type": "message",
                "user": GRACE,
                "text": "9 comments, 2 replies",
                "ts": reply_ts,
                "thread_ts": post_ts,
            },
        )
        assert claimed(reply), f"race {n}: B ignored the first reply under a post A had recorded"
        eventually(partial(snapshot_of, reply_ts), what=f"race {n}: the summary's snapshot")
