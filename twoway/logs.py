"""Logging set-up that keeps credentials out of every line, whoever logs them."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

# Slack's token shapes: bot, user, app-level, refresh and configuration tokens.
_TOKEN = re.compile(r"\bx(?:ox[abeoprs]|app)-[A-Za-z0-9-]+")


class RedactingFilter(logging.Filter):
    """Replaces Slack tokens and the given secret values with `***` in every record."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._secrets = sorted({s for s in secrets if len(s) >= 6}, key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return _TOKEN.sub("***", text)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = self.redact(message)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


class RefusedBodyFilter(logging.Filter):
    """Keeps what Bolt logs about a request it refuses, but never the request's body.

    Bolt logs every request whose signature fails at INFO, body and all; a slash command's body
    carries its response_url, which anyone can post to the channel with, no token needed, for 30 minutes.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.WARNING:
            return True
        if not record.getMessage().startswith("Invalid request signature detected"):
            # Nothing else Bolt's verification says below WARNING is worth the risk of a body in it.
            return False
        record.msg, record.args = "refused a request whose signature is invalid or too old", None
        return True


# Bolt's request verification logs under this name, whatever logger the app is given.
_BOLT_VERIFICATION = "slack_bolt.RequestVerification"


def configure_logging(secrets: Iterable[str] = (), level: int = logging.INFO) -> None:
    """Send logs to stderr through a handler that redacts tokens and `secrets`."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # twoway reports what it migrated in its own words; Alembic's step-by-step lines are noise there.
    logging.getLogger("alembic").setLevel(max(level, logging.WARNING))
    # A filter, not a level: Bolt sets this logger's level to that of the app's logger when it builds
    # an App. Bolt only copies the app logger's filters onto a logger that has none, so this one stays.
    verification = logging.getLogger(_BOLT_VERIFICATION)
    for old in [f for f in verification.filters if isinstance(f, RefusedBodyFilter)]:
        verification.removeFilter(old)
    verification.addFilter(RefusedBodyFilter())
