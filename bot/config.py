"""twoway's configuration: read once from the environment, then passed around frozen.

`load_config` takes a mapping so tests can pass a dict; `main()` alone loads `.env`.
Secrets are wrapped in `Secret`, whose `repr` and `str` never show the value, so a
config that ends up in a log line or a traceback shows nothing worth stealing.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from storage.db import default_database_url

DEFAULT_SLACK_API_URL = "https://slack.com/api/"
DEFAULT_PORT = 3000


class ConfigError(ValueError):
    """A variable is missing or malformed; the message names it and says how to fix it."""


@dataclass(frozen=True)
class Secret:
    """A credential that prints as `***` wherever it ends up."""

    _value: str

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    def __str__(self) -> str:
        return "***"


@dataclass(frozen=True)
class Config:
    bot_token: Secret
    signing_secret: Secret | None
    app_token: Secret | None
    database_url: str
    slack_api_url: str
    timezone: str
    port: int

    @property
    def socket_mode(self) -> bool:
        """Socket Mode when an app-level token is given, HTTP otherwise."""
        return self.app_token is not None

    def __repr__(self) -> str:
        # The database URL may carry a password; everything else secret is a `Secret` already.
        return (
            f"Config(bot_token={self.bot_token!r}, signing_secret={self.signing_secret!r}, "
            f"app_token={self.app_token!r}, database_url={redact_url(self.database_url)!r}, "
            f"slack_api_url={self.slack_api_url!r}, timezone={self.timezone!r}, port={self.port!r})"
        )

    def secrets(self) -> list[str]:
        """Every secret value in this config, for log redaction."""
        values = [s.reveal() for s in (self.bot_token, self.signing_secret, self.app_token) if s]
        password = make_url(self.database_url).password
        if password:
            values.append(str(password))
        return values


def redact_url(url: str) -> str:
    """`url` with any password replaced by `***`."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable URL>"


def load_database_url(env: Mapping[str, str] = os.environ) -> str:
    """`DATABASE_URL`, or a SQLite file in the current directory; `ConfigError` if it isn't a URL."""
    url = env.get("DATABASE_URL", "").strip() or default_database_url()
    try:
        make_url(url)
    except ArgumentError:
        raise ConfigError("DATABASE_URL is not a database URL (e.g. sqlite:///twoway.db)") from None
    return url


def load_config(env: Mapping[str, str] = os.environ) -> Config:
    """Read twoway's settings from `env`; raise `ConfigError` naming the first bad variable."""

    def get(name: str) -> str | None:
        value = env.get(name, "").strip()
        return value or None

    bot_token = get("SLACK_BOT_TOKEN")
    if bot_token is None:
        raise ConfigError("SLACK_BOT_TOKEN is not set: put the app's bot token (xoxb-…) in .env")
    if not bot_token.startswith("xoxb-"):
        raise ConfigError("SLACK_BOT_TOKEN must be a bot token starting with xoxb-")

    app_token = get("SLACK_APP_TOKEN")
    if app_token is not None and not app_token.startswith("xapp-"):
        raise ConfigError("SLACK_APP_TOKEN must be an app-level token starting with xapp-")

    signing_secret = get("SLACK_SIGNING_SECRET")
    if signing_secret is None and app_token is None:
        raise ConfigError(
            "SLACK_SIGNING_SECRET is not set: HTTP mode needs the app's signing secret "
            "(or set SLACK_APP_TOKEN for Socket Mode)"
        )

    database_url = load_database_url(env)

    slack_api_url = get("SLACK_API_URL") or DEFAULT_SLACK_API_URL
    if not slack_api_url.startswith(("http://", "https://")):
        raise ConfigError("SLACK_API_URL must be an http(s) URL, e.g. http://127.0.0.1:8765/api/")
    if not slack_api_url.endswith("/"):
        slack_api_url += "/"

    timezone = get("TWOWAY_TIMEZONE") or "UTC"
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"TWOWAY_TIMEZONE {timezone!r} is not an IANA time zone (e.g. Europe/Paris)"
        ) from None

    port_text = get("PORT") or str(DEFAULT_PORT)
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ConfigError(f"PORT must be a TCP port number from 1 to 65535, not {port_text!r}")

    return Config(
        bot_token=Secret(bot_token),
        signing_secret=Secret(signing_secret) if signing_secret else None,
        app_token=Secret(app_token) if app_token else None,
        database_url=database_url,
        slack_api_url=slack_api_url,
        timezone=timezone,
        port=int(port_text),
    )
