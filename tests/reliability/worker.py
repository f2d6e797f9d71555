"""One replica's scheduled work in a process of its own: the real `Publisher` and `Nudger`.

    python -m tests.reliability.worker --plan PLAN.json --name A [--lease 300] [--start-at EPOCH]
        [--until-done] [--deadline 120]

The plan is ``{"team": T, "digests": [{"channel", "start", "end"}], "nudges": [comment ids]}``. The
worker publishes every digest in order, as a replica's digest jobs would when their slot comes,
then sweeps the nudges once. With ``--until-done`` it then keeps running the sweep's retries (failed
digests and nudges, and claims older than the lease) until every digest of the plan is posted and
every nudge sent, as the sweep job does every few minutes on a real replica. Configuration comes
from the environment as for ``twoway run``; each outcome is printed as a JSON line.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
import time
from datetime import datetime, timedelta
from typing import Any

from slack_sdk import WebClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.clock import utc_now
from bot.config import load_config
from bot.deps import make_web_client, replica_name
from bot.digest.period import Period
from bot.nudges import Nudger
from storage.db import make_engine, make_session_factory
from storage.models import DigestRun, Nudge
from twoway.logs import configure_logging
from twoway.runtime import make_publisher

logger = logging.getLogger("twoway.worker")


def say(name: str, **fields: Any) -> None:
    print(json.dumps({"worker": name, **fields}), flush=True)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--plan", required=True)
    parser.add_argument("--name", required=True)
    parser.add_argument("--lease", type=float, default=300)
    parser.add_argument("--start-at", type=float, default=0)
    parser.add_argument("--until-done", action="store_true")
    parser.add_argument("--deadline", type=float, default=120)
    args = parser.parse_args()
    with open(args.plan) as plan_file:
        plan = json.load(plan_file)

    config = load_config()
    configure_logging(config.secrets())
    engine = make_engine(config.database_url)
    sessions = make_session_factory(engine)
    client = make_web_client(config)

    def client_for(team_id: str) -> WebClient:
        return client

    replica = f"{args.name}:{replica_name()}"
    lease = timedelta(seconds=args.lease)
    publisher = dataclasses.replace(make_publisher(sessions, client_for, utc_now, replica), lease=lease)
    nudger = Nudger(sessions, client_for, replica, utc_now, lease=lease)
    team: str = plan["team"]
    digests = [
        (d["channel"], Period(start=datetime.fromisoformat(d["start"]), end=datetime.fromisoformat(d["end"])))
        for d in plan.get("digests", [])
    ]
    nudges: list[int] = plan.get("nudges", [])
    say(args.name, replica=replica)

    # Both replicas' jobs fire on the same minute; the barrier makes them race for real.
    time.sleep(max(0.0, args.start_at - time.time()))
    for channel_id, period in digests:
        outcome = publisher.publish_digest(team, channel_id, period)
        say(args.name, kind="digest", channel=channel_id, status=outcome.status, error=outcome.error)
    if nudges:
        for n in nudger.sweep(team):
            say(args.name, kind="nudge", comment=n.comment_id, level=n.level, status=n.status, error=n.error)
    if not args.until_done:
        return 0

    deadline = time.monotonic() + args.deadline
    while not _done(sessions, team, digests, nudges):
        if time.monotonic() > deadline:
            say(args.name, kind="gave_up")
            return 1
        for outcome in publisher.retry(team):
            say(args.name, kind="digest_retry", status=outcome.status, error=outcome.error)
        for n in nudger.sweep(team):
            say(args.name, kind="nudge", comment=n.comment_id, level=n.level, status=n.status, error=n.error)
        time.sleep(0.2)
    say(args.name, kind="done")
    engine.dispose()
    return 0


def _done(
    sessions: sessionmaker[Session], team: str, digests: list[tuple[str, Period]], nudges: list[int]
) -> bool:
    with sessions.begin() as s:
        posted = {
            (run.channel_id, run.period_start)
            for run in s.scalars(
                select(DigestRun).where(DigestRun.team_id == team, DigestRun.state == "posted")
            )
        }
        sent = (
            s.scalar(
                select(func.count())
                .select_from(Nudge)
                .where(Nudge.team_id == team, Nudge.state == "sent", Nudge.comment_id.in_(nudges))
            )
            if nudges
            else 0
        )
    return all((c, p.start) in posted for c, p in digests) and sent == len(nudges)


if __name__ == "__main__":
    sys.exit(main())
