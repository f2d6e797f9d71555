"""Token mode: the workspace of the one configured bot token removes twoway (`app_uninstalled`, or
`tokens_revoked` naming the bot). Its schedules stop, its ledger is kept 30 days in case it installs
twoway again (a new SLACK_BOT_TOKEN, and twoway started with it), then purged by the sweep."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from bot.scheduler import digest_job_id
from storage.workspace_rows import count_rows
from tests.flows.conftest import running_flow
from tests.support.flows import ADA, CHANNEL, SECRET, TEAM, Flow, Later
from tests.support.polling import eventually
from twoway.demo import free_port, local_config
from twoway.runtime import prepare

POST = "https://x.com/acme/status/1790000000000000001"
JOB = digest_job_id(TEAM, CHANNEL)


@pytest.fixture
def later() -> Later:
    return Later()


@pytest.fixture
def tracked(db_url: str, later: Later) -> Iterator[Flow]:
    """twoway in token mode, with a post tracked in its channel and the channel's digest scheduled."""
    with running_flow(db_url, clock=later) as flow:
        flow.say(ADA, f"Launch: <{POST}>")
        eventually(lambda: flow.calls("reactions.add"), what="the post tracked")
        schedules = flow.runtime.schedules
        assert schedules is not None
        schedules.sync_all()
        assert schedules.scheduler.get_job(JOB) is not None
        yield flow


def _rows(sessions: sessionmaker[Session]) -> dict[str, int]:
    with sessions.begin() as s:
        return {table: n for table, n in count_rows(s, TEAM).items() if n}


def _sweep(flow: Flow) -> None:
    schedules = flow.runtime.schedules
    assert schedules is not None
    schedules.run_sweep()


@pytest.mark.parametrize(
    "event",
    [
        {"type": "app_uninstalled"},
        {"type": "tokens_revoked", "tokens": {"oauth": [], "bot": ["U0TWOWAYBOT"]}},
    ],
    ids=["app_uninstalled", "tokens_revoked"],
)
def test_an_uninstall_stops_the_schedules_and_purges_the_ledger_30_days_on(
    tracked: Flow, later: Later, event: dict[str, object]
) -> None:
    """Before: in token mode an uninstall kept the digests firing and the ledger forever."""
    schedules = tracked.runtime.schedules
    assert schedules is not None
    assert tracked.event(event)["delivery"]["status"] == 200
    eventually(lambda: schedules.scheduler.get_job(JOB) is None, what="the digest job gone")

    later.ahead = timedelta(days=29, hours=23)
    _sweep(tracked)
    assert schedules.scheduler.get_job(JOB) is None, "the sweep brings no job back"
    kept = _rows(tracked.sessions)
    assert (kept["channels"], kept["posts"], kept["post_shares"]) == (1, 1, 1)

    later.ahead = timedelta(days=30, hours=1)
    _sweep(tracked)
    assert _rows(tracked.sessions) == {}


def test_a_user_token_revoked_changes_nothing(tracked: Flow, later: Later) -> None:
    revoked = {"type": "tokens_revoked", "tokens": {"oauth": [ADA], "bot": []}}
    assert tracked.event(revoked)["delivery"]["status"] == 200
    later.ahead = timedelta(days=31)
    _sweep(tracked)
    schedules = tracked.runtime.schedules
    assert schedules is not None
    assert schedules.scheduler.get_job(JOB) is not None
    assert _rows(tracked.sessions)["posts"] == 1


def test_starting_twoway_with_a_token_of_the_workspace_again_keeps_the_ledger(
    tracked: Flow, later: Later, db_url: str
) -> None:
    assert tracked.event({"type": "app_uninstalled"})["delivery"]["status"] == 200
    schedules = tracked.runtime.schedules
    assert schedules is not None
    eventually(lambda: schedules.scheduler.get_job(JOB) is None, what="the digest job gone")
    later.ahead = timedelta(days=12)

    # Installed again: the operator starts twoway with the new bot token of the same workspace.
    config = local_config(
        api_url=tracked.emulator.api_url, signing_secret=SECRET, database_url=db_url, port=free_port()
    )
    again = prepare(config, host="127.0.0.1", clock=later)
    try:
        assert again.schedules is not None
        again.schedules.sync_all()
        assert again.schedules.scheduler.get_job(JOB) is not None
    finally:
        again.stop()

    later.ahead = timedelta(days=60)
    _sweep(tracked)
    assert schedules.scheduler.get_job(JOB) is not None, "the sweep carries the return to every replica"
    assert _rows(tracked.sessions)["posts"] == 1
