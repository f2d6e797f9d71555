"""twoway and the emulator on loopback in this process: every event, command and click is a signed
HTTP request the emulator sends as Slack would, answered by the real app behind waitress."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from emulator import Emulator, EmulatorSettings
from tests.support.flows import SECRET, Flow
from twoway.demo import free_port, local_config
from twoway.runtime import prepare


@pytest.fixture
def flow(db_url: str) -> Iterator[Flow]:
    app_port = free_port()
    settings = EmulatorSettings(
        host="127.0.0.1", port=0, app_url=f"http://127.0.0.1:{app_port}/slack/events", signing_secret=SECRET
    )
    with Emulator(settings) as emulator:
        config = local_config(
            api_url=emulator.api_url, signing_secret=SECRET, database_url=db_url, port=app_port
        )
        runtime = prepare(config, host="127.0.0.1")
        runtime.start_background()
        try:
            yield Flow(emulator, runtime)
        finally:
            runtime.stop()
