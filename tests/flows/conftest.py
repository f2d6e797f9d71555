"""twoway and the emulator on loopback in this process: every event, command and click is a signed
HTTP request the emulator sends as Slack would, answered by the real app behind waitress."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from bot.clock import Clock, utc_now
from emulator import Emulator, EmulatorSettings
from tests.support.flows import SECRET, Flow
from twoway.demo import free_port, local_config
from twoway.runtime import prepare


@contextmanager
def running_flow(db_url: str, *, app_kind: str = "internal", clock: Clock = utc_now) -> Iterator[Flow]:
    app_port = free_port()
    settings = EmulatorSettings(
        host="127.0.0.1",
        port=0,
        app_url=f"http://127.0.0.1:{app_port}/slack/events",
        signing_secret=SECRET,
        app_kind=app_kind,
    )
    with Emulator(settings) as emulator:
        config = local_config(
            api_url=emulator.api_url, signing_secret=SECRET, database_url=db_url, port=app_port
        )
        runtime = prepare(config, host="127.0.0.1", clock=clock)
        runtime.start_background()
        try:
            yield Flow(emulator, runtime)
        finally:
            runtime.stop()


@pytest.fixture
def flow(db_url: str) -> Iterator[Flow]:
    with running_flow(db_url) as running:
        yield running


@pytest.fixture
def non_marketplace_flow(db_url: str) -> Iterator[Flow]:
    """The same, installed from its install link: an app outside the Marketplace, whose
    conversations.history and .replies Slack allows once a minute."""
    with running_flow(db_url, app_kind="non-marketplace") as running:
        yield running
