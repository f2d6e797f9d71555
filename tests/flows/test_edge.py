"""The HTTP edge: what isn't a signed Slack request gets a clean 4xx, never a 500 or a traceback."""

from __future__ import annotations

import socket
import urllib.error
import urllib.request

import pytest

from tests.flows.conftest import Flow


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
