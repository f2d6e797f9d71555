"""Showing user-entered text in Slack mrkdwn literally: no mentions, links or formatting leak through."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

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


# ---- fitting what people wrote into Slack's limits ------------------------------------------------

Measure = Callable[[str], int]

# mrkdwn has no backslash escape: a word with a formatting mark in it (`@perf_nerd`, `*bold*`, `~x~`) is
# shown in a code span, where Slack formats nothing and shows every character as written.
_MARKED = re.compile(r"[*_~`]")
ELLIPSIS = "…"
# A post link's target longer than this is shown as its label alone: no real post's URL is this
# long, and a section (3,000 characters) must still hold the rest of its line.
URL_LIMIT = 1000
ID_LIMIT = 40


def json_len(text: str) -> int:
    """How many characters `text` takes in a JSON body: what Slack's size limit on blocks counts."""
    return len(json.dumps(text)) - 2


def literal(text: str, budget: int, measure: Measure = json_len) -> str:
    """User text on one line, escaped, each word with a formatting mark in a code span, cut to `budget`
    (by `measure`).

    A code span can't hold a backtick (mrkdwn has no escape for one, and any backtick ends the span),
    so a backtick inside a marked word shows as U+02CB, as in `inline_code`; every other character is
    shown as it was written.
    """
    # Every character shown measures one at least: what follows the first budget + 1 is never shown.
    flat = " ".join(text.split())[: budget + 1]
    whole = _spans(flat)
    if measure(whole) <= budget:
        return whole
    # The longest prefix whose rendering and an ellipsis fit; rendering only grows with the prefix.
    low, high = 0, len(flat)
    while low < high:
        mid = (low + high + 1) // 2
        if measure(_spans(flat[:mid]) + ELLIPSIS) <= budget:
            low = mid
        else:
            high = mid - 1
    return _spans(flat[:low]) + ELLIPSIS if low else ""


def _spans(flat: str) -> str:
    return " ".join(
        "`" + escape(word.replace("`", "\u02cb")) + "`" if _MARKED.search(word) else escape(word)
        for word in flat.split(" ")
    )


def link(url: str, label: str, *, limit: int = URL_LIMIT, measure: Measure = len) -> str:
    """`<url|label>`, or the label alone when the URL can't be a working link within `limit`.

    The label must be mrkdwn already (escaped). Characters that would end the markup early are
    percent-encoded and ``&`` escaped, as in any message text (docs.slack.dev/messaging/formatting-
    message-text, "Escaping text"); a URL is never cut, since a cut one would lead somewhere else.
    """
    target = url.replace("|", "%7C").replace(">", "%3E").replace("<", "%3C").replace(" ", "%20")
    target = target.replace("&", "&amp;")
    if not target or measure(target) > limit or any(c.isspace() or c < " " for c in target):
        return label
    return f"<{target}|{label}>"


# Slack's ids are letters and digits (U0ADA00001, C0SOCIAL01, W…); anything else can't be one.
_NOT_ID = re.compile(r"[^A-Za-z0-9]")


def mention(user_id: str) -> str:
    """`<@U…>`: a person Slack shows by name."""
    return f"<@{_NOT_ID.sub('', user_id[: ID_LIMIT * 4])[:ID_LIMIT]}>"


def channel_mention(channel_id: str) -> str:
    """`<#C…>`: a channel Slack shows by name."""
    return f"<#{_NOT_ID.sub('', channel_id[: ID_LIMIT * 4])[:ID_LIMIT]}>"


_OPEN_MARKUP = re.compile(r"<[^>]*\Z")
_OPEN_ENTITY = re.compile(r"&[a-z]{0,3}\Z")


def fit(mrkdwn: str, limit: int) -> str:
    """`mrkdwn` cut to at most `limit` characters, ending with an ellipsis when cut.

    Never inside a `<…>` (a link, a mention, a date) or an escape: the cut goes before it, so
    that nothing after it turns into broken markup.
    """
    if len(mrkdwn) <= limit:
        return mrkdwn
    kept = _OPEN_ENTITY.sub("", _OPEN_MARKUP.sub("", mrkdwn[: limit - 1]))
    return kept + ELLIPSIS


def listing(
    title: str | None,
    lines: list[str],
    budget: int,
    more: Callable[[int], str],
    measure: Measure = json_len,
    *,
    unlisted: int = 0,
) -> str:
    """`title` and as many of `lines` as fit in `budget`, one a line, then `more(n)` for the rest
    (and for ``unlisted`` others, never among ``lines``)."""
    shown: list[str] = []
    used = 0
    for line in lines:
        used += measure(line) + 2  # and its newline
        if used > budget:
            break
        shown.append(line)
    left = len(lines) - len(shown) + unlisted
    tail = [more(left)] if left else []
    return "\n".join([*([title] if title is not None else []), *shown, *tail])
