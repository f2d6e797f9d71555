"""Two `twoway run` replicas behind the emulator's load balancing, one PostgreSQL: nothing lost,
nothing twice, nobody let in."""

from __future__ import annotations

import contextlib
import json
import random
import socket
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import select

from storage.comments import NOTICE_PENDING
from storage.models import Comment, Post, ProcessedEvent, SeenRequest
from storage.workspace_rows import count_rows
from tests.payloads import slash_command
from tests.support.inbox import settled_events
from tests.support.polling import eventually
from tests.support.processes import http, kill_hard
from tests.support.replicas import (
    ADA,
    CHANNEL,
    PROCESS_TIMEOUT,
    SHORT_LEASE_SECONDS,
    SIGNING_SECRET,
    TEAM,
    Cluster,
    elapsed,
    report,
)
from tests.support.signing import FORM, signed_headers
from twoway.http_server import EVENTS_PATH, MAX_BODY_BYTES

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

EVENTS = 500
STATUS_BASE = 1_790_000_000_000_000_000


def _post_url(i: int) -> str:
    return f"https://x.com/twoway/status/{STATUS_BASE + i}"


def _tracked(cluster: Cluster) -> list[dict[str, Any]]:
    return [c for c in cluster.slack.calls("reactions.add") if c["args"].get("name") == "eyes" and c["ok"]]


def _reactions(cluster: Cluster) -> list[dict[str, Any]]:
    return cluster.slack.calls("reactions.add")


def _share(cluster: Cluster, i: int, retries: int) -> list[dict[str, Any]]:
    answer = cluster.slack.post(
        "/_emulator/message",
        {
            "team": TEAM,
            "channel": CHANNEL,
            "user": ADA,
            "text": f"out now <{_post_url(i)}>",
            "retries": retries,
        },
    )
    deliveries: list[dict[str, Any]] = [answer["delivery"], *answer["redeliveries"]]
    return deliveries


def test_500_events_delivered_1_to_3_times_to_random_replicas_are_recorded_once(cluster: Cluster) -> None:
    rng = random.Random(500)
    retries = [rng.randint(0, 2) for _ in range(EVENTS)]
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=8) as pool:
        deliveries = [d for ds in pool.map(_share, [cluster] * EVENTS, range(EVENTS), retries) for d in ds]
    sent = elapsed(started)

    assert len(deliveries) == EVENTS + sum(retries)
    assert {d["status"] for d in deliveries} == {200}, [d for d in deliveries if d["status"] != 200][:3]
    served = {name: sum(d["url"] == cluster.events_url(name) for d in deliveries) for name in ("a", "b")}
    assert min(served.values()) > len(deliveries) // 4, served

    slack = cluster.slack
    # Every delivery is acknowledged, so every event has its claim: once they have all settled, a
    # redelivery handled again would have left its post or reaction.
    eventually(
        lambda: settled_events(slack.sessions, TEAM, expected=EVENTS),
        timeout=PROCESS_TIMEOUT,
        interval=0.2,
        what=f"all {EVENTS} events handled",
    )
    assert slack.count(Post, Post.team_id == TEAM) == EVENTS
    assert slack.count(ProcessedEvent, ProcessedEvent.team_id == TEAM) == EVENTS
    with slack.sessions.begin() as s:
        urls = set(s.scalars(select(Post.canonical_url).where(Post.team_id == TEAM)))
    assert urls == {_post_url(i) for i in range(EVENTS)}
    tracked = [c["args"]["timestamp"] for c in _tracked(cluster)]
    assert len(tracked) == len(set(tracked)) == EVENTS
    report(
        "500_events",
        events=EVENTS,
        deliveries=len(deliveries),
        served_by_a=served["a"],
        served_by_b=served["b"],
        posts=EVENTS,
        processed_events=EVENTS,
        reactions=len(tracked),
        delivery_time=sent,
        total_time=elapsed(started),
    )


