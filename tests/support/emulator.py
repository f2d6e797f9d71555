"""Talking to an in-process emulator over plain HTTP, for the emulator's own tests."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any

import pytest
from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from emulator import Emulator


def http(emu: Emulator, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    """(status, parsed JSON) of one request to the emulator, 4xx and 5xx included."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        emu.base_url + path, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def post(emu: Emulator, path: str, body: Any) -> Any:
    """The JSON answer to a POST the emulator must accept."""
    status, answer = http(emu, "POST", path, body)
    assert status == 200, answer
    return answer


def get(emu: Emulator, path: str) -> Any:
    """The JSON answer to a GET the emulator must accept."""
    status, answer = http(emu, "GET", path)
    assert status == 200, answer
    return answer


@dataclass
class BoltOverHttp:
    """An emulator delivering over HTTP to a real Bolt app; the test registers the app's listeners."""

    emu: Emulator
    app: App
    seen: list[dict[str, Any]] = field(default_factory=list)


def refused(client: WebClient, method: str, **args: Any) -> dict[str, Any]:
    """Slack's answer to a Web API call that must fail (``method`` as slack_sdk names it)."""
    with pytest.raises(SlackApiError) as raised:
        getattr(client, method)(**args)
    data = raised.value.response.data
    assert isinstance(data, dict)
    return data
