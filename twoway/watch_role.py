"""`twoway run --role watch`: the process that reads Bluesky and Mastodon posts from their networks.

It serves no request and talks to no Slack: it shares the ledger with the replicas that do. Every 30
seconds it runs `bot.watcher.Watcher` once: watches for the workspaces' new Bluesky and Mastodon posts,
then the fetches that are due, each claimed for its slot so that several watchers (one per replica)
fetch each post once. What it records (comments, snapshots) is drawn into Slack by the serving replicas:
it marks the messages that show a changed comment stale, and their refresher draws them again.

Only this process imports the networks' clients (`bot.watch_bluesky`, `bot.watch_mastodon`). Started as
`twoway run`'s child, it leaves once its parent is gone.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from types import FrameType

from bot.clock import utc_now
from bot.config import Config
from bot.deps import replica_name
from bot.scheduler import known_teams
from bot.threads import Reader
from bot.watcher import Watcher
from storage.db import make_engine, make_session_factory
from twoway.runtime import open_installations

logger = logging.getLogger(__name__)

# How often the watcher looks for due fetches; the slots themselves are 15 minutes and longer.
TICK_SECONDS = 30.0
# How often it checks that its parent is still there, when it is a child.
PARENT_CHECK_SECONDS = 1.0
# How long one request to a network may take.
FETCH_TIMEOUT = 10.0


def make_readers(config: Config) -> dict[str, Reader]:
    """The readers of both networks, as the config points them; imported here and only here."""
    from bot.watch_bluesky import BlueskyReader
    from bot.watch_mastodon import MastodonReader

    return {
        "bluesky": BlueskyReader(config.bluesky_api_url, timeout=FETCH_TIMEOUT),
        "mastodon": MastodonReader(config.mastodon_api_url, timeout=FETCH_TIMEOUT),
    }


def run_watcher(config: Config, *, parent: int | None = None) -> int:
    """Watch until SIGTERM or, with ``parent`` (the pid of the `twoway run` that started it), until that
    process is no longer its parent; the exit code. The pid comes from the parent itself: one read here
    could already be init's, were the parent killed while this process was starting."""
    if not config.watch:
        logger.info("watching Bluesky and Mastodon posts is off (TWOWAY_WATCH=off)")
        return 0
    stop = threading.Event()

    def on_sigterm(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_sigterm)
    engine = make_engine(config.database_url)
    try:
        sessions = make_session_factory(engine)
        installations = open_installations(config, engine)
        teams = installations.teams if installations is not None else known_teams(sessions)
        watcher = Watcher(sessions, make_readers(config), replica_name(), utc_now, teams=teams)
        logger.info("watching Bluesky and Mastodon posts")
        while not stop.is_set():
            if parent is not None and os.getppid() != parent:
                logger.info("twoway run is gone: the watcher stops")
                return 0
            try:
                watcher.run_once()
            except Exception:
                # A broken round is logged and the next one tried: the ledger keeps what each fetch recorded.
                logger.exception("a round of fetches failed")
            waited = 0.0
            while waited < TICK_SECONDS and not stop.is_set() and (parent is None or os.getppid() == parent):
                stop.wait(PARENT_CHECK_SECONDS)
                waited += PARENT_CHECK_SECONDS
    finally:
        engine.dispose()
    logger.info("the watcher stopped")
    return 0