def test_a_killed_replica_is_routed_around_and_a_restarted_one_serves_again(cluster: Cluster) -> None:
    slack = cluster.slack
    for i in range(20):
        _share(cluster, i, 0)
    # B dies with no event in hand (that is the next test): its claims would wait out a long lease.
    eventually(
        lambda: settled_events(slack.sessions, TEAM, expected=20),
        timeout=PROCESS_TIMEOUT,
        what="the first 20 events handled",
    )
    assert len(_tracked(cluster)) == 20

    kill_hard(cluster.replicas["b"])
    after_kill = [d for i in range(20, 60) for d in _share(cluster, i, 0)]
    assert {d["status"] for d in after_kill} == {200}
    assert {d["url"] for d in after_kill} == {cluster.events_url("a")}

    cluster.start("b")
    cluster.wait_up("b")
    after_restart = [d for i in range(60, 100) for d in _share(cluster, i, 0)]
    assert {d["status"] for d in after_restart} == {200}
    assert {d["url"] for d in after_restart} == {cluster.events_url("a"), cluster.events_url("b")}

    # Every delivery is acknowledged: once all 100 claims settle, anything handled twice shows.
    eventually(
        lambda: settled_events(slack.sessions, TEAM, expected=100),
        timeout=PROCESS_TIMEOUT,
        what="all 100 events handled",
    )
    assert slack.count(Post, Post.team_id == TEAM) == 100
    assert len(_tracked(cluster)) == 100
    report(
        "failover",
        events=100,
        after_kill_served_by_a=len(after_kill),
        after_restart_served_by_b=sum(d["url"] == cluster.events_url("b") for d in after_restart),
    )


def test_an_event_whose_replica_is_killed_mid_handling_is_handled_by_the_other(
    short_lease_cluster: Cluster,
) -> None:
    cluster = short_lease_cluster
    slack = cluster.slack
    # Slack takes 6 s to answer reactions.add: the replica handling the event is still at it when killed.
    slack.fault(method="reactions.add", status=200, delay=6)
    started = time.monotonic()
    answer = _share(cluster, 0, 0)[0]
    assert answer["status"] == 200
    holder = next(name for name in ("a", "b") if answer["url"] == cluster.events_url(name))
    survivor = "b" if holder == "a" else "a"

    def claim() -> ProcessedEvent | None:
        with slack.sessions() as s:
            row = s.scalars(select(ProcessedEvent).where(ProcessedEvent.team_id == TEAM)).one_or_none()
            return row if row is not None and slack.count(Post, Post.team_id == TEAM) == 1 else None

    held = eventually(claim, timeout=20, what="the post recorded, its :eyes: reaction on the way")
    assert held.state == "handling"
    assert f":{cluster.replicas[holder].popen.pid}:" in (held.claimed_by or "")
    kill_hard(cluster.replicas[holder])
    killed_at = elapsed(started)
    slack.clear_faults()

    def handled() -> ProcessedEvent | None:
        with slack.sessions() as s:
            row = s.scalars(select(ProcessedEvent).where(ProcessedEvent.team_id == TEAM)).one()
            return row if row.state == "done" else None

    done = eventually(handled, timeout=30, what="the survivor to take the event over")
    assert f":{cluster.replicas[survivor].popen.pid}:" in (done.claimed_by or "")
    assert done.attempts == 2
    assert done.body is None
    eventually(lambda: len(_tracked(cluster)) == 1, timeout=PROCESS_TIMEOUT, what="the :eyes: reaction")
    # A second taker could only come once a claim's lease is over: wait out two, then for whatever
    # it took to settle. Taking the event over again would count a third attempt.
    time.sleep(SHORT_LEASE_SECONDS * 2)
    [settled] = eventually(
        lambda: settled_events(slack.sessions, TEAM, expected=1), timeout=PROCESS_TIMEOUT, what="the event"
    )
    assert (settled.state, settled.claimed_by, settled.attempts) == ("done", done.claimed_by, 2)
    assert slack.count(Post, Post.team_id == TEAM) == 1
    assert len(_tracked(cluster)) == 1
    report(
        "kill_mid_event",
        killed_after=killed_at,
        taken_over_after=elapsed(started),
        lease_seconds=SHORT_LEASE_SECONDS,
        attempts=done.attempts,
        posts=1,
        reactions=len(_tracked(cluster)),
    )


