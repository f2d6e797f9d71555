"""The HTTP edge: what isn't a signed Slack request gets a clean 4xx, never a 500 or a traceback."""

from __future__ import annotations

import logging
import socket
import urllib.error
import urllib.parse
import urllib.request

import pytest

from tests.payloads import slash_command
from tests.support.flows import SECRET, TEAM, Flow
from tests.support.signing import FORM, signed_headers
from twoway.logs import configure_logging


def _send(
    url: str, method: str, body: bytes | None, content_type: str = "application/json"
) -> tuple[int, str]:
    request = urllib.request.Request(url, data=body, method=method, headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode(errors="replace")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")


@pytest.mark.parametrize(
    ("method", "body", "content_type", "status"),
    [
        ("GET", None, "application/json", 405),
        ("PUT", b"{}", "application/json", 405),
        ("POST", b"[1, 2, 3]", "application/json", 400),
        ("POST", b'{"type": "event_callback", "event": "not an object"}', "application/json", 400),
        ("POST", b"{broken json", "application/json", 400),
        ("POST", b"\xff\xfe\xfa", "application/x-www-form-urlencoded", 400),
        ("POST", b'{"type": "event_callback", "event": {"type": "message"}}', "application/json", 401),
        ("POST", b"command=%2Ftwoway&text=help", "application/x-www-form-urlencoded", 401),
    ],
)
def test_bad_requests_get_a_clean_4xx(
    flow: Flow, method: str, body: bytes | None, content_type: str, status: int
) -> None:
    answered, text = _send(flow.runtime.url + "/slack/events", method, body, content_type)
    assert answered == status
    assert "Traceback" not in text


def test_a_body_over_the_limit_is_refused_before_it_is_read(flow: Flow) -> None:
    # waitress answers from the headers alone; sending the 2 MiB would race its closing the socket.
    host, port = flow.runtime.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        conn.sendall(
            b"POST /slack/events HTTP/1.1\r\nHost: twoway\r\nContent-Type: application/json\r\n"
            b"Content-Length: 2097152\r\n\r\n"
        )
        answer = conn.recv(200)
    assert answer.startswith(b"HTTP/1.1 413 ")


@pytest.fixture
def production_logging(caplog: pytest.LogCaptureFixture) -> None:
    """twoway's logging as `twoway run` sets it up (before the app is built), captured at DEBUG."""
    configure_logging([SECRET])
    # configure_logging replaces the root handlers, the capture's among them.
    logging.getLogger().addHandler(caplog.handler)
    logging.getLogger().setLevel(logging.DEBUG)


def test_a_refused_request_is_logged_without_its_body(
    production_logging: None, flow: Flow, caplog: pytest.LogCaptureFixture
) -> None:
    # A slash command's body holds a response_url: Bolt would log all of it at INFO when refusing it.
    canary = "refusedbodycanary"
    form = slash_command("help")
    form["response_url"] = f"https://hooks.slack.com/commands/{TEAM}/1/{canary}"
    body = urllib.parse.urlencode(form)
    request = urllib.request.Request(
        flow.runtime.url + "/slack/events",
        data=body.encode(),
        method="POST",
        headers=signed_headers(body, secret="not-the-secret", content_type=FORM),
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 401

    logged = [f"{r.name}: {r.getMessage()} {r.exc_text or ''}" for r in caplog.records]
    assert any("refused a request whose signature" in line for line in logged), logged
    assert [line for line in logged if canary in line or "response_url=" in line] == []


# Signature headers not shaped as Slack sends them (`X-Slack-Request-Timestamp`: Unix seconds;
# `X-Slack-Signature`: `v0=` and 64 hex digits; api.slack.com/authentication/verifying-requests-from-slack).
# slack_sdk's verifier runs `int(timestamp)` and `hmac.compare_digest` on them, which raise for these.
MALFORMED_SIGNATURE_HEADERS = {
    "a timestamp that is a word": {"X-Slack-Request-Timestamp": "yesterday"},
    "a timestamp with a fraction": {"X-Slack-Request-Timestamp": "1700000000.5"},
    "a timestamp of 5,000 digits": {"X-Slack-Request-Timestamp": "1" * 5000},
    "an empty timestamp": {"X-Slack-Request-Timestamp": ""},
    "a timestamp with Latin-1 digits": {"X-Slack-Request-Timestamp": "17000000\xb2\xb3"},
    "a signature with a Latin-1 letter": {"X-Slack-Signature": "v0=" + "\xe9" * 64},
    "a signature of another version": {"X-Slack-Signature": "v1=" + "0" * 64},
}


@pytest.mark.parametrize("changed", MALFORMED_SIGNATURE_HEADERS.values(), ids=MALFORMED_SIGNATURE_HEADERS)
def test_a_malformed_signature_header_gets_401_and_one_log_line(
    production_logging: None, flow: Flow, caplog: pytest.LogCaptureFixture, changed: dict[str, str]
) -> None:
    body = urllib.parse.urlencode(slash_command("help"))
    headers = {**signed_headers(body, secret=SECRET, content_type=FORM), **changed}
    caplog.clear()
    # http.client would refuse to send some of these; a socket sends what a hostile client would.
    host, port = flow.runtime.url.removeprefix("http://").split(":")
    head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    request = (
        f"POST /slack/events HTTP/1.1\r\nHost: twoway\r\nConnection: close\r\n{head}"
        f"Content-Length: {len(body)}\r\n\r\n{body}"
    ).encode("latin-1")
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        conn.sendall(request)
        answer = b""
        while chunk := conn.recv(4096):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 401 "), answer[:200]
    assert b"Traceback" not in answer
    logged = [r for r in caplog.records if r.levelno >= logging.INFO and not r.name.startswith("apscheduler")]
    assert [r.exc_info for r in logged] == [None], [r.getMessage() for r in logged]
    assert "signature" in logged[0].getMessage()
    assert logged[0].levelno < logging.ERROR
