"""The real Bolt app in process, for tests that dispatch signed requests to it directly."""

from __future__ import annotations

from slack_bolt import App
from sqlalchemy.orm import Session, sessionmaker

from bot.config import Config, Secret
from bot.deps import Deps, make_web_client
from emulator import Emulator
from twoway.bolt_app import build_app

SECRET = "wiring-signing-secret"
TEAM = "T0TWOWAY1"


def wiring_app(emulator: Emulator, sessions: sessionmaker[Session], *, timezone: str = "Europe/Paris") -> App:
    """The app in one-workspace mode on ``sessions``, its Web API the emulator's."""
    config = Config(
        bot_token=Secret("xoxb-wiring"),
        signing_secret=Secret(SECRET),
        app_token=None,
        database_url="sqlite://",
        slack_api_url=emulator.api_url,
        timezone=timezone,
        port=3000,
    )
    return build_app(Deps(config=config, sessions=sessions, client=make_web_client(config)))
