from __future__ import annotations

import logging

import pytest
from cryptography.fernet import Fernet

from bot.config import ConfigError, Secret, load_config
from tests.support.keys import KEY, NEW_KEY

HTTP = {"SLACK_BOT_TOKEN": "xoxb-1-abc", "SLACK_SIGNING_SECRET": "s3cr3t-signing"}
DISTRIBUTION = {
    "SLACK_CLIENT_ID": "123.456",
    "SLACK_CLIENT_SECRET": "client-s3cr3t",
    "SLACK_SIGNING_SECRET": "s3cr3t-signing",
    "TWOWAY_ENCRYPTION_KEY": KEY,
}


def test_defaults_for_http_mode(tmp_path: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # type: ignore[arg-type]
    config = load_config(HTTP)
    assert config.bot_token is not None
    assert config.bot_token.reveal() == "xoxb-1-abc"
    assert not config.distribution
    assert config.signing_secret is not None
    assert config.signing_secret.reveal() == "s3cr3t-signing"
    assert config.app_token is None
    assert not config.socket_mode
    assert config.database_url == f"sqlite:///{tmp_path}/twoway.db"
    assert config.slack_api_url == "https://slack.com/api/"
    assert (config.timezone, config.port) == ("UTC", 3000)


def test_socket_mode_needs_no_signing_secret() -> None:
    config = load_config({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1-A1-x"})
    assert config.socket_mode
    assert config.signing_secret is None


def test_values_are_read_and_normalised() -> None:
    config = load_config(
        {
            **HTTP,
            "DATABASE_URL": "postgresql+psycopg://u:pw@db/twoway",
            "SLACK_API_URL": "http://127.0.0.1:8765/api",
            "TWOWAY_TIMEZONE": "Europe/Paris",
            "PORT": "8080",
            "TWOWAY_EVENT_LEASE_SECONDS": "30",
            "TWOWAY_TRUSTED_PROXY": "10.0.0.2",
        }
    )
    assert config.trusted_proxy == "10.0.0.2"
    assert load_config(HTTP).trusted_proxy is None
    assert config.slack_api_url == "http://127.0.0.1:8765/api/"
    assert (config.timezone, config.port) == ("Europe/Paris", 8080)
    assert config.event_lease_seconds == 30
    assert load_config(HTTP).event_lease_seconds == 120


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({}, "SLACK_BOT_TOKEN"),
        ({"SLACK_BOT_TOKEN": "   "}, "SLACK_BOT_TOKEN"),
        ({"SLACK_BOT_TOKEN": "xoxp-user-token", "SLACK_SIGNING_SECRET": "x"}, "SLACK_BOT_TOKEN"),
        ({"SLACK_BOT_TOKEN": "xoxb-1"}, "SLACK_SIGNING_SECRET"),
        ({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xoxb-2"}, "SLACK_APP_TOKEN"),
        ({**HTTP, "TWOWAY_TIMEZONE": "Mars/Olympus"}, "TWOWAY_TIMEZONE"),
        ({**HTTP, "TWOWAY_TIMEZONE": "../../etc/passwd"}, "TWOWAY_TIMEZONE"),
        ({**HTTP, "PORT": "eighty"}, "PORT"),
        ({**HTTP, "PORT": "70000"}, "PORT"),
        ({**HTTP, "PORT": "0"}, "PORT"),
        ({**HTTP, "TWOWAY_EVENT_LEASE_SECONDS": "0"}, "TWOWAY_EVENT_LEASE_SECONDS"),
        ({**HTTP, "TWOWAY_EVENT_LEASE_SECONDS": "2m"}, "TWOWAY_EVENT_LEASE_SECONDS"),
        ({**HTTP, "TWOWAY_EVENT_LEASE_SECONDS": "86400"}, "TWOWAY_EVENT_LEASE_SECONDS"),
        ({**HTTP, "TWOWAY_TRUSTED_PROXY": "proxy.internal"}, "TWOWAY_TRUSTED_PROXY"),
        ({**HTTP, "DATABASE_URL": "not a url"}, "DATABASE_URL"),
        ({**HTTP, "SLACK_API_URL": "ftp://example.com/"}, "SLACK_API_URL"),
        ({**HTTP, "SLACK_CLIENT_ID": "123.456"}, "SLACK_CLIENT_SECRET"),
        ({**HTTP, "SLACK_CLIENT_SECRET": "client-s3cr3t"}, "SLACK_CLIENT_ID"),
        ({**DISTRIBUTION, "SLACK_SIGNING_SECRET": ""}, "SLACK_SIGNING_SECRET"),
        ({**DISTRIBUTION, "SLACK_APP_TOKEN": "xapp-1-A1-x"}, "SLACK_APP_TOKEN"),
        ({**DISTRIBUTION, "SLACK_BOT_TOKEN": "xoxp-user-token"}, "SLACK_BOT_TOKEN"),
        ({**DISTRIBUTION, "SLACK_REDIRECT_URI": "/slack/oauth_redirect"}, "SLACK_REDIRECT_URI"),
        ({**DISTRIBUTION, "SLACK_AUTHORIZE_URL": "slack.com/oauth/v2/authorize"}, "SLACK_AUTHORIZE_URL"),
        ({**DISTRIBUTION, "TWOWAY_ENCRYPTION_KEY": ""}, "TWOWAY_ENCRYPTION_KEY"),
        ({**DISTRIBUTION, "TWOWAY_ENCRYPTION_KEY": "hunter2hunter2"}, "TWOWAY_ENCRYPTION_KEY"),
        ({**DISTRIBUTION, "TWOWAY_ENCRYPTION_KEY": f"{NEW_KEY},"}, "TWOWAY_ENCRYPTION_KEY"),
        ({**HTTP, "TWOWAY_ENCRYPTION_KEY": KEY[:-2]}, "TWOWAY_ENCRYPTION_KEY"),
    ],
)
def test_a_bad_variable_stops_start_up_with_one_line_naming_it(env: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_config(env)
    message = str(raised.value)
    assert message.startswith(named)
    assert "\n" not in message


def test_distribution_mode_needs_no_bot_token() -> None:
    config = load_config(DISTRIBUTION)
    assert config.distribution
    assert config.bot_token is None
    assert config.client_id == "123.456"
    assert config.client_secret is not None
    assert config.client_secret.reveal() == "client-s3cr3t"
    assert config.redirect_uri is None
    assert config.authorize_url == "https://slack.com/oauth/v2/authorize"


def test_distribution_mode_reads_its_urls() -> None:
    config = load_config(
        {
            **DISTRIBUTION,
            "SLACK_REDIRECT_URI": "https://twoway.example.com/slack/oauth_redirect",
            "SLACK_AUTHORIZE_URL": "http://127.0.0.1:8765/oauth/v2/authorize",
        }
    )
    assert config.redirect_uri == "https://twoway.example.com/slack/oauth_redirect"
    assert config.authorize_url == "http://127.0.0.1:8765/oauth/v2/authorize"


def test_the_client_secret_never_shows(caplog: pytest.LogCaptureFixture) -> None:
    config = load_config(DISTRIBUTION)
    with caplog.at_level(logging.INFO):
        logging.getLogger("test").info("config is %s", config)
    assert "client-s3cr3t" not in repr(config) + str(config) + caplog.text
    assert "123.456" in repr(config)
    assert sorted(config.secrets()) == sorted(["client-s3cr3t", "s3cr3t-signing", KEY])


def test_distribution_mode_without_a_key_says_how_to_make_one() -> None:
    # Every workspace's bot token is stored encrypted with it (they were stored
    # in plain text); without it twoway would have nothing to encrypt them with.
    env = {k: v for k, v in DISTRIBUTION.items() if k != "TWOWAY_ENCRYPTION_KEY"}
    with pytest.raises(ConfigError) as raised:
        load_config(env)
    assert str(raised.value) == (
        "TWOWAY_ENCRYPTION_KEY is not set: distribution mode stores every workspace's bot token "
        "encrypted with it. Make one with "
        "python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())' "
        "and keep it as safe as SLACK_CLIENT_SECRET"
    )


def test_the_encryption_keys_are_secrets_that_never_show(caplog: pytest.LogCaptureFixture) -> None:
    config = load_config({**DISTRIBUTION, "TWOWAY_ENCRYPTION_KEY": f" {NEW_KEY} , {KEY} "})
    assert config.encryption_key is not None
    with caplog.at_level(logging.INFO):
        logging.getLogger("test").info("config is %s", config)
    for key in (KEY, NEW_KEY):
        assert key not in repr(config) + str(config) + caplog.text
        assert key in config.secrets()
    # The first key encrypts; every key decrypts.
    cipher = config.cipher()
    assert cipher is not None
    assert Fernet(NEW_KEY).decrypt(cipher.encrypt(b"xoxb-1")) == b"xoxb-1"
    assert cipher.decrypt(Fernet(KEY).encrypt(b"xoxb-2")) == b"xoxb-2"


def test_a_bad_key_is_refused_without_repeating_it() -> None:
    with pytest.raises(ConfigError) as raised:
        load_config({**DISTRIBUTION, "TWOWAY_ENCRYPTION_KEY": f"{KEY},hunter2hunter2"})
    assert "hunter2" not in str(raised.value)
    assert str(raised.value).startswith("TWOWAY_ENCRYPTION_KEY's key 2 is not a Fernet key")


def test_single_workspace_mode_needs_no_key() -> None:
    assert load_config(HTTP).cipher() is None


def test_secrets_never_show_in_repr_str_or_logs(caplog: pytest.LogCaptureFixture) -> None:
    config = load_config(
        {**HTTP, "SLACK_APP_TOKEN": "xapp-1-A1-secretvalue", "DATABASE_URL": "postgresql://u:dbpassword@h/d"}
    )
    shown = repr(config) + str(config)
    with caplog.at_level(logging.INFO):
        logging.getLogger("test").info("config is %s", config)
    for secret in ("xoxb-1-abc", "s3cr3t-signing", "xapp-1-A1-secretvalue", "dbpassword"):
        assert secret not in shown
        assert secret not in caplog.text
    assert sorted(config.secrets()) == sorted(
        ["xoxb-1-abc", "s3cr3t-signing", "xapp-1-A1-secretvalue", "dbpassword"]
    )


def test_a_secret_is_masked_however_it_is_formatted() -> None:
    secret = Secret("hunter2hunter2")
    assert "hunter2" not in f"{secret} {secret!r} {[secret]} { ({'k': secret}) }"
    assert secret.reveal() == "hunter2hunter2"


def test_config_is_frozen() -> None:
    config = load_config(HTTP)
    with pytest.raises(AttributeError):
        config.port = 1  # type: ignore[misc]


def test_short_links_are_resolved_unless_turned_off() -> None:
    assert load_config(HTTP).resolve_links is True
    assert load_config({**HTTP, "TWOWAY_RESOLVE_LINKS": "on"}).resolve_links is True
    assert load_config({**HTTP, "TWOWAY_RESOLVE_LINKS": "OFF"}).resolve_links is False
    with pytest.raises(ConfigError, match="TWOWAY_RESOLVE_LINKS must be on or off, not 'maybe'"):
        load_config({**HTTP, "TWOWAY_RESOLVE_LINKS": "maybe"})


def test_watching_is_on_unless_turned_off() -> None:
    assert load_config(HTTP).watch is True
    assert load_config({**HTTP, "TWOWAY_WATCH": "off"}).watch is False
    assert load_config({**HTTP, "TWOWAY_WATCH": " On "}).watch is True
    with pytest.raises(ConfigError, match="TWOWAY_WATCH must be on or off, not 'sometimes'"):
        load_config({**HTTP, "TWOWAY_WATCH": "sometimes"})


def test_the_networks_apis_default_to_the_public_ones_and_can_point_elsewhere() -> None:
    config = load_config(HTTP)
    assert config.bluesky_api_url == "https://public.api.bsky.app"
    assert config.mastodon_api_url is None
    pointed = load_config(
        {
            **HTTP,
            "TWOWAY_BLUESKY_API_URL": "http://127.0.0.1:8765/bluesky/",
            "TWOWAY_MASTODON_API_URL": "http://127.0.0.1:8765/mastodon/",
        }
    )
    assert pointed.bluesky_api_url == "http://127.0.0.1:8765/bluesky"
    assert pointed.mastodon_api_url == "http://127.0.0.1:8765/mastodon"
    with pytest.raises(ConfigError, match="TWOWAY_BLUESKY_API_URL must be an http"):
        load_config({**HTTP, "TWOWAY_BLUESKY_API_URL": "bsky.app"})
    with pytest.raises(ConfigError, match="TWOWAY_MASTODON_API_URL must be an http"):
        load_config({**HTTP, "TWOWAY_MASTODON_API_URL": "ftp://example.org"})
