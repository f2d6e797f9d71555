"""The HTTP edge: what isn't a signed Slack request gets a clean 4xx, never a 500 or a traceback."""

from __future__ import annotations

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
        ("POST", b"x" * (2 * 1024 * 1024), "application/json", 413),
    ],
)
def test_bad_requests_get_a_clean_4xx(
    flow: Flow, method: str, body: bytes | None, content_type: str, status: int
) -> None:
    answered, text = _send(flow.runtime.url + "/slack/events", method, body, content_type)
    assert answered == status
    assert "Traceback" not in text
