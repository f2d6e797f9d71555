"""Requests signed as Slack signs them, with slack_sdk's own signer, for tests that play Slack's part."""

from __future__ import annotations

import time

from slack_bolt import BoltRequest
from slack_sdk.signature import SignatureVerifier

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"


def signed_headers(
    body: str | bytes, *, secret: str, content_type: str = JSON, age: int = 0
) -> dict[str, str]:
    """The headers Slack sends with ``body``: its content type, and a signature made ``age`` seconds ago.

    The body must be UTF-8, as everything Slack sends is: slack_sdk signs (and Bolt verifies) its text.
    """
    timestamp = str(int(time.time()) - age)
    signature = SignatureVerifier(secret).generate_signature(timestamp=timestamp, body=body)
    # None only when there is no timestamp.
    assert signature is not None
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": signature,
    }


def signed_request(body: str, *, secret: str, content_type: str = JSON, age: int = 0) -> BoltRequest:
    """``body`` as a Bolt request carrying `signed_headers`, for dispatching to an app in process."""
    headers = signed_headers(body, secret=secret, content_type=content_type, age=age)
    return BoltRequest(body=body, headers={name.lower(): [value] for name, value in headers.items()})
