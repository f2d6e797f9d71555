"""twoway's configuration: read once from the environment, then passed around frozen.

`load_config` takes a mapping so tests can pass a dict; `main()` alone loads `.env`.
Secrets are wrapped in `Secret`, whose `repr` and `str` never show the value, so a
config that ends up in a log line or a traceback shows nothing worth stealing.

Two ways to run: one workspace with `SLACK_BOT_TOKEN`, or distribution mode when
`SLACK_CLIENT_ID` and `SLACK_CLIENT_SECRET` are set, where every workspace installs twoway
through Slack's OAuth flow and brings its own bot token, stored encrypted with
`TWOWAY_ENCRYPTION_KEY`.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass

from cryptography.fernet import MultiFernet
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from bot.zones import is_zone
from storage.db import default_database_url
from storage.encryption import ENCRYPTION_KEY_ENV, NEW_KEY_COMMAND, EncryptionKeyError, make_cipher

DEFAULT_SLACK_API_URL = "https://slack.com/api/"
DEFAULT_AUTHORIZE_URL = "https://slack.com/oauth/v2/authorize"
DEFAULT_PORT = 3000
# Bluesky's public AppView: a post's thread and counts, no account needed.
DEFAULT_BLUESKY_API_URL = "https://public.api.bsky.app"
# An event's listeners take well under a second; Slack calls retried through rate limits, a minute.
DEFAULT_EVENT_LEASE_SECONDS = 120
# Slack stops redelivering an event after about an hour; a lease past that is no lease.
MAX_EVENT_LEASE_SECONDS = 3600


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
    # None in distribution mode, where each workspace's installation holds its bot token.
    bot_token: Secret | None
    signing_secret: Secret | None
    app_token: Secret | None
    database_url: str
    slack_api_url: str
    timezone: str
    port: int
    client_id: str | None = None
    client_secret: Secret | None = None
    redirect_uri: str | None = None
    authorize_url: str = DEFAULT_AUTHORIZE_URL
    # How long an event may be in one replica's hands before another takes it over.
    event_lease_seconds: int = DEFAULT_EVENT_LEASE_SECONDS
    # Fernet keys, comma-separated, the first encrypting: what installations' tokens are stored with.
    encryption_key: Secret | None = None
    # The reverse proxy whose X-Forwarded-For names the client (its address, or "*"); None: no proxy trusted.
    trusted_proxy: str | None = None
    # Whether short links (lnkd.in, t.co…) are resolved over the network to the post they lead to.
    resolve_links: bool = True
    # Whether Bluesky and Mastodon posts are read from their networks (`twoway run --role watch`).
    watch: bool = True
    # Where Bluesky's public API is (its XRPC methods under ``/xrpc/``).
    bluesky_api_url: str = DEFAULT_BLUESKY_API_URL
    # None: each Mastodon instance's own API, at https://<instance>/api/v1/. Else one URL standing for
    # every instance: <url>/<instance>/api/v1/ (the local emulator, a proxy).
    mastodon_api_url: str | None = None

    @property
    def socket_mode(self) -> bool:
        """Socket Mode when an app-level token is given, HTTP otherwise."""
        return self.app_token is not None

    @property
    def distribution(self) -> bool:
        """Many workspaces install twoway through OAuth, when the app's client credentials are given."""
        return self.client_id is not None and self.client_secret is not None

    def __repr__(self) -> str:
        # The database URL may carry a password; everything else secret is a `Secret` already.
        return (
            f"Config(bot_token={self.bot_token!r}, signing_secret={self.signing_secret!r}, "
            f"app_token={self.app_token!r}, database_url={redact_url(self.database_url)!r}, "
            f"slack_api_url={self.slack_api_url!r}, timezone={self.timezone!r}, port={self.port!r}, "
            f"client_id={self.client_id!r}, client_secret={self.client_secret!r}, "
            f"redirect_uri={self.redirect_uri!r}, authorize_url={self.authorize_url!r}, "
            f"event_lease_seconds={self.event_lease_seconds!r}, encryption_key={self.encryption_key!r}, "
            f"trusted_proxy={self.trusted_proxy!r}, resolve_links={self.resolve_links!r}, "
            f"watch={self.watch!r}, "
            f"bluesky_api_url={self.bluesky_api_url!r}, mastodon_api_url={self.mastodon_api_url!r})"
        )

    def cipher(self) -> MultiFernet | None:
        """The cipher of `encryption_key` (checked by `load_config`), None without one."""
        return make_cipher(self.encryption_key.reveal()) if self.encryption_key else None

    def secrets(self) -> list[str]:
        """Every secret value in this config, for log redaction."""
        held = (self.bot_token, self.signing_secret, self.app_token, self.client_secret)
        values = [s.reveal() for s in held if s]
        if self.encryption_key:
            values += [key.strip() for key in self.encryption_key.reveal().split(",")]
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

    client_id, client_secret = get("SLACK_CLIENT_ID"), get("SLACK_CLIENT_SECRET")
    if client_id is not None and client_secret is None:
        raise ConfigError(
            "SLACK_CLIENT_SECRET is not set: distribution mode needs the app's client secret "
            "(Basic Information → App Credentials), or unset SLACK_CLIENT_ID"
        )
    if client_secret is not None and client_id is None:
        raise ConfigError(
            "SLACK_CLIENT_ID is not set: distribution mode needs the app's client id "
            "(Basic Information → App Credentials), or unset SLACK_CLIENT_SECRET"
        )
    distribution = client_id is not None

    bot_token = get("SLACK_BOT_TOKEN")
    if bot_token is None and not distribution:
        raise ConfigError("SLACK_BOT_TOKEN is not set: put the app's bot token (xoxb-…) in .env")
    if bot_token is not None and not bot_token.startswith("xoxb-"):
        raise ConfigError("SLACK_BOT_TOKEN must be a bot token starting with xoxb-")

    app_token = get("SLACK_APP_TOKEN")
    if app_token is not None and not app_token.startswith("xapp-"):
        raise ConfigError("SLACK_APP_TOKEN must be an app-level token starting with xapp-")
    if app_token is not None and distribution:
        # Installing takes a browser visiting /slack/install and Slack redirecting back: HTTP only.
        raise ConfigError(
            "SLACK_APP_TOKEN must be unset in distribution mode (SLACK_CLIENT_ID is set): "
            "the install flow and every workspace's requests arrive over HTTP"
        )

    signing_secret = get("SLACK_SIGNING_SECRET")
    if signing_secret is None and app_token is None:
        alternative = "" if distribution else " (or set SLACK_APP_TOKEN for Socket Mode)"
        raise ConfigError(
            f"SLACK_SIGNING_SECRET is not set: HTTP mode needs the app's signing secret{alternative}"
        )

    database_url = load_database_url(env)

    slack_api_url = get("SLACK_API_URL") or DEFAULT_SLACK_API_URL
    if not slack_api_url.startswith(("http://", "https://")):
        raise ConfigError("SLACK_API_URL must be an http(s) URL, e.g. http://127.0.0.1:8765/api/")
    if not slack_api_url.endswith("/"):
        slack_api_url += "/"

    timezone = get("TWOWAY_TIMEZONE") or "UTC"
    if not is_zone(timezone):
        raise ConfigError(f"TWOWAY_TIMEZONE {timezone!r} is not an IANA time zone (e.g. Europe/Paris)")

    port_text = get("PORT") or str(DEFAULT_PORT)
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ConfigError(f"PORT must be a TCP port number from 1 to 65535, not {port_text!r}")

    redirect_uri = get("SLACK_REDIRECT_URI")
    if redirect_uri is not None and not redirect_uri.startswith(("http://", "https://")):
        raise ConfigError(
            "SLACK_REDIRECT_URI must be an http(s) URL, e.g. https://twoway.example.com/slack/oauth_redirect"
        )
    authorize_url = get("SLACK_AUTHORIZE_URL") or DEFAULT_AUTHORIZE_URL
    if not authorize_url.startswith(("http://", "https://")):
        raise ConfigError(
            "SLACK_AUTHORIZE_URL must be an http(s) URL, e.g. http://127.0.0.1:8765/oauth/v2/authorize"
        )

    lease_text = get("TWOWAY_EVENT_LEASE_SECONDS") or str(DEFAULT_EVENT_LEASE_SECONDS)
    if not lease_text.isdigit() or not 1 <= int(lease_text) <= MAX_EVENT_LEASE_SECONDS:
        raise ConfigError(
            f"TWOWAY_EVENT_LEASE_SECONDS must be a number of seconds from 1 to {MAX_EVENT_LEASE_SECONDS}, "
            f"not {lease_text!r}"
        )

    encryption_key = get(ENCRYPTION_KEY_ENV)
    if encryption_key is None and distribution:
        raise ConfigError(
            f"{ENCRYPTION_KEY_ENV} is not set: distribution mode stores every workspace's bot token "
            f"encrypted with it. Make one with {NEW_KEY_COMMAND} and keep it as safe as SLACK_CLIENT_SECRET"
        )
    if encryption_key is not None:
        try:
            make_cipher(encryption_key)
        except EncryptionKeyError as error:
            raise ConfigError(str(error)) from None
    trusted_proxy = get("TWOWAY_TRUSTED_PROXY")
    if trusted_proxy is not None and trusted_proxy != "*":
        try:
            ipaddress.ip_address(trusted_proxy)
        except ValueError:
            raise ConfigError(
                f"TWOWAY_TRUSTED_PROXY must be the proxy's IP address (or *), not {trusted_proxy!r}"
            ) from None

    resolve_links = (get("TWOWAY_RESOLVE_LINKS") or "on").lower()
    if resolve_links not in ("on", "off"):
        raise ConfigError(f"TWOWAY_RESOLVE_LINKS must be on or off, not {resolve_links!r}")

    watch = (get("TWOWAY_WATCH") or "on").lower()
    if watch not in ("on", "off"):
        raise ConfigError(f"TWOWAY_WATCH must be on or off, not {watch!r}")
    bluesky_api_url = (get("TWOWAY_BLUESKY_API_URL") or DEFAULT_BLUESKY_API_URL).rstrip("/")
    if not bluesky_api_url.startswith(("http://", "https://")):
        raise ConfigError("TWOWAY_BLUESKY_API_URL must be an http(s) URL, e.g. https://public.api.bsky.app")
    mastodon_api_url = get("TWOWAY_MASTODON_API_URL")
    if mastodon_api_url is not None:
        mastodon_api_url = mastodon_api_url.rstrip("/")
        if not mastodon_api_url.startswith(("http://", "https://")):
            raise ConfigError(
                "TWOWAY_MASTODON_API_URL must be an http(s) URL under which each instance's API is "
                "<url>/<instance>/api/v1/, e.g. http://127.0.0.1:8765/mastodon"
            )

    return Config(
        bot_token=Secret(bot_token) if bot_token else None,
        signing_secret=Secret(signing_secret) if signing_secret else None,
        app_token=Secret(app_token) if app_token else None,
        database_url=database_url,
        slack_api_url=slack_api_url,
        timezone=timezone,
        port=int(port_text),
        client_id=client_id,
        client_secret=Secret(client_secret) if client_secret else None,
        redirect_uri=redirect_uri,
        authorize_url=authorize_url,
        event_lease_seconds=int(lease_text),
        encryption_key=Secret(encryption_key) if encryption_key else None,
        trusted_proxy=trusted_proxy,
        resolve_links=resolve_links == "on",
        watch=watch == "on",
        bluesky_api_url=bluesky_api_url,
        mastodon_api_url=mastodon_api_url,
    )
