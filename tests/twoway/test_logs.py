from __future__ import annotations

import io
import logging

import pytest

from twoway.logs import RedactingFilter, configure_logging


@pytest.mark.parametrize(
    "token",
    ["xoxb-123-456-abcDEF", "xoxp-1-2-3-abc", "xapp-1-A0123-456-abcdef", "xoxe.xoxp-1-abc", "xoxe-1-abc"],
)
def test_slack_tokens_are_redacted_wherever_they_appear(token: str) -> None:
    text = RedactingFilter().redact(f"header Authorization: Bearer {token} and more")
    assert token.split("-", 1)[1] not in text
    assert "***" in text


def test_configured_secrets_are_redacted_from_messages_args_and_tracebacks() -> None:
    stream = io.StringIO()
    configure_logging(["signing-secret-value"])
    handler = logging.getLogger().handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(stream)
    log = logging.getLogger("twoway.test")
    log.info("secret in args: %s", "signing-secret-value")
    try:
        raise RuntimeError("failed with xoxb-999-888-zzz and signing-secret-value")
    except RuntimeError:
        log.exception("boom")
    output = stream.getvalue()
    assert "signing-secret-value" not in output
    assert "xoxb-999" not in output
    assert output.count("***") >= 3
    logging.getLogger().handlers.clear()
