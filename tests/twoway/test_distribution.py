"""Distribution mode end to end: two workspaces install twoway through Slack's OAuth flow (the emulator's),
each runs on its own token and sees only its own ledger, an uninstall stops one and keeps its ledger,
and `twoway purge` deletes exactly one workspace's rows."""

from __future__ import annotations

import http.client
import io
import json
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import Engine, create_engine, event, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from bot.config import load_config
from bot.installs import (
    BOT_SCOPES,
    DATABASE_DOWN_MESSAGE,
    NOT_INSTALLED_MESSAGE,
    Installations,
    NotInstalled,
)
from bot.scheduler import DIGEST_JOB_PREFIX
from emulator import DEFAULT_TEAM_ID, SOCIAL_CHANNEL_ID, Emulator, EmulatorSettings
from storage.installations import count_installation_rows
from storage.models import Post
from storage.workspace_rows import count_rows
from tests.storage.test_installations import sqlite_files
from tests.support.flows import Later
from tests.support.keys import KEY
from tests.support.polling import eventually
from twoway.cli import main
from twoway.demo import free_port, get_json, post_json
from twoway.http_server import INSTALLS_PER_MINUTE, create_server, make_wsgi_app
from twoway.runtime import Runtime, prepare


def purge(*args: str) -> int:
    """`twoway purge …` in this process, leaving the log handlers as they were: `main()` replaces them
    with one on the captured stderr, which the app's threads would otherwise log to after the test."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        return main(["purge", *args])
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


SECRET = "distribution-signing-secret"
CLIENT_ID = "2000000000002.2000000000002"
CLIENT_SECRET = "distribution-client-secret"
TEAM_A, CHANNEL_A, ADA, GRACE = DEFAULT_TEAM_ID, SOCIAL_CHANNEL_ID, "U0ADA00001", "U0GRACE001"
TEAM_B, CHANNEL_B, BEA = "T0SECOND1", "C0SECOND01", "U0BEA00001"
POST_A = "https://x.com/acme/status/1790000000000000001"
POST_B = "https://x.com/second/status/1790000000000000002"
QUESTION_A = "Do you ship to Canada?"


@dataclass
class Distributed:
    emulator: Emulator
    runtime: Runtime
    clock: Later

    @property
    def sessions(self) -> sessionmaker[Session]:
        return self.runtime.deps.sessions

    @property
    def installations(self) -> Installations:
        assert self.runtime.deps.installations is not None
        return self.runtime.deps.installations

    def post(self, path: str, payload: dict[str, Any]) -> Any:
        return post_json(self.emulator.base_url + path, payload, timeout=20)

    def install(self, team: str) -> tuple[int, str]:
        """A person installs twoway in ``team`` from the app's /slack/install, as a browser would: it follows
        redirects (through the emulator's authorize page) and keeps the app's cookies, Secure ones too,
        as browsers do on loopback. Returns the final page's status and body."""
        cookies: dict[str, str] = {}
        url = f"{self.runtime.url}/slack/install?team={team}"
        for _ in range(5):
            status, location, body = _browse(url, cookies)
            if location is None:
                return status, body
            url = urljoin(url, location)
        pytest.fail("too many redirects")

    def say(self, team: str, channel: str, user: str, text: str) -> dict[str, Any]:
        answer: dict[str, Any] = self.post(
            "/_emulator/message", {"team": team, "channel": channel, "user": user, "text": text}
        )
        return answer

    def command(self, team: str, channel: str, user: str, text: str) -> list[dict[str, Any]]:
        """What the user saw after `/twoway text`: the ack body and every response_url post."""
        seen = self.post(
            "/_emulator/command",
            {"team": team, "channel": channel, "user": user, "command": "/twoway", "text": text},
        )
        assert seen["ack"]["status"] == 200, seen
        bodies = [seen["ack"]["body"], *seen["responses"]]
        return [b for b in bodies if isinstance(b, dict) and b.get("text")]

    def event(self, team: str, event: dict[str, Any]) -> dict[str, Any]:
        answer: dict[str, Any] = self.post("/_emulator/event", {"team": team, "event": event})
        return answer

    def calls(self, method: str) -> list[dict[str, Any]]:
        calls: list[dict[str, Any]] = get_json(f"{self.emulator.base_url}/_emulator/calls?method={method}")
        return calls

    def posts(self, team: str) -> list[str]:
        with self.sessions.begin() as s:
            return list(s.scalars(select(Post.canonical_url).where(Post.team_id == team).order_by(Post.id)))

    def digest_jobs(self) -> set[str]:
        assert self.runtime.schedules is not None
        jobs = self.runtime.schedules.scheduler.get_jobs()
        return {job.id for job in jobs if job.id.startswith(DIGEST_JOB_PREFIX)}

    def rows(self, team: str) -> dict[str, int]:
        with self.sessions.begin() as s:
            return {**count_rows(s, team), **count_installation_rows(s, team)}


def _browse(url: str, cookies: dict[str, str]) -> tuple[int, str | None, str]:
    """(status, Location, body) of one GET, sending and keeping ``cookies``."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=20)
    try:
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())} if cookies else {}
        connection.request(
            "GET", f"{parts.path}?{parts.query}" if parts.query else parts.path, headers=headers
        )
        response = connection.getresponse()
        body = response.read().decode()
        for header in response.headers.get_all("Set-Cookie") or []:
            name, _, value = header.split(";", 1)[0].partition("=")
            cookies[name.strip()] = value
        return response.status, response.getheader("Location"), body
    finally:
        connection.close()


@pytest.fixture
def dist(db_url: str) -> Iterator[Distributed]:
    app_port = free_port()
    settings = EmulatorSettings(
        app_url=f"http://127.0.0.1:{app_port}/slack/events",
        signing_secret=SECRET,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
    )
    with Emulator(settings) as emulator:
        post_json(emulator.base_url + "/_emulator/team", {"id": TEAM_B, "domain": "second"})
        post_json(
            emulator.base_url + "/_emulator/channel",
            {"team": TEAM_B, "id": CHANNEL_B, "name": "social", "members": [BEA]},
        )
        config = load_config(
            {
                "SLACK_CLIENT_ID": CLIENT_ID,
                "SLACK_CLIENT_SECRET": CLIENT_SECRET,
                "SLACK_SIGNING_SECRET": SECRET,
                "SLACK_REDIRECT_URI": f"http://127.0.0.1:{app_port}/slack/oauth_redirect",
                "SLACK_AUTHORIZE_URL": emulator.base_url + "/oauth/v2/authorize",
                "SLACK_API_URL": emulator.api_url,
                "DATABASE_URL": db_url,
                "PORT": str(app_port),
                "TWOWAY_ENCRYPTION_KEY": KEY,
            }
        )
        assert config.distribution
        assert config.bot_token is None
        clock = Later()
        runtime = prepare(config, host="127.0.0.1", clock=clock)
        runtime.start_background()
        try:
            yield Distributed(emulator, runtime, clock)
        finally:
            runtime.stop()


@pytest.fixture
def both(dist: Distributed) -> Distributed:
    """Both workspaces installed, each with a post shared in its channel."""
    for team in (TEAM_A, TEAM_B):
        status, page = dist.install(team)
        assert status == 200, page
    assert dist.installations.teams() == sorted([TEAM_A, TEAM_B])
    dist.say(TEAM_A, CHANNEL_A, ADA, f"Launch thread: <{POST_A}>")
    dist.say(TEAM_B, CHANNEL_B, BEA, f"Our news: <{POST_B}>")
    eventually(lambda: len(dist.calls("reactions.add")) == 2, what="both posts tracked")
    return dist


def test_installing_goes_through_slacks_flow_and_stores_the_installation(dist: Distributed) -> None:
    assert dist.installations.teams() == []
    status, page = dist.install(TEAM_B)
    assert status == 200, page
    assert dist.installations.teams() == [TEAM_B]
    [exchange] = dist.calls("oauth.v2.access")
    assert (exchange["ok"], exchange["team"]) == (True, TEAM_B)
    # Bolt checks the new token before it stores it: with the token, in the new workspace.
    assert [c["team"] for c in dist.calls("auth.test")] == [TEAM_B]
    with dist.sessions.begin() as s:
        assert count_installation_rows(s, TEAM_B) == {"slack_installations": 1, "slack_bots": 1}


def test_an_installations_bot_token_is_stored_encrypted_and_read_back_in_the_clear(
    dist: Distributed, db_url: str
) -> None:
    # Before: slack_sdk's store kept bot tokens in plain text, for anyone who can read the
    # database file, a backup or a replica's disk.
    assert dist.install(TEAM_B)[0] == 200
    token = dist.installations.bot_token(TEAM_B)
    assert token.startswith(f"xoxb-{TEAM_B}-")

    raw = create_engine(db_url)  # no TypeDecorator: the columns as the database holds them
    try:
        with raw.connect() as connection:
            stored = [
                *connection.execute(text("SELECT bot_token FROM slack_bots")).scalars(),
                *connection.execute(text("SELECT bot_token FROM slack_installations")).scalars(),
            ]
    finally:
        raw.dispose()
    assert len(stored) == 2
    assert all(token not in value for value in stored)
    assert [Fernet(KEY).decrypt(value.encode()).decode() for value in stored] == [token, token]
    if db_url.startswith("sqlite"):
        files = sqlite_files(db_url)
        assert token.encode() not in files
        assert token.split("-")[-1].encode() not in files

    # The app reads it back: Bolt authorizes the workspace's requests with it.
    dist.say(TEAM_B, CHANNEL_B, BEA, f"Our news: <{POST_B}>")
    eventually(lambda: len(dist.calls("reactions.add")) == 1, what="the post tracked with B's token")
    assert dist.posts(TEAM_B) == [POST_B]


def test_a_workspaces_requests_check_its_token_with_slack_once_not_each_time(both: Distributed) -> None:
    checked = len(both.calls("auth.test"))
    for n in range(12):
        answered = both.command(TEAM_B, CHANNEL_B, BEA, "unanswered")
        assert answered[0]["text"].startswith("No comments are waiting"), n
    for n in range(3):
        both.say(TEAM_B, CHANNEL_B, BEA, f"More news: <https://x.com/second/status/17900000000000001{n:02d}>")
    eventually(lambda: len(both.posts(TEAM_B)) == 4, what="B's posts tracked")

    # Bolt's cache: at most one auth.test per token in each of the process's two apps, none per request.
    assert len(both.calls("auth.test")) - checked <= 2
    assert {c["team"] for c in both.calls("auth.test")[checked:]} <= {TEAM_B}


def test_a_redirect_that_did_not_start_at_slack_install_is_refused(dist: Distributed) -> None:
    status, location, _ = _browse(f"{dist.runtime.url}/slack/install?team={TEAM_B}", {})
    assert status == 302
    assert location is not None
    # The authorize page approves, but this browser lost the app's state cookie on the way.
    _, callback, _ = _browse(location, {})
    assert callback is not None
    status, _, _ = _browse(callback, {})
    assert status == 400
    assert dist.installations.teams() == []


def test_each_workspace_keeps_its_own_ledger_and_uses_its_own_token(both: Distributed) -> None:
    assert both.posts(TEAM_A) == [POST_A]
    assert both.posts(TEAM_B) == [POST_B]
    # The emulator tells workspaces apart by token alone: a call with A's token would land in A.
    reactions = {c["args"]["channel"]: c["team"] for c in both.calls("reactions.add")}
    assert reactions == {CHANNEL_A: TEAM_A, CHANNEL_B: TEAM_B}

    flagged = both.command(TEAM_A, CHANNEL_A, GRACE, f"flag {POST_A} {QUESTION_A}")
    assert flagged[0]["text"].startswith("Flagged as comment #1")
    [seen_a] = both.command(TEAM_A, CHANNEL_A, ADA, "unanswered")
    assert seen_a["text"].startswith("1 comment is waiting")
    [seen_b] = both.command(TEAM_B, CHANNEL_B, BEA, "unanswered")
    assert seen_b["text"].startswith("No comments are waiting")
    assert QUESTION_A not in json.dumps(seen_b)

    both.event(TEAM_A, {"type": "app_home_opened", "user": ADA, "channel": "D0ADA00001", "tab": "home"})
    both.event(TEAM_B, {"type": "app_home_opened", "user": BEA, "channel": "D0BEA00001", "tab": "home"})
    eventually(lambda: len(both.calls("views.publish")) == 2, what="both Home tabs")
    homes = {c["team"]: json.dumps(c["args"]["view"]) for c in both.calls("views.publish")}
    assert QUESTION_A in homes[TEAM_A]
    assert QUESTION_A not in homes[TEAM_B]
    assert "acme" not in homes[TEAM_B]
    assert {c["team"] for c in both.calls("chat.postMessage")} == {TEAM_A}


def test_each_workspaces_digest_runs_with_its_own_client(both: Distributed) -> None:
    schedules = both.runtime.schedules
    assert schedules is not None
    schedules.sync_all()
    assert both.digest_jobs() == {f"digest:{TEAM_A}:{CHANNEL_A}", f"digest:{TEAM_B}:{CHANNEL_B}"}

    for team, channel in ((TEAM_A, CHANNEL_A), (TEAM_B, CHANNEL_B)):
        outcome = schedules.run_digest(team, channel)
        assert outcome is not None
        assert outcome.status == "posted", outcome

    digests = [c for c in both.calls("chat.postMessage") if c["args"].get("metadata")]
    assert sorted((c["team"], c["args"]["channel"]) for c in digests) == sorted(
        [(TEAM_A, CHANNEL_A), (TEAM_B, CHANNEL_B)]
    )
    in_b = get_json(f"{both.emulator.base_url}/_emulator/messages?team={TEAM_B}&channel={CHANNEL_B}")
    [digest_b] = [m for m in in_b if (m.get("metadata") or {}).get("event_type") == "twoway_digest"]
    assert digest_b["bot_id"] == "B0SECOND1"
    assert "acme" not in json.dumps(digest_b)


def test_uninstalling_stops_that_workspace_and_keeps_its_ledger(both: Distributed) -> None:
    schedules = both.runtime.schedules
    assert schedules is not None
    schedules.sync_all()
    before_a, before_b = both.rows(TEAM_A), both.rows(TEAM_B)

    delivered = both.event(TEAM_A, {"type": "app_uninstalled"})
    assert delivered["delivery"]["status"] == 200
    eventually(lambda: both.installations.teams() == [TEAM_B], what="the installation deleted")
    eventually(lambda: both.digest_jobs() == {f"digest:{TEAM_B}:{CHANNEL_B}"}, what="A's jobs removed")

    # Its requests are refused before any listener: nothing recorded, nothing called.
    refused = both.say(TEAM_A, CHANNEL_A, GRACE, "Another one: <https://x.com/acme/status/17900000000000009>")
    assert refused["delivery"]["body"] == NOT_INSTALLED_MESSAGE
    assert [s["text"] for s in both.command(TEAM_A, CHANNEL_A, ADA, "help")] == [NOT_INSTALLED_MESSAGE]
    publisher = both.runtime.deps.publisher
    assert publisher is not None
    with pytest.raises(NotInstalled):
        publisher.client_for(TEAM_A)

    after_a = both.rows(TEAM_A)
    assert after_a["posts"] == before_a["posts"] == 1
    bookkeeping = ("slack_", "processed_events", "seen_requests", "departed_workspaces")
    assert {k: v for k, v in after_a.items() if not k.startswith(bookkeeping)} == {
        k: v for k, v in before_a.items() if not k.startswith(bookkeeping)
    }
    assert (before_a["departed_workspaces"], after_a["departed_workspaces"]) == (0, 1), "kept 30 days"
    assert (after_a["slack_installations"], after_a["slack_bots"]) == (0, 0)

    # The other workspace is untouched and still answered.
    assert both.rows(TEAM_B) == before_b
    [shown] = both.command(TEAM_B, CHANNEL_B, BEA, "unanswered")
    assert shown["text"].startswith("No comments are waiting")
    assert both.posts(TEAM_B) == [POST_B]

    # Installing again picks the kept ledger up where it was, schedules included.
    assert both.install(TEAM_A)[0] == 200
    assert both.digest_jobs() == {f"digest:{TEAM_A}:{CHANNEL_A}", f"digest:{TEAM_B}:{CHANNEL_B}"}
    [again] = both.command(TEAM_A, CHANNEL_A, ADA, "unanswered")
    assert again["text"].startswith("No comments are waiting")
    assert publisher.client_for(TEAM_A).token != publisher.client_for(TEAM_B).token


def _sweep(dist: Distributed) -> None:
    schedules = dist.runtime.schedules
    assert schedules is not None
    schedules.run_sweep()


def test_an_uninstalled_workspaces_ledger_is_kept_30_days_then_purged(both: Distributed) -> None:
    """Before: an uninstall kept the workspace's ledger forever."""
    both.command(TEAM_A, CHANNEL_A, GRACE, f"flag {POST_A} {QUESTION_A}")
    before_b = both.rows(TEAM_B)
    both.event(TEAM_A, {"type": "app_uninstalled"})
    both.event(TEAM_A, {"type": "tokens_revoked", "tokens": {"oauth": [], "bot": ["U0TWOWAYBOT"]}})
    eventually(lambda: both.installations.teams() == [TEAM_B], what="A uninstalled")

    both.clock.ahead = timedelta(days=30) - timedelta(minutes=5)
    _sweep(both)
    kept = both.rows(TEAM_A)
    assert (kept["posts"], kept["comments"], kept["channels"]) == (1, 1, 1), "kept 30 days"

    both.clock.ahead = timedelta(days=30, minutes=5)
    _sweep(both)
    assert {table: n for table, n in both.rows(TEAM_A).items() if n} == {}
    # B's ledger is all there, but its kept messages: 30 days old, forgotten as every workspace's are.
    assert both.rows(TEAM_B) == {**before_b, "kept_messages": 0}
    assert before_b["kept_messages"] == 1
    assert both.posts(TEAM_B) == [POST_B]
    [shown] = both.command(TEAM_B, CHANNEL_B, BEA, "unanswered")
    assert shown["text"].startswith("No comments are waiting")


def test_installing_again_within_30_days_keeps_the_ledger(both: Distributed) -> None:
    both.command(TEAM_A, CHANNEL_A, GRACE, f"flag {POST_A} {QUESTION_A}")
    both.event(TEAM_A, {"type": "app_uninstalled"})
    eventually(lambda: both.installations.teams() == [TEAM_B], what="A uninstalled")
    both.clock.ahead = timedelta(days=29)
    assert both.install(TEAM_A)[0] == 200

    both.clock.ahead = timedelta(days=90)
    _sweep(both)
    assert both.posts(TEAM_A) == [POST_A]
    [waiting] = both.command(TEAM_A, CHANNEL_A, ADA, "unanswered")
    assert waiting["text"].startswith("1 comment is waiting"), waiting

    # Leaving again starts a new 30 days, from the day it left.
    both.event(TEAM_A, {"type": "app_uninstalled"})
    eventually(lambda: both.installations.teams() == [TEAM_B], what="A uninstalled again")
    both.clock.ahead = timedelta(days=119)
    _sweep(both)
    assert both.posts(TEAM_A) == [POST_A]
    both.clock.ahead = timedelta(days=121)
    _sweep(both)
    assert both.posts(TEAM_A) == []


def test_a_revoked_bot_token_stops_the_workspace_and_a_user_token_does_not(dist: Distributed) -> None:
    for team in (TEAM_A, TEAM_B):
        assert dist.install(team)[0] == 200
    dist.event(TEAM_B, {"type": "tokens_revoked", "tokens": {"oauth": ["U0BEA00001"], "bot": []}})
    dist.event(TEAM_A, {"type": "tokens_revoked", "tokens": {"oauth": [], "bot": ["U0TWOWAYBOT"]}})
    eventually(lambda: dist.installations.teams() == [TEAM_B], what="A's bot token forgotten")


def test_purge_deletes_exactly_that_workspaces_rows(
    both: Distributed, db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    both.command(TEAM_A, CHANNEL_A, GRACE, f"flag {POST_A} {QUESTION_A}")
    both.event(TEAM_A, {"type": "app_uninstalled"})
    eventually(lambda: both.installations.teams() == [TEAM_B], what="A uninstalled")
    before_a, before_b = both.rows(TEAM_A), both.rows(TEAM_B)
    assert (before_a["posts"], before_a["comments"], before_a["channels"]) == (1, 1, 1)

    monkeypatch.setenv("DATABASE_URL", db_url)
    assert purge("--team", TEAM_A, "--yes") == 0
    said = capsys.readouterr().out
    assert said.startswith(f"deleted every row of workspace {TEAM_A}: ")
    assert "channel_homes 1," in said
    assert " channels 1," in said

    assert set(both.rows(TEAM_A).values()) == {0}
    assert both.rows(TEAM_B) == before_b
    assert purge("--team", TEAM_A, "--yes") == 0
    assert "nothing to delete" in capsys.readouterr().err


def test_purge_asks_first_and_a_wrong_answer_deletes_nothing(
    both: Distributed, db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", db_url)
    before_a, before_b = both.rows(TEAM_A), both.rows(TEAM_B)

    monkeypatch.setattr("sys.stdin", io.StringIO("yes\n"))
    assert purge("--team", TEAM_A) == 1
    err = capsys.readouterr().err
    assert f"This deletes every row of workspace {TEAM_A} (channel_homes 1, channels 1, " in err
    assert "posts 1, post_shares 1, slack_installations 1, slack_bots 1), for good." in err
    assert f"Type {TEAM_A} to delete them:" in err
    assert err.endswith("nothing deleted\n")
    assert both.rows(TEAM_A) == before_a

    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert purge("--team", TEAM_A) == 1
    assert both.rows(TEAM_A) == before_a

    monkeypatch.setattr("sys.stdin", io.StringIO(f"{TEAM_A}\n"))
    assert purge("--team", TEAM_A) == 0
    assert set(both.rows(TEAM_A).values()) == {0}
    assert both.rows(TEAM_B) == before_b
    # Purged while installed: twoway no longer acts there either.
    assert both.installations.teams() == [TEAM_B]


@pytest.mark.parametrize(
    ("team", "passed_on"),
    [
        (TEAM_B, TEAM_B),
        # Bolt copies `team` into Slack's authorize URL as it came (slack_sdk AuthorizeUrlGenerator.generate):
        # decoded, "&redirect_uri=…" would become a parameter of Slack's of its own.
        ("T1%26redirect_uri%3Dhttps%3A%2F%2Fevil.example%2Fsteal", None),
        ("T1%26scope%3Dadmin", None),
        ("t0lowercase", None),
        ("E0ENTERPRISE", None),
        ("T" + "1" * 40, None),
        ("", None),
    ],
)
def test_install_passes_on_only_a_well_formed_team_id(
    dist: Distributed, team: str, passed_on: str | None
) -> None:
    status, location, _ = _browse(f"{dist.runtime.url}/slack/install?team={team}", {})
    assert status == 302
    assert location is not None
    query = parse_qs(urlsplit(location).query, keep_blank_values=True)
    assert query.get("team") == ([passed_on] if passed_on else None)
    assert query["redirect_uri"] == [f"{dist.runtime.url}/slack/oauth_redirect"]
    assert query["scope"] == [",".join(BOT_SCOPES)]
    assert set(query) == {"state", "client_id", "scope", "user_scope", "redirect_uri"} | (
        {"team"} if passed_on else set()
    )


def _start_install(base_url: str, forwarded_for: str | None = None) -> tuple[int, str | None]:
    """Status and Retry-After of one `GET /slack/install`, with an X-Forwarded-For if given."""
    parts = urlsplit(base_url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=20)
    try:
        headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
        connection.request("GET", "/slack/install", headers=headers)
        response = connection.getresponse()
        response.read()
        return response.status, response.getheader("Retry-After")
    finally:
        connection.close()


def _state_rows(dist: Distributed) -> tuple[int, int]:
    """(all, expired) rows of the OAuth state table."""
    states = dist.installations.states.oauth_states
    now = datetime.now(UTC).replace(tzinfo=None)
    with dist.installations.engine.connect() as connection:
        every = connection.scalar(select(func.count()).select_from(states)) or 0
        expired = connection.scalar(select(func.count()).select_from(states).where(states.c.expire_at <= now))
    return every, expired or 0


def test_expired_install_states_are_deleted_when_an_install_starts(dist: Distributed) -> None:
    # slack_sdk's SQLAlchemyOAuthStateStore checks expire_at when a state comes back, and never deletes one
    # that doesn't: every /slack/install nobody finished stayed.
    states = dist.installations.states.oauth_states
    now = datetime.now(UTC).replace(tzinfo=None)
    with dist.installations.engine.begin() as connection:
        connection.execute(
            states.insert(),
            [{"state": f"old-{i}", "expire_at": now - timedelta(minutes=1 + i)} for i in range(50)],
        )
        connection.execute(states.insert(), {"state": "pending", "expire_at": now + timedelta(minutes=5)})
    assert _state_rows(dist) == (51, 50)

    assert _start_install(dist.runtime.url)[0] == 302
    assert _state_rows(dist) == (2, 0)


def test_one_address_starts_at_most_ten_installs_a_minute(dist: Distributed) -> None:
    # Without a trusted proxy configured, X-Forwarded-For is the client's to write: it changes nothing.
    answers = [_start_install(dist.runtime.url, forwarded_for=f"203.0.113.{i}") for i in range(200)]
    assert [status for status, _ in answers] == [302] * INSTALLS_PER_MINUTE + [429] * (
        200 - INSTALLS_PER_MINUTE
    )
    assert all(0 < int(wait or 0) <= 60 for status, wait in answers if status == 429)
    assert _state_rows(dist)[0] == INSTALLS_PER_MINUTE


def test_behind_a_trusted_proxy_each_forwarded_address_counts_alone(dist: Distributed) -> None:
    server = create_server(
        make_wsgi_app(dist.runtime.app, lambda: True), "127.0.0.1", 0, trusted_proxy="127.0.0.1"
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        host, port = server.getsockname()[:2]
        for address in ("198.51.100.7", "198.51.100.8"):
            statuses = [_start_install(f"http://{host}:{port}", forwarded_for=address)[0] for _ in range(12)]
            assert statuses == [302] * INSTALLS_PER_MINUTE + [429] * (12 - INSTALLS_PER_MINUTE), address
    finally:
        server.close()
        thread.join(timeout=5)


@contextmanager
def database_down(engine: Engine) -> Iterator[None]:
    """Every new connection of ``engine`` refused, as a server that stopped accepting them refuses it, and
    its pooled ones closed; connections come back on the way out."""
    dbapi = engine.dialect.loaded_dbapi

    def refuse(*args: Any) -> None:
        raise dbapi.OperationalError("connection refused: the database is not accepting connections")

    event.listen(engine, "do_connect", refuse)
    engine.dispose()
    try:
        yield
    finally:
        event.remove(engine, "do_connect", refuse)


def test_an_event_that_comes_while_the_database_is_down_gets_a_5xx_and_is_recorded_when_redelivered(
    dist: Distributed,
) -> None:
    assert dist.install(TEAM_A)[0] == 200
    with database_down(dist.runtime.engine):
        shared = dist.say(TEAM_A, CHANNEL_A, ADA, f"Launch thread: <{POST_A}>")
        # A 5xx, so that Slack delivers the event again ("http_error", api.slack.com/apis/events-api
        # "Graceful retries"), not the 200 of a workspace that uninstalled twoway, which Slack never retries.
        assert 500 <= shared["delivery"]["status"] < 600, shared["delivery"]
        assert shared["delivery"]["body"] != NOT_INSTALLED_MESSAGE
        [seen] = dist.command(TEAM_A, CHANNEL_A, ADA, "help")
        assert seen["text"] == DATABASE_DOWN_MESSAGE
    assert dist.calls("reactions.add") == []

    again = dist.post("/_emulator/redeliver", {"event_id": shared["event_id"]})
    assert again["delivery"]["status"] == 200
    eventually(lambda: len(dist.calls("reactions.add")) == 1, what="the redelivered post tracked")
    assert dist.posts(TEAM_A) == [POST_A]
    # A further delivery of the same event records nothing more.
    assert dist.post("/_emulator/redeliver", {"event_id": shared["event_id"]})["delivery"]["status"] == 200
    assert dist.posts(TEAM_A) == [POST_A]
    assert len(dist.calls("reactions.add")) == 1
