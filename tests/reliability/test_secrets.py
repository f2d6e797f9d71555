"""No process of a full run writes a credential to its logs: not the bot token, the app-level token
or the signing secret, whole or in part, whatever succeeds or fails along the way."""

from __future__ import annotations

import time

import pytest

from bot.digest.blocks import DIGEST_EVENT_TYPE
from tests.support.polling import eventually
from tests.support.processes import http, stop, wait_for_exit
from tests.support.replicas import (
    ADA,
    CHANNEL,
    GRACE,
    PROCESS_TIMEOUT,
    SECRETS,
    TEAM,
    Cluster,
    add_channels,
    digest_plan,
    report,
)

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]


def _fragments(secret: str) -> list[str]:
    """The secret and its distinctive tail, which a log could show after cutting off a prefix."""
    return [secret, secret[-12:]]


def test_a_full_run_logs_no_token_or_signing_secret(cluster: Cluster) -> None:
    slack = cluster.slack
    say = {"team": TEAM, "channel": CHANNEL, "user": ADA}
    shared = slack.post(
        "/_emulator/message", {**say, "text": "<https://x.com/twoway/status/1>", "retries": 2}
    )
    ts = shared["ts"]
    slack.post("/_emulator/message", {**say, "user": GRACE, "text": "12 comments, 1 reply", "thread_ts": ts})
    question = slack.post("/_emulator/message", {**say, "user": GRACE, "text": "part 2?", "thread_ts": ts})
    slack.post("/_emulator/reaction", {**say, "ts": question["ts"], "reaction": "speech_balloon"})
    for text in (
        "help",
        "report week",
        "unanswered",
        "frobnicate",
        "log https://x.com/nobody/status/9 likes=1",
    ):
        seen = slack.post("/_emulator/command", {**say, "command": "/twoway", "text": text})
        assert seen["ack"]["status"] == 200, seen

    # Refused requests and failing calls log too, and must log no more than the rest.
    for headers in (
        {"X-Slack-Signature": "v0=" + "0" * 64, "X-Slack-Request-Timestamp": str(int(time.time()))},
        {},
    ):
        status, _ = http(
            "POST",
            cluster.events_url("a"),
            body=b'{"type": "event_callback", "event": {"type": "message"}}',
            headers=headers,
        )
        assert status == 401
    slack.fault(method="*", status=429, every=3, retry_after=1)
    channels = add_channels(slack, 3, "SEC")
    wait_for_exit(slack.worker("a", digest_plan(channels), "--until-done"))
    slack.clear_faults()
    slack.fault(method="chat.postMessage", status=500, every=1, count=6)
    slack.post("/_emulator/message", {**say, "text": "<https://x.com/twoway/status/2>"})

    # A third replica over Socket Mode, which holds the app-level token.
    socket_replica = slack.spawn(
        ["twoway.cli", "run", "--host", "127.0.0.1"], "replica-socket", slack.app_env(socket_mode=True)
    )
    eventually(
        lambda: slack.get("/_emulator/connections")["count"] > 0,
        timeout=PROCESS_TIMEOUT,
        what="the Socket Mode connection",
    )
    seen = slack.post("/_emulator/command", {**say, "command": "/twoway", "text": "help"})
    assert seen["ack"]["via"] == "socket"
    slack.clear_faults()
    digests = [
        m for m in slack.messages() if (m.get("metadata") or {}).get("event_type") == DIGEST_EVENT_TYPE
    ]
    assert len(digests) == 3

    for process in [socket_replica, *cluster.replicas.values(), slack.emulator]:
        stop(process)
    output = slack.all_output()
    assert "listening on" in output
    assert "Socket Mode" in output
    leaks = [fragment for secret in SECRETS for fragment in _fragments(secret) if fragment in output]
    assert leaks == [], f"credentials in the logs: {leaks}"
    report("secrets", log_files=len(list(slack.logs.glob("*.log"))), log_bytes=len(output), leaks=0)
