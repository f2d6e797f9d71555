"""Showing user-entered text in Slack mrkdwn literally: no mentions, links or formatting leak through."""

from __future__ import annotations

import re

_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
_ENTITY = re.compile(r"&(amp|lt|gt);")
_ENTITIES = {"amp": "&", "lt": "<", "gt": ">"}


# PostgreSQL can't store NUL or lone surrogates (JSON can carry both, and SQLite's driver can't encode
# the latter), and Slack sends no control characters but newlines and tabs, so these are only noise.
_UNSTORABLE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\ud800-\udfff]")


def storable(text: str) -> str:
    """`text` without the characters no database of twoway's can store (NUL, lone surrogates, C0 controls)."""
    return _UNSTORABLE.sub("", text)


def escape(text: str) -> str:
    """`text` with the three characters Slack reads as control sequences escaped."""
    return text.translate(_ESCAPES)


def truncate(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters, ending with an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def inline_code(text: str, limit: int = 40) -> str:
    """`text` as a short inline code span; a backtick inside can't close it early."""
    # U+02CB MODIFIER LETTER GRAVE ACCENT looks like a backtick but doesn't end the span.
    return "`" + escape(truncate(text, limit).replace("`", "\u02cb")) + "`"


_LINK = re.compile(r"<((?:https?|mailto):[^|>]*)(?:\|([^>]*))?>")
_QUOTE_MARK = re.compile(r"^(?:>|&gt;)\s?", re.MULTILINE)


def plain_text(slack_text: str) -> str:
    """Slack message text as a person reads it: links shown as their URL, entities undone, quote marks off."""
    text = _LINK.sub(lambda m: m.group(1), slack_text)
    text = _QUOTE_MARK.sub("", text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&").strip()


def unescape(text: str) -> str:
    """Slack's escapes of ``&``, ``<`` and ``>`` undone in one pass, so that a typed `&lt;` stays `&lt;`."""
    return _ENTITY.sub(lambda entity: _ENTITIES[entity[1]], text)