# ---- nobody let in ------------------------------------------------------------------------------


def _message_event(event_id: str, url: str) -> bytes:
    return json.dumps(
        {
            "token": "legacy-verification-token",
            "team_id": TEAM,
            "api_app_id": "A0TWOWAY1",
            "type": "event_callback",
            "event_id": event_id,
            "event_time": int(time.time()),
            "event": {
                "type": "message",
                "channel": CHANNEL,
                "user": ADA,
                "text": f"out now <{url}>",
                "ts": "1700000000.000100",
                "channel_type": "channel",
            },
            "authorizations": [{"team_id": TEAM, "user_id": "U0TWOWAYBOT", "is_bot": True}],
        }
    ).encode()


def _send(url: str, body: bytes, headers: dict[str, str]) -> int:
    status, _ = http("POST", url, body=body, headers=headers)
    return status


def _raw_status(port: int, body: bytes, headers: dict[str, str], *, chunked: bool = False) -> int:
    """POST over a bare socket: the server may answer and close before the body is all sent."""
    lines = [f"POST {EVENTS_PATH} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    if chunked:
        lines.append("Transfer-Encoding: chunked")
        step = 64 * 1024
        payload = b"".join(
            f"{len(body[i : i + step]):x}\r\n".encode() + body[i : i + step] + b"\r\n"
            for i in range(0, len(body), step)
        )
        payload += b"0\r\n\r\n"
    else:
        lines.append(f"Content-Length: {len(body)}")
        payload = body
    with socket.create_connection(("127.0.0.1", port), timeout=15) as conn:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            conn.sendall("\r\n".join(lines).encode() + b"\r\n\r\n" + payload)
        answer = conn.recv(4096)
    return int(answer.split(b" ", 2)[1])


def _rows(cluster: Cluster) -> dict[str, int]:
    with cluster.slack.sessions.begin() as s:
        return count_rows(s, TEAM)


def _notice_settled(cluster: Cluster) -> bool:
    """The flagged comment's notice tried and its claim settled, posted or given back: `/twoway flag`'s
    last write."""
    if not cluster.slack.calls("chat.postMessage"):
        return False
    with cluster.slack.sessions.begin() as s:
        notices = s.scalars(select(Comment.notice_ts).where(Comment.team_id == TEAM)).all()
    return len(notices) == 1 and notices[0] != NOTICE_PENDING


def test_forged_stale_and_replayed_requests_get_401_and_record_nothing(cluster: Cluster) -> None:
    a, b = cluster.events_url("a"), cluster.events_url("b")
    sessions = cluster.slack.sessions
    empty = _rows(cluster)

    forged = _message_event("Ev0FORGED", _post_url(1))
    assert _send(a, forged, signed_headers(forged, secret="not-the-secret")) == 401
    stale = _message_event("Ev0STALE", _post_url(2))
    assert _send(b, stale, signed_headers(stale, secret=SIGNING_SECRET, age=301)) == 401
    assert _send(a, stale, {"Content-Type": "application/json"}) == 401
    assert _rows(cluster) == empty

    # A captured event, replayed within Slack's five minutes, to either replica.
    body = _message_event("Ev0CAPTURED", _post_url(3))
    headers = signed_headers(body, secret=SIGNING_SECRET)
    assert _send(a, body, headers) == 200
    eventually(
        lambda: settled_events(sessions, TEAM, expected=1),
        timeout=PROCESS_TIMEOUT,
        what="the captured event handled",
    )
    assert _rows(cluster)["posts"] == 1
    # The event names a message the emulator never saw, so Slack refuses the reaction; it is still tried.
    assert len(_reactions(cluster)) == 1
    after_event = _rows(cluster)
    replays = [_send(url, body, headers) for url in (a, b, a, b)]
    assert replays == [401] * 4

    # A captured `/twoway flag`: without the guard each replay would flag the comment again.
    form = slash_command(f"flag <{_post_url(3)}> when is part 2 out?", team_id=TEAM)
    form["response_url"] = cluster.slack.url + "/_emulator/response/R0CAPTURED"
    command = urllib.parse.urlencode(form).encode()
    command_headers = signed_headers(command, secret=SIGNING_SECRET, content_type=FORM)
    assert _send(b, command, command_headers) == 200
    eventually(lambda: _notice_settled(cluster), timeout=PROCESS_TIMEOUT, what="the flagged comment's notice")
    after_command = _rows(cluster)
    assert [_send(url, command, command_headers) for url in (a, b, b, a)] == [401] * 4

    # Refused in the ack path, before any listener: nothing of the replays can still be on its way.
    # The event's one claim, settled after one attempt, says so of the event's replays too.
    [event] = eventually(
        lambda: settled_events(sessions, TEAM, expected=1), timeout=PROCESS_TIMEOUT, what="the event"
    )
    assert (event.event_id, event.attempts) == ("Ev0CAPTURED", 1)
    assert _rows(cluster) == after_command
    assert after_command["comments"] == 1
    assert after_command["seen_requests"] == after_event["seen_requests"] + 1 == 2
    assert cluster.slack.count(SeenRequest) == 2
    assert len(_reactions(cluster)) == 1
    report("signatures", forged=1, stale=2, replayed=8, rows_from_refused=0)


# ---- bad input at the edge ----------------------------------------------------------------------


def test_bad_input_at_the_edge_gets_a_clean_4xx_never_a_500(cluster: Cluster) -> None:
    a = cluster.events_url("a")
    json_type = "application/json"
    for method in ("GET", "PUT", "DELETE"):
        status, answer = http(method, a)
        assert status == 405, (method, answer)

    # Over MAX_BODY_BYTES, by Content-Length and chunked: waitress refuses before the app reads it.
    huge = b"{" + b" " * MAX_BODY_BYTES + b"}"
    port = cluster.ports["a"]
    huge_headers = signed_headers(huge, secret=SIGNING_SECRET)
    assert _raw_status(port, huge, huge_headers) == 413
    assert _raw_status(port, huge, huge_headers, chunked=True) == 413

    garbage: list[tuple[bytes, str]] = [
        (b'{"type": "event_callback", "event":', json_type),
        (b"[1, 2, 3]", json_type),
        (b'"just a string"', json_type),
        (b"\xff\xfe\x00not utf-8", json_type),
        (b"[" * 100_000, json_type),
        (b'{"authorizations": "x", "type": "event_callback"}', json_type),
        (b"payload=%7Bnot-json", FORM),
        (b"payload=%5B1%5D", FORM),
        (b'{"type": "no_such_type"}', json_type),
        (b"command=%2Ftwoway&text=help", FORM),
        (
            json.dumps({"type": "event_callback", "team_id": TEAM, "event": "not an object"}).encode(),
            json_type,
        ),
        (json.dumps({"type": "block_actions", "team": {"id": TEAM}, "actions": "nope"}).encode(), json_type),
    ]
    for body, content_type in garbage:
        # Slack signs UTF-8 text and Bolt verifies text, so a body that isn't UTF-8 can carry no valid
        # signature: it gets that of its text with the bad bytes replaced; every other body, its own.
        signable = body.decode(errors="replace")
        headers = signed_headers(signable, secret=SIGNING_SECRET, content_type=content_type)
        status, answer = http("POST", a, body=body, headers=headers)
        assert 200 <= status < 500, (body[:60], status, answer)
        assert "Traceback" not in str(answer)
    status, _ = http("GET", cluster.url("a") + "/healthz")
    assert status == 200
